"""Shared fixtures. Tests run on PostgreSQL and Redis (scripts/stack.py starts them).

Tests connect as the runtime role of DATABASE_URL, as the application does. The test database
is created, migrated and dropped as the owner role of DATABASE_OWNER_URL (with it unset, as
the one role of DATABASE_URL); `migrate` then grants the runtime role (audit/roles.py), and
`flush`, which transactional tests run after each test, runs as the owner too.
"""

from __future__ import annotations

import pytest

from accounts.models import Role
from audit.roles import as_owner
from cases.models import Drug, Force
from cases.reference_data import load_reference_data
from tests import factories


@pytest.fixture
def officer(db):
    """A custody officer of Thames Valley Police."""
    return factories.UserFactory(role=Role.CUSTODY_OFFICER, force=factories.force("TVP"))


@pytest.fixture
def other_force_officer(db):
    """A custody officer of another force (Durham), who must never see Thames Valley's cases."""
    return factories.UserFactory(role=Role.CUSTODY_OFFICER, force=factories.force("DUR"))


@pytest.fixture
def policy(db):
    """Thames Valley's current scheme policy."""
    return factories.PolicyFactory(force=factories.force("TVP"))


@pytest.fixture
def programme(db):
    """An education programme serving Thames Valley."""
    return factories.ProgrammeFactory(forces_served=[factories.force("TVP")])


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """Serve static files unhashed: tests do not run collectstatic to build the manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """A cheap hasher in tests: the real one costs half a second per user created."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def reference_data_after_flush(request):
    """Transactional tests leave every table empty, reference data included: give each one
    the forces and drugs (loaded by a migration) that the other tests can rely on."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction", False)
    if transactional or "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
        load_reference_data(Force, Drug)


@pytest.fixture(autouse=True)
def messages_never_reach_gov_uk_notify(settings):
    """Tests send through the email and SMS backends, or through the Notify stand-in that
    tests/test_notify.py starts: never through a NOTIFY_API_KEY the developer has set."""
    settings.NOTIFY_API_KEY = ""


@pytest.fixture(autouse=True)
def sign_in_without_lockout_or_second_factor(request, settings):
    """Most tests sign in with force_login or client.login, which give axes no request and
    no TOTP code. The tests of lockout and the second factor (marked `sign_in`) keep both."""
    if request.node.get_closest_marker("sign_in") is None:
        settings.AXES_ENABLED = False
        settings.TWO_FACTOR_ROLES = ()


def pytest_configure(config):
    """Tests speak plain HTTP to the test client and the live server; production insists on
    HTTPS (redirects, HSTS that Chromium would remember, cookies sent over HTTPS only). Set for
    the whole session, before the live server builds its middleware."""
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False
    settings.SECURE_HSTS_SECONDS = 0
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's set-up of the test database, done as the owner role."""
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock(), as_owner():
        config = setup_databases(verbosity=verbosity, interactive=False, keepdb=keepdb)
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock(), as_owner():
            teardown_databases(config, verbosity=verbosity)
