"""Two database roles, so that the application cannot alter its own audit trail.

- The owner role owns the database, its schema and every table; `migrate` (and `flush`, and
  the test database set-up) connect as it, from DATABASE_OWNER_URL.
- The runtime role is what web, worker and beat connect as (DATABASE_URL): ordinary reads and
  writes on every table, but on the audit table SELECT and INSERT only. It owns nothing, so
  it cannot TRUNCATE, ALTER or DROP anything, nor disable or drop a trigger.

`python manage.py create_db_roles` creates both roles and hands the database to the owner;
`migrate` grants the runtime role its privileges afterwards, every time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from psycopg2 import sql

AUDIT_TABLE = "audit_auditevent"
CREDENTIALS = ("USER", "PASSWORD")


def owner_settings() -> dict[str, Any] | None:
    """The owner role's user and password from DATABASE_OWNER_URL, or None when unset."""
    owner = getattr(settings, "DATABASE_OWNER", None)
    if not owner:
        return None
    default = settings.DATABASES["default"]
    for key in ("HOST", "PORT"):
        if str(owner.get(key) or "") != str(default.get(key) or ""):
            raise ImproperlyConfigured(
                f"DATABASE_OWNER_URL must name the same server as DATABASE_URL ({key} differs)."
            )
    return {key: owner.get(key) or "" for key in CREDENTIALS}


@contextlib.contextmanager
def as_owner(alias: str = "default") -> Iterator[str | None]:
    """Within the block, connection `alias` connects as the owner role (DATABASE_OWNER_URL).

    Yields the runtime role's name (the user it replaced), or None when no owner is configured
    and nothing changes. The connection is closed on the way in and out, so it must not be in
    a transaction; nested use is a no-op that yields the same name.
    """
    owner = owner_settings()
    connection = connections[alias]
    if owner is None or owner["USER"] == connection.settings_dict["USER"]:
        yield getattr(connection, "_runtime_user", None)
        return
    if connection.in_atomic_block:
        raise RuntimeError("as_owner() cannot switch roles inside a transaction")
    saved = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
    connection.close()
    connection.settings_dict.update(owner)
    connection._runtime_user = saved["USER"]
    try:
        yield saved["USER"]
    finally:
        connection.close()
        connection.settings_dict.update(saved)
        del connection._runtime_user


def grant_runtime_privileges(cursor: Any, *, owner: str, runtime: str) -> None:
    """Give `runtime` ordinary DML on every table of schema public (now and, through default
    privileges, on tables `owner` creates later), and only SELECT and INSERT on the audit table.

    Run by the owner (or a superuser) in the database concerned; safe to run again.
    """
    owner_id, runtime_id = sql.Identifier(owner), sql.Identifier(runtime)
    statements = [
        "GRANT USAGE ON SCHEMA public TO {runtime}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {runtime}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {runtime}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public"
        " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public"
        " GRANT USAGE, SELECT ON SEQUENCES TO {runtime}",
    ]
    for statement in statements:
        cursor.execute(sql.SQL(statement).format(owner=owner_id, runtime=runtime_id))
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"public.{AUDIT_TABLE}"])
    if cursor.fetchone()[0]:
        table = sql.Identifier(AUDIT_TABLE)
        cursor.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(table, runtime_id))
        cursor.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(table, runtime_id))


def create_roles(
    cursor: Any,
    *,
    owner: str,
    owner_password: str | None,
    runtime: str,
    runtime_password: str | None,
    development: bool = False,
) -> None:
    """Create (or update) both login roles. Needs a superuser.

    `development` (make test, make bench; not for production) lets the owner create databases
    and set session_replication_role, which the benchmark's bulk load uses to skip triggers.
    """
    for name, password, options in (
        (owner, owner_password, "CREATEDB" if development else "NOCREATEDB"),
        (runtime, runtime_password, "NOCREATEDB"),
    ):
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        verb = "ALTER" if cursor.fetchone() else "CREATE"
        statement = sql.SQL(
            verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS " + options
        ).format(sql.Identifier(name))
        if password:
            statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
        cursor.execute(statement)
    verb = "GRANT" if development else "REVOKE"
    preposition = "TO" if development else "FROM"
    cursor.execute(
        sql.SQL(verb + " SET ON PARAMETER session_replication_role " + preposition + " {}").format(
            sql.Identifier(owner)
        )
    )


# Everything in schema public that an extension does not own: handed to the owner role.
HAND_OVER = """
DO $$
DECLARE
    target text := %(owner)s;
    item record;
BEGIN
    FOR item IN
        SELECT c.oid::regclass::text AS name,
               CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                    WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
          AND c.relowner <> target::regrole
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
    LOOP
        EXECUTE format('ALTER %%s %%s OWNER TO %%I', item.kind, item.name, target);
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure::text AS name
        FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
          AND p.proowner <> target::regrole
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER FUNCTION %%s OWNER TO %%I', item.name, target);
    END LOOP;
END
$$;
"""


def hand_database_to_owner(cursor: Any, *, owner: str, database: str) -> None:
    """Make `owner` own the database, schema public and every table, sequence and function in
    it (a database set up before the split belonged to whoever migrated it). Superuser only."""
    owner_id = sql.Identifier(owner)
    cursor.execute(
        sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), owner_id)
    )
    cursor.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(owner_id))
    cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    cursor.execute(HAND_OVER, {"owner": owner})
