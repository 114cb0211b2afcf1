"""The warning before the idle sign-out: every signed-in page carries it, timed from the
session's last save, and "Stay signed in" starts the idle time again without leaving the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

pytestmark = pytest.mark.django_db


def seconds_left(page: str) -> int:
    return int(re.search(r'data-seconds-left="(\d+)"', page).group(1))


def test_every_signed_in_page_carries_the_warning_timed_to_the_idle_sign_out(client, officer):
    client.force_login(officer)
    page = client.get("/cases/").content.decode()

    assert "You’re about to be signed out" in page
    assert 0 < seconds_left(page) <= settings.SESSION_COOKIE_AGE
    assert 'data-warning-seconds="120"' in page
    assert "/static/js/timeout.js" in page


def test_a_visitor_not_signed_in_gets_no_warning(client):
    assert "timeout-warning" not in client.get("/accounts/login/").content.decode()


def test_staying_signed_in_saves_the_session_again(client, officer):
    client.force_login(officer)
    client.get("/cases/")
    key = client.session.session_key
    soon = timezone.now() + timedelta(seconds=30)  # about to be signed out
    Session.objects.filter(session_key=key).update(expire_date=soon)

    response = client.post("/accounts/stay-signed-in/")

    assert response.status_code == 204
    renewed = Session.objects.get(session_key=key).expire_date
    assert renewed >= soon + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    assert client.get("/cases/").status_code == 200


def test_staying_signed_in_needs_a_post_and_a_session(client, officer):
    assert client.post("/accounts/stay-signed-in/")["Location"].startswith("/accounts/login/")
    client.force_login(officer)
    assert client.get("/accounts/stay-signed-in/").status_code == 405
