"""Build a national dataset of N cases with set-based SQL: no Python object per row.

What it builds (the proportions are checked by tests/test_benchmark.py):

- the 43 forces of England and Wales (from the reference data), skewed: Thames Valley and
  West Midlands about 20% of the cases each, Durham about 10%, the other 40 forces the rest
  (the Metropolitan Police three times, Greater Manchester and West Yorkshire twice an
  ordinary force's share); each force has one scheme policy, differing as real schemes do;
- the demo users (officer, supervisor, analyst in Thames Valley; provider at Pathways Drug
  Education; admin; durham.officer; westmidlands.officer) and an officer and a supervisor in
  every other force, staff at every provider; all with the demo password;
- people with repeat cases (1 to 4 cases each, about 1.29 per person; about 8% of people's
  groups mix in a case from another force), names from a skewed list of common British
  names and about 900 less common ones, accents, apostrophes and hyphens included;
- cases over six and a half years: about 50% referred, 28% not eligible, 18% declined at the
  offer, and 4% still being logged, checked or offered;
- referrals: 30% open (2% new, 7% accepted, 19% in progress, 2% flagged with an open
  escalation), 60% completed, the rest withdrawn, declined by the provider or ended by a
  supervisor (prosecution, no further action); Pathways Drug Education takes about 70% of
  them, so at N=1M it has hundreds of thousands of completed referrals;
- the open referrals get the deadline sweep's mix (the old scripts/bench_sweep.py plan):
  about `overdue_share` of them are built to breach one rule (no or a missed first
  appointment, lateness where late is not attendance, attendance after the deadline, the
  completion deadline passed, too many absences); the rest are healthy, some with absences
  a supervisor already forgave (a decided "extend" escalation); about 3 appointments each,
  with attendance, corrections and excused absences the rules must ignore;
- escalations open and decided, about 5% of referrals;
- eligibility decisions, offers, status history, one drug per case, and about two audit rows
  per case plus the find-a-person searches (so millions at N=1M).

Dates are relative to the moment of the build, which is kept in the table `bench_meta` with
N, the seed and the number of referrals built to breach, so measurements made later (the
sweep, retention) use the same clock. Loading runs with secondary indexes dropped and foreign
key triggers off (session_replication_role = replica); the indexes are then rebuilt (which
checks the partial unique ones), every foreign key of the loaded tables is checked with one
anti-join each, and the database is VACUUM ANALYZEd.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from cases.reference_data import FORCES
from scripts.bench.dataset import (
    BREACH_KINDS,
    CASES_SQL,
    CLOSED_REFERRAL_KINDS,
    DEMO_PASSWORD,
    DRAWS_SQL,
    ETHNICITIES,
    FAMILY_NAMES,
    GIVEN_NAMES,
    LOADED_TABLES,
    NAME_PREFIXES,
    NAME_SUFFIXES,
    PEOPLE_SIZES_SQL,
    PLAN_SQL,
    PROGRAMMES,
    PROVIDERS,
    SLOTS_SQL,
    SPAN_DAYS,
    STEPS,
    force_shares,
    officer_username,
    policy_for,
    programme_shares,
    supervisor_username,
    users,
)

META_SQL = "CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb NOT NULL)"


# --- Plumbing -----------------------------------------------------------------------------


def say(message: str = "") -> None:
    """Print one line at once (the output is often redirected to a file and polled)."""
    print(message, flush=True)


def execute(sql: str, params: dict[str, Any] | list[Any] | None = None) -> int:
    """Run statements on the default connection; the last statement's row count."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def fetch(sql: str, params: dict[str, Any] | list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run one query on the default connection and return all its rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def values_sql(rows: list[tuple[Any, ...]]) -> tuple[str, list[Any]]:
    """A VALUES list with placeholders for a few reference rows, and its parameters."""
    width = len(rows[0])
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * len(rows)), [value for r in rows for value in r]


def next_id(table: str) -> int:
    """The highest id in `table` (0 when empty): new rows are numbered after it."""
    [(highest,)] = fetch(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608
    return highest


def read_meta() -> dict[str, Any]:
    """What the builder recorded in bench_meta; {} when the table does not exist."""
    [(exists,)] = fetch("SELECT to_regclass('bench_meta') IS NOT NULL")
    if not exists:
        return {}
    return {
        key: json.loads(value) for key, value in fetch("SELECT key, value::text FROM bench_meta")
    }


def write_meta(values: dict[str, Any]) -> None:
    execute(META_SQL)
    for key, value in values.items():
        execute(
            "INSERT INTO bench_meta (key, value) VALUES (%s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, json.dumps(value, default=str)],
        )


@dataclass
class SecondaryIndex:
    table: str
    name: str
    definition: str


def secondary_indexes(tables: tuple[str, ...]) -> list[SecondaryIndex]:
    """Indexes of `tables` that no constraint owns (primary keys and UNIQUE stay)."""
    rows = fetch(
        """
        SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY t.relname, i.relname
        """,
        [list(tables)],
    )
    return [SecondaryIndex(*row) for row in rows]


def foreign_key_checks(tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, SQL counting the rows that break it) for each foreign key of `tables`."""
    rows = fetch(
        """
        SELECT c.conname, t.relname, a.attname, r.relname, ra.attname
        FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_class r ON r.oid = c.confrelid
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND t.relname = ANY(%s) AND cardinality(c.conkey) = 1
        ORDER BY c.conname
        """,
        [list(tables)],
    )
    return [
        (
            name,
            f"SELECT count(*) FROM {table} x WHERE x.{column} IS NOT NULL AND NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {ref} y WHERE y.{ref_column} = x.{column})",
        )
        for name, table, column, ref, ref_column in rows
    ]


# --- The build ----------------------------------------------------------------------------


@dataclass
class Built:
    """What a build made, as bench_meta keeps it."""

    n: int
    now: datetime
    planned_breaches: int
    seconds: float
    counts: dict[str, int]


def reference_rows(now: datetime) -> dict[str, Any]:
    """Providers, programmes, users, policies (a few hundred rows); the per-force plan table.

    Returns the parameters the data steps need.
    """
    from django.contrib.auth.hashers import make_password

    forces = {code: force_id for force_id, code in fetch("SELECT id, code FROM cases_force")}
    missing = [code for _name, code in FORCES if code not in forces]
    if missing:
        raise RuntimeError(f"Forces missing from the reference data: {missing}")

    sql, params = values_sql([(name, email) for name, email, _user in PROVIDERS])
    rows = fetch(
        f"INSERT INTO programmes_provider (name, contact_email) VALUES {sql}"  # noqa: S608
        " RETURNING name, id",
        params,
    )
    providers = dict(rows)
    sql, params = values_sql(
        [
            (providers[provider], name, kind, "", sessions, True)
            for provider, name, kind, sessions in PROGRAMMES
        ]
    )
    rows = fetch(
        "INSERT INTO programmes_programme (provider_id, name, kind, description,"  # noqa: S608
        f" sessions_required, is_active) VALUES {sql} RETURNING provider_id, name, id",
        params,
    )
    programmes = {(pid, name): programme_id for pid, name, programme_id in rows}
    served = set()
    force_programmes: dict[str, list[int]] = {}
    for _name, code in FORCES:
        ids: list[int] = []
        for (provider, name), tenths in programme_shares(code).items():
            programme_id = programmes[(providers[provider], name)]
            ids += [programme_id] * tenths
            served.add((programme_id, forces[code]))
        force_programmes[code] = ids
    sql, params = values_sql(sorted(served))
    execute(
        "INSERT INTO programmes_programme_forces_served (programme_id, force_id)"  # noqa: S608
        f" VALUES {sql}",
        params,
    )

    password = make_password(DEMO_PASSWORD)
    sql, params = values_sql(
        [
            (
                password, staff, username, first, last, f"{username}@example.org", staff,
                True, now, role, forces[code] if code else None,
                providers[provider] if provider else None,
            )
            for username, first, last, role, code, provider, staff in users()
        ]
    )  # fmt: skip
    rows = fetch(
        "INSERT INTO accounts_user (password, is_superuser, username, first_name,"  # noqa: S608
        " last_name, email, is_staff, is_active, date_joined, role, force_id, provider_id)"
        f" VALUES {sql} RETURNING username, id",
        params,
    )
    user_ids = dict(rows)
    execute("CREATE TEMP TABLE bench_provider_staff (provider_id bigint, id bigint)")
    sql, params = values_sql(
        [(providers[name], user_ids[username]) for name, _email, username in PROVIDERS]
    )
    execute(f"INSERT INTO bench_provider_staff VALUES {sql}", params)  # noqa: S608

    shares = force_shares()
    policy_rows = []
    force_rows = []
    bounds = []
    cumulative = 0.0
    for k, (name, code) in enumerate(FORCES, start=1):
        policy = policy_for(code, name, k)
        policy_rows.append(
            (
                forces[code], 1, policy["scheme_name"], policy["disposal"],
                policy["intervention"], policy["drug_classes"], json.dumps(policy["thresholds"]),
                18, policy["max_offence_age_days"], policy["requires_admission"],
                policy["requires_residence_in_area"], policy["excluded"],
                policy["lookback_days"], policy["max_previous_diversions"], 10,
                policy["completion_days"], policy["deadlines_from"],
                policy["max_unexcused_absences"], policy["late_counts_as_attended"], 1, 2,
                policy["retention_days"], now, user_ids["admin"],
            )
        )  # fmt: skip
        bounds.append(cumulative)
        cumulative += shares[code]
        force_rows.append(
            (
                k, forces[code], code, user_ids[officer_username(code)],
                user_ids[supervisor_username(code)], force_programmes[code],
                policy["max_unexcused_absences"], policy["late_counts_as_attended"],
                policy["disposal"],
            )
        )  # fmt: skip
    sql, params = values_sql(policy_rows)
    rows = fetch(
        "INSERT INTO cases_schemepolicy (force_id, version, scheme_name, disposal,"  # noqa: S608
        " intervention, drug_classes, personal_use_thresholds, minimum_age,"
        " max_offence_age_days, requires_admission, requires_residence_in_area,"
        " excluded_circumstances, lookback_days, max_previous_diversions,"
        " first_appointment_working_days, completion_days, deadlines_from,"
        " max_unexcused_absences, late_counts_as_attended, max_extensions,"
        " reminder_lead_days, retention_days, created_at, created_by_id)"
        f" VALUES {sql} RETURNING force_id, id",
        params,
    )
    policies = dict(rows)
    execute(
        "CREATE TEMP TABLE bench_force (k int PRIMARY KEY, force_id bigint, code text,"
        " officer_id bigint, supervisor_id bigint, programmes bigint[], max_unexcused int,"
        " late_counts boolean, disposal text, policy_id bigint)"
    )
    sql, params = values_sql([(*row, policies[row[1]]) for row in force_rows])
    execute(f"INSERT INTO bench_force VALUES {sql}", params)  # noqa: S608
    return {"bounds": bounds}


def build(
    *,
    n: int,
    now: datetime,
    seed: float = 0.42,
    overdue_share: float = 0.1,
    progress: Callable[[str], None] = say,
) -> Built:
    """Fill the current database (migrated, with reference data, otherwise empty) with n cases.

    Must run outside a transaction (it ends with VACUUM ANALYZE).
    """
    started = time.perf_counter()

    def step(label: str, run: Callable[[], int | None]) -> None:
        began = time.perf_counter()
        rows = run()
        rows_text = f"{rows:>12,} rows" if rows is not None and rows >= 0 else " " * 17
        progress(
            f"  {label:<42}{rows_text} {time.perf_counter() - began:7.1f} s"
            f"   (total {time.perf_counter() - started:6.0f} s)"
        )

    execute(META_SQL)
    write_meta({"n": n, "seed": seed, "now": now.isoformat(), "complete": False})
    execute(
        "SET synchronous_commit = off; SET work_mem = '256MB';"
        " SET maintenance_work_mem = '512MB'; SET jit = off"
    )
    params: dict[str, Any] = {}
    step("reference rows", lambda: params.update(reference_rows(now)))
    params.update(
        n=n,
        now=now,
        span=SPAN_DAYS,
        share=overdue_share,
        breach_kinds=list(BREACH_KINDS),
        closed_kinds=list(CLOSED_REFERRAL_KINDS),
        given=GIVEN_NAMES,
        family=FAMILY_NAMES,
        prefixes=NAME_PREFIXES,
        suffixes=NAME_SUFFIXES,
        ethnicities=ETHNICITIES,
        person_base=next_id("cases_person"),
        case_base=next_id("cases_case"),
        referral_base=next_id("programmes_referral"),
        appointment_base=next_id("programmes_appointment"),
        audit_base=next_id("audit_auditevent"),
    )
    execute("SELECT setseed(%s)", [seed])
    step("plan: draws", lambda: execute(DRAWS_SQL, params))
    step("plan: cases", lambda: execute(PLAN_SQL, params))
    step("plan: people", lambda: execute(PEOPLE_SIZES_SQL, params))
    step("plan: ids", lambda: execute(CASES_SQL, params))
    execute(SLOTS_SQL)

    indexes = secondary_indexes(LOADED_TABLES)
    step(
        f"drop {len(indexes)} indexes",
        lambda: execute("; ".join(f'DROP INDEX "{index.name}"' for index in indexes)),
    )
    # Foreign keys are checked once at the end, not by a trigger per row.
    execute("SET session_replication_role = replica")
    try:
        for label, _table, sql in STEPS:
            step(label, lambda sql=sql: execute(sql, params))
    finally:
        execute("SET session_replication_role = DEFAULT")
        for table in LOADED_TABLES:
            own = [index.definition for index in indexes if index.table == table]
            if own:
                step(f"{len(own)} indexes of {table}", lambda own=own: execute("; ".join(own)))
    for table in (*LOADED_TABLES, "accounts_user", "cases_schemepolicy"):
        execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), greatest(m, 1), m > 0)"  # noqa: S608
            f" FROM (SELECT coalesce(max(id), 0) AS m FROM {table}) AS highest"
        )
    execute(
        "SELECT setval('case_reference_seq', greatest((SELECT max(id) FROM cases_case), 1));"
        " SELECT setval('referral_reference_seq',"
        " greatest((SELECT coalesce(max(id), 1) FROM programmes_referral), 1))"
    )

    def check_foreign_keys() -> int:
        checks = foreign_key_checks(LOADED_TABLES)
        broken = []
        for name, sql in checks:
            [(count,)] = fetch(sql)
            if count:
                broken.append(f"{name} ({count:,} rows)")
        if broken:
            raise RuntimeError(f"Foreign keys broken by the build: {', '.join(broken)}")
        return len(checks)

    step("foreign keys checked (rows: keys)", check_foreign_keys)
    [(planned,)] = fetch(
        "SELECT count(*) FROM bench_case WHERE kind = ANY(%s)", [list(BREACH_KINDS)]
    )
    execute(
        "DROP TABLE bench_draw, bench_plan, bench_people, bench_case, bench_slots,"
        " bench_appointment, bench_force, bench_provider_staff"
    )
    execute("RESET synchronous_commit; RESET work_mem; RESET maintenance_work_mem; RESET jit")
    step("vacuum analyze", lambda: execute("VACUUM ANALYZE"))
    counts = table_counts()
    seconds = time.perf_counter() - started
    write_meta(
        {
            "n": n,
            "seed": seed,
            "now": now.isoformat(),
            "planned_breaches": planned,
            "build_seconds": round(seconds, 1),
            "counts": counts,
            "complete": True,
        }
    )
    return Built(n=n, now=now, planned_breaches=planned, seconds=seconds, counts=counts)


def table_counts() -> dict[str, int]:
    """Rows per loaded table (exact counts)."""
    return {
        table: fetch(f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608
        for table in ("accounts_user", *LOADED_TABLES)
    }


# --- The scratch database -----------------------------------------------------------------


def use_database(name: str) -> None:
    """Point the default connection at database `name` (closing the current connection)."""
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    settings.DATABASES["default"]["NAME"] = name
    connection.settings_dict["NAME"] = name


def database_exists(name: str) -> bool:
    [(exists,)] = fetch("SELECT count(*) > 0 FROM pg_database WHERE datname = %s", [name])
    return exists


def create_database(name: str) -> None:
    """Drop `name` if it exists, create it empty and migrate it; the connection stays on it."""
    from django.core.management import call_command

    quoted = connection.ops.quote_name(name)
    execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    execute(f"CREATE DATABASE {quoted}")
    use_database(name)
    call_command("migrate", interactive=False, verbosity=0)


def bench_database_name(base: str, n: int) -> str:
    """`<name>_bench_<n>`, beside the configured database."""
    return f"{base}_bench_{n}"
