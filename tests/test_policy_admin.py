"""Scheme policies in the admin: every setting explained in plain English, and each new version
saying what it changed from the one before."""

from __future__ import annotations

import json

import pytest

from accounts.models import Role
from cases.models import POLICY_BOOKKEEPING, SchemePolicy
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    return factories.UserFactory(
        role=Role.ADMINISTRATOR, force=None, is_staff=True, is_superuser=True
    )


def form_of(policy: SchemePolicy, **changes) -> dict:
    """The change form as the admin fills it, with `changes` typed over it."""
    data = {
        "force": policy.force_id,
        "scheme_name": policy.scheme_name,
        "disposal": policy.disposal,
        "intervention": policy.intervention or "An education session",
        "drug_classes": ",".join(policy.drug_classes),
        "personal_use_thresholds": json.dumps(policy.personal_use_thresholds),
        "minimum_age": policy.minimum_age,
        "max_offence_age_days": policy.max_offence_age_days or "",
        "excluded_circumstances": ",".join(policy.excluded_circumstances),
        "lookback_days": policy.lookback_days,
        "max_previous_diversions": policy.max_previous_diversions,
        "first_appointment_working_days": policy.first_appointment_working_days,
        "completion_days": policy.completion_days,
        "deadlines_from": policy.deadlines_from,
        "max_unexcused_absences": policy.max_unexcused_absences,
        "max_extensions": policy.max_extensions,
        "reminder_lead_days": policy.reminder_lead_days,
        "retention_days": policy.retention_days,
    }
    for flag in ("requires_admission", "requires_residence_in_area", "late_counts_as_attended"):
        if getattr(policy, flag):
            data[flag] = "on"
    data.update(changes)
    return data


def test_every_setting_is_explained_on_the_form(client, admin_user, policy):
    client.force_login(admin_user)
    page = client.get(f"/admin/cases/schemepolicy/{policy.pk}/change/").content.decode()

    for field in SchemePolicy._meta.concrete_fields:
        if field.name not in POLICY_BOOKKEEPING | {"intervention"}:
            assert field.help_text, f"{field.name} has no plain-English explanation"
            assert str(field.help_text).split("(")[0].strip() in page, field.name
    assert "The first version for this force." in page or "Nothing: the same rules" in page


def test_a_new_version_says_what_it_changed(client, admin_user, policy):
    client.force_login(admin_user)
    url = f"/admin/cases/schemepolicy/{policy.pk}/change/"

    response = client.post(
        url, form_of(policy, minimum_age=21, requires_admission="on"), follow=True
    )

    page = response.content.decode()
    assert f"Saved as version {policy.version + 1}" in page
    assert "Minimum age: 18 → 21" in page
    assert "Requires admission: no → yes" in page
    new = SchemePolicy.objects.get(force=policy.force, version=policy.version + 1)
    assert SchemePolicy.objects.get(pk=policy.pk).minimum_age == 18  # kept as it was
    shown = client.get(f"/admin/cases/schemepolicy/{new.pk}/change/").content.decode()
    assert "<p>Minimum age: 18 → 21</p>" in shown


def test_saving_the_same_rules_says_nothing_changed(client, admin_user, policy):
    client.force_login(admin_user)
    response = client.post(
        f"/admin/cases/schemepolicy/{policy.pk}/change/", form_of(policy), follow=True
    )
    assert f"Saved as version {policy.version + 1}" in response.content.decode()
    assert "Nothing changed." in response.content.decode()


def test_changes_from_lists_each_setting_in_words(policy):
    later = SchemePolicy.objects.get(pk=policy.pk)
    later.drug_classes = ["A", "B", "C"]
    later.personal_use_thresholds = {"cannabis": "28"}
    later.deadlines_from = "offence"
    changes = later.changes_from(policy)
    assert any(
        line.startswith("Drug classes:") and line.endswith("→ Class A, Class B, Class C")
        for line in changes
    ) or any("→ A, B, C" in line for line in changes), changes
    assert later.changes_from(None) == []
