"""The analysts' reports on the demo data: scope, bad input, every figure disclosed, and no
personal data on any page, CSV or API answer."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, time
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils.html import escape

from accounts.models import Role, User
from audit.models import AuditEvent
from base.clock import LONDON
from cases.models import Case, Force, Offer, Person
from escalations.models import Escalation
from programmes.models import Programme, Referral
from reports import disclosure
from reports.views import REPORTS
from tests import factories

REPORT_CASES = 700


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """seed_demo with cases for the reports, once for the module, rolled back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("seed_demo", "--force", "--report-cases", str(REPORT_CASES), verbosity=0)
        except BaseException:
            atomic.__exit__(None, None, None)
            raise
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def page(client: Client, slug: str, query: str = "") -> Any:
    return client.get(f"/reports/{slug}/{query}")


def personal_markers() -> dict[str, str]:
    """Text from every person, case and referral in the demo data that must never reach an
    analyst: names, dates of birth, identifiers, contact details, references, free text."""
    markers: dict[str, str] = {}
    for person in Person.objects.all():
        markers[f"name of person {person.pk}"] = person.full_name
        if len(person.family_name) >= 8:
            markers[f"family name of person {person.pk}"] = person.family_name
        markers[f"birth date of person {person.pk}"] = person.date_of_birth.isoformat()
        markers[f"birth date (words) of person {person.pk}"] = (
            f"{person.date_of_birth.day} {person.date_of_birth:%B %Y}"
        )
        for name in ("pnc_id", "email", "phone", "postcode", "address", "access_needs"):
            if getattr(person, name):
                markers[f"{name} of person {person.pk}"] = getattr(person, name)
    for case in Case.objects.all():
        markers[f"case {case.pk}"] = case.reference
        markers[f"custody record of case {case.pk}"] = case.custody_record_number
        if case.crime_reference:
            markers[f"crime reference of case {case.pk}"] = case.crime_reference
    for referral in Referral.objects.all():
        markers[f"referral {referral.pk}"] = referral.reference
        if referral.decline_reason:
            markers[f"decline reason {referral.pk}"] = referral.decline_reason
    for offer in Offer.objects.exclude(notes=""):
        markers[f"offer notes {offer.pk}"] = offer.notes
    for escalation in Escalation.objects.exclude(rationale=""):
        markers[f"rationale {escalation.pk}"] = escalation.rationale
    return markers


def all_answers(client: Client) -> Iterator[tuple[str, str]]:
    """Every report's page, CSV and API answer, unfiltered and with each kind of filter."""
    queries = ["", "?drug_class=A", "?by=ethnicity", "?by=age_band", "?by=sex&reference=female"]
    for slug in REPORTS:
        for query in queries if slug == "fairness" else queries[:2]:
            for url in (f"/reports/{slug}/", f"/reports/{slug}/csv/", f"/api/v1/reports/{slug}/"):
                response = client.get(url + query)
                assert response.status_code == 200, (url + query, response.content[:500])
                yield url + query, response.content.decode()


@pytest.mark.django_db
def test_no_report_page_csv_or_api_answer_shows_personal_data(demo: None) -> None:
    markers = personal_markers()
    assert len(markers) > REPORT_CASES * 3
    seen = 0
    for username in ("analyst", "national.analyst"):
        for url, body in all_answers(signed_in(username)):
            leaked = [label for label, text in markers.items() if text in body]
            assert not leaked, f"{url} as {username} shows {leaked[:5]}"
            seen += 1
    assert seen == 2 * 3 * ((len(REPORTS) - 1) * 2 + 5)


def _figures(report_json: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for table in report_json["tables"]:
        for row in table["rows"]:
            for value in row.values():
                if isinstance(value, dict):
                    yield value


@pytest.mark.django_db
def test_every_published_count_is_zero_withheld_or_a_multiple_of_five(demo: None) -> None:
    client = signed_in("national.analyst")
    for slug in REPORTS:
        answer = client.get(f"/api/v1/reports/{slug}/").json()
        for table in answer["tables"]:
            count_columns = [
                c
                for c in table["columns"][1:]
                if not re.search(r"Rate|Share|index|Median|within|of those", c)
            ]
            for row in table["rows"]:
                for column in count_columns:
                    figure = row[column]
                    assert figure["value"] is None or figure["value"] % 5 == 0, (slug, row)
                    assert figure["value"] is None or not 0 < figure["value"] < 8, (slug, row)
                    if figure["value"] is None:
                        assert figure["text"] in (disclosure.MARKER, disclosure.NOT_SHOWN)


@pytest.mark.django_db
def test_a_force_analyst_sees_only_their_force(demo: None) -> None:
    force_only = signed_in("analyst").get("/api/v1/reports/funnel/").json()
    national = signed_in("national.analyst")
    tvp = national.get("/api/v1/reports/funnel/?force=TVP").json()
    everyone = national.get("/api/v1/reports/funnel/").json()
    tvp_cases = Case.objects.filter(
        force__code="TVP", created_at__gte=datetime.combine(_start(), time(), LONDON)
    ).count()

    assert force_only["tables"] == tvp["tables"]
    assert force_only["tables"][0]["rows"][0]["Cases"]["value"] == disclosure.rounded(tvp_cases)
    assert everyone["tables"] != tvp["tables"]
    assert "Force: Thames Valley Police" in force_only["scope"]


def _start() -> Any:
    from reports.filters import ReportFilters

    form = ReportFilters({}, user=User.objects.get(username="analyst"))
    assert form.is_valid()
    return form.scope().start


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?force=DUR", "you can only see figures for Thames Valley Police"),
        ("?colour=red", "These filters do not exist: “colour”"),
        ("?start=2026-06&end=2025-01", "must be the same as or after"),
        ("?start=1999-01", "Choose a “from” month from the list"),
        ("?end=June", "Choose a “to” month from the list"),
        ("?drug_class=Z", "Choose a drug class from the list"),
    ],
)
def test_bad_filters_are_a_clear_message_and_no_figures(
    demo: None, query: str, message: str
) -> None:
    client = signed_in("analyst")

    response = page(client, "funnel", query)
    api = client.get(f"/api/v1/reports/funnel/{query}")
    csv_answer = client.get(f"/reports/funnel/csv/{query}")

    assert response.status_code == 400
    text = response.content.decode()
    assert "There is a problem" in text and message in text
    assert "data-report-table" not in text
    assert api.status_code == 400 and message in json.dumps(api.json(), ensure_ascii=False)
    assert csv_answer.status_code == 400 and "text/csv" not in csv_answer["Content-Type"]


@pytest.mark.django_db
def test_a_programme_of_another_force_is_refused(demo: None) -> None:
    durham_only = Programme.objects.get(name="Checkpoint four-month contract")

    response = page(signed_in("analyst"), "funnel", f"?programme={durham_only.pk}")

    assert response.status_code == 400
    assert "you can only see figures for Thames Valley Police" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?reference=martian", "Choose a group to compare with from the list"),
        ("?by=sex&reference=white_british", "Choose a group to compare with from the list"),
        ("?by=sex&reference=not_stated", "Choose a group to compare with from the list"),
        ("?by=height", "Choose how to group people from the list"),
        ("?programme=abc", "Choose a programme from the list."),
    ],
)
def test_an_unknown_group_or_filter_on_the_fairness_page_is_refused(
    demo: None, query: str, message: str
) -> None:
    response = page(signed_in("national.analyst"), "fairness", query)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert "data-report-table" not in response.content.decode()


@pytest.mark.django_db
def test_a_national_analyst_compares_forces_and_is_told_about_geography(demo: None) -> None:
    client = signed_in("national.analyst")

    national = page(client, "fairness").content.decode()
    one_force = page(client, "fairness", "?force=WMP").content.decode()

    assert "part of a difference may come from where people were stopped" in national
    assert "where people were stopped" not in one_force


@pytest.mark.django_db
def test_a_national_analyst_sees_the_forces_side_by_side_and_a_force_analyst_their_own(
    demo: None,
) -> None:
    national = signed_in("national.analyst").get("/api/v1/reports/forces/").json()
    own = signed_in("analyst").get("/api/v1/reports/forces/").json()

    names = [row["Force"] for row in national["tables"][0]["rows"]]
    assert names == ["Durham Constabulary", "Thames Valley Police", "West Midlands Police"]
    assert [row["Force"] for row in own["tables"][0]["rows"]] == ["Thames Valley Police"]
    tvp = national["tables"][0]["rows"][1]
    assert tvp["Logged"] == own["tables"][0]["rows"][0]["Logged"]
    assert tvp["Completed, of those started"]["value"] is not None


@pytest.mark.django_db
def test_fairness_shows_rates_and_indexes_at_every_decision_point(demo: None) -> None:
    answer = signed_in("national.analyst").get("/api/v1/reports/fairness/").json()

    captions = [table["caption"] for table in answer["tables"]]
    assert captions[0] == "Eligible, of those logged"
    assert "Offered diversion, of those eligible" in captions
    assert "Referred for prosecution, of those flagged for a missed deadline" in captions
    assert len(captions) == 11
    offered = answer["tables"][captions.index("Offered diversion, of those eligible")]
    white = next(row for row in offered["rows"] if row["Ethnicity (five broad groups)"] == "White")
    index_column = "Relative rate index (against White)"
    assert white[index_column]["value"] == 1.0
    black = next(
        r for r in offered["rows"] if r["Ethnicity (five broad groups)"].startswith("Black")
    )
    assert black["Rate"]["value"] is not None and black[index_column]["value"] is not None
    assert any(
        "times as likely to be offered diversion as the White group" in s
        for s in offered["statements"]
    )


@pytest.mark.django_db
def test_the_csv_holds_exactly_the_figures_of_the_page(demo: None) -> None:
    client = signed_in("analyst")
    text = page(client, "funnel").content.decode()
    rows = list(csv.reader(io.StringIO(client.get("/reports/funnel/csv/").content.decode())))
    table = [row for row in rows if len(row) == 4]

    assert table[0] == ["Step", "Cases", "Share of the step before", "Share of cases logged"]
    for label, *cells in table[1:]:
        for cell in cells:
            assert f">{cell}</td>" in text, (label, cell)


@pytest.mark.django_db
def test_reading_a_report_is_audited_with_its_filters(demo: None) -> None:
    user = User.objects.get(username="analyst")
    client = signed_in("analyst")

    client.get("/reports/rates/?drug_class=A")
    client.get("/reports/rates/csv/?drug_class=A")

    events = AuditEvent.objects.filter(user=user, object_type="reports.rates").order_by("id")
    assert [e.action for e in events] == ["view", "export"]
    assert events[0].changes["filters"] == {"drug_class": "A"}
    assert events[0].person_id is None


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.CUSTODY_OFFICER, Role.SUPERVISOR, Role.ADMINISTRATOR])
def test_other_roles_do_not_reach_the_reports(demo: None, role: str) -> None:
    force = None if role == Role.ADMINISTRATOR else Force.objects.get(code="TVP")
    client = Client()
    client.force_login(factories.UserFactory(role=role, force=force))

    assert client.get("/reports/funnel/").status_code == 404
    assert client.get("/api/v1/reports/funnel/").status_code == 403


@pytest.mark.django_db
def test_an_analyst_lands_on_the_reports_and_finds_each_one(demo: None) -> None:
    client = signed_in("analyst")

    response = client.get("/", follow=True)

    text = response.content.decode()
    assert response.redirect_chain[-1][0] == "/reports/"
    for kind in REPORTS.values():
        assert escape(kind.title) in text
    assert "on their way" not in text


@pytest.mark.django_db
@pytest.mark.parametrize("slug", list(REPORTS))
def test_a_report_takes_the_same_few_queries_for_many_cases_or_few(
    demo: None, slug: str, django_assert_max_num_queries: Any
) -> None:
    """Aggregated in SQL: the number of queries does not grow with the cases or forces."""
    client = signed_in("national.analyst")
    client.get(f"/reports/{slug}/")  # the session's first refresh

    with django_assert_max_num_queries(12) as everyone:
        assert page(client, slug).status_code == 200
    with django_assert_max_num_queries(12) as few:
        assert page(client, slug, "?drug_class=C&start=2026-11").status_code == 200

    assert len(everyone.captured_queries) == len(few.captured_queries)
