"""Status transitions one at a time and set-based: the same history and audit rows either way.

The deadline sweep moves many referrals and cases in one statement with the set-based forms
(referral_transition_many, case_transition_many); a provider or a supervisor moves one with
referral_transition or case_transition. Both write their rows through one definition.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.chain import verify_chain
from audit.context import RequestContext, current_request
from audit.models import AuditEvent
from base.sql import Statement
from cases.models import Case, CaseStatus, CaseStatusChange
from cases.services import case_lock, case_transition, case_transition_many
from programmes.models import Referral, ReferralStatus, ReferralStatusChange
from programmes.services import referral_lock, referral_transition, referral_transition_many
from tests import factories

pytestmark = pytest.mark.django_db

REASON = "Taken on by the provider"


@pytest.fixture
def staff(programme) -> User:
    """A member of the programme's provider's staff."""
    return factories.UserFactory(role=Role.PROVIDER_STAFF, provider=programme.provider)


@pytest.fixture
def in_a_request():
    """Audit rows written as if inside a request from 192.0.2.7 to /referrals/."""
    token = current_request.set(RequestContext(ip_address="192.0.2.7", path="/referrals/"))
    yield
    current_request.reset(token)


def new_referral(officer: User, programme) -> Referral:
    """A new referral, its case referred."""
    return factories.ReferralFactory(case__created_by=officer, programme=programme)


def history(model: type, **filters: Any) -> list[tuple]:
    """The history rows, without their ids and times."""
    return list(
        model.objects.filter(**filters).values_list(
            "from_status", "to_status", "reason", "changed_by"
        )
    )


def audit_of(obj: Referral | Case) -> list[tuple]:
    """The audit rows of a referral or case, by its reference and person, without the time."""
    person_id = obj.case.person_id if isinstance(obj, Referral) else obj.person_id
    return list(
        AuditEvent.objects.filter(object_id=obj.reference, person_id=person_id).values_list(
            "user", "ip_address", "path", "action", "object_type", "changes", "reason"
        )
    )


def move_referrals(ids: list[int], *, to: str, by: User | None, at: datetime) -> list[tuple]:
    """Move the referrals with the set-based form; return the moved rows (id first)."""
    statement = Statement()
    statement.add(
        "moves",
        """
        SELECT r.id, r.status AS from_status, c.person_id, %(reason)s::text AS reason,
               '{}'::jsonb AS audit_after
        FROM programmes_referral r JOIN cases_case c ON c.id = r.case_id
        WHERE r.id = ANY(%(ids)s)
        """,
        ids=ids,
        reason=REASON,
    )
    moved = referral_transition_many(statement, moves="moves", to=to, by=by, at=at)
    return statement.run(f"SELECT * FROM {moved} ORDER BY id")  # noqa: S608


def test_referral_moved_in_a_set_gets_the_rows_a_single_move_writes(
    officer, programme, staff, in_a_request
) -> None:
    one, many = new_referral(officer, programme), new_referral(officer, programme)

    with transaction.atomic():
        referral_transition(
            referral=referral_lock(one), to=ReferralStatus.ACCEPTED, by=staff, reason=REASON
        )
    move_referrals([many.pk], to=ReferralStatus.ACCEPTED, by=staff, at=timezone.now())

    for referral in (one, many):
        referral.refresh_from_db()
        assert referral.status == "accepted"
    assert history(ReferralStatusChange, referral=many) == history(
        ReferralStatusChange, referral=one
    )
    assert (
        audit_of(many)
        == audit_of(one)
        == [
            (
                staff.pk,
                "192.0.2.7",
                "/referrals/",
                "change",
                "programmes.referral",
                {"before": {"status": "new"}, "after": {"status": "accepted"}},
                REASON,
            )
        ]
    )


def test_set_based_move_leaves_a_referral_that_may_not_move_there(officer, programme) -> None:
    movable = new_referral(officer, programme)
    completed = factories.ReferralFactory(
        case__created_by=officer, programme=programme, status="completed"
    )

    moved = move_referrals(
        [movable.pk, completed.pk], to=ReferralStatus.FLAGGED, by=None, at=timezone.now()
    )

    assert [row[0] for row in moved] == [movable.pk]
    completed.refresh_from_db()
    assert completed.status == "completed"
    assert not ReferralStatusChange.objects.filter(referral=completed).exists()
    assert audit_of(completed) == []


def test_case_moved_in_a_set_gets_the_rows_a_single_move_writes(officer, in_a_request) -> None:
    one, many = (factories.CaseFactory(created_by=officer, status="referred") for _ in range(2))

    with transaction.atomic():
        case_transition(case=case_lock(one), to=CaseStatus.IN_PROGRAMME, by=officer, reason=REASON)
    statement = Statement()
    statement.add(
        "moves",
        "SELECT %(id)s::bigint AS id, 'referred'::text AS from_status, %(reason)s::text AS reason",
        id=many.pk,
        reason=REASON,
    )
    case_transition_many(
        statement, moves="moves", to=CaseStatus.IN_PROGRAMME, by=officer, at=timezone.now()
    )
    statement.run()

    assert Case.objects.get(pk=many.pk).status == "in_programme"
    assert history(CaseStatusChange, case=many) == history(CaseStatusChange, case=one)
    assert audit_of(many) == audit_of(one)
    [(*_, changes, _)] = audit_of(one)
    assert changes == {
        "before": {"status": "referred"},
        "after": {"status": "in_programme", "outcome": ""},
    }


def test_cases_are_closed_one_at_a_time_with_their_outcome() -> None:
    with pytest.raises(ValueError, match="one at a time"):
        case_transition_many(
            Statement(), moves="moves", to=CaseStatus.CLOSED, by=None, at=timezone.now()
        )


def test_audit_rows_written_in_a_set_are_chained_like_single_ones(officer, programme, staff):
    one, *many = (new_referral(officer, programme) for _ in range(4))

    with transaction.atomic():
        referral_transition(
            referral=referral_lock(one), to=ReferralStatus.ACCEPTED, by=staff, reason=REASON
        )
    move_referrals([r.pk for r in many], to=ReferralStatus.ACCEPTED, by=staff, at=timezone.now())

    report = verify_chain()
    assert report.ok and report.rows == AuditEvent.objects.count() >= 4
