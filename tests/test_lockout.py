"""Lockout by username and, separately and more loosely, by address (accounts/lockout.py)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts.models import Role
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.sign_in]

PASSWORD = "correct horse battery staple"
STATION = "192.0.2.10"  # one police station's address
ELSEWHERE = "198.51.100.20"
ACCOUNT_LOCKED = "Your account is locked"
ADDRESS_PAUSED = "Sign-in is paused from your network"


def sign_in(client: Client, username: str, password: str = PASSWORD, address: str = STATION):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def officer(username: str):
    return factories.UserFactory(
        username=username, role=Role.CUSTODY_OFFICER, force=factories.force("TVP")
    )


def test_the_limits_are_five_per_username_and_thirty_per_address():
    assert django_settings.AXES_FAILURE_LIMIT == 5
    assert django_settings.AXES_ADDRESS_FAILURE_LIMIT == 30
    assert django_settings.AXES_COOLOFF_TIME.total_seconds() == 30 * 60


def test_spraying_one_password_over_many_usernames_locks_the_address(client):
    victim = officer("victim")
    for number in range(django_settings.AXES_ADDRESS_FAILURE_LIMIT - 1):
        response = sign_in(client, f"guess{number}", "Summer2026!")
        assert ADDRESS_PAUSED not in response.content.decode(), number
    last = sign_in(client, "guess-last", "Summer2026!")
    assert ADDRESS_PAUSED in last.content.decode()  # the failure that reaches the limit says so

    # Now nobody signs in from that address, even with the right password...
    response = sign_in(client, victim.username)
    assert response.status_code == 429
    assert ADDRESS_PAUSED in response.content.decode()
    assert Client().get("/cases/").status_code == 302
    # ...while the same person elsewhere is not locked: their username had no failures.
    elsewhere = Client()
    assert sign_in(elsewhere, victim.username, address=ELSEWHERE).status_code == 302
    assert elsewhere.get("/cases/").status_code == 200


def test_one_person_cannot_lock_out_the_station(client):
    """Five failures lock a username; more attempts while locked are refused and not counted,
    so the address never reaches its limit and colleagues still sign in."""
    clumsy, colleague = officer("clumsy"), officer("colleague")
    for _ in range(django_settings.AXES_ADDRESS_FAILURE_LIMIT + 10):
        sign_in(client, clumsy.username, "wrong password entirely")

    locked = sign_in(client, clumsy.username)
    assert ACCOUNT_LOCKED in locked.content.decode()
    other = Client()
    assert sign_in(other, colleague.username).status_code == 302
    assert other.get("/cases/").status_code == 200


def test_a_username_locks_after_five_failures_from_any_addresses(client):
    target = officer("target")
    for number in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(client, target.username, "wrong password entirely", address=f"203.0.113.{number}")
    response = sign_in(Client(), target.username, address=ELSEWHERE)
    assert ACCOUNT_LOCKED in response.content.decode()


def test_signing_in_does_not_clear_the_failures_an_address_ran_up_for_others(client):
    """A sprayer holding one valid account cannot reset the address's count by using it."""
    insider = officer("insider")
    for round_ in range(3):
        for number in range(10):
            sign_in(client, f"guess{round_}-{number}", "Summer2026!")
        if round_ < 2:
            assert sign_in(Client(), insider.username).status_code == 302
    response = sign_in(client, insider.username)
    assert ADDRESS_PAUSED in response.content.decode()


def test_signing_in_clears_the_usernames_own_failures(client):
    person = officer("person")
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, person.username, "wrong password entirely")
    assert sign_in(client, person.username).status_code == 302
    client.logout()
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, person.username, "wrong password entirely")
    assert sign_in(client, person.username).status_code == 302
