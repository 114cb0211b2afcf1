"""The referrals and programmes API: the whole journey, referral input, who sees what."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, Role, User
from audit.models import AuditEvent
from cases.models import Case, SchemePolicy
from programmes.models import Programme, Provider, Referral
from tests import factories
from tests.errors import field_errors

REFERRALS = "/api/v1/referrals/"
PROGRAMMES = "/api/v1/programmes/"
LONDON = ZoneInfo("Europe/London")


def client_for(user: User) -> APIClient:
    """An API client signed in as `user`."""
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api(officer: User) -> APIClient:
    """The Thames Valley custody officer's API client."""
    return client_for(officer)


@pytest.fixture
def accepted_case(api: APIClient, policy: SchemePolicy) -> Case:
    """A Thames Valley case checked eligible whose offer was accepted, ready to refer."""
    case = factories.CaseFactory()
    assert api.post(f"/api/v1/cases/{case.reference}/eligibility/").status_code == 201
    offer = {"response": "accepted", "consent_given": True}
    response = api.post(f"/api/v1/cases/{case.reference}/offer/", offer, format="json")
    assert response.status_code == 201
    case.refresh_from_db()
    return case


def provider_staff(provider: Provider) -> User:
    """A member of `provider`'s staff."""
    return factories.UserFactory(role=Role.PROVIDER_STAFF, provider=provider)


def test_full_journey_over_the_api(
    officer: User, policy: SchemePolicy, programme: Programme
) -> None:
    """Find nobody, add the person, log the case, check, offer, refer, and see the referral."""
    _, key = ApiToken.issue(user=officer, name="test")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    search = api.get("/api/v1/people/", {"pnc_id": "2019/0123456A"})
    assert search.status_code == 200
    assert search.json() == {"exact": None, "possible": []}

    person = api.post(
        "/api/v1/people/",
        {
            "given_name": "Siân",
            "family_name": "O'Brien-Jones",
            "date_of_birth": "1998-03-14",
            "pnc_id": "2019/0123456A",
        },
        format="json",
    )
    assert person.status_code == 201

    offence_date = timezone.localdate() - timedelta(days=1)
    case = api.post(
        "/api/v1/cases/",
        {
            "person": person.json()["id"],
            "custody_record_number": "CR-2026-00917",
            "offence_date": offence_date.isoformat(),
            "admitted_offence": True,
            "previous_drug_conviction_or_caution": False,
            "drugs": [{"drug": "cannabis", "quantity": "3.5"}],
        },
        format="json",
    )
    assert case.status_code == 201
    reference = case.json()["reference"]

    decision = api.post(f"/api/v1/cases/{reference}/eligibility/")
    assert decision.status_code == 201
    assert decision.json()["eligible"] is True, decision.json()["reasons"]

    offer = api.post(
        f"/api/v1/cases/{reference}/offer/",
        {"response": "accepted", "consent_given": True},
        format="json",
    )
    assert offer.status_code == 201
    assert offer.json()["case_status"] == "accepted"

    referral = api.post(REFERRALS, {"case": reference, "programme": programme.pk}, format="json")
    assert referral.status_code == 201
    body = referral.json()
    assert body["case"] == reference
    assert body["programme"] == {
        "id": programme.pk,
        "name": programme.name,
        "provider": programme.provider.name,
    }
    assert body["status"] == "new"
    first_due = datetime.fromisoformat(body["first_appointment_due"])
    completion_due = datetime.fromisoformat(body["completion_due"])
    # ISO 8601 with an offset, and the last second of the due day in London.
    assert first_due.utcoffset() is not None
    assert first_due.astimezone(LONDON).time() == time(23, 59, 59)
    assert completion_due.astimezone(LONDON).time() == time(23, 59, 59)
    assert completion_due > first_due

    listed = api.get(REFERRALS)
    assert listed.status_code == 200
    assert [r["reference"] for r in listed.json()["results"]] == [body["reference"]]

    detail = api.get(f"/api/v1/cases/{reference}/").json()
    assert detail["status"] == "referred"
    assert detail["latest_eligibility"]["id"] == decision.json()["id"]
    assert [r["reference"] for r in detail["referrals"]] == [body["reference"]]
    assert detail["referrals"][0]["first_appointment_due"] == body["first_appointment_due"]


# Refused referrals


def test_referral_to_a_programme_that_does_not_exist_is_400_on_programme(
    api: APIClient, accepted_case: Case
) -> None:
    response = api.post(
        REFERRALS, {"case": accepted_case.reference, "programme": 999_999}, format="json"
    )

    assert response.status_code == 400
    assert "No programme with id 999999" in response.json()["programme"][0]
    assert not Referral.objects.exists()


def test_referral_to_a_programme_not_serving_the_force_is_400_like_an_unknown_one(
    api: APIClient, accepted_case: Case
) -> None:
    elsewhere = factories.ProgrammeFactory(forces_served=[factories.force("DUR")])

    response = api.post(
        REFERRALS, {"case": accepted_case.reference, "programme": elsewhere.pk}, format="json"
    )

    assert response.status_code == 400
    # The same answer as for an id that does not exist: other forces' programmes stay unlisted.
    assert field_errors(response) == {
        "programme": [
            f"No programme with id {elsewhere.pk} takes referrals from your force: choose one "
            "listed at /api/v1/programmes/."
        ]
    }
    assert elsewhere.name not in response.content.decode()
    assert not Referral.objects.exists()
    accepted_case.refresh_from_db()
    assert accepted_case.status == "accepted"


def test_referral_of_another_forces_case_reads_as_no_such_case(
    api: APIClient, programme: Programme
) -> None:
    theirs = factories.CaseFactory(force=factories.force("DUR"), status="accepted")

    for reference in (theirs.reference, "TVP-999999"):
        response = api.post(
            REFERRALS, {"case": reference, "programme": programme.pk}, format="json"
        )
        assert response.status_code == 400
        assert field_errors(response) == {"case": ["No case with this reference."]}
    assert not Referral.objects.exists()


def test_referral_of_a_case_whose_offer_was_not_accepted_is_409(
    api: APIClient, programme: Programme
) -> None:
    case = factories.CaseFactory(status="eligible")

    response = api.post(
        REFERRALS, {"case": case.reference, "programme": programme.pk}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"
    assert not Referral.objects.exists()


def test_referral_with_missing_fields_is_400_on_each(api: APIClient) -> None:
    response = api.post(REFERRALS, {}, format="json")

    assert response.status_code == 400
    assert set(field_errors(response)) == {"case", "programme"}


# Who sees which referrals


def test_provider_sees_only_its_referrals_without_offence_or_police_details(db: Any) -> None:
    person = factories.PersonFactory(pnc_id="2019/0123456A")
    case = factories.CaseFactory(
        person=person,
        status="referred",
        custody_record_number="CR-SECRET-77",
        crime_reference="43260099999",
    )
    ours = factories.ReferralFactory(case=case)
    factories.ReferralFactory()  # another provider's
    staff = provider_staff(ours.programme.provider)

    response = client_for(staff).get(REFERRALS)

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["reference"] == ours.reference
    assert set(row) == {
        "reference",
        "person",
        "programme",
        "status",
        "first_appointment_due",
        "completion_due",
        "extensions",
        "referred_at",
        "updated_at",
        "decline_reason",
        "completed_on",
        "ended_at",
        "end_reason",
        "appointments",
    }
    assert row["person"]["family_name"] == person.family_name
    assert "pnc_id" not in row["person"]
    assert row["person"]["date_of_birth"] == person.date_of_birth.isoformat()
    text = response.content.decode()
    for secret in ("2019/0123456A", "CR-SECRET-77", "43260099999", case.reference, "cannabis"):
        assert secret not in text
    for key in ("offence", "drug", "custody", "crime", "pnc", "eligib", "case"):
        assert key not in json.dumps(list(row) + list(row["person"]))


def test_officer_sees_only_referrals_of_own_force_cases(api: APIClient) -> None:
    ours = factories.ReferralFactory()
    factories.ReferralFactory(case=factories.CaseFactory(force=factories.force("DUR")))

    response = api.get(REFERRALS)

    assert [r["reference"] for r in response.json()["results"]] == [ours.reference]
    assert response.json()["results"][0]["case"] == ours.case.reference


def test_referral_list_audits_each_row_in_one_go(api: APIClient) -> None:
    referrals = factories.ReferralFactory.create_batch(3)

    api.get(REFERRALS)

    rows = AuditEvent.objects.filter(action="view", object_type="programmes.referral")
    assert {(e.object_id, e.person_id) for e in rows} == {
        (r.reference, r.case.person_id) for r in referrals
    }


def test_referral_list_filters_by_status_and_updated_since(api: APIClient) -> None:
    old = factories.ReferralFactory(status="accepted")
    Referral.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=10))
    new = factories.ReferralFactory()
    since = (timezone.now() - timedelta(days=1)).astimezone(LONDON).isoformat()

    by_status = api.get(REFERRALS, {"status": "accepted"}).json()["results"]
    by_time = api.get(REFERRALS, {"updated_since": since}).json()["results"]

    assert [r["reference"] for r in by_status] == [old.reference]
    assert [r["reference"] for r in by_time] == [new.reference]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"updated_since": "last tuesday"}, "updated_since"), ({"status": "lost"}, "status")],
)
def test_referral_list_with_a_bad_filter_is_400(
    api: APIClient, params: dict[str, str], field: str
) -> None:
    response = api.get(REFERRALS, params)

    assert response.status_code == 400
    assert field in response.json()


def test_referral_list_query_count_does_not_grow_with_rows(
    api: APIClient, django_assert_max_num_queries: Any
) -> None:
    factories.ReferralFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        assert api.get(REFERRALS).status_code == 200
    factories.ReferralFactory.create_batch(15)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = api.get(REFERRALS)

    assert len(response.json()["results"]) == 17


def test_provider_referral_list_query_count_does_not_grow_with_rows(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    programme = factories.ProgrammeFactory()
    staff = client_for(provider_staff(programme.provider))
    factories.ReferralFactory.create_batch(2, programme=programme)
    with CaptureQueriesContext(connection) as few:
        assert staff.get(REFERRALS).status_code == 200
    factories.ReferralFactory.create_batch(15, programme=programme)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = staff.get(REFERRALS)

    assert len(response.json()["results"]) == 17


def test_provider_staff_cannot_create_referrals(db: Any, programme: Programme) -> None:
    staff = client_for(provider_staff(programme.provider))

    response = staff.post(REFERRALS, {"case": "TVP-000001", "programme": programme.pk})

    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.ANALYST, Role.ADMINISTRATOR])
def test_analysts_and_administrators_get_403_on_referrals(db: Any, role: str) -> None:
    factories.ReferralFactory()

    response = client_for(factories.UserFactory(role=role)).get(REFERRALS)

    assert response.status_code == 403


# Programmes


def test_programme_list_shows_the_programmes_serving_the_force(
    api: APIClient, programme: Programme
) -> None:
    factories.ProgrammeFactory(forces_served=[factories.force("DUR")])
    programme.forces_served.add(factories.force("DUR"))

    response = api.get(PROGRAMMES)

    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": programme.pk,
            "name": programme.name,
            "kind": "education",
            "provider": programme.provider.name,
            "sessions_required": 1,
            "forces_served": ["Durham Constabulary", "Thames Valley Police"],
        }
    ]


def test_provider_lists_only_its_own_programmes(db: Any, programme: Programme) -> None:
    factories.ProgrammeFactory()

    response = client_for(provider_staff(programme.provider)).get(PROGRAMMES)

    assert [p["id"] for p in response.json()["results"]] == [programme.pk]
