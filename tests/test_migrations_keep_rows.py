"""The move of escalations (and the sweep's and retention's jobs) to their own apps keeps
every row: a database at the layout before the move, holding the demo data, migrates forward
with the same rows under the same ids, and back again."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEvent
from audit.roles import as_owner
from cases.models import EligibilityDecision
from cases.replay import replay
from cases.services import eligibility_check
from escalations.models import Escalation
from programmes.models import Referral
from tests import factories

# Where each app stood before the move: escalations and retention did not exist yet.
BEFORE_THE_MOVE = [
    ("programmes", "0003_beat_schedule"),
    ("cases", "0006_retention_schedule"),
    ("escalations", None),
    ("retention", None),
]

ESCALATION_COLUMNS = (
    "id", "referral_id", "rule", "facts", "flagged_at", "decision", "rationale",
    "new_deadline", "new_programme_id", "decided_by_id", "decided_at",
)  # fmt: skip


def _migrate(targets) -> MigrationExecutor:
    """Migrate to `targets` as the owner role (the runtime role may not change the schema)."""
    with as_owner():
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
    return MigrationExecutor(connection)


def _escalations(model) -> list[tuple]:
    return list(model.objects.order_by("id").values_list(*ESCALATION_COLUMNS))


@pytest.mark.django_db(transaction=True)
def test_escalations_keep_every_row_and_id_across_the_move(settings) -> None:
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    # A transactional test starts from empty tables: put back the beat rows that the
    # migrations give a database, under the names they have now.
    for migration in ("programmes.migrations.0003_beat_schedule",
                      "cases.migrations.0006_retention_schedule"):  # fmt: skip
        import_module(migration).create_schedule(django_apps, None)
    import_module("escalations.migrations.0002_task_names").rename(django_apps, None)
    import_module("retention.migrations.0001_task_name").rename(django_apps, None)
    escalations = _escalations(Escalation)
    referrals = sorted(Referral.objects.values_list("id", "reference", "status"))
    audit_rows = AuditEvent.objects.count()
    assert escalations and referrals and audit_rows, "the demo data should hold all three"

    executor = _migrate(BEFORE_THE_MOVE)
    old = executor.loader.project_state(BEFORE_THE_MOVE[:2]).apps
    assert _escalations(old.get_model("programmes", "Escalation")) == escalations
    assert PeriodicTask.objects.filter(task="programmes.sweep_deadlines").exists()
    assert PeriodicTask.objects.filter(task="cases.anonymise_expired").exists()

    executor = _migrate(executor.loader.graph.leaf_nodes())
    assert _escalations(Escalation) == escalations
    assert sorted(Referral.objects.values_list("id", "reference", "status")) == referrals
    assert AuditEvent.objects.count() == audit_rows
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"escalations.sweep_deadlines", "escalations.queue_reminders"} <= tasks
    assert {"escalations.queue_digest", "retention.anonymise_expired"} <= tasks
    assert not {t for t in tasks if t.startswith(("programmes.sweep", "cases."))}


@pytest.mark.django_db(transaction=True)
def test_decisions_keep_every_row_and_gain_their_rules_version_and_drug_names() -> None:
    officer = factories.UserFactory()
    factories.PolicyFactory(force=officer.force)
    case = factories.CaseFactory(created_by=officer, drugs=[("cocaine", "0.5"), ("cannabis", "2")])
    decision = eligibility_check(case=case, by=officer)
    rows = list(EligibilityDecision.objects.values_list("id", "eligible", "reasons", "history"))

    _migrate([("cases", "0012_case_assignment")])
    with connection.cursor() as cursor:  # the drugs as decisions stored them then: codes only
        cursor.execute(
            "UPDATE cases_eligibilitydecision SET inputs = jsonb_set(inputs, '{drugs}', "
            "(SELECT jsonb_agg(item - 'name') FROM jsonb_array_elements(inputs->'drugs') item))"
        )
    executor = _migrate([("cases", "0012_case_assignment")])
    _migrate(executor.loader.graph.leaf_nodes())

    assert (
        list(EligibilityDecision.objects.values_list("id", "eligible", "reasons", "history"))
        == rows
    )
    migrated = EligibilityDecision.objects.get(pk=decision.pk)
    assert migrated.rules_version == 1
    assert [d["name"] for d in migrated.inputs["drugs"]] == ["Cannabis (herbal)", "Cocaine"]
    assert replay(migrated).same
