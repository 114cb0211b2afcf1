"""Two sweeps at once, and a sweep killed half-way, on real PostgreSQL connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from base.clock import end_of_day, london_date
from cases.models import CaseStatusChange
from escalations.models import Escalation
from escalations.sweep import Flagged, sweep_deadlines
from programmes.models import Referral, ReferralStatusChange
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
    # B runs while A still holds its row locks: it skips what A is flagging, without waiting.
    b.start()
    b.join(WAIT)
    assert not b.is_alive(), "sweep B waited for A instead of skipping its referrals"
    a_may_commit.set()
    a.join(WAIT)

    assert a.error is None and b.error is None, (a.error, b.error)
    assert sorted(f.referral_reference for f in a.result) == sorted(r.reference for r in referrals)
    assert b.result == []
    assert_flagged_exactly_once(referrals)
    assert sweep_deadlines(now=NOW) == []


def test_a_referral_completed_while_the_sweep_runs_is_never_flagged() -> None:
    from programmes.models import Appointment
    from programmes.services import attendance_record, referral_complete

    (referral,) = overdue_referrals(1)
    staff = factories.UserFactory(
        role="provider_staff", force=None, provider=referral.programme.provider
    )
    appointment = Appointment.objects.create(
        referral=referral, starts_at=FIRST_DUE + timedelta(hours=1), booked_by=staff
    )
    attendance_record(appointment=appointment, by=staff, outcome="attended")
    Referral.objects.filter(pk=referral.pk).update(status="in_progress")
    # The completion deadline has passed too: the sweep would flag it, were it not completed.
    late = referral.completion_due + timedelta(days=1)
    completing = threading.Event()
    may_commit = threading.Event()

    def complete() -> None:
        with transaction.atomic():
            referral_complete(referral=referral, by=staff, completed_on=london_date(timezone.now()))
            completing.set()
            assert may_commit.wait(WAIT), "the test never let the completion commit"

    provider = SweepThread(complete)
    provider.start()
    assert completing.wait(WAIT), f"the completion did not run: {provider.error!r}"
    flagged = sweep_deadlines(now=late)  # meanwhile, the sweep: it must leave this one alone
    may_commit.set()
    provider.join(WAIT)

    assert provider.error is None, provider.error
    assert flagged == []
    referral.refresh_from_db()
    assert referral.status == "completed"
    assert not Escalation.objects.filter(referral=referral).exists()
    assert sweep_deadlines(now=late) == []


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
