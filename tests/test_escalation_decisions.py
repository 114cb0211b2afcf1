"""A supervisor's decision on an escalation: recorded once, with a rationale, and carried out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.models import Role
from audit.models import AuditEvent
from base.errors import DomainError, IllegalTransition
from cases.models import CaseOutcome, CaseStatus
from escalations.models import Escalation
from escalations.selectors import escalations_visible_to
from escalations.services import escalation_decide
from escalations.sweep import sweep_deadlines
from programmes.models import Referral, ReferralStatus
from tests import factories
from tests.test_case_pages import _referred_case

pytestmark = pytest.mark.django_db

LATER = datetime.now(UTC) + timedelta(days=400)


@pytest.fixture
def supervisor(db):
    return factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))


@pytest.fixture
def escalation(officer, policy, programme):
    """A Thames Valley referral nobody attended, flagged by a sweep run long after."""
    _referred_case(officer, programme)
    (flagged,) = sweep_deadlines(now=LATER)
    return Escalation.objects.get(pk=flagged.escalation_id)


def _counts():
    return (
        Escalation.objects.filter(decided_at__isnull=False).count(),
        Referral.objects.count(),
        AuditEvent.objects.count(),
    )


def test_prosecute_closes_the_case_as_referred_for_prosecution(escalation, supervisor):
    escalation_decide(
        escalation=escalation, by=supervisor, decision="prosecute", rationale="No engagement"
    )
    escalation.refresh_from_db()
    case = escalation.referral.case
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.outcome == CaseOutcome.PROSECUTION
    assert escalation.decided_by == supervisor and escalation.rationale == "No engagement"
    assert Referral.objects.get(pk=escalation.referral_id).status == ReferralStatus.WITHDRAWN


def test_no_further_action_closes_the_case(escalation, supervisor):
    escalation_decide(
        escalation=escalation, by=supervisor, decision="no_further_action", rationale="Moved away"
    )
    case = escalation.referral.case
    case.refresh_from_db()
    assert case.outcome == CaseOutcome.NO_FURTHER_ACTION


def test_extension_moves_the_missed_deadline_and_returns_to_the_programme(escalation, supervisor):
    new_day = date.today() + timedelta(days=500)
    escalation_decide(
        escalation=escalation,
        by=supervisor,
        decision="extend",
        rationale="In hospital",
        new_deadline=new_day,
    )
    referral = Referral.objects.get(pk=escalation.referral_id)
    assert referral.extensions == 1
    assert referral.first_appointment_due.date() == new_day == referral.completion_due.date()
    assert referral.status == ReferralStatus.NEW
    assert referral.case.status == CaseStatus.REFERRED
    assert sweep_deadlines(now=LATER) == []


@pytest.mark.parametrize(
    ("new_day", "message"),
    [
        (date.today() - timedelta(days=1), "must be a date in the future"),
        (date.today() + timedelta(days=1), "must be after the current one"),
    ],
)
def test_extension_to_the_past_or_before_the_current_deadline_is_refused(
    escalation, supervisor, new_day, message
):
    before = _counts()
    with pytest.raises(DomainError, match=message):
        escalation_decide(
            escalation=escalation,
            by=supervisor,
            decision="extend",
            rationale="Try",
            new_deadline=new_day,
        )
    assert _counts() == before
    escalation.refresh_from_db()
    assert escalation.decided_at is None


def test_extensions_are_limited_by_the_policy(escalation, supervisor, policy):
    policy.max_extensions = 0
    policy.save()
    with pytest.raises(DomainError, match="allows 0 extensions"):
        escalation_decide(
            escalation=escalation,
            by=supervisor,
            decision="extend",
            rationale="Again",
            new_deadline=date.today() + timedelta(days=500),
        )


def test_re_referral_opens_a_new_referral_to_another_programme(escalation, supervisor):
    other = factories.ProgrammeFactory(forces_served=[factories.force("TVP")])
    escalation_decide(
        escalation=escalation,
        by=supervisor,
        decision="re_refer",
        rationale="Online course suits shifts",
        new_programme=other,
    )
    case = escalation.referral.case
    new = case.referrals.get(status=ReferralStatus.NEW)
    assert new.programme == other
    case.refresh_from_db()
    assert case.status == CaseStatus.REFERRED


def test_a_decision_needs_a_rationale(escalation, supervisor):
    before = _counts()
    with pytest.raises(DomainError, match="rationale"):
        escalation_decide(escalation=escalation, by=supervisor, decision="prosecute", rationale=" ")
    assert _counts() == before


def test_a_decided_escalation_cannot_be_decided_again(escalation, supervisor):
    escalation_decide(escalation=escalation, by=supervisor, decision="prosecute", rationale="No")
    before = _counts()
    with pytest.raises(IllegalTransition, match="already decided"):
        escalation_decide(
            escalation=escalation, by=supervisor, decision="no_further_action", rationale="Oops"
        )
    assert _counts() == before


def test_another_forces_supervisor_cannot_see_or_decide_it(escalation):
    durham = factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("DUR"))
    assert not escalations_visible_to(durham).exists()
    before = _counts()
    with pytest.raises(DomainError):
        escalation_decide(escalation=escalation, by=durham, decision="prosecute", rationale="x")
    assert _counts() == before


def test_custody_officers_cannot_decide(escalation, officer):
    with pytest.raises(DomainError):
        escalation_decide(escalation=escalation, by=officer, decision="prosecute", rationale="x")
    assert not escalations_visible_to(officer).exists()
