"""Retention (retention/anonymise.py): who is anonymised, what goes, what stays, and the audit."""

from __future__ import annotations

import importlib
import itertools
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import Role, User
from audit.models import AuditEvent
from cases.models import (
    Case,
    CaseStatusChange,
    EligibilityDecision,
    Force,
    Offer,
    Person,
    SchemePolicy,
)
from escalations.models import Escalation
from programmes.models import Appointment, Attendance, Notification, ReferralStatusChange
from retention.anonymise import ERASED_TEXT, anonymise_expired, count_expired
from retention.tasks import anonymise_expired_task
from tests import factories

pytestmark = pytest.mark.django_db

RETENTION_DAYS = 365
PNC_NUMBERS = itertools.count(1)


@pytest.fixture
def tvp_policy() -> SchemePolicy:
    """Thames Valley keeps personal data for a year after a case closes."""
    return factories.PolicyFactory(force=factories.force("TVP"), retention_days=RETENTION_DAYS)


@pytest.fixture
def supervisor() -> User:
    return factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))


def make_person(**fields: object) -> Person:
    """A person with every identifying detail filled in."""
    defaults = {
        "given_name": "Siân",
        "family_name": "Ní Bhriain",
        "date_of_birth": date(1994, 8, 17),
        "pnc_id": f"2019/{next(PNC_NUMBERS):07d}A",
        "email": "sian@example.org",
        "phone": "07700 900123",
        "address": "1 High Street, Reading",
        "postcode": "RG1 1AA",
        "access_needs": "Wheelchair user",
        "interpreter_language": "Irish",
        "ethnicity": "white_irish",
        "sex": "female",
        "preferred_language": "cy",
    }
    return factories.PersonFactory(**{**defaults, **fields})


def closed_case(
    person: Person, *, days_ago: float, force: Force | None = None, supervisor: User | None = None
) -> Case:
    """A diverted case closed `days_ago`, with every kind of free text filled in."""
    force = force or factories.force("TVP")
    officer = factories.UserFactory(role=Role.CUSTODY_OFFICER, force=force)
    closed_at = timezone.now() - timedelta(days=days_ago)
    case = factories.CaseFactory(
        person=person,
        force=force,
        created_by=officer,
        crime_reference="43/12345/26",
        status="closed",
        outcome="diverted",
        home_office_outcome=22,
        closed_at=closed_at,
        drugs=[("cannabis", "3.5")],
    )
    policy = force.current_policy() or factories.PolicyFactory(force=force)
    EligibilityDecision.objects.create(
        case=case,
        policy=policy,
        eligible=True,
        inputs={"date_of_birth": person.date_of_birth.isoformat(), "offence_date": "2020-11-01"},
        reasons=[
            {"rule": "adult", "passed": True, "message": "Aged 26 on the date of the offence"}
        ],
        history=[],
        decided_by=officer,
        override_reason="Spoke to Siân's mother, who confirmed her age",
    )
    Offer.objects.create(
        case=case,
        offered_at=closed_at - timedelta(days=90),
        offered_by=officer,
        response="accepted",
        consent_given=True,
        notes="Siân asked for a Welsh-speaking facilitator",
    )
    CaseStatusChange.objects.create(
        case=case, from_status="in_programme", to_status="closed", reason="Siân completed it"
    )
    referral = factories.ReferralFactory(
        case=case,
        status="completed",
        decline_reason="Lives at 1 High Street, outside our area",
        completed_on=closed_at.date(),
        first_appointment_due=closed_at - timedelta(days=60),
        completion_due=closed_at,
    )
    ReferralStatusChange.objects.create(
        referral=referral, from_status="in_progress", to_status="completed", reason="Siân did it"
    )
    appointment = Appointment.objects.create(
        referral=referral,
        starts_at=closed_at - timedelta(days=30),
        booked_by=officer,
        location="Community hall, Reading",
    )
    Attendance.objects.create(
        appointment=appointment,
        outcome="excused",
        reason="Siân was in hospital",
        correction_reason="Entered against the wrong person",
        recorded_by=officer,
    )
    Escalation.objects.create(
        referral=referral,
        rule="first_appointment_missed",
        facts={"unexcused_absences": 0},
        decision="extend",
        rationale="Siân's father died",
        decided_by=supervisor or officer,
        decided_at=closed_at - timedelta(days=40),
    )
    Notification.objects.create(
        kind="reminder_first_appointment",
        channel="email",
        recipient=person.email,
        body="Reminder",
        referral=referral,
        dedupe_key=f"test:{referral.pk}",
        status="sent",
    )
    return case


def open_case(person: Person) -> Case:
    return factories.CaseFactory(person=person, status="in_programme")


def test_person_whose_only_case_closed_before_the_retention_period_is_anonymised(tvp_policy):
    person = make_person()
    closed_case(person, days_ago=RETENTION_DAYS + 1)

    result = anonymise_expired()

    assert (result.people, result.cases, result.person_ids) == (1, 1, (person.pk,))
    person.refresh_from_db()
    assert (person.given_name, person.family_name) == ("Anonymised", "")
    assert person.date_of_birth == date(1994, 1, 1)  # the year stays, for ages
    erased = ("pnc_id", "email", "phone", "address", "postcode", "access_needs")
    assert {field: getattr(person, field) for field in erased} == dict.fromkeys(erased, "")
    assert person.interpreter_language == ""
    assert person.name_key == "anonymised"
    assert person.anonymised_at is not None
    # Equality monitoring and preferences are statistics: they stay.
    assert (person.ethnicity, person.sex, person.preferred_language) == (
        "white_irish",
        "female",
        "cy",
    )


def test_anonymising_keeps_the_facts_statistics_need_and_erases_free_text(tvp_policy):
    person = make_person()
    case = closed_case(person, days_ago=RETENTION_DAYS + 1)
    before = Case.objects.get(pk=case.pk)

    anonymise_expired()

    case.refresh_from_db()
    assert case.custody_record_number == f"ANON-{case.pk}"
    assert case.crime_reference == ""
    kept = ("reference", "status", "outcome", "home_office_outcome", "offence_date", "closed_at")
    assert {f: getattr(case, f) for f in kept} == {f: getattr(before, f) for f in kept}
    assert [(d.drug.code, d.quantity) for d in case.drugs.all()] == [("cannabis", Decimal("3.500"))]
    decision = case.eligibility_decisions.get()
    assert decision.eligible is True
    assert decision.reasons[0]["message"] == "Aged 26 on the date of the offence"
    assert decision.inputs == {"birth_year": 1994, "offence_date": "2020-11-01"}
    assert decision.override_reason == ERASED_TEXT
    offer = case.offers.get()
    assert (offer.response, offer.consent_given, offer.notes) == ("accepted", True, ERASED_TEXT)
    assert set(case.status_changes.values_list("reason", flat=True)) == {ERASED_TEXT}
    referral = case.referrals.get()
    assert (referral.status, referral.decline_reason) == ("completed", ERASED_TEXT)
    assert referral.completed_on is not None
    assert set(referral.status_changes.values_list("reason", flat=True)) == {ERASED_TEXT}
    attendance = Attendance.objects.get(appointment__referral=referral)
    assert (attendance.outcome, attendance.reason, attendance.correction_reason) == (
        "excused",
        ERASED_TEXT,
        ERASED_TEXT,
    )
    escalation = referral.escalations.get()
    assert (escalation.decision, escalation.rationale) == ("extend", ERASED_TEXT)
    assert referral.notifications.get().recipient == ""
    assert referral.appointments.get().location == "Community hall, Reading"


def test_nothing_of_the_person_is_left_in_the_case_data(tvp_policy):
    person = make_person()
    case = closed_case(person, days_ago=RETENTION_DAYS + 1)

    anonymise_expired()

    with connection.cursor() as cursor:
        tables = [
            ("cases_person", "id", person.pk),
            ("cases_case", "person_id", person.pk),
            ("cases_offer", "case_id", case.pk),
            ("cases_casestatuschange", "case_id", case.pk),
            ("cases_eligibilitydecision", "case_id", case.pk),
            ("programmes_referral", "case_id", case.pk),
        ]
        text = ""
        for table, column, value in tables:
            cursor.execute(f"SELECT t::text FROM {table} t WHERE {column} = %s", [value])  # noqa: S608
            text += " ".join(row[0] for row in cursor.fetchall())
    for identifying in ("Siân", "Bhriain", "1994-08-17", "example.org", "07700", "High Street"):
        assert identifying not in text


def test_person_one_day_inside_the_retention_period_is_untouched(tvp_policy):
    person = make_person()
    case = closed_case(person, days_ago=RETENTION_DAYS - 1)

    assert anonymise_expired().people == 0

    person.refresh_from_db()
    case.refresh_from_db()
    assert (person.given_name, person.date_of_birth, person.anonymised_at) == (
        "Siân",
        date(1994, 8, 17),
        None,
    )
    assert case.crime_reference == "43/12345/26"
    assert case.offers.get().notes == "Siân asked for a Welsh-speaking facilitator"


def test_the_retention_period_is_measured_from_now_given(tvp_policy):
    person = make_person()
    closed_case(person, days_ago=RETENTION_DAYS - 1)

    assert anonymise_expired(now=timezone.now() + timedelta(days=2)).person_ids == (person.pk,)


def test_person_with_another_open_case_keeps_their_details(tvp_policy):
    person = make_person()
    old = closed_case(person, days_ago=RETENTION_DAYS * 3)
    open_case(person)

    assert anonymise_expired().people == 0

    person.refresh_from_db()
    old.refresh_from_db()
    assert (person.given_name, person.pnc_id != "", person.anonymised_at) == ("Siân", True, None)
    assert old.crime_reference == "43/12345/26"


def test_person_with_a_recent_closure_in_another_force_keeps_their_details(tvp_policy):
    factories.PolicyFactory(force=factories.force("DUR"), retention_days=RETENTION_DAYS * 2)
    person = make_person()
    closed_case(person, days_ago=RETENTION_DAYS * 3)
    closed_case(person, days_ago=RETENTION_DAYS + 10, force=factories.force("DUR"))

    assert anonymise_expired().people == 0


def test_the_force_current_policy_decides_the_retention(tvp_policy):
    factories.PolicyFactory(force=factories.force("TVP"), retention_days=RETENTION_DAYS * 5)
    person = make_person()
    closed_case(person, days_ago=RETENTION_DAYS * 2)

    assert anonymise_expired().people == 0


def test_a_force_with_no_policy_is_never_anonymised():
    durham = factories.force("DUR")
    person = factories.PersonFactory()
    factories.CaseFactory(
        person=person,
        force=durham,
        status="closed",
        outcome="standard_process",
        closed_at=timezone.now() - timedelta(days=365 * 50),
    )

    assert anonymise_expired().people == 0
    person.refresh_from_db()
    assert person.anonymised_at is None


def test_a_person_with_no_case_is_not_anonymised(tvp_policy):
    person = make_person()

    assert anonymise_expired().people == 0
    person.refresh_from_db()
    assert person.anonymised_at is None


def test_each_anonymised_person_has_one_erase_audit_row(tvp_policy):
    first, second = make_person(), make_person(given_name="Tomasz")
    first_case = closed_case(first, days_ago=RETENTION_DAYS + 1)
    closed_case(second, days_ago=RETENTION_DAYS + 1)
    second_case = closed_case(second, days_ago=RETENTION_DAYS + 100)

    assert anonymise_expired().cases == 3

    rows = AuditEvent.objects.filter(action="erase").order_by("person_id")
    assert [(r.person_id, r.object_type, r.object_id, r.user) for r in rows] == [
        (first.pk, "cases.person", str(first.pk), None),
        (second.pk, "cases.person", str(second.pk), None),
    ]
    assert rows[0].reason == f"Retention: closed more than {RETENTION_DAYS} days ago"
    assert rows[0].changes["cases"] == [
        {"reference": first_case.reference, "retention_days": RETENTION_DAYS}
    ]
    assert second_case.reference in [c["reference"] for c in rows[1].changes["cases"]]
    assert "date_of_birth" in rows[0].changes["fields"]
    assert "Siân" not in str(rows[0].changes)


def test_running_twice_changes_nothing_more(tvp_policy):
    person = make_person()
    closed_case(person, days_ago=RETENTION_DAYS + 1)
    anonymise_expired()
    person.refresh_from_db()
    audit_rows = AuditEvent.objects.count()

    again = anonymise_expired()

    assert (again.people, again.cases) == (0, 0)
    assert AuditEvent.objects.count() == audit_rows
    anonymised_at = person.anonymised_at
    person.refresh_from_db()
    assert person.anonymised_at == anonymised_at


def test_dry_run_counts_without_changing_anything(tvp_policy):
    person = make_person()
    closed_case(person, days_ago=RETENTION_DAYS + 1)
    closed_case(person, days_ago=RETENTION_DAYS + 2)

    result = count_expired()

    assert (result.people, result.cases) == (1, 2)
    person.refresh_from_db()
    assert person.anonymised_at is None
    assert not AuditEvent.objects.filter(action="erase").exists()


def people_with_expired_cases(count: int) -> None:
    """`count` people, each with one case closed before the retention period, made quickly."""
    force = factories.force("TVP")
    officer = factories.UserFactory(role=Role.CUSTODY_OFFICER, force=force)
    closed_at = timezone.now() - timedelta(days=RETENTION_DAYS + 1)
    for _ in range(count):
        case = factories.CaseFactory(
            person=make_person(),
            force=force,
            created_by=officer,
            status="closed",
            outcome="diverted",
            closed_at=closed_at,
        )
        Offer.objects.create(case=case, offered_at=closed_at, offered_by=officer, notes="Free text")


def test_anonymising_takes_the_same_number_of_queries_for_3_or_30_people(tvp_policy):
    people_with_expired_cases(3)
    with CaptureQueriesContext(connection) as few:
        assert anonymise_expired().people == 3
    people_with_expired_cases(30)
    with CaptureQueriesContext(connection) as many:
        assert anonymise_expired().people == 30

    assert len(few.captured_queries) == len(many.captured_queries)


def test_anonymising_is_two_statements_a_batch(tvp_policy):
    people_with_expired_cases(3)
    due = set(Person.objects.filter(anonymised_at__isnull=True).values_list("pk", flat=True))

    with CaptureQueriesContext(connection) as queries:
        result = anonymise_expired(batch=2)

    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    # Per batch (2 people, then 1) the lock and the anonymising statement; then a lock that
    # finds nobody left. Each batch in its own transaction (here, savepoints).
    assert len(statements) == 2 + 2 + 1
    assert set(result.person_ids) == due and result.people == 3


def test_command_prints_the_counts_and_no_names(tvp_policy):
    person = make_person()
    closed_case(person, days_ago=RETENTION_DAYS + 1)
    dry_run, out = StringIO(), StringIO()

    call_command("anonymise_expired", "--dry-run", stdout=dry_run)
    call_command("anonymise_expired", stdout=out)

    assert dry_run.getvalue().strip() == (
        "Would anonymise 1 person and 1 case. Nothing was changed (dry run)."
    )
    assert out.getvalue().strip() == "Anonymised 1 person and 1 case."
    for name in ("Siân", "Bhriain", person.pnc_id):
        assert name not in dry_run.getvalue() + out.getvalue()


def test_command_measures_from_the_date_given(tvp_policy):
    closed_case(make_person(), days_ago=10)
    out = StringIO()

    later = (timezone.now() + timedelta(days=RETENTION_DAYS)).date().isoformat()
    call_command("anonymise_expired", "--dry-run", "--now", later, stdout=out)

    assert "Would anonymise 1 person and 1 case" in out.getvalue()


def test_task_returns_the_counts(tvp_policy):
    closed_case(make_person(), days_ago=RETENTION_DAYS + 1)

    assert anonymise_expired_task.apply().get() == {"people": 1, "cases": 1}


def test_beat_runs_the_retention_job_daily_at_half_past_two_london_time():
    task = PeriodicTask.objects.select_related("crontab").get(task="retention.anonymise_expired")

    crontab = task.crontab
    assert task.enabled
    assert (crontab.minute, crontab.hour, crontab.day_of_week, str(crontab.timezone)) == (
        "30",
        "2",
        "*",
        "Europe/London",
    )


def test_retention_schedule_migration_run_again_keeps_what_an_administrator_changed():
    task = PeriodicTask.objects.get(task="retention.anonymise_expired")
    task.enabled = False
    task.save()
    migration = importlib.import_module("cases.migrations.0006_retention_schedule")

    migration.create_schedule(django_apps, None)

    assert PeriodicTask.objects.filter(task="retention.anonymise_expired").count() == 1
    task.refresh_from_db()
    assert task.enabled is False
