"""Tampered requests are refused without saying whether the object exists, and change nothing.

Identifiers of the wrong type, that do not exist, or that belong to another organisation, in
URLs and in API bodies; forged CSRF tokens; expired sessions; revoked and unknown API tokens.
The world (two forces, two providers) is the one the access matrix uses.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from cases.models import Case
from cases.services import DrugQuantity, case_create, eligibility_check, offer_record, person_create
from tests import factories
from tests.access_matrix import (
    MISSING,
    OFFICER,
    PROVIDER,
    World,
    changed,
    client_for,
    snapshot,
    world_in_transaction,
)

world = pytest.fixture(scope="module")(world_in_transaction)

pytestmark = pytest.mark.django_db

NO_SUCH_PK = 987654321


def _post_json(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def _masked(content: bytes, *values: Any) -> str:
    text = content.decode()
    for value in values:
        text = text.replace(str(value), "<id>")
    return text


# --- Identifiers of the wrong type, or that do not exist, in URLs ---------------------------

SQLISH = "TVP-1' OR '1'='1"
WRONG_TYPE_PAGES = [
    "/cases/../",
    "/cases/..%2F..%2Fadmin/",
    f"/cases/{quote(SQLISH)}/",
    f"/cases/{quote('%')}/",
    f"/cases/{'A' * 3000}/",
    "/cases/TVP%00X/",
    "/cases/new/not-a-signed-token/",
]
WRONG_TYPE_PROVIDER_PAGES = [
    "/provider/referrals/{referral}/appointments/abc/cancel/",
    "/provider/referrals/{referral}/appointments/99999999999999999999/cancel/",
    "/provider/referrals/R%00X/",
    "/provider/sessions/abc/",
    "/provider/sessions/99999999999999999999/",
    "/provider/sessions/-1/",
]
WRONG_TYPE_API_OFFICER = [
    "/api/v1/cases/NOPE/",
    f"/api/v1/cases/{quote(SQLISH)}/",
    "/api/v1/cases/TVP%00X/",
    f"/api/v1/cases/{'A' * 3000}/",
    "/api/v1/cases/TVP-1;DROP TABLE cases_case/eligibility/",
    "/api/v1/referrals/R%00X/",
]
WRONG_TYPE_API_PROVIDER = [
    "/api/v1/appointments/abc/",
    "/api/v1/appointments/1.5/",
    "/api/v1/appointments/-1/",
    "/api/v1/appointments/99999999999999999999/",
    "/api/v1/appointments/99999999999999999999/attendance/",
]


@pytest.mark.parametrize("url", WRONG_TYPE_PAGES)
def test_wrong_identifiers_in_case_page_urls_are_not_found(world: World, url: str) -> None:
    response = client_for(world, OFFICER).get(url)
    assert response.status_code == 404, (url, response.status_code)


@pytest.mark.parametrize("url", WRONG_TYPE_PROVIDER_PAGES)
def test_wrong_identifiers_in_provider_page_urls_are_not_found(world: World, url: str) -> None:
    url = url.format(referral=world.own.referral.reference)
    response = client_for(world, PROVIDER).get(url)
    assert response.status_code == 404, (url, response.status_code)


@pytest.mark.parametrize("url", WRONG_TYPE_API_OFFICER)
def test_wrong_identifiers_in_case_api_urls_are_not_found(world: World, url: str) -> None:
    response = client_for(world, OFFICER).get(url)
    assert response.status_code == 404, (url, response.status_code)


@pytest.mark.parametrize("url", WRONG_TYPE_API_PROVIDER)
def test_wrong_identifiers_in_appointment_api_urls_are_not_found(world: World, url: str) -> None:
    client = client_for(world, PROVIDER)
    before = snapshot()
    response = client.get(url) if "attendance" not in url else _post_json(client, url, {})
    assert response.status_code == 404, (url, response.status_code)
    assert changed(before, snapshot()) == []


def test_another_providers_appointment_under_my_referral_is_not_found(world: World) -> None:
    """Mixing an own referral with another provider's appointment id answers as a missing id."""
    client = client_for(world, PROVIDER)
    own = world.own.referral.reference
    for action in ("cancel", "attendance", "reschedule"):
        before = snapshot()
        theirs = client.post(
            f"/provider/referrals/{own}/appointments/{world.other.appointment.pk}/{action}/",
            {"outcome": "attended", "reason": "x"},
        )
        missing = client.post(
            f"/provider/referrals/{own}/appointments/{NO_SUCH_PK}/{action}/",
            {"outcome": "attended", "reason": "x"},
        )
        assert theirs.status_code == missing.status_code == 404, action
        assert changed(before, snapshot()) == []


def test_another_forces_case_in_the_api_answers_as_a_missing_one(world: World) -> None:
    client = client_for(world, OFFICER)
    theirs = client.get(f"/api/v1/cases/{world.other.case.reference}/")
    missing = client.get(f"/api/v1/cases/{MISSING['case']}/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


# --- Another organisation's identifiers in API bodies and forms -----------------------------


def test_referring_another_forces_case_is_refused_as_if_it_did_not_exist(world: World) -> None:
    client = client_for(world, OFFICER)
    before = snapshot()
    programme = world.own.programme.pk
    theirs = _post_json(
        client, "/api/v1/referrals/", {"case": world.other.case.reference, "programme": programme}
    )
    missing = _post_json(
        client, "/api/v1/referrals/", {"case": MISSING["case"], "programme": programme}
    )
    assert theirs.status_code == missing.status_code == 400
    assert _masked(theirs.content, world.other.case.reference) == _masked(
        missing.content, MISSING["case"]
    )
    assert changed(before, snapshot()) == []


def test_referring_to_a_programme_not_serving_the_force_reads_as_a_missing_programme(
    world: World,
) -> None:
    """Another provider's programme id answers like an id that does not exist."""
    client = client_for(world, OFFICER)
    case = _accepted_case(world).reference
    before = snapshot()
    theirs = _post_json(
        client, "/api/v1/referrals/", {"case": case, "programme": world.other.programme.pk}
    )
    missing = _post_json(client, "/api/v1/referrals/", {"case": case, "programme": NO_SUCH_PK})
    assert theirs.status_code == missing.status_code == 400
    assert _masked(theirs.content, world.other.programme.pk) == _masked(missing.content, NO_SUCH_PK)
    assert changed(before, snapshot()) == []


def _accepted_case(world: World) -> Case:
    """A new case of the own force whose offer was accepted: ready to be referred."""
    officer = world.own.officer
    person = person_create(
        by=officer, given_name="Ada", family_name="Readyforth", date_of_birth=date(1990, 1, 1)
    )
    case = case_create(
        by=officer,
        person=person,
        custody_record_number="CR-READY-1",
        offence_date=date.today() - timedelta(days=1),
        drugs=[DrugQuantity(drug=factories.drug("cannabis"), quantity=Decimal("1"))],
        admitted_offence=True,
        previous_drug_conviction_or_caution=False,
    )
    eligibility_check(case=case, by=officer)
    offer_record(case=case, by=officer, response="accepted", consent_given=True)
    return case


def _case_body(person: Any) -> dict[str, Any]:
    return {
        "person": person,
        "custody_record_number": "CR-TAMPER-1",
        "offence_date": "2026-01-02",
        "admitted_offence": True,
        "drugs": [{"drug": "cannabis", "quantity": "2"}],
    }


def test_logging_a_case_for_another_forces_person_is_refused_as_if_unknown(world: World) -> None:
    client = client_for(world, OFFICER)
    before = snapshot()
    theirs = _post_json(client, "/api/v1/cases/", _case_body(world.other.person.pk))
    missing = _post_json(client, "/api/v1/cases/", _case_body(NO_SUCH_PK))
    wrong_type = _post_json(client, "/api/v1/cases/", _case_body("abc"))
    assert theirs.status_code == missing.status_code == wrong_type.status_code == 400
    assert _masked(theirs.content, world.other.person.pk) == _masked(missing.content, NO_SUCH_PK)
    assert changed(before, snapshot()) == []


def test_booking_onto_another_providers_session_is_refused_as_if_unknown(world: World) -> None:
    client = client_for(world, PROVIDER)
    url = f"/api/v1/referrals/{world.own.referral.reference}/appointments/"
    before = snapshot()
    theirs = _post_json(client, url, {"group_session": world.other.session.pk})
    missing = _post_json(client, url, {"group_session": NO_SUCH_PK})
    assert theirs.status_code == missing.status_code == 400
    assert _masked(theirs.content, world.other.session.pk) == _masked(missing.content, NO_SUCH_PK)
    assert changed(before, snapshot()) == []


def test_booking_page_with_another_providers_session_changes_nothing(world: World) -> None:
    client = client_for(world, PROVIDER)
    url = reverse("programmes:book", args=[world.own.referral.reference])
    before = snapshot()
    theirs = client.post(url, {"group_session": world.other.session.pk})
    missing = client.post(url, {"group_session": NO_SUCH_PK})
    assert theirs.status_code == missing.status_code == 200  # the form, with its error
    assert world.other.session.location not in theirs.content.decode()
    assert changed(before, snapshot()) == []


def test_refer_page_with_another_forces_programme_changes_nothing(world: World) -> None:
    client = client_for(world, OFFICER)
    url = reverse("referrals:refer", args=[world.own.case.reference])
    before = snapshot()
    response = client.post(url, {"programme": world.other.programme.pk})
    assert response.status_code in (200, 302)
    assert changed(before, snapshot()) == []


def test_group_attendance_for_another_providers_booking_changes_nothing(world: World) -> None:
    client = client_for(world, PROVIDER)
    url = reverse("programmes:session", args=[world.own.session.pk])
    before = snapshot()
    response = client.post(url, {f"outcome_{world.other.booking.pk}": "attended"})
    assert response.status_code in (200, 302, 400)
    assert changed(before, snapshot()) == []


# --- Forged CSRF -----------------------------------------------------------------------------


def _csrf_client(world: World) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.own.officer)
    return client


def test_a_form_posted_without_a_csrf_token_is_refused(world: World) -> None:
    client = _csrf_client(world)
    before = snapshot()
    response = client.post(reverse("cases:eligibility", args=[world.own.case.reference]))
    assert response.status_code == 403
    assert changed(before, snapshot()) == []


def test_a_form_posted_with_a_wrong_csrf_token_is_refused(world: World) -> None:
    client = _csrf_client(world)
    client.get(reverse("cases:list"))  # sets the CSRF cookie, as a browser would get it
    before = snapshot()
    response = client.post(
        reverse("cases:offer", args=[world.own.case.reference]),
        {"csrfmiddlewaretoken": "x" * 64, "response": "accepted", "consent_given": "on"},
    )
    assert response.status_code == 403
    assert changed(before, snapshot()) == []


def test_the_api_with_a_session_and_no_csrf_token_is_refused(world: World) -> None:
    client = _csrf_client(world)
    before = snapshot()
    response = client.post(
        f"/api/v1/cases/{world.own.case.reference}/eligibility/",
        "{}",
        content_type="application/json",
    )
    assert response.status_code == 403
    assert changed(before, snapshot()) == []


# --- Expired sessions ------------------------------------------------------------------------


def _expired(world: World) -> Client:
    client = client_for(world, OFFICER)
    session = client.session
    session.set_expiry(-1)  # expired a second ago
    session.save()
    return client


def test_an_expired_session_is_sent_to_sign_in(world: World) -> None:
    response = _expired(world).get(reverse("cases:detail", args=[world.own.case.reference]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_an_expired_session_gets_nothing_from_the_api(world: World) -> None:
    response = _expired(world).get(f"/api/v1/cases/{world.own.case.reference}/")
    assert response.status_code == 401
    assert world.own.case.reference not in response.content.decode()


def test_an_expired_session_cannot_post(world: World) -> None:
    before = snapshot()
    response = _expired(world).post(reverse("cases:eligibility", args=[world.own.case.reference]))
    assert response.status_code == 302
    assert changed(before, snapshot()) == []


# --- Revoked, deleted and unknown API tokens -------------------------------------------------


def _with_token(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def test_a_live_token_works(world: World) -> None:
    _, key = ApiToken.issue(user=world.own.officer, name="live")
    response = _with_token(key).get(f"/api/v1/cases/{world.own.case.reference}/")
    assert response.status_code == 200


def test_a_revoked_token_is_refused_like_an_unknown_one(world: World) -> None:
    token, key = ApiToken.issue(user=world.own.officer, name="to revoke")
    token.revoke()
    url = f"/api/v1/cases/{world.own.case.reference}/"
    revoked = _with_token(key).get(url)
    unknown = _with_token("not-a-token-anyone-was-given").get(url)
    assert revoked.status_code == unknown.status_code == 401
    assert revoked.content == unknown.content
    assert world.own.case.reference not in revoked.content.decode()


def test_a_deleted_token_is_refused(world: World) -> None:
    token, key = ApiToken.issue(user=world.own.officer, name="to delete")
    ApiToken.objects.filter(pk=token.pk).delete()
    response = _with_token(key).get("/api/v1/cases/")
    assert response.status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(world: World) -> None:
    _, key = ApiToken.issue(user=world.own.officer, name="leaver")
    type(world.own.officer).objects.filter(pk=world.own.officer.pk).update(is_active=False)
    response = _with_token(key).get("/api/v1/cases/")
    assert response.status_code == 401


def test_a_revoked_token_cannot_write(world: World) -> None:
    token, key = ApiToken.issue(user=world.own.officer, name="revoked writer")
    token.revoke()
    before = snapshot()
    response = _with_token(key).post(
        f"/api/v1/cases/{world.own.case.reference}/eligibility/",
        "{}",
        content_type="application/json",
    )
    assert response.status_code == 401
    assert changed(before, snapshot()) == []


def test_another_users_token_cannot_be_revoked(world: World) -> None:
    client = client_for(world, OFFICER)
    before = snapshot()
    theirs = client.post(reverse("accounts:token_revoke", args=[world.other.token_pk]))
    missing = client.post(reverse("accounts:token_revoke", args=[NO_SUCH_PK]))
    assert theirs.status_code == missing.status_code == 404
    assert changed(before, snapshot()) == []


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (OFFICER, "/cases/?q=a%00b"),
        (PROVIDER, "/provider/?q=a%00b"),
        (OFFICER, "/api/v1/cases/?q=a%00b"),
        (OFFICER, "/api/v1/people/?family_name=a%00&date_of_birth=1990-01-01"),
        (PROVIDER, "/api/v1/referrals/?status=a%00"),
    ],
)
def test_a_nul_character_in_a_search_is_refused_not_a_server_error(
    world: World, role: str, url: str
) -> None:
    """PostgreSQL cannot hold NUL in text: the input must be refused before it gets there."""
    response = client_for(world, role).get(url)
    assert response.status_code in (200, 400, 404), (url, response.status_code)


@pytest.mark.django_db
def test_an_api_address_that_matches_nothing_answers_json(client) -> None:
    response = client.get("/api/v1/appointments/abc/attendance/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found", "field": None}
