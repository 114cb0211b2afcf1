"""The whole API under schemathesis: no server error and no answer the schema does not describe.

Every operation of the OpenAPI schema gets the schema's own examples, the coverage phase's
boundary values and a few generated requests, as a custody officer, a provider's staff member
and a supervisor who has passed the second factor. The seed is fixed, so a failure is the
same on every run; schemathesis prints the request that reproduces it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.generators import SchemaGenerator
from schemathesis.config import SchemathesisConfig

from accounts.models import Role, User
from diversion.wsgi import application
from tests import factories

PASSWORD = "correct horse battery staple"

# Every address names these: a case and a referral both with the reference REFERENCE (each
# table's own), and an appointment with the id APPOINTMENT, so requests reach real records.
REFERENCE = "FUZZ-000001"
APPOINTMENT = 990001

# Bounded, so `make test` stays quick: a fixed seed, the schema's examples, the coverage
# phase's boundary and malformed values (NUL characters, wrong types, missing fields, every
# media type, unexpected methods) and a few generated requests per operation.
CONFIG = {
    "seed": 20261201,
    # The session's cookie authenticates; generated tokens would only test a 401.
    # No example database: each run is the seed's, and nothing is written to the work tree.
    "generation": {
        "max-examples": 3,
        "deterministic": True,
        "with-security-parameters": False,
        "database": "none",
    },
    "parameters": {"path.reference": REFERENCE, "path.id": APPOINTMENT},
    "phases": {"stateful": {"enabled": False}},
    "suppress-health-check": ["all"],
    "checks": {
        # The session rides along as a cookie schemathesis does not know about, so it cannot
        # take it away to try a request without it: tests/test_access_matrix.py does that.
        "ignored_auth": {"enabled": False},
        # Input the schema allows may still be refused by the rules (an id nobody holds, a
        # drug code not in the reference data, a case in the wrong state): 400, not a fault.
        "positive_data_acceptance": {"enabled": False},
    },
}
# A supervisor reaches what an officer does, so their run leaves out the coverage phase,
# which the officer's has already run over the same endpoints.
WITHOUT_COVERAGE = {**CONFIG, "phases": {**CONFIG["phases"], "coverage": {"enabled": False}}}


def api_schema(config: dict[str, Any]) -> Any:
    """The schema /api/schema/ serves, driving the WSGI application in this process."""
    loaded = schemathesis.openapi.from_dict(
        SchemaGenerator().get_schema(request=None, public=True),
        config=SchemathesisConfig.from_dict(config),
    )
    loaded.app = application
    return loaded


schema = api_schema(CONFIG)
schema_without_coverage = api_schema(WITHOUT_COVERAGE)


@contextmanager
def same_connection_for_every_request() -> Iterator[None]:
    """Keep each request on the test's connection and transaction, as Django's test client
    does: the WSGI handler would otherwise close it at the start and end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def world() -> dict[str, User]:
    """A force's case ready for its offer, a referral of another case to a provider with an
    appointment booked, earlier records around them, and the three users who fuzz them."""
    tvp = factories.force("TVP")
    factories.PolicyFactory(force=tvp)
    officer = factories.UserFactory(role=Role.CUSTODY_OFFICER, force=tvp)
    supervisor = factories.UserFactory(role=Role.SUPERVISOR, force=tvp)
    programme = factories.ProgrammeFactory(forces_served=[tvp])
    staff = factories.provider_staff(programme.provider)
    person = factories.PersonFactory(pnc_id="2019/0123456A", date_of_birth=date(1990, 5, 1))
    factories.CaseFactory(reference=REFERENCE, person=person, created_by=officer)
    referral = factories.ReferralFactory(
        reference=REFERENCE, programme=programme, case__created_by=officer
    )
    factories.AppointmentFactory(
        id=APPOINTMENT,
        referral=referral,
        starts_at=timezone.now() + timedelta(days=3),
        booked_by=staff,
    )
    factories.AppointmentFactory(referral__programme=programme)
    factories.GroupSessionFactory(programme=programme)
    return {"officer": officer, "provider": staff, "supervisor": supervisor}


def signed_in(user: User) -> dict[str, dict[str, str]]:
    """The cookies of a browser session of `user` (a supervisor past the second factor), and
    the CSRF header that a session's unsafe requests need."""
    client = Client()
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    if user.needs_two_factor:
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        code = f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"
        client.post("/accounts/two-factor/", {"code": code, "next": "/"})
    assert client.get("/api/v1/programmes/").status_code == 200
    csrf = "f" * 32
    session = client.cookies["sessionid"].value
    return {
        "cookies": {"sessionid": session, "csrftoken": csrf},
        "headers": {"X-CSRFToken": csrf},
    }


def session_of(role: str) -> dict[str, Any]:
    """The session of `role` in a world made for the test."""
    return signed_in(world()[role])


def call_as(session: dict[str, Any], case: Any) -> None:
    """Send the generated request in `session` and check the answer against the schema."""
    with same_connection_for_every_request():
        case.call_and_validate(**session)


@pytest.fixture
def officer_session(db: Any) -> dict[str, Any]:
    return session_of("officer")


@pytest.fixture
def provider_session(db: Any) -> dict[str, Any]:
    return session_of("provider")


@pytest.fixture
def supervisor_session(db: Any) -> dict[str, Any]:
    return session_of("supervisor")


@pytest.mark.sign_in
@schema.parametrize()
def test_api_keeps_to_its_schema_for_an_officer(case: Any, officer_session: dict) -> None:
    call_as(officer_session, case)


@pytest.mark.sign_in
@schema.parametrize()
def test_api_keeps_to_its_schema_for_a_provider(case: Any, provider_session: dict) -> None:
    call_as(provider_session, case)


@pytest.mark.sign_in
@schema_without_coverage.parametrize()
def test_api_keeps_to_its_schema_for_a_supervisor_past_the_second_factor(
    case: Any, supervisor_session: dict
) -> None:
    call_as(supervisor_session, case)
