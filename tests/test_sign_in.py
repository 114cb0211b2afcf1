"""Sign-in hardening: lockout, the second factor for supervisors and administrators, idle
sessions, strong passwords, revocable API tokens shown once, and production settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.middleware import SESSION_REFRESH_SECONDS
from accounts.models import ApiToken, Role
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.sign_in]

PASSWORD = "correct horse battery staple"


def code_for(device: TOTPDevice) -> str:
    """The code an authenticator app would show now."""
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def sign_in(client, username: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_account_even_with_the_right_one_after(
    client, officer, other_force_officer
):
    for _ in range(5):
        sign_in(client, officer.username, "wrong password entirely")
    response = sign_in(client, officer.username)
    assert "Your account is locked" in response.content.decode()
    assert client.get("/cases/").status_code == 302  # still signed out
    # Someone else at the same address (one police station) can still sign in.
    assert sign_in(client, other_force_officer.username).status_code == 302
    assert client.get("/cases/").status_code == 200


def test_an_officer_signs_in_with_a_password_alone(client, officer):
    response = sign_in(client, officer.username)
    assert response.status_code == 302
    assert client.get("/cases/").status_code == 200


def test_a_supervisor_must_set_up_and_enter_a_code_before_anything_else(client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no wait after the wrong code below
    supervisor = factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))
    sign_in(client, supervisor.username)
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/")

    page = client.get(response["Location"]).content.decode()
    assert "Set up your authenticator" in page
    device = TOTPDevice.objects.get(user=supervisor, confirmed=False)

    wrong = client.post("/accounts/two-factor/", {"code": "000000", "next": "/cases/"})
    assert "The code is not right" in wrong.content.decode()
    assert client.get("/cases/").status_code == 302

    right = client.post("/accounts/two-factor/", {"code": code_for(device), "next": "/cases/"})
    assert right.status_code == 302 and right["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_an_administrator_with_an_authenticator_enters_a_code_to_reach_the_admin(client):
    admin = factories.UserFactory(role=Role.ADMINISTRATOR, force=None, is_staff=True)
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    sign_in(client, admin.username)
    assert client.get("/admin/")["Location"].startswith("/accounts/two-factor/")
    page = client.get("/accounts/two-factor/").content.decode()
    assert "Enter your code" in page and "Set up" not in page
    client.post("/accounts/two-factor/", {"code": code_for(device), "next": "/admin/"})
    assert client.get("/admin/").status_code == 200


def test_an_idle_session_expires_and_asks_to_sign_in_again(client, officer):
    sign_in(client, officer.username)
    session = client.session
    session.set_expiry(-1)
    session.save()
    response = client.get("/cases/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert django_settings.SESSION_COOKIE_AGE <= 30 * 60


def test_an_active_session_is_kept_alive_at_most_once_a_minute(client, officer, monkeypatch):
    sign_in(client, officer.username)
    client.get("/cases/")  # the first page after signing in refreshes the session
    session = Session.objects.get(session_key=client.session.session_key)
    first_expiry = session.expire_date

    with CaptureQueriesContext(connection) as soon:
        client.get("/cases/")
    assert not [q for q in soon if "django_session" in q["sql"] and "UPDATE" in q["sql"]]

    later = time.time() + SESSION_REFRESH_SECONDS + 1
    monkeypatch.setattr("accounts.middleware.time.time", lambda: later)
    client.get("/cases/")
    session.refresh_from_db()
    assert session.expire_date > first_expiry  # saved again: the idle timeout starts over


@pytest.mark.parametrize("weak", ["short1", "password123456", "123456789012345"])
def test_weak_passwords_are_refused(officer, weak):
    with pytest.raises(ValidationError):
        validate_password(weak, user=officer)


def test_a_token_is_shown_once_works_and_stops_working_when_revoked(client, officer):
    client.force_login(officer)
    created = client.post("/accounts/tokens/", {"name": "Provider system"})
    assert created.status_code == 302  # a reload of the next page creates nothing more
    page = client.get("/accounts/tokens/").content.decode()
    token = ApiToken.objects.get(user=officer)  # one token, however often the page is loaded
    key = page.split("data-new-token>")[1].split("<")[0]
    assert token.prefix == key[:8] and key not in str(token.key_hash)
    assert key not in client.get("/accounts/tokens/").content.decode()

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/cases/").status_code == 200

    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    assert api.get("/api/v1/cases/").status_code == 401


def test_nobody_can_revoke_another_users_token(client, officer, other_force_officer):
    token, _ = ApiToken.issue(user=other_force_officer, name="theirs")
    client.force_login(officer)
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.is_active


def test_production_settings_pass_check_deploy_with_no_warnings():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "diversion.example.police.uk",
    }
    for name in ("SECURE_COOKIES", "DJANGO_ALLOW_ASYNC_UNSAFE"):  # set by other tests' set-up
        env.pop(name, None)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
