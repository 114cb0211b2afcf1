"""The database protects the audit log by itself: the runtime role the application connects as
may only read and append, and every row's hash chains it to the one before, so an edit made
behind the database's back (by the owner or a superuser, triggers bypassed) is found."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import Error as DatabaseError

from accounts.models import Role
from audit.chain import verify_chain
from audit.models import AuditEvent
from audit.roles import as_owner, owner_settings
from audit.services import audit_many, audit_record
from audit.tasks import AuditChainBroken, verify_chain_task
from programmes.models import Notification
from tests import factories

needs_roles = pytest.mark.skipif(
    owner_settings() is None,
    reason="DATABASE_OWNER_URL is unset: tests run as one role (make test sets up both)",
)


def event(reason: str = "") -> AuditEvent:
    return audit_record(user=None, action="view", object_type="cases.case", reason=reason)


def events(count: int) -> list[AuditEvent]:
    return [event(reason=f"row {number}") for number in range(count)]


def tamper(statement: str, params: list[object]) -> None:
    """Run a statement as the owner with the table's triggers switched off, as the owner or a
    superuser could: the append-only trigger and the chain trigger both stand aside."""
    with as_owner(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(statement, params)
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


# --- As the runtime role, the table cannot be changed, emptied or unprotected ---------------

REFUSED = [
    "UPDATE audit_auditevent SET reason = 'covered up'",
    "DELETE FROM audit_auditevent",
    "TRUNCATE audit_auditevent",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_event_append_only ON audit_auditevent",
    "DROP TRIGGER audit_event_chain ON audit_auditevent",
    "DROP TABLE audit_auditevent",
    "ALTER TABLE audit_auditevent DROP COLUMN row_hash",
    "CREATE TABLE audit_shadow (id bigint)",
]


@needs_roles
@pytest.mark.django_db
def test_the_tests_connect_as_a_runtime_role_that_owns_nothing():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper, r.rolcreatedb, pg_get_userbyid(c.relowner) = current_user "
            "FROM pg_roles r, pg_class c "
            "WHERE r.rolname = current_user AND c.oid = 'audit_auditevent'::regclass"
        )
        assert cursor.fetchone() == (False, False, False)
        cursor.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE table_name = 'audit_auditevent' AND grantee = current_user"
        )
        assert sorted(row[0] for row in cursor.fetchall()) == ["INSERT", "SELECT"]


@needs_roles
@pytest.mark.django_db
@pytest.mark.parametrize("statement", REFUSED)
def test_the_runtime_role_cannot_change_empty_or_unprotect_the_audit_table(statement):
    row = event(reason="seen")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    row.refresh_from_db()
    assert row.reason == "seen"
    assert verify_chain().ok


@needs_roles
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("statement", REFUSED[:2])
def test_even_the_owner_meets_the_append_only_trigger(statement):
    row = event(reason="seen")
    with pytest.raises(DatabaseError, match="append-only"), as_owner(), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    row.refresh_from_db()
    assert row.reason == "seen"


# --- The chain: computed by the database on every insert -----------------------------------


@pytest.mark.django_db
def test_each_row_gets_a_hash_and_the_chain_verifies():
    rows = events(3)
    assert all(len(bytes(row.row_hash)) == 32 for row in rows)
    assert len({bytes(row.row_hash) for row in rows}) == 3
    report = verify_chain()
    assert report.ok and report.rows == 3 and report.head_id == rows[-1].pk


@pytest.mark.django_db
def test_a_hash_sent_by_the_application_is_replaced():
    row = AuditEvent.objects.create(action="view", object_type="x", row_hash=b"forged")
    assert bytes(AuditEvent.objects.get(pk=row.pk).row_hash) != b"forged"
    assert verify_chain().ok


@pytest.mark.django_db
def test_rows_inserted_in_one_statement_chain_row_by_row():
    audit_many(
        user=None, action="view", object_type="cases.case", rows=[(str(n), n) for n in range(50)]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (at, action, object_type, object_id, path, changes, "
            "reason) SELECT now(), 'view', 'cases.case', n::text, '', '{}', '' "
            "FROM generate_series(1, 200) AS n"
        )
    report = verify_chain()
    assert report.ok and report.rows == 250


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_chain_one_after_another():
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for number in range(15):
                with transaction.atomic():
                    audit_record(
                        user=None, action="view", object_type="t", object_id=f"{worker}-{number}"
                    )
                    if number % 5 == 0:
                        audit_many(
                            user=None, action="view", object_type="t", rows=[("x", None)] * 3
                        )
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    report = verify_chain()
    assert report.ok and report.rows == 4 * (15 + 3 * 3)


# --- Tampering behind the database's back is found ------------------------------------------


@needs_roles
@pytest.mark.django_db(transaction=True)
def test_a_row_edited_with_the_triggers_bypassed_is_reported():
    rows = events(5)
    tamper("UPDATE audit_auditevent SET reason = 'nothing to see' WHERE id = %s", [rows[2].pk])

    report = verify_chain()
    assert report.first_bad_id == rows[2].pk
    with pytest.raises(CommandError, match=f"broken at row id {rows[2].pk}:") as failure:
        call_command("verify_audit")
    assert failure.value.returncode == 1


@needs_roles
@pytest.mark.django_db(transaction=True)
def test_a_removed_row_is_reported_at_the_row_after_it():
    rows = events(5)
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [rows[1].pk])
    report = verify_chain()
    assert report.first_bad_id == rows[2].pk
    assert report.row_before_bad_id == rows[0].pk


@needs_roles
@pytest.mark.django_db(transaction=True)
def test_a_row_moved_to_another_place_in_the_chain_is_reported():
    rows = events(5)
    tamper("UPDATE audit_auditevent SET id = %s WHERE id = %s", [rows[-1].pk + 100, rows[1].pk])
    assert verify_chain().first_bad_id == rows[2].pk


@needs_roles
@pytest.mark.django_db(transaction=True)
def test_a_row_inserted_out_of_order_is_reported():
    rows = events(3)
    gap = rows[0].pk + 1  # the trigger takes two ids per row, so there is room
    assert not AuditEvent.objects.filter(pk=gap).exists()
    tamper(
        "INSERT INTO audit_auditevent (id, at, action, object_type, object_id, path, changes, "
        "reason, row_hash) SELECT %s, at, action, object_type, object_id, path, changes, "
        "'backdated', row_hash FROM audit_auditevent WHERE id = %s",
        [gap, rows[1].pk],
    )
    assert verify_chain().first_bad_id == gap


@needs_roles
@pytest.mark.django_db(transaction=True)
def test_the_daily_job_alerts_administrators_through_the_outbox_and_fails():
    factories.UserFactory(role=Role.ADMINISTRATOR, force=None, email="admin@example.org")
    factories.UserFactory(role=Role.ADMINISTRATOR, force=None, email="", username="noemail")
    rows = events(3)
    assert verify_chain_task.apply().get() == {"rows": 3, "head_id": rows[-1].pk}

    tamper("UPDATE audit_auditevent SET reason = 'edited' WHERE id = %s", [rows[0].pk])
    with pytest.raises(AuditChainBroken, match=f"row id {rows[0].pk}"):
        verify_chain_task.apply().get()
    verify_chain_task.apply()  # a second run the same day queues nothing more

    alert = Notification.objects.get(kind="audit_chain_broken")
    assert alert.recipient == "admin@example.org"
    assert f"row id {rows[0].pk}" in alert.body


@needs_roles
@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_rows_their_hashes_and_keeps_them():
    rows = events(4)
    with as_owner():
        executor = MigrationExecutor(connection)
        executor.migrate([("audit", "0002_append_only")])
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert list(AuditEvent.objects.order_by("id").values_list("id", "reason")) == [
        (row.pk, row.reason) for row in rows
    ]
    assert verify_chain().ok and verify_chain().rows == 4
