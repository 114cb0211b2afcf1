"""Two sweeps at once, and a sweep killed half-way, on real PostgreSQL connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction

from accounts.models import Role
from audit.models import AuditEvent
from cases.models import CaseStatusChange
from programmes.models import Escalation, Referral, ReferralStatusChange
from programmes.rules import end_of_day
from programmes.sweep import Flagged, sweep_deadlines
from tests import factories

# Each thread commits on its own connection, so the tests cannot run inside one transaction.
pytestmark = pytest.mark.django_db(transaction=True)

FIRST_DUE = end_of_day(date(2026, 11, 2))
NOW = FIRST_DUE + timedelta(days=1)
WAIT = 20  # seconds before a stuck test gives up


def overdue_referrals(count: int) -> list[Referral]:
    """`count` accepted referrals whose first-appointment deadline passed before NOW."""
    officer = factories.UserFactory(role=Role.CUSTODY_OFFICER, force=factories.force("TVP"))
    programme = factories.ProgrammeFactory(forces_served=[factories.force("TVP")])
    return [
        factories.ReferralFactory(
            case__created_by=officer,
            case__status="in_programme",
            programme=programme,
            status="accepted",
            first_appointment_due=FIRST_DUE,
            completion_due=FIRST_DUE + timedelta(days=70),
        )
        for _ in range(count)
    ]


class SweepThread(threading.Thread):
    """Runs `work` on its own database connection; keeps its result or error; closes up."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None
        self.backend_pid: int | None = None
        self.started_work = threading.Event()

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend_pid = cursor.fetchone()[0]
            self.started_work.set()
            self.result = self.work()
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error
        finally:
            self.started_work.set()
            connections.close_all()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until it holds, or fail the test after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def waiting_on_a_lock(pid: int) -> bool:
    """Whether the backend `pid` is blocked waiting for a lock held by another transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def assert_flagged_exactly_once(referrals: list[Referral]) -> None:
    """Every referral has one escalation, one flag history row per record, one audit row."""
    for referral in referrals:
        referral.refresh_from_db()
        assert referral.status == "flagged"
        assert Escalation.objects.filter(referral=referral).count() == 1
        assert (
            ReferralStatusChange.objects.filter(referral=referral, to_status="flagged").count() == 1
        )
        assert (
            CaseStatusChange.objects.filter(
                case=referral.case, to_status="awaiting_supervisor"
            ).count()
            == 1
        )
        assert AuditEvent.objects.filter(object_id=referral.reference).count() == 1


def test_two_sweeps_at_once_flag_every_overdue_referral_exactly_once() -> None:
    referrals = overdue_referrals(12)
    a_swept = threading.Event()
    a_may_commit = threading.Event()

    def sweep_a() -> list[Flagged]:
        with transaction.atomic():
            flagged = sweep_deadlines(now=NOW)
            a_swept.set()
            assert a_may_commit.wait(WAIT), "the test never let A commit"
        return flagged

    a = SweepThread(sweep_a)
    b = SweepThread(lambda: sweep_deadlines(now=NOW))
    a.start()
    assert a_swept.wait(WAIT), "sweep A did not run"
    b.start()
    b.started_work.wait(WAIT)
    # B's INSERT meets A's uncommitted escalations on the unique index and waits for A.
    wait_until(lambda: b.backend_pid is not None and waiting_on_a_lock(b.backend_pid), "B to block")
    a_may_commit.set()
    a.join(WAIT)
    b.join(WAIT)

    assert a.error is None and b.error is None, (a.error, b.error)
    assert sorted(f.referral_reference for f in a.result) == sorted(r.reference for r in referrals)
    assert b.result == []
    assert_flagged_exactly_once(referrals)


def test_sweep_killed_before_commit_leaves_nothing_and_the_next_run_flags_all() -> None:
    referrals = overdue_referrals(5)
    audit_before = AuditEvent.objects.count()
    swept = threading.Event()
    never = threading.Event()

    def sweep_then_hang() -> list[Flagged]:
        with transaction.atomic():
            flagged = sweep_deadlines(now=NOW)
            swept.set()
            never.wait(WAIT)  # killed while it waits to commit
        return flagged

    worker = SweepThread(sweep_then_hang)
    worker.start()
    assert swept.wait(WAIT), "the sweep did not run"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [worker.backend_pid])
    never.set()
    worker.join(WAIT)

    assert isinstance(worker.error, DatabaseError)  # its commit failed: the connection was gone
    assert not Escalation.objects.exists()
    assert not ReferralStatusChange.objects.exists()
    assert set(Referral.objects.values_list("status", flat=True)) == {"accepted"}
    assert AuditEvent.objects.count() == audit_before

    flagged = sweep_deadlines(now=NOW)

    assert len(flagged) == len(referrals)
    assert_flagged_exactly_once(referrals)


class Crash(Exception):
    """Stands for a worker dying between the sweep and its commit."""


def test_sweep_failing_before_commit_leaves_nothing_and_the_next_run_flags_all() -> None:
    referrals = overdue_referrals(3)

    with pytest.raises(Crash), transaction.atomic():
        assert len(sweep_deadlines(now=NOW)) == 3
        raise Crash

    assert not Escalation.objects.exists()
    assert set(Referral.objects.values_list("status", flat=True)) == {"accepted"}
    assert len(sweep_deadlines(now=NOW)) == 3
    assert_flagged_exactly_once(referrals)
