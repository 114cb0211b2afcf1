"""API tokens: a token never reaches more than its holder's pages do without a second factor;
tokens expire, may be read-only, record their last use at most every few minutes, and their
creation and revocation are audited."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import ApiToken, Role, hash_token
from audit.models import AuditEvent
from audit.roles import as_owner
from base.errors import DomainError
from cases.models import Case
from tests import factories
from tests.test_sign_in import PASSWORD, code_for, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sign_in]

CASES = "/api/v1/cases/"


def api_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def legacy_token(user) -> tuple[ApiToken, str]:
    """A token as made before roles with a second factor were refused one."""
    key = f"legacy-{user.pk}-key-0123456789abcdefghijklmnop"
    token = ApiToken.objects.create(
        user=user,
        name="made before the rule",
        prefix=key[:8],
        key_hash=hash_token(key),
        expires_at=timezone.now() + timedelta(days=30),
    )
    return token, key


@pytest.fixture
def supervisor():
    return factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))


def test_a_supervisors_token_cannot_reach_personal_data_but_their_verified_session_can(
    client, supervisor
):
    factories.CaseFactory()
    _token, key = legacy_token(supervisor)

    refused = api_with(key).get(CASES)

    assert refused.status_code == 401
    assert "second factor" in refused.json()["detail"]
    # The same supervisor in the pages, once past the second factor, sees the cases.
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    sign_in(client, supervisor.username, PASSWORD)
    assert client.get(CASES).status_code == 302  # not before the code
    client.post("/accounts/two-factor/", {"code": code_for(device), "next": "/cases/"})
    assert client.get(CASES).json()["count"] == 1


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMINISTRATOR])
def test_roles_with_a_second_factor_cannot_create_a_token(client, role):
    user = factories.UserFactory(
        role=role, force=factories.force("TVP") if role == Role.SUPERVISOR else None
    )
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    sign_in(client, user.username, PASSWORD)
    client.post("/accounts/two-factor/", {"code": code_for(device), "next": "/"})

    page = client.get("/accounts/tokens/").content.decode()
    client.post("/accounts/tokens/", {"name": "my script"})

    assert "you cannot create API tokens" in page and "Create a token" not in page
    assert not ApiToken.objects.filter(user=user).exists()
    with pytest.raises(DomainError):
        ApiToken.issue(user=user, name="by hand")


def test_an_officers_token_stops_working_when_they_become_a_supervisor(officer):
    _token, key = ApiToken.issue(user=officer, name="script")
    assert api_with(key).get(CASES).status_code == 200

    officer.role = Role.SUPERVISOR
    officer.save(update_fields=["role"])

    assert api_with(key).get(CASES).status_code == 401


def test_a_new_token_shows_when_it_expires_and_lives_the_default_lifetime(
    client, officer, settings
):
    settings.API_TOKEN_LIFETIME_DAYS = 90
    client.force_login(officer)
    form = client.get("/accounts/tokens/").content.decode()
    assert 'value="90"' in form and "90 days unless you choose otherwise" in form

    client.post("/accounts/tokens/", {"name": "Provider system", "lifetime_days": ""})
    page = client.get("/accounts/tokens/").content.decode()

    token = ApiToken.objects.get(user=officer)
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    expiry = timezone.localtime(token.expires_at).strftime("%-d %B %Y")
    assert f"It works until <strong>{expiry}" in page


def test_a_token_lives_as_long_as_chosen_and_no_longer_than_a_year(client, officer):
    client.force_login(officer)
    client.post("/accounts/tokens/", {"name": "Short", "lifetime_days": "7"})
    too_long = client.post("/accounts/tokens/", {"name": "Long", "lifetime_days": "400"})

    (token,) = ApiToken.objects.filter(user=officer)
    assert token.name == "Short"
    assert abs(token.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    assert "A token works for at most 365 days" in too_long.content.decode()


def test_an_expired_token_is_refused_and_says_so(client, officer):
    token, key = ApiToken.issue(user=officer, name="script", lifetime=timedelta(days=1))
    assert api_with(key).get(CASES).status_code == 200

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_with(key).get(CASES)

    assert response.status_code == 401
    assert "expired on" in response.json()["detail"]
    client.force_login(officer)
    assert "Does not work: expired on" in client.get("/accounts/tokens/").content.decode()


def test_a_read_only_token_reads_but_changes_nothing(client, officer):
    client.force_login(officer)
    client.post("/accounts/tokens/", {"name": "Dashboard", "read_only": "on"})
    page = client.get("/accounts/tokens/").content.decode()
    key = page.split("data-new-token>")[1].split("<")[0]
    assert "only to read" in page
    factories.CaseFactory()
    api = api_with(key)

    assert api.get(CASES).status_code == 200
    created = api.post(CASES, {"custody_record_number": "CR-9"}, format="json")

    assert created.status_code == 403
    assert "read-only" in created.json()["detail"]
    assert Case.objects.count() == 1


def test_the_tokens_page_shows_last_use_to_the_minute(client, officer):
    token, key = ApiToken.issue(user=officer, name="script")
    client.force_login(officer)
    assert "Never" in client.get("/accounts/tokens/").content.decode()

    api_with(key).get(CASES)

    token.refresh_from_db()
    shown = timezone.localtime(token.last_used_at).strftime("%-d %b %Y, %H:%M")
    assert shown in client.get("/accounts/tokens/").content.decode()


def test_creating_and_revoking_a_token_are_audited(client, officer):
    client.force_login(officer)
    client.post("/accounts/tokens/", {"name": "Provider system", "read_only": "on"})
    token = ApiToken.objects.get(user=officer)
    client.post(f"/accounts/tokens/{token.pk}/revoke/")

    rows = AuditEvent.objects.filter(object_type="accounts.apitoken", object_id=str(token.pk))
    created, revoked = rows.order_by("id")
    assert (created.action, created.user_id) == ("create", officer.pk)
    assert created.changes["read_only"] is True
    assert created.changes["expires_at"] == token.expires_at.isoformat()
    assert (revoked.action, revoked.changes) == ("change", {"after": "revoked"})


def test_a_systems_own_account_gets_a_token_from_the_command_and_cannot_sign_in(client):
    system = factories.UserFactory(
        username="pathways-system",
        role=Role.PROVIDER_STAFF,
        force=None,
        provider=factories.ProviderFactory(),
    )
    system.set_unusable_password()
    system.save()
    out, err = StringIO(), StringIO()

    call_command(
        "issue_api_token", "pathways-system", "--name", "case system", "--days", "30",
        stdout=out, stderr=err,
    )  # fmt: skip

    key = out.getvalue().strip()
    token = ApiToken.objects.get(user=system)
    assert "expires" in err.getvalue() and key not in err.getvalue()
    assert "can also sign in with a password" not in err.getvalue()
    assert api_with(key).get("/api/v1/referrals/").status_code == 200
    assert AuditEvent.objects.filter(object_type="accounts.apitoken", action="create").exists()
    assert token.expires_at - timezone.now() < timedelta(days=30, minutes=1)
    assert sign_in(client, "pathways-system", "").status_code == 200  # the form again, no session
    assert client.get("/cases/").status_code == 302


def test_the_command_warns_when_the_account_can_also_sign_in_with_a_password(officer):
    err = StringIO()
    call_command("issue_api_token", officer.username, "--name", "x", stdout=StringIO(), stderr=err)
    assert f"{officer.username} can also sign in with a password" in err.getvalue()


def test_the_command_refuses_a_token_to_a_supervisor(supervisor):
    with pytest.raises(CommandError, match="second factor"):
        call_command("issue_api_token", supervisor.username, "--name", "x", stdout=StringIO())
    assert not ApiToken.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_tokens_made_before_expiry_existed_keep_working_for_the_default_lifetime(settings):
    settings.API_TOKEN_LIFETIME_DAYS = 90
    user = factories.UserFactory()
    before = [("accounts", "0003_api_tokens")]
    after = [("accounts", "0004_api_token_expiry_read_only")]
    with as_owner():
        executor = MigrationExecutor(connection)
        executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("accounts", "ApiToken")
    made = old.objects.create(user_id=user.pk, name="old", prefix="oldtoken", key_hash="0" * 64)

    with as_owner():
        executor = MigrationExecutor(connection)
        executor.migrate(after)

    token = ApiToken.objects.get(pk=made.pk)
    assert (token.name, token.read_only, token.revoked_at) == ("old", False, None)
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
