"""The people and cases API: search, create, retrieve, eligibility and offer, scoped by force."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, Role, User
from audit.models import AuditEvent
from cases.models import Case, CaseDrug, EligibilityDecision, Offer, Person
from tests import factories
from tests.errors import field_errors

PEOPLE = "/api/v1/people/"
CASES = "/api/v1/cases/"


def client_for(user: User) -> APIClient:
    """An API client signed in as `user`."""
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api(officer: User) -> APIClient:
    """The Thames Valley custody officer's API client."""
    return client_for(officer)


def case_payload(person: Person, **overrides: Any) -> dict[str, Any]:
    """A valid case body for `person`, with `overrides` applied."""
    return {
        "person": person.pk,
        "custody_record_number": "CR-2026-00917",
        "crime_reference": "43260012345",
        "offence_date": (timezone.localdate() - timedelta(days=2)).isoformat(),
        "offence_type": "simple_possession",
        "setting": "none",
        "admitted_offence": True,
        "resides_in_force_area": True,
        "previous_drug_conviction_or_caution": False,
        "circumstances": [],
        "drugs": [{"drug": "cannabis", "quantity": "3.5"}],
        **overrides,
    }


def counts() -> tuple[int, int, int, int]:
    """How many people, cases, drugs and decisions exist: unchanged after refused input."""
    return (
        Person.objects.count(),
        Case.objects.count(),
        CaseDrug.objects.count(),
        EligibilityDecision.objects.count(),
    )


# Finding and adding people


def test_person_search_finds_exact_pnc_match_with_own_force_history(api: APIClient) -> None:
    person = factories.PersonFactory(pnc_id="2019/0123456A")
    own = factories.CaseFactory(person=person)
    factories.CaseFactory(person=person, force=factories.force("DUR"))

    response = api.get(PEOPLE, {"pnc_id": "2019/0123456a"})

    assert response.status_code == 200
    exact = response.json()["exact"]
    assert exact["id"] == person.pk
    assert exact["pnc_id"] == "2019/0123456A"
    assert [c["reference"] for c in exact["earlier_cases"]] == [own.reference]
    assert set(exact["earlier_cases"][0]) == {"reference", "offence_date", "status"}
    assert exact["has_other_force_cases"] is True
    assert response.json()["possible"] == []


def test_person_search_offers_possible_matches_by_name_and_date_of_birth(api: APIClient) -> None:
    person = factories.PersonFactory(
        given_name="Siân", family_name="O'Brien", date_of_birth=date(1998, 3, 14)
    )
    factories.PersonFactory(
        given_name="Siân", family_name="O'Brien", date_of_birth=date(1990, 1, 1)
    )

    response = api.get(
        PEOPLE, {"given_name": "sian", "family_name": "obrien", "date_of_birth": "1998-03-14"}
    )

    assert response.status_code == 200
    assert response.json()["exact"] is None
    assert [p["id"] for p in response.json()["possible"]] == [person.pk]
    assert response.json()["possible"][0]["has_other_force_cases"] is False


def test_person_search_without_date_of_birth_or_pnc_id_is_400(api: APIClient) -> None:
    response = api.get(PEOPLE, {"given_name": "Alex", "family_name": "Smith"})

    assert response.status_code == 400
    assert "date of birth" in response.json()["date_of_birth"][0]
    assert "pnc_id" in response.json()["date_of_birth"][0]
    assert not AuditEvent.objects.filter(action="search").exists()


def test_person_search_with_malformed_date_of_birth_is_400(api: APIClient) -> None:
    response = api.get(PEOPLE, {"family_name": "Smith", "date_of_birth": "14/03/1998"})

    assert response.status_code == 400
    assert "date_of_birth" in response.json()


def test_person_search_writes_one_search_audit_row(api: APIClient, officer: User) -> None:
    api.get(PEOPLE, {"given_name": "Alex", "family_name": "Smith", "date_of_birth": "1998-03-14"})

    event = AuditEvent.objects.get()
    assert event.action == "search"
    assert event.object_type == "cases.person"
    assert event.user == officer
    assert event.reason == ""
    assert event.path == PEOPLE
    assert event.changes["searched_by"] == ["given_name", "family_name", "date_of_birth"]
    assert "Smith" not in str(event.changes)  # the audit log outlives personal data


def test_person_create_keeps_the_name_as_typed(api: APIClient) -> None:
    response = api.post(
        PEOPLE,
        {
            "given_name": "Siân",
            "family_name": "O'Brien-Jones",
            "date_of_birth": "1998-03-14",
            "pnc_id": " 2019/0123456a ",
            "phone": "07700 900123",
        },
        format="json",
    )

    assert response.status_code == 201
    person = Person.objects.get(pk=response.json()["id"])
    assert (person.given_name, person.family_name) == ("Siân", "O'Brien-Jones")
    assert response.json()["pnc_id"] == "2019/0123456A"


def test_person_create_with_a_known_pnc_id_is_400_and_saves_nothing(api: APIClient) -> None:
    factories.PersonFactory(pnc_id="2019/0123456A")
    before = counts()

    response = api.post(
        PEOPLE,
        {
            "given_name": "Alex",
            "family_name": "Smith",
            "date_of_birth": "1998-03-14",
            "pnc_id": "2019/0123456A",
        },
        format="json",
    )

    assert response.status_code == 400
    assert "find them instead" in response.json()["pnc_id"][0]
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"given_name": "Alex", "family_name": "Smith", "date_of_birth": "2999-01-01"},
            "date_of_birth",
        ),
        ({"given_name": "Alex", "date_of_birth": "1998-03-14"}, "family_name"),
        (
            {
                "given_name": "Alex",
                "family_name": "Smith",
                "date_of_birth": "1998-03-14",
                "sex": "x",
            },
            "sex",
        ),
    ],
)
def test_person_create_with_bad_input_is_400_on_the_field(
    api: APIClient, body: dict[str, str], field: str
) -> None:
    before = counts()

    response = api.post(PEOPLE, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert counts() == before


# Logging cases


def test_case_create_logs_the_case_in_the_officers_force(api: APIClient, officer: User) -> None:
    person = factories.PersonFactory(created_by=officer)

    response = api.post(CASES, case_payload(person), format="json")

    assert response.status_code == 201
    body = response.json()
    case = Case.objects.get(reference=body["reference"])
    assert body["reference"].startswith("TVP-")
    assert case.force == officer.force
    assert body["status"] == "logged"
    assert body["person"]["id"] == person.pk
    assert body["drugs"] == [
        {
            "drug": "cannabis",
            "name": "Cannabis (herbal)",
            "drug_class": "B",
            "quantity": "3.500",
            "unit": "g",
        }
    ]
    assert body["latest_eligibility"] is None
    assert body["referrals"] == []


def test_case_create_with_unknown_drug_code_is_400_and_saves_nothing(
    api: APIClient, officer: User
) -> None:
    person = factories.PersonFactory(created_by=officer)
    before = counts()

    response = api.post(
        CASES,
        case_payload(person, drugs=[{"drug": "skunkweed", "quantity": "3.5"}]),
        format="json",
    )

    assert response.status_code == 400
    [message] = response.json()["drugs"]
    assert "“skunkweed” is not a known drug code" in message
    assert "cannabis" in message
    assert counts() == before


@pytest.mark.parametrize("quantity", ["0", "-1.5"])
def test_case_create_with_zero_or_negative_quantity_is_400(
    api: APIClient, quantity: str, officer: User
) -> None:
    person = factories.PersonFactory(created_by=officer)
    before = counts()

    response = api.post(
        CASES,
        case_payload(person, drugs=[{"drug": "cannabis", "quantity": quantity}]),
        format="json",
    )

    assert response.status_code == 400
    assert field_errors(response) == {
        "drugs": ["The quantity of Cannabis (herbal) must be more than 0."]
    }
    assert counts() == before


def test_case_create_with_a_malformed_quantity_is_400_naming_the_drug_line(
    api: APIClient, officer: User
) -> None:
    person = factories.PersonFactory(created_by=officer)
    before = counts()

    response = api.post(
        CASES,
        case_payload(
            person,
            drugs=[{"drug": "cannabis", "quantity": "2"}, {"drug": "cocaine", "quantity": "lots"}],
        ),
        format="json",
    )

    assert response.status_code == 400
    assert field_errors(response) == {"drugs": ["Drug 2, quantity: A valid number is required."]}
    assert counts() == before


def test_case_create_with_duplicate_custody_record_in_the_force_is_400(
    api: APIClient, officer: User
) -> None:
    person = factories.PersonFactory(created_by=officer)
    factories.CaseFactory(custody_record_number="CR-2026-00917")
    before = counts()

    response = api.post(
        CASES, case_payload(person, custody_record_number="cr-2026-00917"), format="json"
    )

    assert response.status_code == 400
    assert "already has a case in this force" in response.json()["custody_record_number"][0]
    assert counts() == before


def test_case_create_with_future_offence_date_is_400(api: APIClient, officer: User) -> None:
    person = factories.PersonFactory(created_by=officer)
    before = counts()
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = api.post(
        CASES, case_payload(person, offence_date=tomorrow.isoformat()), format="json"
    )

    assert response.status_code == 400
    assert field_errors(response) == {
        "offence_date": ["The offence date must be today or in the past."]
    }
    assert counts() == before


def test_case_create_for_an_unknown_or_anonymised_person_is_400(api: APIClient) -> None:
    anonymised = factories.PersonFactory(anonymised_at=timezone.now())
    before = counts()

    for person_id in (anonymised.pk, 999_999):
        response = api.post(CASES, {**case_payload(anonymised), "person": person_id}, format="json")
        assert response.status_code == 400
        assert f"No person with id {person_id}" in response.json()["person"][0]
    assert counts() == before


def test_case_create_with_missing_and_unknown_choices_is_400_on_each_field(
    api: APIClient, officer: User
) -> None:
    person = factories.PersonFactory(created_by=officer)
    body = case_payload(person, setting="pub", circumstances=["being_rude"])
    del body["admitted_offence"]
    before = counts()

    response = api.post(CASES, body, format="json")

    assert response.status_code == 400
    assert set(field_errors(response)) == {"setting", "circumstances", "admitted_offence"}
    assert counts() == before


# Reading cases


def test_case_retrieve_shows_the_case_and_writes_a_view_audit_row(
    api: APIClient, officer: User
) -> None:
    case = factories.CaseFactory(crime_reference="43260012345")

    response = api.get(f"{CASES}{case.reference}/")

    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == case.reference
    assert body["force"] == "Thames Valley Police"
    assert body["person"]["family_name"] == case.person.family_name
    assert body["drugs"][0]["drug"] == "cannabis"
    assert body["latest_eligibility"] is None
    event = AuditEvent.objects.get(action="view")
    assert (event.object_type, event.object_id, event.person_id) == (
        "cases.case",
        case.reference,
        case.person_id,
    )
    assert event.user == officer


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("get", "eligibility/"), ("post", "eligibility/"), ("post", "offer/")],
)
def test_case_of_another_force_is_404(
    api: APIClient, policy: Any, method: str, suffix: str
) -> None:
    case = factories.CaseFactory(force=factories.force("DUR"), status="eligible")

    response = getattr(api, method)(
        f"{CASES}{case.reference}/{suffix}",
        {"response": "accepted", "consent_given": True} if method == "post" else None,
        format="json",
    )

    assert response.status_code == 404
    assert not EligibilityDecision.objects.exists()
    assert not Offer.objects.exists()
    assert not AuditEvent.objects.filter(action="view").exists()


def test_case_list_shows_only_own_force_cases_and_audits_the_page(api: APIClient) -> None:
    own = factories.CaseFactory.create_batch(2)
    factories.CaseFactory(force=factories.force("DUR"))

    response = api.get(CASES)

    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert {c["reference"] for c in response.json()["results"]} == {c.reference for c in own}
    rows = AuditEvent.objects.filter(action="view", object_type="cases.case")
    assert {(e.object_id, e.person_id) for e in rows} == {(c.reference, c.person_id) for c in own}


def test_case_list_filters_by_status_and_search(api: APIClient) -> None:
    wanted = factories.CaseFactory(status="eligible", custody_record_number="CR-FIND-ME")
    factories.CaseFactory(status="logged")

    by_status = api.get(CASES, {"status": "eligible"}).json()
    by_query = api.get(CASES, {"q": "cr-find-me"}).json()
    bad = api.get(CASES, {"status": "lost"})

    assert [c["reference"] for c in by_status["results"]] == [wanted.reference]
    assert [c["reference"] for c in by_query["results"]] == [wanted.reference]
    assert bad.status_code == 400
    assert "status" in bad.json()


def test_case_list_query_count_does_not_grow_with_rows(
    api: APIClient, django_assert_max_num_queries: Any
) -> None:
    factories.CaseFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        assert api.get(CASES).status_code == 200
    factories.CaseFactory.create_batch(20)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = api.get(CASES)

    assert len(response.json()["results"]) == 22


# Eligibility and the offer


def test_eligibility_check_returns_the_decision_with_policy_and_reasons(
    api: APIClient, officer: User, policy: Any
) -> None:
    case = factories.CaseFactory()

    response = api.post(f"{CASES}{case.reference}/eligibility/")

    assert response.status_code == 201
    body = response.json()
    assert body["eligible"] is True
    assert body["policy"] == {
        "force": "Thames Valley Police",
        "scheme_name": policy.scheme_name,
        "version": policy.version,
    }
    assert {
        "rule": "offence_type",
        "passed": True,
        "message": "The offence is simple possession.",
    } in body["reasons"]
    assert body["history"] == []
    assert body["inputs"]["drugs"][0]["code"] == "cannabis"
    assert body["decided_by"] == str(officer)
    assert body["decided_at"]
    case.refresh_from_db()
    assert case.status == "eligible"


def test_eligibility_get_returns_the_latest_decision(api: APIClient, policy: Any) -> None:
    case = factories.CaseFactory()
    api.post(f"{CASES}{case.reference}/eligibility/")
    latest = api.post(f"{CASES}{case.reference}/eligibility/").json()

    response = api.get(f"{CASES}{case.reference}/eligibility/")

    assert response.status_code == 200
    assert response.json()["id"] == latest["id"]
    detail = api.get(f"{CASES}{case.reference}/").json()
    assert detail["latest_eligibility"]["id"] == latest["id"]


def test_eligibility_get_before_any_check_is_404(api: APIClient) -> None:
    case = factories.CaseFactory()

    response = api.get(f"{CASES}{case.reference}/eligibility/")

    assert response.status_code == 404
    assert "No eligibility check" in response.json()["detail"]


def test_eligibility_check_without_a_force_policy_is_400_with_what_to_do(api: APIClient) -> None:
    case = factories.CaseFactory()

    response = api.post(f"{CASES}{case.reference}/eligibility/")

    assert response.status_code == 400
    assert response.json()["code"] == "no_policy"
    assert "administrator must add one" in response.json()["detail"]
    assert not EligibilityDecision.objects.exists()


def test_eligibility_check_once_offered_is_409(api: APIClient, policy: Any) -> None:
    case = factories.CaseFactory(status="offered")

    response = api.post(f"{CASES}{case.reference}/eligibility/")

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"
    assert not EligibilityDecision.objects.exists()


def test_offer_accepted_with_consent_moves_the_case_to_accepted(api: APIClient) -> None:
    case = factories.CaseFactory(status="eligible")

    response = api.post(
        f"{CASES}{case.reference}/offer/",
        {"response": "accepted", "consent_given": True, "notes": "Leaflet given."},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["case_status"] == "accepted"
    assert response.json()["response"] == "accepted"
    assert response.json()["responded_at"]


def test_offer_accepted_without_consent_is_400_and_saves_nothing(api: APIClient) -> None:
    case = factories.CaseFactory(status="eligible")

    response = api.post(f"{CASES}{case.reference}/offer/", {"response": "accepted"}, format="json")

    assert response.status_code == 400
    assert "must consent" in response.json()["consent_given"][0]
    assert not Offer.objects.exists()
    case.refresh_from_db()
    assert case.status == "eligible"


def test_offer_with_unknown_response_is_400(api: APIClient) -> None:
    case = factories.CaseFactory(status="eligible")

    response = api.post(f"{CASES}{case.reference}/offer/", {"response": "maybe"}, format="json")

    assert response.status_code == 400
    assert "response" in response.json()
    assert not Offer.objects.exists()


def test_offer_on_a_case_not_yet_checked_is_409(api: APIClient) -> None:
    case = factories.CaseFactory(status="logged")

    response = api.post(
        f"{CASES}{case.reference}/offer/",
        {"response": "accepted", "consent_given": True},
        format="json",
    )

    assert response.status_code == 409
    assert "only be made to an eligible person" in response.json()["detail"]
    assert not Offer.objects.exists()


# Who may call


@pytest.mark.parametrize("role", [Role.ANALYST, Role.ADMINISTRATOR])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", PEOPLE + "?pnc_id=2019/1A"),
        ("post", PEOPLE),
        ("get", CASES),
        ("post", CASES),
        ("get", CASES + "TEST-000001/"),
        ("post", CASES + "TEST-000001/eligibility/"),
        ("post", CASES + "TEST-000001/offer/"),
    ],
)
def test_analysts_and_administrators_get_403_on_personal_data(
    db: Any, role: str, method: str, path: str
) -> None:
    user = factories.UserFactory(role=role)

    response = getattr(client_for(user), method)(path, {}, format="json")

    assert response.status_code == 403
    assert not AuditEvent.objects.exists()


def test_provider_staff_get_403_on_cases(db: Any) -> None:
    provider = factories.ProviderFactory()
    user = factories.UserFactory(role=Role.PROVIDER_STAFF, provider=provider)

    assert client_for(user).get(CASES).status_code == 403
    assert client_for(user).get(PEOPLE, {"pnc_id": "2019/1A"}).status_code == 403


def test_anonymous_request_is_refused_and_a_bad_token_is_401(db: Any) -> None:
    anonymous = APIClient()
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    # 401 once TokenAuthentication comes first in the settings (it sends WWW-Authenticate).
    assert anonymous.get(CASES).status_code in (401, 403)
    response = bad_token.get(CASES)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_officer_with_a_real_token_can_list_cases(officer: User) -> None:
    factories.CaseFactory()
    _, key = ApiToken.issue(user=officer, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = client.get(CASES)

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_a_token_records_its_last_use_without_writing_on_every_request(officer: User) -> None:
    token, key = ApiToken.issue(user=officer, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    client.get(CASES)
    token.refresh_from_db()
    first = token.last_used_at
    with CaptureQueriesContext(connection) as queries:
        client.get(CASES)
    token.refresh_from_db()

    assert first is not None and token.last_used_at == first
    assert not [q for q in queries if q["sql"].startswith('UPDATE "accounts_apitoken"')]

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=6))
    client.get(CASES)
    token.refresh_from_db()
    assert token.last_used_at > first  # an older record is brought up to date


def test_a_person_cannot_be_reached_by_guessing_their_id(
    api: APIClient, other_force_officer: User
) -> None:
    elsewhere = factories.PersonFactory(
        given_name="Rhys", family_name="Bowen", date_of_birth=date(1991, 9, 9)
    )
    factories.CaseFactory(
        person=elsewhere, created_by=other_force_officer, force=other_force_officer.force
    )
    before = counts()

    response = api.post(CASES, case_payload(elsewhere), format="json")

    assert response.status_code == 400
    assert "Rhys" not in response.content.decode()
    assert counts() == before


def test_a_person_shown_by_the_officers_search_can_be_used_for_a_case(
    api: APIClient, other_force_officer: User
) -> None:
    elsewhere = factories.PersonFactory(
        given_name="Rhys", family_name="Bowen", date_of_birth=date(1991, 9, 9)
    )
    factories.CaseFactory(
        person=elsewhere, created_by=other_force_officer, force=other_force_officer.force
    )
    found = api.get(
        PEOPLE, {"given_name": "rhys", "family_name": "bowen", "date_of_birth": "1991-09-09"}
    ).json()
    assert [p["id"] for p in found["possible"]] == [elsewhere.pk]

    response = api.post(CASES, case_payload(elsewhere), format="json")

    assert response.status_code == 201
