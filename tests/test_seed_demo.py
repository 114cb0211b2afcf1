"""`manage.py seed_demo`: idempotent demo data with a user per role and policies that differ."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditEvent
from cases.models import Case, CaseStatusChange, EligibilityDecision, Person, SchemePolicy
from demo.management.commands.seed_demo import DEMO_PASSWORD, USERS
from escalations.models import Escalation
from escalations.selectors import escalations_visible_to
from programmes.models import Attendance, GroupSession, Programme, Provider, Referral
from tests import factories

pytestmark = pytest.mark.django_db

SEEDED = (Provider, Programme, SchemePolicy, User, Person, Case, CaseStatusChange, Referral)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Hash the demo passwords cheaply: the command sets seven of them each run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed() -> str:
    """Run the command and return what it printed."""
    out = StringIO()
    call_command("seed_demo", force=True, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    """How many rows each table the command writes holds."""
    tally = {model.__name__: model.objects.count() for model in SEEDED}
    tally["EligibilityDecision"] = EligibilityDecision.objects.count()
    tally["AuditEvent"] = AuditEvent.objects.count()
    return tally


def demo_cases() -> list[Case]:
    """The cases the command built."""
    return list(Case.objects.filter(custody_record_number__startswith="DEMO-"))


def test_running_twice_creates_nothing_new() -> None:
    seed()
    first = counts()

    output = seed()

    assert counts() == first
    assert first["Provider"] == 3
    assert first["Programme"] == 5
    assert first["SchemePolicy"] == 3
    assert 25 <= len(demo_cases()) <= 45
    assert "0 created" in output


@pytest.mark.parametrize(
    ("username", "role"),
    [
        ("officer", Role.CUSTODY_OFFICER),
        ("supervisor", Role.SUPERVISOR),
        ("provider", Role.PROVIDER_STAFF),
        ("analyst", Role.ANALYST),
        ("admin", Role.ADMINISTRATOR),
        ("durham.officer", Role.CUSTODY_OFFICER),
    ],
)
def test_every_role_has_a_demo_user_that_can_sign_in(username: str, role: str) -> None:
    seed()

    user = User.objects.get(username=username)

    assert user.role == role
    assert Client().login(username=username, password=DEMO_PASSWORD)


def test_demo_users_belong_to_the_right_organisations() -> None:
    seed()
    users = {user.username: user for user in User.objects.select_related("force", "provider")}

    assert users["officer"].force.code == "TVP"
    assert users["supervisor"].force.code == "TVP"
    assert users["supervisor"].is_staff is False
    assert users["analyst"].force.code == "TVP"
    assert users["durham.officer"].force.code == "DUR"
    assert users["admin"].is_staff and users["admin"].is_superuser
    provider = users["provider"].provider
    assert provider.programmes.filter(forces_served__code="TVP").exists()
    assert {user[3] for user in USERS} == set(Role.values)


def test_demo_cases_span_the_life_of_a_case() -> None:
    seed()

    statuses = {case.status for case in demo_cases()}

    assert len(statuses) >= 5
    assert {"logged", "eligible", "ineligible", "offered", "accepted", "referred"} <= statuses
    assert Referral.objects.filter(case__custody_record_number__startswith="DEMO-").exists()


def test_demo_cases_are_built_through_the_services() -> None:
    seed()

    for case in demo_cases():
        assert case.status_changes.exists()
        assert case.status_changes.last().to_status == case.status
        assert AuditEvent.objects.filter(object_id=case.reference, action="create").exists()


def test_demo_provider_has_referrals_in_every_state_to_work_on() -> None:
    seed()
    now = timezone.now()
    pathways = Referral.objects.filter(
        programme__provider__name="Pathways Drug Education", case__force__code="TVP"
    )

    assert pathways.filter(status="new", programme__sessions_required=1).count() >= 2
    waiting = pathways.filter(status="accepted", appointments__group_session=None).get()
    (appointment,) = waiting.appointments.all()
    assert appointment.starts_at < now and not appointment.attendance.exists()
    attending = pathways.get(status="in_progress")
    assert attending.appointments.get().attendance.get().outcome == "attended"
    past, upcoming = GroupSession.objects.order_by("starts_at")
    assert past.starts_at < now < upcoming.starts_at
    assert past.appointments.count() == 2
    assert not Attendance.objects.filter(appointment__group_session=past).exists()
    assert all(a.starts_at == past.starts_at for a in past.appointments.all())


def test_demo_eligibility_varies_with_the_facts() -> None:
    seed()

    failed_rules = {
        reason["rule"]
        for decision in EligibilityDecision.objects.all()
        for reason in decision.reasons
        if not reason["passed"]
    }

    assert EligibilityDecision.objects.filter(eligible=True).exists()
    assert {"age", "quantity", "previous_record", "earlier_diversion", "drug_class"} <= failed_rules


def test_demo_policies_differ_as_real_schemes_do() -> None:
    seed()
    policies = {policy.force.code: policy for policy in SchemePolicy.objects.all()}

    durham, thames_valley, west_midlands = policies["DUR"], policies["TVP"], policies["WMP"]
    assert durham.scheme_name == "Checkpoint"
    assert durham.disposal == "deferred_prosecution"
    assert durham.max_offence_age_days == 90
    assert durham.requires_admission is True
    assert thames_valley.max_previous_diversions == 0
    assert thames_valley.lookback_days == 3 * 365
    assert west_midlands.drug_classes == ["B"]
    assert west_midlands.max_previous_diversions == 2
    assert west_midlands.deadlines_from == "offence"
    assert west_midlands.late_counts_as_attended is False
    assert thames_valley.late_counts_as_attended is True
    assert {policy.version for policy in policies.values()} == {1}
    assert len({policy.completion_days for policy in policies.values()}) == 2


def test_existing_policy_is_kept_not_replaced() -> None:
    mine = factories.PolicyFactory(force=factories.force("TVP"), version=1, completion_days=30)

    seed()

    (kept,) = SchemePolicy.objects.filter(force__code="TVP")
    assert kept.pk == mine.pk
    assert kept.completion_days == 30
    assert kept.scheme_name == "Test diversion scheme"


def test_output_lists_the_sign_ins_without_personal_data() -> None:
    output = seed()

    for username, *_ in USERS:
        assert username in output
    assert DEMO_PASSWORD in output
    for person in Person.objects.all():
        assert person.family_name not in output
        assert person.given_name not in output


def test_quiet_run_prints_nothing() -> None:
    out = StringIO()

    call_command("seed_demo", force=True, verbosity=0, stdout=out)

    assert out.getvalue() == ""


def test_seed_demo_refuses_without_debug_unless_forced(db, settings) -> None:
    from django.core.management.base import CommandError

    from accounts.models import User

    settings.DEBUG = False
    with pytest.raises(CommandError, match="published in the README"):
        call_command("seed_demo", verbosity=0)
    assert not User.objects.filter(username="admin").exists()


def test_demo_supervisor_has_escalations_of_each_rule_once() -> None:
    output = seed()
    supervisor = User.objects.get(username="supervisor")
    waiting = escalations_visible_to(supervisor).filter(decided_at__isnull=True)
    first = sorted(waiting.values_list("pk", "rule"))

    seed()

    assert {rule for _, rule in first} == set(Escalation.Rule.values)
    assert sorted(waiting.values_list("pk", "rule")) == first
    assert "referrals flagged for a supervisor" in output
