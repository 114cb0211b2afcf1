#!/usr/bin/env python3
"""Benchmark the deadline sweep against the breach rule's SELECT alone and a per-row loop.

    make bench N=1000000
    .venv/bin/python scripts/stack.py exec -- python scripts/bench_sweep.py --n 100000

Not a timed test: it prints figures for docs/benchmarks.md. The steps:

1. Create a separate database `<name>_bench` beside the configured one (dropped first if it
   exists) and migrate it, so the demo data is never touched.
2. Build N referrals with set-based SQL (generate_series): one person and one case each,
   across five forces with different absence and lateness policies, in a realistic mix of
   statuses, with appointments, attendance (some of it corrected), open and decided
   escalations. About --overdue-share of the open referrals breach a rule. VACUUM ANALYZE.
3. On that same state, measure (a) the breach rule's SELECT (escalations.breaches, the one
   definition the sweep runs) of the referrals that breach it, writing nothing, (b) a naive
   per-row loop over --naive-limit open referrals, asking the same rule about one referral at
   a time, extrapolated to all of them, and (c) `escalations.sweep.sweep_deadlines` in a
   transaction rolled back afterwards, so it can run again on the same state and its on_commit
   notification never fires.
4. Check that the three flag exactly the same referrals, and as many as the data was built to
   breach (the check of the rule itself: the data is built to breach it in known ways), print
   a table of times, query counts and ratios, and exit 1 if they differ.
5. Drop the benchmark database unless --keep.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import django

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))

OPEN_STATUSES = ("new", "accepted", "in_progress")  # the statuses the sweep checks
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")

# --- The breach rule alone ---------------------------------------------------------------


def breaching_referrals_sql() -> str:
    """The ids of the open referrals that break the rule and are not flagged yet: the one
    definition of the rule that the sweep runs, writing nothing (the floor for finding them)."""
    from escalations.breaches import breaches_sql

    return f"""
SELECT b.referral_id
FROM ({breaches_sql()}) b
WHERE b.breached
  AND NOT EXISTS (
      SELECT 1 FROM programmes_escalation e
      WHERE e.referral_id = b.referral_id AND e.decided_at IS NULL
  )
ORDER BY b.referral_id
"""  # noqa: S608 (built from the rule's constants, no input)


# --- Building the data -------------------------------------------------------------------

# (max unexcused absences, late counts as attended) for the five forces' policies.
POLICIES = [(1, True), (2, True), (1, False), (2, False), (1, True)]

BREACH_KINDS = (
    "first_none", "first_dna", "first_late", "first_after", "completion", "absences",
)  # fmt: skip

# One row per referral: its status, force, policy, programme and the "kind" of history it
# gets. Healthy kinds: young (first appointment still to come), mid (first attended,
# absences within the limit), forgiven (absences before a supervisor's decision, none
# since). Breaching kinds: see BREACH_KINDS and BENCH_SLOTS_SQL.
BENCH_PLAN_SQL = """
CREATE TEMP TABLE bench_plan AS
WITH draws AS (
    SELECT i, random() AS r_status, random() AS r_breach, random() AS r_kind,
           random() AS r_days
    FROM generate_series(1, %(n)s) AS i
),
statuses AS (
    SELECT d.*,
           CASE WHEN r_status < 0.06 THEN 'new'
                WHEN r_status < 0.28 THEN 'accepted'
                WHEN r_status < 0.80 THEN 'in_progress'
                WHEN r_status < 0.82 THEN 'flagged'
                WHEN r_status < 0.95 THEN 'completed'
                WHEN r_status < 0.98 THEN 'withdrawn'
                ELSE 'declined' END AS status
    FROM draws d
),
kinds AS (
    SELECT s.*, pol.policy_id, pol.force_id, pol.max_unexcused, pol.late_counts,
           (%(programmes)s::bigint[])[1 + mod(i, cardinality(%(programmes)s::bigint[]))]
               AS programme_id,
           CASE
               WHEN status IN ('flagged', 'completed', 'withdrawn', 'declined') THEN status
               WHEN r_breach < %(share)s AND status = 'new' THEN 'first_none'
               WHEN r_breach < %(share)s THEN
                   (%(breach_kinds)s::text[])[1 + floor(r_kind * 6)::int]
               WHEN status = 'new' THEN 'young_new'
               WHEN status = 'accepted' OR r_kind < 0.15 THEN 'young'
               WHEN r_kind < 0.30 THEN 'forgiven'
               ELSE 'mid'
           END AS kind
    FROM statuses s
    JOIN bench_policies pol ON pol.k = mod(s.i, %(forces)s)
),
planned AS (
    SELECT k.i, k.status, k.policy_id, k.force_id, k.max_unexcused, k.programme_id,
           -- Arriving late is a breach only where lateness does not count as attending.
           CASE WHEN k.kind = 'first_late' AND k.late_counts THEN 'first_dna' ELSE k.kind END
               AS kind,
           date_trunc('day', %(now)s::timestamptz) + interval '1 day' - interval '1 second'
               + make_interval(days => CASE
                   WHEN k.kind IN ('young', 'young_new') THEN 1 + floor(k.r_days * 10)::int
                   WHEN k.kind = 'mid' THEN -1 - floor(k.r_days * 60)::int
                   WHEN k.kind = 'forgiven' THEN -40 - floor(k.r_days * 20)::int
                   WHEN k.kind LIKE 'first%%' THEN -2 - floor(k.r_days * 28)::int
                   WHEN k.kind = 'completion' THEN -60 - floor(k.r_days * 60)::int
                   WHEN k.kind = 'absences' THEN -20 - floor(k.r_days * 30)::int
                   ELSE -100 - floor(k.r_days * 100)::int
               END) AS first_due,
           k.r_days
    FROM kinds k
)
SELECT p.*,
       CASE
           WHEN p.kind IN ('flagged', 'completed', 'withdrawn', 'declined')
               THEN p.first_due + interval '84 days'
           WHEN p.kind = 'completion'
               THEN date_trunc('day', %(now)s::timestamptz) - interval '1 second'
                    - make_interval(days => floor(p.r_days * 30)::int)
           ELSE date_trunc('day', %(now)s::timestamptz) + interval '1 day' - interval '1 second'
                + make_interval(days => 11 + floor(p.r_days * 70)::int)
       END AS completion_due
FROM planned p
"""

# The appointments each kind gets: day offset from the first-appointment deadline's day
# (10:00 that day), appointment status, attendance outcome (recorded only once the
# appointment is in the past), whether 1 in 5 are corrections of an earlier "did not attend",
# and the smallest absence limit the slot applies to (the third absence of `absences`).
BENCH_SLOTS_SQL = """
CREATE TEMP TABLE bench_slots (kind, slot, day, status, outcome, correctable, min_limit) AS
VALUES
    ('young', 1, 0, 'booked', 'attended', false, 0),
    ('young', 2, 14, 'booked', 'attended', false, 0),
    ('mid', 1, -3, 'booked', 'attended', true, 0),
    ('mid', 2, 4, 'booked', 'excused', false, 0),
    ('mid', 3, 6, 'cancelled', 'did_not_attend', false, 0),
    ('mid', 4, 8, 'booked', 'did_not_attend', false, 0),
    ('forgiven', 1, -2, 'booked', 'attended', false, 0),
    ('forgiven', 2, 5, 'booked', 'did_not_attend', false, 0),
    ('forgiven', 3, 10, 'booked', 'did_not_attend', false, 0),
    ('first_dna', 1, -2, 'booked', 'did_not_attend', false, 0),
    ('first_late', 1, -2, 'booked', 'late', false, 0),
    ('first_after', 1, 1, 'booked', 'attended', false, 0),
    ('completion', 1, -1, 'booked', 'attended', true, 0),
    ('completion', 2, 7, 'booked', 'attended', false, 0),
    ('absences', 1, -1, 'booked', 'attended', true, 0),
    ('absences', 2, 3, 'booked', 'did_not_attend', false, 0),
    ('absences', 3, 6, 'booked', 'did_not_attend', false, 0),
    ('absences', 4, 9, 'booked', 'did_not_attend', false, 2),
    ('completed', 1, -2, 'booked', 'attended', true, 0),
    ('completed', 2, 10, 'booked', 'attended', false, 0),
    ('flagged', 1, -2, 'booked', 'did_not_attend', false, 0)
"""

BUILD_STEPS: list[tuple[str, str]] = [
    (
        "people",
        """
        INSERT INTO cases_person (
            id, given_name, family_name, date_of_birth, pnc_id, email, phone,
            contact_preference, address, postcode, preferred_language, access_needs,
            interpreter_language, ethnicity, sex, anonymised_at, created_at, updated_at)
        SELECT i,
               (ARRAY['Alex', 'Sam', 'Jo', 'Chris', 'Nia', 'Owen', 'Priya', 'Tomasz', 'Aoife',
                      'Kwame', 'Siân', 'Dylan', 'Amira', 'Callum', 'Zoë'])[1 + mod(i, 15)],
               (ARRAY['Smith', 'Jones', 'Williams', 'Taylor', 'Davies', 'Evans', 'Khan',
                      'Brown', 'Roberts', 'Nowak', 'O''Brien', 'Thomas', 'Patel', 'Hughes',
                      'Wilson', 'Clarke', 'Lewis'])[1 + mod(i / 15, 17)],
               date '1960-01-01' + mod(i::bigint * 7919, 16000)::int, '', '', '', 'sms', '',
               '', 'en', '', '', 'not_stated', 'not_stated', NULL, first_due - interval '30 days',
               first_due - interval '30 days'
        FROM bench_plan
        """,
    ),
    (
        "cases",
        """
        INSERT INTO cases_case (
            id, reference, force_id, person_id, custody_record_number, crime_reference,
            offence_date, offence_type, setting, admitted_offence, resides_in_force_area,
            previous_drug_conviction_or_caution, circumstances, status, outcome,
            home_office_outcome, created_by_id, created_at, updated_at, closed_at)
        SELECT i, 'BENCH-' || lpad(i::text, 7, '0'), force_id, i, 'CR-' || i, '',
               (first_due - interval '30 days')::date, 'simple_possession', 'none', true, true,
               false, '{}',
               CASE status WHEN 'new' THEN 'referred' WHEN 'accepted' THEN 'referred'
                           WHEN 'in_progress' THEN 'in_programme'
                           WHEN 'flagged' THEN 'awaiting_supervisor' ELSE 'closed' END,
               CASE status WHEN 'completed' THEN 'diverted'
                           WHEN 'withdrawn' THEN 'standard_process'
                           WHEN 'declined' THEN 'standard_process' ELSE '' END,
               CASE WHEN status = 'completed' THEN 22 END,
               %(user)s, first_due - interval '30 days', first_due - interval '30 days',
               CASE WHEN status IN ('completed', 'withdrawn', 'declined')
                    THEN completion_due END
        FROM bench_plan
        """,
    ),
    (
        "referrals",
        """
        INSERT INTO programmes_referral (
            id, reference, case_id, programme_id, policy_id, status, first_appointment_due,
            completion_due, extensions, referred_by_id, referred_at, decline_reason,
            completed_on, updated_at)
        SELECT i, 'R-BENCH-' || lpad(i::text, 7, '0'), i, programme_id, policy_id, status,
               first_due, completion_due, 0, %(user)s, first_due - interval '14 days',
               CASE WHEN status = 'declined' THEN 'No capacity' ELSE '' END,
               CASE WHEN status = 'completed' THEN (first_due + interval '30 days')::date END,
               first_due - interval '14 days'
        FROM bench_plan
        """,
    ),
    (
        "escalations",
        """
        INSERT INTO programmes_escalation (
            referral_id, rule, facts, flagged_at, decision, rationale, new_deadline,
            new_programme_id, decided_by_id, decided_at)
        SELECT i, 'first_appointment_missed', '{}'::jsonb, first_due + interval '1 day', '',
               '', NULL::timestamptz, NULL::bigint, NULL::bigint, NULL::timestamptz
        FROM bench_plan WHERE kind = 'flagged'
        UNION ALL
        SELECT i, 'too_many_absences', '{}'::jsonb, first_due + interval '15 days', 'extend',
               'Absences explained; deadline extended', completion_due, NULL, %(user)s,
               first_due + interval '20 days'
        FROM bench_plan WHERE kind = 'forgiven'
        """,
    ),
    (
        "appointments",
        """
        CREATE TEMP TABLE bench_appointments AS
        SELECT row_number() OVER (ORDER BY p.i, s.slot) AS id, p.i AS referral_id, s.slot,
               date_trunc('day', p.first_due) + interval '10 hours'
                   + make_interval(days => s.day) AS starts_at,
               s.status, s.outcome, s.correctable AND mod(p.i, 5) = 0 AS corrected
        FROM bench_plan p
        JOIN bench_slots s ON s.kind = p.kind AND p.max_unexcused >= s.min_limit;

        INSERT INTO programmes_appointment (
            id, referral_id, group_session_id, starts_at, kind, mode, location, status,
            booked_by_id, booked_at, updated_at)
        SELECT id, referral_id, NULL, starts_at,
               CASE WHEN slot = 1 THEN 'assessment' ELSE 'session' END, 'in_person',
               'Community centre', status, %(user)s, starts_at - interval '7 days',
               starts_at - interval '7 days'
        FROM bench_appointments
        """,
    ),
    (
        "attendance",
        """
        INSERT INTO programmes_attendance (
            appointment_id, outcome, reason, correction_reason, is_current, recorded_by_id,
            recorded_at)
        SELECT id, 'did_not_attend', '', '', false, %(user)s, starts_at + interval '1 hour'
        FROM bench_appointments
        WHERE corrected AND outcome IS NOT NULL AND starts_at <= %(now)s
        UNION ALL
        SELECT id, outcome, CASE WHEN outcome = 'excused' THEN 'In hospital' ELSE '' END,
               CASE WHEN corrected THEN 'Recorded against the wrong appointment' ELSE '' END,
               true, %(user)s, starts_at + interval '2 hours'
        FROM bench_appointments
        WHERE outcome IS NOT NULL AND starts_at <= %(now)s
        """,
    ),
    (
        "sequences",
        """
        SELECT setval(pg_get_serial_sequence('cases_person', 'id'), %(n)s);
        SELECT setval(pg_get_serial_sequence('cases_case', 'id'), %(n)s);
        SELECT setval(pg_get_serial_sequence('programmes_referral', 'id'), %(n)s);
        SELECT setval(pg_get_serial_sequence('programmes_appointment', 'id'),
                      (SELECT coalesce(max(id), 1) FROM bench_appointments))
        """,
    ),
]

TABLES = (
    "cases_person", "cases_case", "programmes_referral", "programmes_escalation",
    "programmes_appointment", "programmes_attendance", "programmes_referralstatuschange",
    "cases_casestatuschange", "audit_auditevent",
)  # fmt: skip


# --- Plumbing ----------------------------------------------------------------------------


def say(message: str = "") -> None:
    """Print one line at once (the output is often redirected to a file and polled)."""
    print(message, flush=True)


@dataclass
class Counter:
    """Statements sent to the database, transaction control (savepoints) left out."""

    queries: int = 0


@contextmanager
def counting_queries() -> Iterator[Counter]:
    """Count the statements run on the default connection inside the block.

    django.test.utils.CaptureQueriesContext reads connection.queries_log, which keeps only
    the last 9,000 queries, too few for the naive loop; an execute wrapper counts them all.
    """
    from django.db import connection

    counter = Counter()

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        if not str(sql).lstrip().upper().startswith(TRANSACTION_CONTROL):
            counter.queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counter


def execute(sql: str, params: dict[str, Any] | None = None) -> None:
    """Run statements on the default connection (autocommit)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def fetch(sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Run one query on the default connection and return all its rows."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def use_database(name: str) -> None:
    """Point the default connection at database `name` (closing the current connection)."""
    from django.conf import settings
    from django.db import connection, connections

    connections.close_all()
    settings.DATABASES["default"]["NAME"] = name
    connection.settings_dict["NAME"] = name


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def jit_in_use() -> bool:
    """Whether the server compiles expensive queries with LLVM (jit on and available)."""
    [(in_use,)] = fetch("SELECT current_setting('jit')::boolean AND pg_jit_available()")
    return in_use


def machine_basics() -> list[str]:
    """Cores, memory, Python and the PostgreSQL server with the settings that matter here."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    (version,) = fetch("SHOW server_version")[0]
    settings = {
        name: fetch(f"SHOW {name}")[0][0]
        for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit")
    }
    settings["jit"] += " (available)" if jit_in_use() else " (not available)"
    return [
        f"Machine:    {os.cpu_count()} cores, {memory:.0f} GiB RAM, {platform.platform()}",
        f"Load:       {load_average()} (other work on the machine skews the timings)",
        f"Python:     {platform.python_version()}, Django {django.get_version()}",
        f"PostgreSQL: {version} ({', '.join(f'{k}={v}' for k, v in settings.items())})",
    ]


# --- Steps -------------------------------------------------------------------------------


def create_bench_database(name: str) -> None:
    """Drop `name` if it exists, create it empty and migrate it."""
    from django.core.management import call_command
    from django.db import connection

    quoted = connection.ops.quote_name(name)
    execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    execute(f"CREATE DATABASE {quoted}")
    use_database(name)
    call_command("migrate", interactive=False, verbosity=0)


def build(*, n: int, share: float, now: datetime, seed: float) -> int:
    """Fill the benchmark database with n referrals; return how many were built to breach."""
    from accounts.models import Role, User
    from cases.models import Disposal, Force, SchemePolicy
    from programmes.models import Programme, Provider

    user = User.objects.create_user(username="bench", role=Role.ADMINISTRATOR)
    forces = list(Force.objects.order_by("id")[: len(POLICIES)])
    policy_rows = []
    for k, (force, (limit, late)) in enumerate(zip(forces, POLICIES, strict=True)):
        policy = SchemePolicy.objects.create(
            force=force,
            version=1,
            scheme_name=f"{force.name} drug diversion",
            disposal=Disposal.DEFERRED_PROSECUTION,
            intervention="Attend a drug education course",
            drug_classes=["B", "C"],
            max_unexcused_absences=limit,
            late_counts_as_attended=late,
            created_by=user,
        )
        policy_rows.append(f"({k}, {policy.id}, {force.id}, {limit}, {late})")
    programmes = []
    for name in ("Turning Point", "Change Grow Live", "Cranstoun"):
        provider = Provider.objects.create(name=f"{name} (bench)")
        for kind in Programme.Kind:
            programme = Programme.objects.create(
                provider=provider, name=f"Drug {kind.label.lower()}", kind=kind
            )
            programme.forces_served.set(forces)
            programmes.append(programme.id)

    params = {
        "n": n,
        "share": share,
        "now": now,
        "user": user.id,
        "programmes": programmes,
        "forces": len(forces),
        "breach_kinds": list(BREACH_KINDS),
    }
    execute(
        "CREATE TEMP TABLE bench_policies (k, policy_id, force_id, max_unexcused, late_counts)"
        " AS VALUES " + ", ".join(policy_rows)
    )
    execute("SET synchronous_commit = off")
    execute("SELECT setseed(%(seed)s)", {"seed": seed})
    started = time.perf_counter()
    execute(BENCH_PLAN_SQL, params)
    execute(BENCH_SLOTS_SQL)
    say(f"  plan            {time.perf_counter() - started:8.1f} s")
    for label, sql in BUILD_STEPS:
        step = time.perf_counter()
        execute(sql, params)
        say(f"  {label:15} {time.perf_counter() - step:8.1f} s")
    [(planned,)] = fetch(
        "SELECT count(*) FROM bench_plan WHERE kind = ANY(%(kinds)s)",
        {"kinds": list(BREACH_KINDS)},
    )
    execute("DROP TABLE bench_plan, bench_slots, bench_policies, bench_appointments")
    execute("RESET synchronous_commit")  # the measurements run with the server's setting
    step = time.perf_counter()
    execute("VACUUM ANALYZE")
    say(f"  vacuum analyze  {time.perf_counter() - step:8.1f} s")
    return planned


@dataclass
class Measured:
    """One row of the results table."""

    method: str
    examined: int
    flagged: int | None  # None: not counted (an extrapolated row)
    seconds: float
    queries: int
    compare_to_sweep: bool = True


def rule_select(now: datetime) -> tuple[set[int], float, int]:
    """Run the breach rule's SELECT once: (referral ids, seconds, queries)."""
    from escalations.breaches import params

    sql = breaching_referrals_sql()
    with counting_queries() as counter:
        started = time.perf_counter()
        rows = fetch(sql, params(now))
        seconds = time.perf_counter() - started
    return {row[0] for row in rows}, seconds, counter.queries


def sweep_rolled_back(now: datetime, *, jit: bool = True) -> tuple[set[int], float, int]:
    """Run the sweep once in a transaction that is rolled back: (referral ids, seconds, queries).

    Rolling back undoes every write and drops the on_commit callback, so no Celery task is
    sent and the next run sees the same state. jit=False runs it with `SET LOCAL jit = off`.
    """
    from django.db import transaction

    from escalations.sweep import sweep_deadlines

    with transaction.atomic():
        if not jit:
            execute("SET LOCAL jit = off")
        with counting_queries() as counter:
            started = time.perf_counter()
            flagged = sweep_deadlines(now=now)
            seconds = time.perf_counter() - started
        rows = fetch(
            "SELECT referral_id FROM programmes_escalation WHERE id = ANY(%(ids)s)",
            {"ids": [f.escalation_id for f in flagged]},
        )
        transaction.set_rollback(True)
    # The rolled-back rows are dead tuples now; clear them so every run starts alike.
    execute("VACUUM ANALYZE " + ", ".join(TABLES))
    return {row[0] for row in rows}, seconds, counter.queries


def naive_loop(now: datetime, limit: int) -> tuple[list[int], set[int], float, int]:
    """The per-row way: (ids examined, ids flagged, seconds, queries).

    For each open referral, up to `limit`, one at a time: skip it if it has an open
    escalation, else ask the breach rule about it (escalations.breaches.referral_breaches,
    one query).
    """
    from escalations.breaches import referral_breaches
    from programmes.models import Referral

    examined: list[int] = []
    flagged: set[int] = set()
    with counting_queries() as counter:
        started = time.perf_counter()
        referrals = Referral.objects.filter(status__in=OPEN_STATUSES).order_by("id")[:limit]
        for referral in referrals:
            examined.append(referral.id)
            if referral.escalations.filter(decided_at__isnull=True).exists():
                continue
            breach = referral_breaches(referral_id=referral.id, now=now)
            if breach is not None and breach.rules_fired:
                flagged.add(referral.id)
        seconds = time.perf_counter() - started
    return examined, flagged, seconds, counter.queries


def explain(now: datetime) -> None:
    """Print EXPLAIN ANALYZE of the breach rule's SELECT and of the sweep (rolled back)."""
    from django.db import transaction

    from escalations.breaches import params
    from escalations.sweep import FLAGGED_SQL, sweep_statement

    say("\nEXPLAIN (ANALYZE, BUFFERS) the breach rule's SELECT:")
    for (line,) in fetch("EXPLAIN (ANALYZE, BUFFERS) " + breaching_referrals_sql(), params(now)):
        say(f"  {line}")
    say("\nEXPLAIN (ANALYZE, BUFFERS) sweep statement (rolled back):")
    with transaction.atomic():
        statement = sweep_statement(now)
        for (line,) in fetch(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement.sql(FLAGGED_SQL), statement.params
        ):
            say(f"  {line}")
        transaction.set_rollback(True)
    execute("VACUUM ANALYZE " + ", ".join(TABLES))


def median_of(runs: list[tuple[set[int], float, int]]) -> tuple[set[int], float, int]:
    """The flagged set of the first run, the median time and the first run's query count."""
    return runs[0][0], statistics.median(run[1] for run in runs), runs[0][2]


def print_table(results: list[Measured], sweep_seconds: float) -> None:
    """Print method, referrals examined, flagged, seconds, queries and ratio to the sweep."""
    header = (
        f"{'method':40} {'examined':>10} {'flagged':>9} {'seconds':>10} {'queries':>10}"
        f" {'vs sweep':>9}"
    )
    say(header)
    say("-" * len(header))
    for r in results:
        flagged = f"{r.flagged:,}" if r.flagged is not None else "-"
        ratio = f"{r.seconds / sweep_seconds:,.1f}x" if r.compare_to_sweep else "-"
        say(
            f"{r.method:40} {r.examined:>10,} {flagged:>9} {r.seconds:>10.3f}"
            f" {r.queries:>10,} {ratio:>9}"
        )


def compare(name: str, got: set[int], expected: set[int]) -> bool:
    """Say whether two flagged sets agree, with a few ids from each side when they do not."""
    if got == expected:
        return True
    say(
        f"MISMATCH {name}: {len(got - expected)} only in the first "
        f"(e.g. {sorted(got - expected)[:5]}), {len(expected - got)} only in the second "
        f"(e.g. {sorted(expected - got)[:5]})"
    )
    return False


def run(args: argparse.Namespace) -> bool:
    """Build, measure, compare and print; True when all methods agree."""
    from django.utils import timezone

    now = timezone.now().replace(second=0, microsecond=0)
    for line in machine_basics():
        say(line)
    say(f"Benchmark:  N={args.n:,} referrals, overdue share {args.overdue_share}, now={now:%c}")

    say("\nBuilding the data (set-based SQL):")
    started = time.perf_counter()
    planned = build(n=args.n, share=args.overdue_share, now=now, seed=args.seed)
    say(f"  total           {time.perf_counter() - started:8.1f} s")
    [(open_count, appointments, attendance)] = fetch(
        "SELECT (SELECT count(*) FROM programmes_referral WHERE status = ANY(%(open)s)),"
        " (SELECT count(*) FROM programmes_appointment),"
        " (SELECT count(*) FROM programmes_attendance)",
        {"open": list(OPEN_STATUSES)},
    )
    say(
        f"  {args.n:,} referrals ({open_count:,} open, {planned:,} built to breach), "
        f"{appointments:,} appointments, {attendance:,} attendance rows"
    )
    if args.explain:
        explain(now)

    say(f"\nMeasuring ({args.runs} runs of the SELECT and the sweep, median reported):")
    # With JIT available, the sweep is also timed without it: its row estimates for the joins
    # of its CTEs are far too high, so the planner compiles it with LLVM, which costs time.
    jit = jit_in_use()
    selects = []
    sweeps = []
    sweeps_no_jit = []
    for number in range(1, args.runs + 1):
        selects.append(rule_select(now))
        sweeps.append(sweep_rolled_back(now))
        line = f"  run {number}: SELECT {selects[-1][1]:.3f} s, sweep {sweeps[-1][1]:.3f} s"
        if jit:
            sweeps_no_jit.append(sweep_rolled_back(now, jit=False))
            line += f", sweep with jit off {sweeps_no_jit[-1][1]:.3f} s"
        say(line)
    sql_ids, sql_seconds, sql_queries = median_of(selects)
    sweep_ids, sweep_seconds, sweep_queries = median_of(sweeps)
    repeatable = all(run[0] == sql_ids for run in selects) and all(
        run[0] == sweep_ids for run in sweeps + sweeps_no_jit
    )

    limit = min(open_count, args.naive_limit)
    say(f"  naive loop over {limit:,} open referrals ...")
    subset, naive_ids, naive_seconds, naive_queries = naive_loop(now, limit)
    say(f"  naive loop: {naive_seconds:.1f} s, {naive_queries:,} queries")

    results = [
        Measured("sweep (one statement, rolled back)", open_count, len(sweep_ids),
                 sweep_seconds, sweep_queries),
        *([Measured("sweep, SET LOCAL jit = off", open_count, len(sweep_ids),
                    *median_of(sweeps_no_jit)[1:])] if jit else []),
        Measured("the rule's SELECT (no writes)", open_count, len(sql_ids), sql_seconds,
                 sql_queries),
        Measured("naive per-row loop", len(subset), len(naive_ids), naive_seconds,
                 naive_queries, compare_to_sweep=len(subset) == open_count),
    ]  # fmt: skip
    if len(subset) < open_count:
        scale = open_count / len(subset)
        results.append(
            Measured(f"  extrapolated to {open_count:,} (x{scale:.1f})", open_count, None,
                     naive_seconds * scale, round(naive_queries * scale))
        )  # fmt: skip
    say()
    print_table(results, sweep_seconds)
    if len(subset) < open_count:
        say(
            f"The naive loop ran on the first {len(subset):,} open referrals (by id) only; its "
            "time and queries for all of them are extrapolated linearly."
        )
    say(
        "Queries: statements sent, savepoints left out (sweep_deadlines' own atomic block is a"
        " savepoint\ninside the benchmark's rolled-back transaction)."
    )

    in_subset = set(subset)
    agree = all(
        [
            compare("sweep vs the rule's SELECT", sweep_ids, sql_ids),
            compare("naive loop vs sweep (subset)", naive_ids, sweep_ids & in_subset),
            compare("naive loop vs SELECT (subset)", naive_ids, sql_ids & in_subset),
        ]
    )
    if len(sweep_ids) != planned:
        say(f"NOTE: {planned:,} referrals were built to breach but {len(sweep_ids):,} flagged")
    if not repeatable:
        say("MISMATCH: repeated runs flagged different referrals")
    verdict = "agree" if agree and repeatable else "DISAGREE"
    say(f"Load average at the end: {load_average()}")
    say(f"\nThe three methods {verdict}: {len(sweep_ids):,} referrals flagged at {now:%c}.")
    return agree and repeatable


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="referrals to build (100000)")
    parser.add_argument(
        "--overdue-share",
        type=float,
        default=0.1,
        help="share of the open referrals built to breach a rule (0.1)",
    )
    parser.add_argument(
        "--naive-limit",
        type=int,
        default=20_000,
        help="open referrals the naive loop examines; its figures are extrapolated (20000)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of the SELECT and sweep (3)")
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() for the data (0.42)")
    parser.add_argument(
        "--work-mem", help="run every statement with this work_mem, e.g. 64MB (server default)"
    )
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE plans")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)
    if args.n < 1 or args.naive_limit < 1 or args.runs < 1 or not 0 <= args.overdue_share <= 1:
        parser.error("--n, --naive-limit and --runs must be positive; --overdue-share in 0..1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Create the benchmark database, run the benchmark, drop the database; exit status."""
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diversion.settings")
    # The benchmark creates, migrates and drops a database of its own: it runs as the owner.
    if os.environ.get("DATABASE_OWNER_URL"):
        os.environ["DATABASE_URL"] = os.environ["DATABASE_OWNER_URL"]
    django.setup()
    from django.conf import settings
    from django.db import connection

    original = settings.DATABASES["default"]["NAME"]
    bench = f"{original}_bench"
    if args.work_mem:
        options = settings.DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c work_mem={args.work_mem}".strip()
    say(f"Benchmark database: {bench} (demo data in {original} is not touched)")
    agree = False
    try:
        create_bench_database(bench)
        agree = run(args)
    finally:
        use_database(original)
        if args.keep:
            say(f"Kept database {bench}.")
        else:
            execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(bench)} WITH (FORCE)")
            say(f"Dropped database {bench}.")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
