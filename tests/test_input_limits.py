"""Input no honest client sends is refused with a clear 400 (or 404, 413) in the API's one
error shape, or an error on the page, and nothing is saved: NUL characters anywhere, JSON
nested without end, bodies too large, times PostgreSQL cannot store, text too long."""

from __future__ import annotations

import json
from datetime import timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from base.limits import MAX_FREE_TEXT, MAX_JSON_DEPTH
from cases.models import Case, Offer, Person
from diversion.views import server_error
from programmes.models import Referral
from tests import factories

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"


@pytest.fixture
def api(officer: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(officer)
    return client


def assert_error_shape(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is JSON in the one documented error shape, with this status and code."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert {"detail", "code", "field"} <= set(body)
    assert body["code"] == code and body["detail"]
    return body


def case_body(person: Person, **overrides: Any) -> dict[str, Any]:
    return {
        "person": person.pk,
        "custody_record_number": "CR-2026-00917",
        "offence_date": (timezone.localdate() - timedelta(days=2)).isoformat(),
        "admitted_offence": True,
        "previous_drug_conviction_or_caution": False,
        "drugs": [{"drug": "cannabis", "quantity": "3.5"}],
        **overrides,
    }


def test_a_nul_in_a_drug_code_is_a_400_on_the_field_and_no_case(api: APIClient) -> None:
    person = factories.PersonFactory()
    body = case_body(person, drugs=[{"drug": "canna\x00bis", "quantity": "1"}])

    response = api.post(CASES, body, format="json")

    error = assert_error_shape(response, 400, "invalid")
    assert error["field"] == "drugs" and "NUL" in error["drugs"][0]
    assert not Case.objects.exists()


def test_a_nul_in_a_case_reference_is_a_400_and_no_referral(api: APIClient, programme: Any) -> None:
    case = factories.CaseFactory(status="accepted")
    body = {"case": f"{case.reference}\x00", "programme": programme.pk}

    response = api.post("/api/v1/referrals/", body, format="json")

    assert assert_error_shape(response, 400, "invalid")["field"] == "case"
    assert not Referral.objects.exists()


def test_the_api_takes_json_only(api: APIClient, programme: Any) -> None:
    case = factories.CaseFactory(status="accepted")
    body = {"case": case.reference, "programme": programme.pk}

    multipart = api.post("/api/v1/referrals/", body, format="multipart")
    assert_error_shape(multipart, 415, "unsupported_media_type")
    form = "case=x&programme=1"
    urlencoded = api.post(
        "/api/v1/referrals/", form, content_type="application/x-www-form-urlencoded"
    )
    assert_error_shape(urlencoded, 415, "unsupported_media_type")
    assert not Referral.objects.exists()


def test_a_nul_in_an_api_address_or_query_answers_json(api: APIClient) -> None:
    assert_error_shape(api.get(f"{CASES}TVP-0%00001/"), 404, "not_found")
    assert_error_shape(api.get(f"{CASES}?q=a%00b"), 400, "invalid")


def test_json_nested_a_thousand_deep_is_a_400_not_a_server_error(api: APIClient) -> None:
    deep = "[" * 1000 + "]" * 1000
    response = api.post(CASES, deep, content_type="application/json")
    assert "nested" in assert_error_shape(response, 400, "parse_error")["detail"]

    just_too_deep = json.dumps({"drugs": [[[[[]]]]] * 1, "x": _nested(MAX_JSON_DEPTH + 1)})
    response = api.post(CASES, just_too_deep, content_type="application/json")
    assert_error_shape(response, 400, "parse_error")


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def test_a_body_over_the_limit_is_413_before_it_is_read(api: APIClient, settings) -> None:
    person = factories.PersonFactory()
    body = json.dumps(case_body(person, crime_reference="x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE))

    response = api.post(CASES, body, content_type="application/json")

    assert "larger than" in assert_error_shape(response, 413, "too_large")["detail"]
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00", "", "yesterday"]
)
def test_a_time_postgresql_cannot_store_is_a_400_on_the_filter(api: APIClient, since) -> None:
    response = api.get("/api/v1/referrals/", {"updated_since": since})
    assert assert_error_shape(response, 400, "invalid")["field"] == "updated_since"


@pytest.mark.parametrize("offset", ["+14:00", "+20:00", "-23:59"])
def test_a_time_with_an_offset_postgresql_refuses_filters_as_its_instant_in_utc(
    api: APIClient, offset: str
) -> None:
    referral = factories.ReferralFactory(case__force=factories.force("TVP"))
    before = (referral.updated_at - timedelta(minutes=1)).astimezone(_zone(offset))

    response = api.get("/api/v1/referrals/", {"updated_since": before.isoformat()})

    assert response.status_code == 200
    assert [row["reference"] for row in response.json()["results"]] == [referral.reference]


def _zone(offset: str) -> Any:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset[1:].split(":")
    return dt_timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def test_over_long_free_text_is_a_400_and_no_offer(api: APIClient, policy: Any) -> None:
    case = factories.CaseFactory(status="eligible")
    body = {"response": "declined", "notes": "x" * (MAX_FREE_TEXT + 1)}

    response = api.post(f"{CASES}{case.reference}/offer/", body, format="json")

    assert assert_error_shape(response, 400, "invalid")["field"] == "notes"
    assert not Offer.objects.exists()


def test_a_number_where_text_is_documented_is_refused(api: APIClient) -> None:
    body = {"given_name": "Sam", "family_name": "Jones", "date_of_birth": "1990-01-01"}
    response = api.post("/api/v1/people/", {**body, "pnc_id": 0}, format="json")
    assert assert_error_shape(response, 400, "invalid")["field"] == "pnc_id"
    assert not Person.objects.exists()


def test_over_long_free_text_on_a_page_is_a_form_error(client, officer: User) -> None:
    case = factories.CaseFactory(status="eligible", created_by=officer)
    client.force_login(officer)

    response = client.post(
        f"/cases/{case.reference}/offer/",
        {"response": "declined", "notes": "x" * (MAX_FREE_TEXT + 1)},
    )

    assert response.status_code == 200
    assert "govuk-error-summary" in response.content.decode()
    assert not Offer.objects.exists()


def test_every_api_error_is_json_in_one_shape(api: APIClient) -> None:
    assert_error_shape(api.get("/api/v1/nothing-here/"), 404, "not_found")
    assert_error_shape(api.delete(CASES), 405, "method_not_allowed")
    assert_error_shape(
        api.post(CASES, "<case/>", content_type="application/xml"), 415, "unsupported_media_type"
    )
    assert_error_shape(api.post(CASES, "{", content_type="application/json"), 400, "parse_error")
    assert_error_shape(APIClient().get(CASES), 401, "not_authenticated")
    assert_error_shape(api.get(f"{CASES}?page=0"), 404, "not_found")


def test_a_server_error_under_the_api_is_json_and_a_page_is_html() -> None:
    api_error = server_error(RequestFactory().get("/api/v1/cases/"))
    assert api_error.status_code == 500
    assert json.loads(api_error.content)["code"] == "server_error"

    page_error = server_error(RequestFactory().get("/cases/"))
    assert page_error.status_code == 500 and b"<html" in page_error.content.lower()
