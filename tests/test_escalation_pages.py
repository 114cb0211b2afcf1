"""The supervisor's escalation pages with the Django test client: the queue, one escalation
with its decision, and the printable case summary for the prosecution file."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditEvent
from base.clock import LONDON, end_of_day, london_date
from cases.models import CaseOutcome, CaseStatus, CaseStatusChange
from escalations.breaches import Breach
from escalations.models import Escalation
from escalations.services import escalation_decide
from escalations.sweep import sweep_deadlines
from programmes.models import Attendance, Programme, Referral, ReferralStatus, ReferralStatusChange
from tests import factories
from tests.test_case_pages import _referred_case

pytestmark = pytest.mark.django_db

LATER = datetime.now(UTC) + timedelta(days=400)
TODAY = london_date(timezone.now())
QUEUE = "/escalations/"


@pytest.fixture
def supervisor(db) -> User:
    """The Thames Valley supervisor who reviews the force's escalations."""
    return factories.UserFactory(
        role=Role.SUPERVISOR, force=factories.force("TVP"), first_name="Marcus", last_name="Reid"
    )


@pytest.fixture
def escalation(officer, policy, programme) -> Escalation:
    """A Thames Valley referral nobody attended, flagged by a sweep run long after."""
    _referred_case(officer, programme)
    (flagged,) = sweep_deadlines(now=LATER)
    return Escalation.objects.select_related("referral__case").get(pk=flagged.escalation_id)


def make_escalation(
    *,
    days_ago: int,
    rule: str = Escalation.Rule.FIRST_APPOINTMENT_MISSED,
    force: str = "TVP",
    programme: Programme | None = None,
) -> Escalation:
    """An open escalation flagged `days_ago` days ago, on a referral of its own."""
    extra = {"programme": programme} if programme else {}
    referral = factories.ReferralFactory(
        status=ReferralStatus.FLAGGED,
        case__status=CaseStatus.AWAITING_SUPERVISOR,
        case__force=factories.force(force),
        **extra,
    )
    escalation = Escalation.objects.create(
        referral=referral,
        rule=rule,
        facts={
            "rules_fired": [rule],
            "first_appointment_due": referral.first_appointment_due.isoformat(),
            "completion_due": referral.completion_due.isoformat(),
            "attended_by_first_deadline": 0,
            "unexcused_absences": 2,
            "max_unexcused_absences": 1,
            "referral_status": "accepted",
        },
    )
    flagged_at = timezone.now() - timedelta(days=days_ago)
    Escalation.objects.filter(pk=escalation.pk).update(flagged_at=flagged_at)
    escalation.flagged_at = flagged_at
    return escalation


CONFIRMATION = re.compile(r'name="confirmation" value="([^"]+)"')


def check(client, escalation: Escalation, data: dict):
    """Post the decision form: the answer is the check page, which records nothing."""
    response = client.post(detail_url(escalation), data)
    assert "Check your decision before recording it" in response.text, response.text[:3000]
    return response


def confirmation(response) -> str:
    return CONFIRMATION.search(response.text).group(1)


def decide(client, escalation: Escalation, data: dict):
    """Post the decision form, then confirm it on the check page, as a supervisor does."""
    token = confirmation(check(client, escalation, data))
    return client.post(detail_url(escalation), {"confirmation": token}, follow=True)


def queue_ids(html: str) -> list[int]:
    """The escalations listed in the queue's table, in order."""
    return [int(pk) for pk in re.findall(r'data-escalation="(\d+)"', html)]


def state(escalation: Escalation) -> tuple:
    """Everything a decision could change, to show that a refused one changed nothing."""
    referral = Referral.objects.get(pk=escalation.referral_id)
    escalation = Escalation.objects.get(pk=escalation.pk)
    return (
        escalation.decided_at,
        escalation.decision,
        escalation.rationale,
        referral.status,
        referral.first_appointment_due,
        referral.completion_due,
        referral.extensions,
        referral.case.status,
        referral.case.outcome,
        Referral.objects.count(),
        ReferralStatusChange.objects.count(),
        CaseStatusChange.objects.count(),
        AuditEvent.objects.exclude(action="view").count(),
    )


def date_fields(prefix: str, day: date) -> dict[str, str]:
    return {
        f"{prefix}_day": str(day.day),
        f"{prefix}_month": str(day.month),
        f"{prefix}_year": str(day.year),
    }


def detail_url(escalation: Escalation) -> str:
    return f"/escalations/{escalation.pk}/"


# The queue


def test_queue_lists_only_the_supervisors_force_oldest_first(client, supervisor):
    newest = make_escalation(days_ago=1)
    oldest = make_escalation(days_ago=9)
    middle = make_escalation(days_ago=4)
    durham = make_escalation(days_ago=20, force="DUR")
    client.force_login(supervisor)

    html = client.get(QUEUE).content.decode()

    assert queue_ids(html) == [oldest.pk, middle.pk, newest.pk]
    assert durham.referral.case.reference not in html
    assert oldest.referral.case.reference in html
    assert oldest.referral.case.person.full_name in html
    assert "No first appointment attended by the deadline" in html
    row = html[html.index(f'data-escalation="{oldest.pk}"') :]
    assert re.search(r'data-label="Days open">9<', row)


def test_queue_shows_the_open_count_and_the_decided_tab(client, supervisor, escalation):
    make_escalation(days_ago=2)
    make_escalation(days_ago=3, force="DUR")
    escalation_decide(
        escalation=escalation, by=supervisor, decision="prosecute", rationale="No engagement"
    )
    client.force_login(supervisor)

    html = client.get(QUEUE).content.decode()
    assert 'data-open-count="1"' in html
    assert "1</span>open escalation<" in html
    assert escalation.pk not in queue_ids(html)

    decided = client.get(QUEUE, {"tab": "decided"}).content.decode()
    assert queue_ids(decided) == [escalation.pk]
    assert "Refer for prosecution" in decided
    assert "Marcus Reid" in decided


def test_queue_filters_by_rule_and_programme(client, supervisor):
    online = factories.ProgrammeFactory(name="Online course", forces_served=[factories.force()])
    group = factories.ProgrammeFactory(name="Group session", forces_served=[factories.force()])
    absences = make_escalation(days_ago=3, rule="too_many_absences", programme=online)
    missed_online = make_escalation(days_ago=2, programme=online)
    missed_group = make_escalation(days_ago=1, programme=group)
    client.force_login(supervisor)

    by_rule = client.get(QUEUE, {"rule": "first_appointment_missed"}).content.decode()
    by_programme = client.get(QUEUE, {"programme": online.pk}).content.decode()
    both = client.get(QUEUE, {"rule": "too_many_absences", "programme": online.pk})
    nonsense = client.get(QUEUE, {"rule": "drop table", "programme": "x"}).content.decode()

    assert queue_ids(by_rule) == [missed_online.pk, missed_group.pk]
    assert queue_ids(by_programme) == [absences.pk, missed_online.pk]
    assert queue_ids(both.content.decode()) == [absences.pk]
    assert queue_ids(nonsense) == [absences.pk, missed_online.pk, missed_group.pk]
    # The open count on the dashboard is the force's, whatever the filters.
    assert 'data-open-count="3"' in both.content.decode()


def test_queue_query_count_does_not_grow_with_the_rows(
    client, supervisor, django_assert_max_num_queries
):
    programme = factories.ProgrammeFactory(forces_served=[factories.force()])
    make_escalation(days_ago=1, programme=programme)
    client.force_login(supervisor)
    with django_assert_max_num_queries(12):
        assert client.get(QUEUE).status_code == 200

    for days in range(2, 22):
        make_escalation(days_ago=days, programme=programme)
    with django_assert_max_num_queries(12):
        html = client.get(QUEUE).content.decode()
    assert len(queue_ids(html)) == 21


def test_queue_is_paginated_by_25(client, supervisor):
    programme = factories.ProgrammeFactory(forces_served=[factories.force()])
    escalations = [make_escalation(days_ago=40 - n, programme=programme) for n in range(27)]
    client.force_login(supervisor)

    first = client.get(QUEUE).content.decode()
    second = client.get(QUEUE, {"page": 2}).content.decode()

    assert queue_ids(first) == [e.pk for e in escalations[:25]]
    assert queue_ids(second) == [e.pk for e in escalations[25:]]


def test_queue_audits_a_view_of_each_shown_escalation(client, supervisor):
    shown = [make_escalation(days_ago=n) for n in (1, 2)]
    make_escalation(days_ago=3, force="DUR")
    client.force_login(supervisor)

    client.get(QUEUE)

    rows = AuditEvent.objects.filter(action="view", object_type="escalations.escalation")
    assert sorted(rows.values_list("object_id", "person_id")) == sorted(
        (str(e.pk), e.referral.case.person_id) for e in shown
    )
    assert {row.user_id for row in rows} == {supervisor.pk}


def test_supervisor_lands_on_the_queue_and_the_menu_shows_the_open_count(client, supervisor):
    make_escalation(days_ago=1)
    make_escalation(days_ago=2)
    client.force_login(supervisor)

    response = client.get("/")
    cases = client.get("/cases/").content.decode()

    assert response.status_code == 302 and response["Location"] == QUEUE
    assert 'href="/escalations/">Escalations (2)</a>' in cases


def test_officers_see_no_escalations_menu(client, officer):
    client.force_login(officer)

    html = client.get("/cases/").content.decode()

    assert "Escalations" not in html
    assert client.get("/").headers["Location"] == "/cases/"


# Who may see what


def _outsiders() -> dict[str, User]:
    pathways = factories.ProviderFactory()
    return {
        "durham supervisor": factories.UserFactory(
            role=Role.SUPERVISOR, force=factories.force("DUR")
        ),
        "custody officer": factories.UserFactory(
            role=Role.CUSTODY_OFFICER, force=factories.force("TVP")
        ),
        "provider staff": factories.provider_staff(pathways),
        "analyst": factories.UserFactory(role=Role.ANALYST, force=factories.force("TVP")),
    }


@pytest.mark.parametrize(
    "who", ["durham supervisor", "custody officer", "provider staff", "analyst"]
)
def test_anyone_but_the_forces_supervisors_gets_404_and_changes_nothing(
    client, supervisor, escalation, who
):
    user = _outsiders()[who]
    client.force_login(user)
    before = state(escalation)

    urls = [detail_url(escalation), f"{detail_url(escalation)}summary/"]
    if who != "durham supervisor":
        urls.append(QUEUE)
    for url in urls:
        assert client.get(url).status_code == 404, url
    response = client.post(
        detail_url(escalation), {"decision": "prosecute", "rationale": "Not mine to decide"}
    )

    assert response.status_code == 404
    assert state(escalation) == before


def test_another_forces_supervisor_sees_an_empty_queue(client, escalation):
    durham = factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("DUR"))
    client.force_login(durham)

    html = client.get(QUEUE).content.decode()

    assert queue_ids(html) == []
    assert 'data-open-count="0"' in html
    assert escalation.referral.case.reference not in html


def test_signed_out_visitors_are_sent_to_sign_in(client, escalation):
    response = client.get(detail_url(escalation))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# The escalation page


def test_escalation_page_shows_the_rule_deadlines_attendance_and_history(
    client, supervisor, escalation
):
    referral = escalation.referral
    first_due = referral.first_appointment_due.astimezone(LONDON)
    client.force_login(supervisor)

    html = client.get(detail_url(escalation)).content.decode()

    assert "No first appointment attended by the deadline" in html
    assert f"due by the end of {first_due:%A} {first_due.day} {first_due:%B %Y}" in html
    assert "Appointments attended by then: 0." in html
    assert "Not completed by the deadline" in html  # the sweep ran long after both deadlines
    assert 'data-deadline="first">' in html
    assert "0 used of 1 allowed" in html
    assert "No appointments were booked." in html
    flagged = Breach.from_facts(escalation.facts).headline(named=escalation.rule)
    assert f">{flagged}</h" in html  # the timeline: what was missed, and by when
    assert "Dylan Thomas" in html and referral.case.reference in html
    assert 'name="decision" type="radio" value="prosecute"' in html
    assert AuditEvent.objects.filter(
        action="view", object_type="escalations.escalation", object_id=str(escalation.pk)
    ).exists()


def test_escalation_page_lists_appointments_with_their_attendance(
    client, supervisor, policy, programme
):
    appointment = factories.AppointmentFactory(
        referral__programme=programme, referral__status="flagged"
    )
    staff = appointment.booked_by
    Attendance.objects.create(appointment=appointment, outcome="did_not_attend", recorded_by=staff)
    flagged = make_escalation(days_ago=1, rule="too_many_absences")
    Escalation.objects.filter(pk=flagged.pk).update(referral=appointment.referral)
    client.force_login(supervisor)

    html = client.get(detail_url(flagged)).content.decode()

    assert 'data-outcome="did_not_attend">Did not attend<' in html
    assert "2 unexcused absences (did not attend); the scheme allows 1." in html


def test_programmes_offered_for_a_re_referral_exclude_the_current_one(
    client, supervisor, escalation
):
    serving = factories.ProgrammeFactory(name="Online course", forces_served=[factories.force()])
    factories.ProgrammeFactory(name="Durham only", forces_served=[factories.force("DUR")])
    client.force_login(supervisor)

    html = client.get(detail_url(escalation)).content.decode()
    options = re.findall(r'<option value="(\d+)"', html)

    assert options == [str(serving.pk)]


# Bad input: each refused with the service's message, against its field, and nothing changes


@pytest.mark.parametrize(
    ("data", "anchor", "message"),
    [
        (
            {"decision": "extend", **date_fields("new_deadline", TODAY - timedelta(days=1))},
            "#id_new_deadline_day",
            "The new deadline must be a date in the future.",
        ),
        (
            {"decision": "extend", **date_fields("new_deadline", TODAY + timedelta(days=1))},
            "#id_new_deadline_day",
            "The new deadline must be after the current one (",
        ),
        (
            {"decision": "extend", "new_deadline_day": "31", "new_deadline_month": "2"},
            "#id_new_deadline_day",
            "The new deadline must be a real date.",
        ),
        ({"decision": "extend"}, "#id_new_deadline_day", "Enter the new deadline."),
        (
            {"decision": "prosecute", "rationale": "  "},
            "#id_rationale",
            "Give the rationale for the decision",
        ),
        ({"decision": "re_refer"}, "#id_new_programme", "Choose the programme to refer to."),
        ({}, "#id_decision_0", "Choose a decision."),
        ({"decision": "hang them"}, "#id_decision_0", "Choose a decision."),
    ],
    ids=[
        "past date",
        "before the current deadline",
        "not a date",
        "no date",
        "no rationale",
        "no programme",
        "no decision",
        "unknown decision",
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    client, supervisor, escalation, data, anchor, message
):
    client.force_login(supervisor)
    before = state(escalation)
    data = {"rationale": "Written with care", **data}

    response = client.post(detail_url(escalation), data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in html
    assert re.search(rf'<a href="{anchor}">{re.escape(message)}', html), html[:3000]
    assert state(escalation) == before
    if data["rationale"].strip():
        assert "Written with care</textarea>" in html  # nothing typed is lost


def test_an_extension_beyond_the_policy_is_refused_on_the_decision(
    client, supervisor, escalation, policy
):
    policy.max_extensions = 0
    policy.save()
    client.force_login(supervisor)
    before = state(escalation)

    response = client.post(
        detail_url(escalation),
        {
            "decision": "extend",
            "rationale": "Again",
            **date_fields("new_deadline", TODAY + timedelta(days=500)),
        },
    )

    assert re.search(r'<a href="#id_decision_0">The scheme allows 0 extensions', response.text)
    assert state(escalation) == before


def test_a_second_decision_is_refused_and_the_first_is_shown(client, supervisor, escalation):
    escalation_decide(
        escalation=escalation, by=supervisor, decision="prosecute", rationale="No engagement"
    )
    client.force_login(supervisor)
    before = state(escalation)

    response = client.post(
        detail_url(escalation), {"decision": "no_further_action", "rationale": "Changed my mind"}
    )

    html = response.content.decode()
    assert "There is a problem" in html
    assert "This escalation was already decided (refer for prosecution) by Marcus Reid" in html
    assert 'data-decision="prosecute"' in html
    assert 'name="decision"' not in html
    assert state(escalation) == before


# Decisions, end to end


def test_prosecution_closes_the_case_and_makes_a_printable_summary(client, supervisor, escalation):
    case = escalation.referral.case
    client.force_login(supervisor)
    assert client.get(f"{detail_url(escalation)}summary/").status_code == 404

    response = decide(
        client,
        escalation,
        {"decision": "prosecute", "rationale": "Three letters and no reply."},
    )

    html = response.content.decode()
    assert f"Decision recorded: case {case.reference} is closed as referred for prosecution" in html
    assert 'data-outcome="prosecution"' in html
    assert "Three letters and no reply." in html and "Marcus Reid" in html
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.outcome == CaseOutcome.PROSECUTION

    summary = client.get(f"{detail_url(escalation)}summary/")
    page = summary.content.decode()
    assert summary.status_code == 200
    for fact in (
        case.reference,
        case.custody_record_number,
        "Thames Valley",
        "Dylan Thomas",
        "5 May 1990",
        "Cannabis",
        "policy version",
        "Consent to take part",
        escalation.referral.reference,
        "No first appointment attended by the deadline",
        "Refer for prosecution",
        "Three letters and no reply.",
        "Marcus Reid",
    ):
        assert fact in page, fact
    assert 'href="/static/css/print.css" media="print"' in page
    assert 'src="/static/js/print.js"' in page
    assert "style=" not in page and "<script>" not in page
    export = AuditEvent.objects.get(action="export")
    assert export.user == supervisor
    assert export.object_id == str(escalation.pk)
    assert export.person_id == case.person_id


def test_extension_moves_the_deadline_and_returns_the_case_to_the_programme(
    client, supervisor, escalation
):
    new_day = TODAY + timedelta(days=500)
    client.force_login(supervisor)

    response = decide(
        client,
        escalation,
        {
            "decision": "extend",
            "rationale": "In hospital for a month.",
            **date_fields("new_deadline", new_day),
            # A programme left chosen in the re-referral's hidden reveal is ignored.
            "new_programme": "999999",
        },
    )

    html = response.content.decode()
    assert "Decision recorded: the deadline is extended to" in html
    assert f"{new_day.day} {new_day:%B %Y}" in html
    referral = Referral.objects.get(pk=escalation.referral_id)
    assert referral.extensions == 1
    assert referral.first_appointment_due == end_of_day(new_day)
    assert referral.case.status == CaseStatus.REFERRED
    assert 'data-decision="extend"' in html


def test_re_referral_opens_a_referral_to_the_chosen_programme(client, supervisor, escalation):
    online = factories.ProgrammeFactory(name="Online course", forces_served=[factories.force()])
    client.force_login(supervisor)

    response = decide(
        client,
        escalation,
        {
            "decision": "re_refer",
            "rationale": "Works nights: an online course suits.",
            "new_programme": str(online.pk),
            # A date left in the extension's hidden reveal is ignored, even a bad one.
            "new_deadline_day": "99",
        },
    )

    assert "is re-referred to Online course" in response.content.decode()
    case = escalation.referral.case
    assert case.referrals.get(status=ReferralStatus.NEW).programme == online
    assert Referral.objects.get(pk=escalation.referral_id).status == ReferralStatus.WITHDRAWN
    case.refresh_from_db()
    assert case.status == CaseStatus.REFERRED


def test_no_further_action_closes_the_case_without_a_summary(client, supervisor, escalation):
    client.force_login(supervisor)

    response = decide(
        client,
        escalation,
        {"decision": "no_further_action", "rationale": "Moved abroad."},
    )

    assert "is closed with no further action" in response.content.decode()
    case = escalation.referral.case
    case.refresh_from_db()
    assert case.outcome == CaseOutcome.NO_FURTHER_ACTION
    assert client.get(f"{detail_url(escalation)}summary/").status_code == 404
    assert not AuditEvent.objects.filter(action="export").exists()
