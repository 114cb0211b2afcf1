"""The audit log: append-only in PostgreSQL, and the administrator's search, trail and export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.db.utils import Error as DatabaseError
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditEvent
from audit.services import audit_record
from audit.views import CSV_HEADER
from audit.wording import summarise_changes, what_happened
from base.clock import london_date
from cases.models import Case, Person
from retention.anonymise import anonymise_expired
from tests import factories

pytestmark = pytest.mark.django_db

APPEND_ONLY = "the audit log is append-only"
# The runtime role has no UPDATE or DELETE on the table; the owner meets the trigger instead.
REFUSED = f"{APPEND_ONLY}|permission denied for table audit_auditevent"
AUDIT_URLS = ("/audit/", "/audit/person/{person}/", "/audit/export/")


@pytest.fixture
def administrator() -> User:
    return factories.UserFactory(role=Role.ADMINISTRATOR, force=None, username="admin1")


@pytest.fixture
def admin_client(client: Client, administrator: User) -> Client:
    client.force_login(administrator)
    return client


def event(**fields: object) -> AuditEvent:
    return audit_record(
        user=fields.pop("user", None),
        action=fields.pop("action", "view"),
        object_type=fields.pop("object_type", "cases.case"),
        **fields,
    )


def date_fields(prefix: str, day: date) -> dict[str, str]:
    return {
        f"{prefix}_day": str(day.day),
        f"{prefix}_month": str(day.month),
        f"{prefix}_year": str(day.year),
    }


# The database refuses to change or remove a row, whatever the application does.


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET reason = 'covered up' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ],
)
def test_database_refuses_raw_update_and_delete_from_the_application_connection(sql: str):
    row = event(reason="seen")

    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [row.pk])

    row.refresh_from_db()
    assert row.reason == "seen"


def test_database_refuses_orm_update_and_delete():
    row = event(reason="seen")

    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).update(reason="covered up")
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).delete()
    row.reason = "covered up"
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        row.save()
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        row.delete()

    assert AuditEvent.objects.get(pk=row.pk).reason == "seen"


def test_database_accepts_inserts():
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (at, action, object_type, object_id, path, changes, "
            "reason) VALUES (now(), 'view', 'cases.case', 'X-1', '', '{}', '') RETURNING id"
        )
        (pk,) = cursor.fetchone()
    event(reason="and through the ORM")

    assert AuditEvent.objects.filter(pk=pk).exists()
    assert AuditEvent.objects.filter(reason="and through the ORM").exists()


# What an officer does through the pages is what the administrator sees.


def officer_logs_and_views_a_case(client: Client, officer: User) -> tuple[Person, Case]:
    """Through the pages: search, add the person, log the case, view it."""
    client.force_login(officer)
    search = {
        "given_name": "Siân",
        "family_name": "Ní Bhriain",
        **date_fields("date_of_birth", date(1999, 2, 3)),
    }
    client.post("/cases/new/", search)
    response = client.post(
        "/cases/new/person/",
        {
            **search,
            "phone": "07700 900456",
            "contact_preference": "sms",
            "preferred_language": "en",
            "ethnicity": "not_stated",
            "sex": "not_stated",
        },
    )
    offence_day = london_date(timezone.now()) - timedelta(days=2)
    response = client.post(
        response["Location"],
        {
            "custody_record_number": "CR/26/0042",
            "offence_type": "simple_possession",
            "setting": "none",
            "admitted_offence": "True",
            "previous_drug_conviction_or_caution": "False",
            "resides_in_force_area": "True",
            "drugs-TOTAL_FORMS": "1",
            "drugs-INITIAL_FORMS": "0",
            "drugs-MIN_NUM_FORMS": "0",
            "drugs-MAX_NUM_FORMS": "6",
            "drugs-0-drug": str(factories.drug("cannabis").pk),
            "drugs-0-quantity": "3.5",
            **date_fields("offence_date", offence_day),
        },
    )
    assert response.status_code == 302, response.content.decode()
    case = Case.objects.get(custody_record_number="CR/26/0042")
    assert client.get(f"/cases/{case.reference}/").status_code == 200
    client.post(f"/cases/{case.reference}/eligibility/")
    client.logout()
    return case.person, case


def test_person_trail_shows_every_view_and_change_made_through_the_pages(
    client: Client, officer: User, policy, administrator: User
):
    person, case = officer_logs_and_views_a_case(client, officer)
    client.force_login(administrator)

    response = client.get(f"/audit/person/{person.pk}/")

    assert response.status_code == 200
    trail = [
        (e.user.username if e.user else "", e.action, e.object_type, e.object_id)
        for e in response.context["events"]
    ]
    officer_rows = [row for row in trail if row[0] == officer.username]
    assert officer_rows == [
        (officer.username, "create", "cases.person", str(person.pk)),
        (officer.username, "create", "cases.case", case.reference),
        (officer.username, "view", "cases.case", case.reference),
        (officer.username, "create", "cases.eligibilitydecision", officer_rows[3][3]),
        (officer.username, "change", "cases.case", case.reference),
    ]
    page = response.content.decode()
    assert "Siân Ní Bhriain" in page and "127.0.0.1" in page
    assert f"/cases/{case.reference}/" in page
    assert "Status changed from logged to eligible." in page
    assert f"Viewed case {case.reference}" in page


def test_person_trail_includes_searches_that_showed_the_person(
    client: Client, officer: User, admin_client: Client
):
    person = factories.PersonFactory(
        given_name="Ciarán", family_name="Mac Donald", date_of_birth=date(1990, 1, 2)
    )
    officer_client = Client()
    officer_client.force_login(officer)
    officer_client.post(
        "/cases/new/",
        {
            "given_name": "ciaran",
            "family_name": "macdonald",
            **date_fields("date_of_birth", date(1990, 1, 2)),
        },
    )

    response = admin_client.get(f"/audit/person/{person.pk}/")

    assert [(e.user, e.action) for e in response.context["events"]][0] == (officer, "search")


def test_person_trail_keeps_the_history_after_the_person_is_anonymised(
    client: Client, officer: User, policy, administrator: User
):
    person, case = officer_logs_and_views_a_case(client, officer)
    Case.objects.filter(pk=case.pk).update(
        status="closed", outcome="standard_process", closed_at=timezone.now() - timedelta(days=1)
    )
    anonymise_expired(now=timezone.now() + timedelta(days=policy.retention_days))
    client.force_login(administrator)

    response = client.get(f"/audit/person/{person.pk}/")

    page = response.content.decode()
    assert "Siân" not in page and "Anonymised" in page
    events = list(response.context["events"])
    assert len(events) == 6
    assert (events[-1].action, events[-1].user) == ("erase", None)
    assert "A background job" in page


def test_viewing_a_person_trail_is_itself_audited(admin_client: Client, administrator: User):
    person = factories.PersonFactory()

    admin_client.get(f"/audit/person/{person.pk}/")

    row = AuditEvent.objects.get(user=administrator)
    assert (row.action, row.object_type, row.person_id) == ("view", "audit.auditevent", person.pk)
    assert row.changes["filter"] == {"person": str(person.pk)}


def test_search_finds_a_person_events_by_name_despite_accents(
    admin_client: Client, administrator: User
):
    sian = factories.PersonFactory(given_name="Siân", family_name="Ní Bhriain")
    other = factories.PersonFactory(given_name="Tomasz", family_name="Kowalski")
    mine = event(person_id=sian.pk, object_id="A-1")
    event(person_id=other.pk, object_id="B-1")

    response = admin_client.get("/audit/", {"person": "sian ni bhriain"})

    assert [e.pk for e in response.context["events"]] == [mine.pk]
    assert "Siân Ní Bhriain" in response.content.decode()
    assert f'href="/audit/person/{sian.pk}/"' in response.content.decode()
    response = admin_client.get("/audit/", {"person": "Bhriain"})
    assert [e.pk for e in response.context["events"]] == [mine.pk]
    response = admin_client.get("/audit/", {"person": str(sian.pk)})
    assert [e.pk for e in response.context["events"]] == [mine.pk]


def test_search_finds_a_user_events_within_a_date_range(admin_client: Client, officer: User):
    today = london_date(timezone.now())
    wanted = event(user=officer, object_id="WANTED")
    event(object_id="SOMEONE-ELSE", user=factories.UserFactory(username="other-officer"))

    response = admin_client.get(
        "/audit/",
        {
            "user": officer.username,
            **date_fields("date_from", today),
            **date_fields("date_to", today),
        },
    )
    assert [e.pk for e in response.context["events"]] == [wanted.pk]

    yesterday = today - timedelta(days=1)
    response = admin_client.get(
        "/audit/", {"user": officer.username, **date_fields("date_to", yesterday)}
    )
    assert list(response.context["events"]) == []
    assert "No events match your search" in response.content.decode()


def test_search_filters_by_action(admin_client: Client):
    event(action="view")
    changed = event(action="change")

    response = admin_client.get("/audit/", {"action": "change"})

    assert [e.pk for e in response.context["events"]] == [changed.pk]


def test_from_date_after_to_date_is_shown_in_the_error_summary(admin_client: Client):
    today = london_date(timezone.now())

    response = admin_client.get(
        "/audit/",
        {**date_fields("date_from", today), **date_fields("date_to", today - timedelta(days=1))},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert 'href="#id_date_to_day"' in page
    assert "The ‘to’ date must be the same as or after the ‘from’ date" in page
    assert response.context["page_obj"] is None


def test_searching_the_audit_log_is_itself_audited_with_the_filter(
    admin_client: Client, administrator: User
):
    admin_client.get("/audit/", {"person": "Bhriain", "action": "view"})

    row = AuditEvent.objects.get(user=administrator)
    assert (row.action, row.object_type) == ("view", "audit.auditevent")
    assert row.changes == {
        "filter": {"person": "Bhriain", "action": "view"},
        "page": 1,
        "found": [],  # the people the page named (nobody here), so reading names is audited
    }
    assert row.path == "/audit/"


def test_search_page_takes_the_same_number_of_queries_for_3_or_30_events(admin_client: Client):
    def events(count: int) -> None:
        user = factories.UserFactory()
        for _ in range(count):
            event(user=user, person_id=factories.PersonFactory().pk)

    events(3)
    admin_client.get("/audit/")  # the first page keeps the session alive; the next ones need not
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get("/audit/").status_code == 200
    events(27)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get("/audit/")
    assert len(response.context["events"]) > 30

    assert len(few.captured_queries) == len(many.captured_queries)


def test_export_streams_the_filtered_rows_as_csv(admin_client: Client, officer: User):
    wanted = event(user=officer, object_id="TVP-000001", reason="=HYPERLINK(1)")
    event(object_id="OTHER")

    response = admin_client.get("/audit/export/", {"user": officer.username})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == CSV_HEADER
    assert len(rows) == 2
    assert rows[1][1:6] == [officer.username, "view", "cases.case", "TVP-000001", ""]
    assert rows[1][8] == "'=HYPERLINK(1)"  # a spreadsheet must not run it
    assert rows[1][0].startswith(timezone.localtime(wanted.at).strftime("%Y-%m-%d"))


def test_exporting_is_itself_audited_with_the_filter(admin_client: Client, administrator: User):
    b"".join(admin_client.get("/audit/export/", {"action": "change"}).streaming_content)

    row = AuditEvent.objects.get(user=administrator)
    assert (row.action, row.object_type, row.changes) == (
        "export",
        "audit.auditevent",
        {"filter": {"action": "change"}},
    )


def test_export_with_a_bad_filter_goes_back_to_the_search_to_show_the_error(
    admin_client: Client, administrator: User
):
    response = admin_client.get("/audit/export/", {"date_from_day": "31", "date_from_month": "2"})

    assert response.status_code == 302
    assert response["Location"].startswith("/audit/?")
    assert not AuditEvent.objects.filter(user=administrator).exists()


@pytest.mark.parametrize(
    "role", [Role.CUSTODY_OFFICER, Role.SUPERVISOR, Role.PROVIDER_STAFF, Role.ANALYST]
)
def test_everyone_but_administrators_gets_404_on_every_audit_url(client: Client, role: str):
    person = factories.PersonFactory()
    if role == Role.PROVIDER_STAFF:
        user = factories.provider_staff(factories.ProviderFactory())
    else:
        user = factories.UserFactory(
            role=role, force=None if role == Role.ANALYST else factories.force("TVP")
        )
    client.force_login(user)

    for url in AUDIT_URLS:
        assert client.get(url.format(person=person.pk)).status_code == 404, url
    assert not AuditEvent.objects.filter(object_type="audit.auditevent").exists()


def test_signed_out_visitor_is_sent_to_sign_in(client: Client):
    response = client.get("/audit/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_administrator_sees_the_audit_trail_in_the_navigation(admin_client: Client):
    page = admin_client.get("/audit/").content.decode()

    assert 'href="/audit/" aria-current="page"' in page


def test_changes_are_said_in_sentences():
    assert (
        summarise_changes({"before": {"status": "offered"}, "after": {"status": "accepted"}})
        == "Status changed from offered to accepted."
    )
    assert (
        summarise_changes({"before": {"status": "in_programme"}, "after": {"status": "closed"}})
        == "Status changed from in programme to closed."
    )
    assert summarise_changes({"fields": ["email", "date_of_birth"]}) == (
        "Fields: email, date of birth."
    )
    assert summarise_changes({"found": [3, 4], "searched_by": ["pnc_id"]}) == (
        "Showed 2. Searched by: pnc id."
    )
    assert summarise_changes({"after": {"eligible": True}}) == "Eligible: yes."
    assert summarise_changes({}) == ""


def test_what_happened_names_the_kind_of_record_in_words():
    view = AuditEvent(action="view", object_type="cases.case", object_id="TVP-000014")
    decision = AuditEvent(action="create", object_type="cases.eligibilitydecision", object_id="9")
    search = AuditEvent(action="search", object_type="cases.person", changes={"found": [1, 2]})
    gone = AuditEvent(action="view", object_type="programmes.escalation", object_id="3")

    assert what_happened(view) == "Viewed case TVP-000014"
    assert what_happened(decision) == "Created eligibility decision 9"
    assert what_happened(search) == "Searched person records: showed 2"
    assert what_happened(gone) == "Viewed escalation 3"
