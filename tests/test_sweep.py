"""The breach rule (escalations/breaches.py) and the deadline sweep that flags what it finds
(escalations/sweep.py), on PostgreSQL, with the clock moved."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditEvent
from base.clock import LONDON, end_of_day, london_date
from cases.models import CaseStatusChange, SchemePolicy
from escalations.breaches import Breach, referral_breaches
from escalations.models import Escalation
from escalations.services import escalation_decide
from escalations.sweep import sweep_deadlines
from programmes.models import Appointment, Attendance, Programme, Referral, ReferralStatusChange
from programmes.rules import compute_deadlines
from programmes.services import attendance_record, referral_complete
from tests import factories

pytestmark = pytest.mark.django_db

ONE_SECOND = timedelta(seconds=1)


def make_policy(**fields: object) -> SchemePolicy:
    """A Thames Valley policy version with the given deadline rules."""
    return factories.PolicyFactory(force=factories.force("TVP"), **fields)


def make_referral(
    officer: User,
    programme: Programme,
    *,
    first_due: datetime,
    completion_due: datetime | None = None,
    policy: SchemePolicy | None = None,
    status: str = "accepted",
) -> Referral:
    """An open referral with the given deadlines, its case in the programme."""
    extra = {"policy": policy} if policy is not None else {}
    return factories.ReferralFactory(
        case__created_by=officer,
        case__status="in_programme" if status != "new" else "referred",
        programme=programme,
        status=status,
        first_appointment_due=first_due,
        completion_due=completion_due or first_due + timedelta(days=70),
        **extra,
    )


def attend(
    referral: Referral,
    starts_at: datetime,
    outcome: str,
    *,
    current: bool = True,
    status: str = Appointment.Status.BOOKED,
) -> Appointment:
    """An appointment at `starts_at` with its attendance outcome recorded."""
    appointment = Appointment.objects.create(
        referral=referral, starts_at=starts_at, status=status, booked_by=referral.referred_by
    )
    Attendance.objects.create(
        appointment=appointment,
        outcome=outcome,
        reason="Hospital appointment" if outcome == "excused" else "",
        is_current=current,
        recorded_by=referral.referred_by,
    )
    return appointment


def flagged_rules(now: datetime) -> dict[str, str]:
    """Run the sweep at `now`; the rule it flagged, by referral reference."""
    return {f.referral_reference: f.rule for f in sweep_deadlines(now=now)}


def london(*args: int) -> datetime:
    """A wall-clock time in Europe/London."""
    return datetime(*args, tzinfo=LONDON)


# --- Deadlines with the clock moved -------------------------------------------------------


def test_deadline_after_the_clocks_go_back_is_flagged_from_midnight_london(
    officer: User, programme: Programme
) -> None:
    # Ten working days from Monday 12 October 2026 is Monday 26 October, the day after BST ends.
    deadlines = compute_deadlines(
        referred_on=date(2026, 10, 12),
        offence_date=date(2026, 10, 10),
        counted_from="referral",
        first_appointment_working_days=10,
        completion_days=84,
    )
    assert deadlines.first_appointment_due == datetime(2026, 10, 26, 23, 59, 59, tzinfo=UTC)
    referral = make_referral(officer, programme, first_due=deadlines.first_appointment_due)

    assert flagged_rules(london(2026, 10, 26, 23, 59, 59)) == {}
    assert flagged_rules(london(2026, 10, 27, 0, 0, 0)) == {
        referral.reference: "first_appointment_missed"
    }


def test_deadline_counted_over_christmas_skips_the_bank_holidays(
    officer: User, programme: Programme
) -> None:
    # From Wednesday 23 December 2026: 24th (1), Christmas Day, a weekend, Boxing Day's
    # substitute on Monday 28th, then 29th (2) and 30th (3).
    deadlines = compute_deadlines(
        referred_on=date(2026, 12, 23),
        offence_date=date(2026, 12, 20),
        counted_from="referral",
        first_appointment_working_days=3,
        completion_days=84,
    )
    assert london_date(deadlines.first_appointment_due) == date(2026, 12, 30)
    referral = make_referral(officer, programme, first_due=deadlines.first_appointment_due)

    # Counting calendar days would have flagged it on the 29th.
    assert flagged_rules(london(2026, 12, 29, 12, 0)) == {}
    assert flagged_rules(london(2026, 12, 30, 23, 59, 59)) == {}
    assert flagged_rules(london(2026, 12, 31, 0, 0)) == {
        referral.reference: "first_appointment_missed"
    }


def test_deadline_in_summer_time_passes_at_midnight_london_which_is_23_00_utc(
    officer: User, programme: Programme
) -> None:
    referral = make_referral(officer, programme, first_due=end_of_day(date(2026, 7, 15)))

    assert flagged_rules(datetime(2026, 7, 15, 22, 59, 59, tzinfo=UTC)) == {}
    assert flagged_rules(datetime(2026, 7, 15, 23, 0, 0, tzinfo=UTC)) == {
        referral.reference: "first_appointment_missed"
    }


def test_completion_deadline_passes_at_midnight_london(officer: User, programme: Programme) -> None:
    first_due = end_of_day(date(2026, 3, 2))
    referral = make_referral(
        officer, programme, first_due=first_due, completion_due=end_of_day(date(2026, 5, 25))
    )
    attend(referral, first_due - timedelta(days=1), "attended")

    assert flagged_rules(end_of_day(date(2026, 5, 25))) == {}
    assert flagged_rules(london(2026, 5, 26, 0, 0)) == {referral.reference: "completion_missed"}


def test_referral_completed_a_minute_before_its_deadline_is_never_flagged(
    officer: User, programme: Programme
) -> None:
    now = timezone.now()
    referral = make_referral(
        officer,
        programme,
        first_due=now + timedelta(minutes=1),
        completion_due=now + timedelta(minutes=1),
    )
    staff = factories.UserFactory(role=Role.PROVIDER_STAFF, provider=programme.provider)
    appointment = Appointment.objects.create(
        referral=referral, starts_at=now - timedelta(hours=2), booked_by=staff
    )
    attendance_record(appointment=appointment, by=staff, outcome="attended")
    referral_complete(referral=referral, by=staff, completed_on=london_date(now))

    assert flagged_rules(now + timedelta(minutes=1, seconds=1)) == {}
    assert flagged_rules(now + timedelta(days=400)) == {}
    assert not Escalation.objects.exists()


# --- Attendance and absences --------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["attended", "late"])
def test_attended_by_the_first_deadline_is_not_flagged(
    officer: User, programme: Programme, outcome: str
) -> None:
    first_due = end_of_day(date(2026, 11, 16))
    referral = make_referral(
        officer, programme, first_due=first_due, policy=make_policy(late_counts_as_attended=True)
    )
    attend(referral, first_due - timedelta(hours=3), outcome)

    assert flagged_rules(first_due + timedelta(days=1)) == {}


def test_late_is_a_missed_first_appointment_where_the_policy_says_late_is_not_attending(
    officer: User, programme: Programme
) -> None:
    first_due = end_of_day(date(2026, 11, 16))
    policy = make_policy(late_counts_as_attended=False, max_unexcused_absences=1)
    referral = make_referral(officer, programme, first_due=first_due, policy=policy)
    attend(referral, first_due - timedelta(hours=3), "late")

    assert flagged_rules(first_due) == {}
    assert flagged_rules(first_due + ONE_SECOND) == {referral.reference: "first_appointment_missed"}


def test_attending_only_after_the_first_deadline_is_flagged(
    officer: User, programme: Programme
) -> None:
    first_due = end_of_day(date(2026, 11, 16))
    referral = make_referral(officer, programme, first_due=first_due)
    attend(referral, first_due + timedelta(hours=10), "attended")

    assert flagged_rules(first_due + timedelta(days=1)) == {
        referral.reference: "first_appointment_missed"
    }


def test_more_unexcused_absences_than_the_policy_allows_is_flagged_before_any_deadline(
    officer: User, programme: Programme
) -> None:
    first_due = end_of_day(date(2026, 11, 30))
    policy = make_policy(max_unexcused_absences=1)
    one_absence = make_referral(officer, programme, first_due=first_due, policy=policy)
    two_absences = make_referral(officer, programme, first_due=first_due, policy=policy)
    excused = make_referral(officer, programme, first_due=first_due, policy=policy)
    attend(one_absence, london(2026, 11, 2, 10), "did_not_attend")
    for day in (2, 9):
        attend(two_absences, london(2026, 11, day, 10), "did_not_attend")
        attend(excused, london(2026, 11, day, 10), "excused")
    attend(excused, london(2026, 11, 16, 10), "did_not_attend")

    assert flagged_rules(london(2026, 11, 17, 9)) == {two_absences.reference: "too_many_absences"}


def test_a_corrected_attendance_counts_only_its_current_outcome(
    officer: User, programme: Programme
) -> None:
    first_due = end_of_day(date(2026, 11, 16))
    referral = make_referral(officer, programme, first_due=first_due)
    appointment = attend(referral, first_due - timedelta(days=2), "attended", current=False)
    Attendance.objects.create(
        appointment=appointment, outcome="did_not_attend", recorded_by=referral.referred_by
    )

    assert flagged_rules(first_due + ONE_SECOND) == {referral.reference: "first_appointment_missed"}


def test_cancelled_appointment_does_not_count_as_attended(
    officer: User, programme: Programme
) -> None:
    first_due = end_of_day(date(2026, 11, 16))
    referral = make_referral(officer, programme, first_due=first_due)
    attend(referral, first_due - timedelta(days=2), "attended", status="cancelled")

    assert flagged_rules(first_due + ONE_SECOND) == {referral.reference: "first_appointment_missed"}


# --- What a flag records and writes -------------------------------------------------------


def test_flag_records_the_most_serious_rule_and_every_rule_that_fired_with_the_facts(
    officer: User, programme: Programme
) -> None:
    first_due = end_of_day(date(2026, 9, 1))
    completion_due = end_of_day(date(2026, 10, 1))
    policy = make_policy(max_unexcused_absences=2)
    referral = make_referral(
        officer, programme, first_due=first_due, completion_due=completion_due, policy=policy
    )
    attend(referral, london(2026, 8, 28, 10), "did_not_attend")
    now = london(2026, 10, 5, 9)

    sweep_deadlines(now=now)

    escalation = Escalation.objects.get(referral=referral)
    assert escalation.rule == "completion_missed"
    assert escalation.flagged_at == now
    assert escalation.facts == {
        "checked_at": now.astimezone(UTC).isoformat(),
        "rules_fired": ["completion_missed", "first_appointment_missed"],
        "first_appointment_due": first_due.astimezone(UTC).isoformat(),
        "completion_due": completion_due.astimezone(UTC).isoformat(),
        "attended_by_first_deadline": 0,
        "unexcused_absences": 1,
        "max_unexcused_absences": 2,
        "referral_status": "accepted",
    }


def test_each_flag_writes_one_referral_history_one_case_history_and_one_audit_row(
    officer: User, programme: Programme
) -> None:
    first_due = end_of_day(date(2026, 11, 2))
    referrals = [make_referral(officer, programme, first_due=first_due) for _ in range(3)]
    not_due = make_referral(officer, programme, first_due=first_due + timedelta(days=30))
    audit_before = AuditEvent.objects.count()

    flagged = sweep_deadlines(now=first_due + ONE_SECOND)

    assert sorted(f.referral_reference for f in flagged) == sorted(r.reference for r in referrals)
    for referral in referrals:
        referral.refresh_from_db()
        assert referral.status == "flagged"
        assert referral.case.status == "awaiting_supervisor"
        assert list(
            ReferralStatusChange.objects.filter(referral=referral)
            .order_by("id")
            .values_list("from_status", "to_status", "changed_by")
        ) == [("accepted", "flagged", None)]
        assert list(
            CaseStatusChange.objects.filter(case=referral.case).values_list(
                "from_status", "to_status"
            )
        ) == [("in_programme", "awaiting_supervisor")]
        audit = AuditEvent.objects.get(
            object_type="programmes.referral", object_id=referral.reference
        )
        assert audit.user is None
        assert audit.person_id == referral.case.person_id
        assert audit.changes["after"]["status"] == "flagged"
    assert AuditEvent.objects.count() == audit_before + 3
    assert not ReferralStatusChange.objects.filter(referral=not_due).exists()


def test_sweep_flags_referral_once_when_run_twice(officer: User, programme: Programme) -> None:
    first_due = end_of_day(date(2026, 11, 2))
    referral = make_referral(officer, programme, first_due=first_due)

    first = sweep_deadlines(now=first_due + ONE_SECOND)
    second = sweep_deadlines(now=first_due + timedelta(days=3))

    assert [f.referral_reference for f in first] == [referral.reference]
    assert second == []
    assert Escalation.objects.filter(referral=referral).count() == 1
    assert ReferralStatusChange.objects.filter(referral=referral).count() == 1
    assert AuditEvent.objects.filter(object_id=referral.reference).count() == 1


def test_closed_and_withdrawn_referrals_are_not_flagged(
    officer: User, programme: Programme
) -> None:
    first_due = end_of_day(date(2026, 11, 2))
    for status in ("completed", "withdrawn", "declined"):
        make_referral(officer, programme, first_due=first_due, status=status)

    assert flagged_rules(first_due + timedelta(days=365)) == {}


def queries_for_sweep(count: int, officer: User, programme: Programme) -> int:
    """How many queries one sweep takes with `count` overdue referrals, each with attendance."""
    first_due = end_of_day(date(2026, 11, 2))
    for _ in range(count):
        referral = make_referral(officer, programme, first_due=first_due)
        attend(referral, first_due + timedelta(days=1), "did_not_attend")
    with CaptureQueriesContext(connection) as queries:
        flagged = sweep_deadlines(now=first_due + timedelta(days=2))
    assert len(flagged) == count
    return len(queries)


def test_sweep_takes_the_same_few_queries_for_ten_times_the_referrals(
    officer: User, programme: Programme, django_assert_num_queries
) -> None:
    few = queries_for_sweep(3, officer, programme)
    first_due = end_of_day(date(2026, 11, 2))
    for _ in range(30):
        make_referral(officer, programme, first_due=first_due)

    with django_assert_num_queries(few):
        flagged = sweep_deadlines(now=first_due + timedelta(days=3))

    assert len(flagged) == 30
    assert few <= 4  # the settings, the statement, and the savepoint around it in the test


def test_sweep_deadlines_command_prints_each_flag_and_the_count_without_names(
    officer: User, programme: Programme
) -> None:
    referrals = [
        make_referral(officer, programme, first_due=end_of_day(date(2026, 10, 26)))
        for _ in range(2)
    ]
    out = StringIO()

    call_command("sweep_deadlines", "--now", "2026-10-27T00:00:00", stdout=out)

    lines = out.getvalue().splitlines()
    assert sorted(lines[:2]) == sorted(
        f"{r.reference}  case {r.case.reference}  No first appointment attended by the deadline"
        for r in referrals
    )
    assert lines[2:] == ["2 referrals flagged."]
    assert referrals[0].case.person.family_name not in out.getvalue()


def test_sweep_deadlines_command_before_the_deadline_flags_nothing(
    officer: User, programme: Programme
) -> None:
    make_referral(officer, programme, first_due=end_of_day(date(2026, 10, 26)))
    out = StringIO()

    call_command("sweep_deadlines", "--now", "2026-10-26T23:59:59+00:00", stdout=out)

    assert out.getvalue() == "0 referrals flagged.\n"


def test_sweep_deadlines_command_refuses_a_moment_that_is_not_iso() -> None:
    with pytest.raises(CommandError, match="not an ISO date and time"):
        call_command("sweep_deadlines", "--now", "next tuesday")


# --- After a supervisor's decision --------------------------------------------------------


def test_extended_deadline_lets_the_referral_continue_until_the_new_deadline_passes(
    officer: User, programme: Programme
) -> None:
    today = london_date(timezone.now())
    referral = make_referral(
        officer,
        programme,
        first_due=end_of_day(today - timedelta(days=2)),
        completion_due=end_of_day(today + timedelta(days=60)),
    )
    [flag] = sweep_deadlines(now=timezone.now())
    supervisor = factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))
    new_day = today + timedelta(days=7)

    escalation_decide(
        escalation=Escalation.objects.get(pk=flag.escalation_id),
        by=supervisor,
        decision="extend",
        rationale="Was in hospital; the provider confirmed.",
        new_deadline=new_day,
    )

    referral.refresh_from_db()
    assert referral.status == "accepted"
    assert referral.case.status == "in_programme"
    assert flagged_rules(timezone.now()) == {}
    assert flagged_rules(end_of_day(new_day)) == {}
    assert flagged_rules(end_of_day(new_day) + ONE_SECOND) == {
        referral.reference: "first_appointment_missed"
    }
    assert Escalation.objects.filter(referral=referral).count() == 2


def test_absences_before_a_decision_do_not_count_again_after_it(
    officer: User, programme: Programme
) -> None:
    today = london_date(timezone.now())
    now = timezone.now()
    policy = make_policy(max_unexcused_absences=0)
    referral = make_referral(
        officer,
        programme,
        first_due=end_of_day(today + timedelta(days=5)),
        completion_due=end_of_day(today + timedelta(days=40)),
        policy=policy,
    )
    attend(referral, now - timedelta(days=1), "did_not_attend")
    [flag] = sweep_deadlines(now=now)
    assert flag.rule == "too_many_absences"
    supervisor = factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))

    escalation_decide(
        escalation=Escalation.objects.get(pk=flag.escalation_id),
        by=supervisor,
        decision="extend",
        rationale="Absence explained after the event.",
        new_deadline=today + timedelta(days=50),
    )

    assert flagged_rules(timezone.now() + ONE_SECOND) == {}
    attend(referral, timezone.now() + timedelta(minutes=1), "did_not_attend")
    assert flagged_rules(timezone.now() + timedelta(minutes=2)) == {
        referral.reference: "too_many_absences"
    }


def test_extension_after_both_deadlines_were_missed_is_not_flagged_again_at_once(
    officer: User, programme: Programme
) -> None:
    today = london_date(timezone.now())
    referral = make_referral(
        officer,
        programme,
        first_due=end_of_day(today - timedelta(days=20)),
        completion_due=end_of_day(today - timedelta(days=2)),
    )
    [flag] = sweep_deadlines(now=timezone.now())
    assert flag.rule == "completion_missed"
    supervisor = factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))
    new_day = today + timedelta(days=30)

    escalation_decide(
        escalation=Escalation.objects.get(pk=flag.escalation_id),
        by=supervisor,
        decision="extend",
        rationale="More time agreed with the provider.",
        new_deadline=new_day,
    )

    assert flagged_rules(timezone.now()) == {}
    assert flagged_rules(end_of_day(new_day) + ONE_SECOND) == {
        referral.reference: "completion_missed"
    }


# --- The rule, case by case, and the sweep flagging what it finds ------------------------

FIRST_DUE = end_of_day(date(2026, 11, 16))
COMPLETION_DUE = end_of_day(date(2026, 12, 16))
BEFORE_FIRST = FIRST_DUE - timedelta(days=3)
AFTER_FIRST = FIRST_DUE + timedelta(days=2)
AFTER_COMPLETION = COMPLETION_DUE + ONE_SECOND


@pytest.mark.parametrize(
    ("late_counts", "limit", "appointments", "now", "rules"),
    [
        (True, 1, [], BEFORE_FIRST, []),
        (True, 1, [], AFTER_FIRST, ["first_appointment_missed"]),
        (True, 1, [(-48, "attended")], AFTER_FIRST, []),
        (True, 1, [(-48, "late")], AFTER_FIRST, []),
        (False, 1, [(-48, "late")], AFTER_FIRST, ["first_appointment_missed"]),
        (False, 0, [(-48, "late")], AFTER_FIRST, ["too_many_absences", "first_appointment_missed"]),
        (True, 0, [(-72, "excused"), (-48, "excused"), (-24, "excused")], BEFORE_FIRST, []),
        (True, 0, [(-48, "cancelled_by_provider")], AFTER_FIRST, ["first_appointment_missed"]),
        (True, 0, [(-48, "attended"), (24, "did_not_attend")], AFTER_FIRST, ["too_many_absences"]),
        (True, 1, [(-48, "attended"), (24, "did_not_attend")], AFTER_FIRST, []),
        (True, 1, [(-48, "attended")], AFTER_COMPLETION, ["completion_missed"]),
        (
            False,
            0,
            [(-48, "late"), (24, "attended")],
            AFTER_COMPLETION,
            ["too_many_absences", "completion_missed", "first_appointment_missed"],
        ),
    ],
)
def test_breach_rule_fires_by_attendance_policy_and_deadlines(
    officer: User,
    programme: Programme,
    late_counts: bool,
    limit: int,
    appointments: list[tuple[int, str]],
    now: datetime,
    rules: list[str],
) -> None:
    policy = make_policy(late_counts_as_attended=late_counts, max_unexcused_absences=limit)
    referral = make_referral(
        officer, programme, first_due=FIRST_DUE, completion_due=COMPLETION_DUE, policy=policy
    )
    for hours, outcome in appointments:  # hours from the first deadline
        attend(referral, FIRST_DUE + timedelta(hours=hours), outcome)

    breach = referral_breaches(referral_id=referral.pk, now=now)

    assert breach is not None and list(breach.rules_fired) == rules
    assert flagged_rules(now) == ({referral.reference: rules[0]} if rules else {})


def test_referral_that_is_not_open_has_no_breaches(officer: User, programme: Programme) -> None:
    referral = make_referral(officer, programme, first_due=FIRST_DUE, status="completed")

    assert referral_breaches(referral_id=referral.pk, now=AFTER_COMPLETION) is None


def test_rule_for_one_referral_gives_the_facts_the_sweep_stores(
    officer: User, programme: Programme
) -> None:
    referral = make_referral(officer, programme, first_due=FIRST_DUE, completion_due=COMPLETION_DUE)
    attend(referral, FIRST_DUE - timedelta(days=1), "did_not_attend")

    breach = referral_breaches(referral_id=referral.pk, now=AFTER_FIRST)
    sweep_deadlines(now=AFTER_FIRST)

    assert breach == Breach.from_facts(Escalation.objects.get(referral=referral).facts)
    assert breach.unexcused_absences == 1 and breach.attended_by_first_deadline == 0


OUTCOMES = ["attended", "late", "did_not_attend", "excused", "cancelled_by_provider"]


def test_sweep_flags_what_the_rule_finds_for_each_referral_on_random_referrals(
    officer: User, programme: Programme
) -> None:
    rng = random.Random(20261026)
    now = london(2026, 11, 16, 12, 0)
    policies = [
        make_policy(late_counts_as_attended=late, max_unexcused_absences=limit)
        for late in (True, False)
        for limit in (0, 1, 2)
    ]
    referrals = []
    for _ in range(50):
        policy = rng.choice(policies)
        first_due = end_of_day(london_date(now) + timedelta(days=rng.randint(-20, 10)))
        completion_due = first_due + timedelta(days=rng.choice([0, 1, 5, 30]))
        referral = make_referral(
            officer, programme, first_due=first_due, completion_due=completion_due, policy=policy
        )
        referrals.append(referral)
        for _ in range(rng.randint(0, 4)):
            starts_at = first_due + timedelta(hours=rng.randint(-24 * 10, 24 * 5))
            booked = rng.random() > 0.15
            status = Appointment.Status.BOOKED if booked else Appointment.Status.CANCELLED
            appointment = attend(referral, starts_at, rng.choice(OUTCOMES), status=status)
            if rng.random() < 0.2:  # an earlier outcome, corrected: no longer current
                Attendance.objects.create(
                    appointment=appointment,
                    outcome=rng.choice(OUTCOMES[:3]),
                    is_current=False,
                    recorded_by=officer,
                )
    # The rule asked one referral at a time, as the escalation page's explanation would be.
    expected = {
        referral.reference: list(referral_breaches(referral_id=referral.pk, now=now).rules_fired)
        for referral in referrals
    }

    flagged = flagged_rules(now)

    assert flagged == {ref: rules[0] for ref, rules in expected.items() if rules}
    fired = {
        e.referral.reference: e.facts["rules_fired"]
        for e in Escalation.objects.select_related("referral")
    }
    assert fired == {ref: rules for ref, rules in expected.items() if rules}
    assert 5 < len(flagged) < 45  # the seed gives a mix of flagged and not
