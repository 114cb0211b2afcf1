"""Shared fixtures. Tests run on PostgreSQL and Redis (scripts/stack.py starts them)."""

from __future__ import annotations

import pytest

from accounts.models import Role
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
