"""Every measurement of the benchmark, in-process, on the default database connection.

The worker processes (worker.py) call these on request, one process per database; the test
suite (tests/test_benchmark.py) calls them directly on its own database. Each function
measures one thing once and returns plain values; medians and ratios are the caller's.

The application is reached through its URLs and a few service functions, and the database
through its table names.
"""

from __future__ import annotations

import inspect
import re
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cases import services as case_services
from cases.selectors import earlier_cases_for
from escalations.breaches import referral_breaches
from escalations.sweep import sweep_deadlines, sweep_statement
from retention.anonymise import anonymise_expired
from scripts.bench.build import fetch

OPEN_STATUSES = ("new", "accepted", "in_progress")  # the statuses the sweep checks
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
# Tables the sweep and retention write; vacuumed after each rolled-back run so that every run
# starts from the same state.
WRITTEN_TABLES = (
    "cases_person", "cases_case", "cases_offer", "cases_casestatuschange",
    "cases_eligibilitydecision", "programmes_referral", "programmes_escalation",
    "programmes_appointment", "programmes_attendance", "programmes_referralstatuschange",
    "programmes_notification", "audit_auditevent",
)  # fmt: skip
FAMILY_NAME = "Smith"  # the most common family name in the data (build.FAMILY_NAMES[0])
DEEP_PAGE = 1000


def execute(sql: str, params: dict[str, Any] | list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@dataclass
class Counter:
    queries: int = 0


@contextmanager
def counting_queries() -> Iterator[Counter]:
    """Count the statements sent inside the block, savepoints left out.

    CaptureQueriesContext keeps only the last 9,000 queries, too few for the naive loop; an
    execute wrapper counts them all.
    """
    counter = Counter()

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        if not str(sql).lstrip().upper().startswith(TRANSACTION_CONTROL):
            counter.queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counter


def vacuum(tables: tuple[str, ...] = WRITTEN_TABLES) -> None:
    """Clear the dead rows a rolled-back run left, so the next run starts alike."""
    execute("VACUUM ANALYZE " + ", ".join(tables))


# --- What to measure, found in the data -------------------------------------------------


def discover() -> dict[str, Any]:
    """Real values to search for and act on, chosen the same way at every size.

    - case_reference: a Thames Valley case halfway through the force's cases;
    - family_name: the most common family name, which Thames Valley always has;
    - logged_case_id: a Thames Valley case waiting for its eligibility check, the one whose
      person has the most cases (the earlier-cases search has something to find).
    """
    [(tvp,)] = fetch("SELECT id FROM cases_force WHERE code = 'TVP'")
    [(reference,)] = fetch(
        """
        SELECT reference FROM cases_case
        WHERE force_id = %(f)s
          AND id >= (SELECT (min(id) + max(id)) / 2 FROM cases_case WHERE force_id = %(f)s)
        ORDER BY id LIMIT 1
        """,
        {"f": tvp},
    )
    [(named,)] = fetch(
        "SELECT count(*) FROM cases_case c JOIN cases_person p ON p.id = c.person_id"
        " WHERE c.force_id = %s AND p.family_name = %s",
        [tvp, FAMILY_NAME],
    )
    logged = fetch(
        """
        SELECT c.id, (SELECT count(*) FROM cases_case o WHERE o.person_id = c.person_id)
        FROM cases_case c WHERE c.force_id = %s AND c.status = 'logged'
        ORDER BY 2 DESC, c.id LIMIT 1
        """,
        [tvp],
    )
    return {
        "case_reference": reference,
        "family_name": FAMILY_NAME,
        "family_name_cases": named,
        "logged_case_id": logged[0][0] if logged else None,
        "logged_case_person_cases": logged[0][1] if logged else 0,
    }


# --- Pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    username: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    target: bool = True  # held to the page target (a reference row is not)

    def url(self, facts: dict[str, Any]) -> str:
        query = {key: value.format(**facts) for key, value in self.query.items()}
        return self.path + ("?" + urlencode(query) if query else "")


INBOX_TABS = ("new", "accepted", "in_progress", "flagged", "completed", "ended")

PAGES = [
    Page("healthz", "signed-in /healthz (reference)", "officer", "/healthz", target=False),
    Page("cases", "case list, page 1", "officer", "/cases/"),
    Page("cases_deep", f"case list, ?page={DEEP_PAGE}", "officer", "/cases/",
         {"page": str(DEEP_PAGE)}),
    Page("cases_name", "case search by name (?q=Smith)", "officer", "/cases/",
         {"q": "{family_name}"}),
    Page("cases_reference", "case search by reference", "officer", "/cases/",
         {"q": "{case_reference}"}),
    *[
        Page(f"inbox_{tab}", f"provider inbox: {tab.replace('_', ' ')}", "provider",
             "/provider/", {"tab": tab})
        for tab in INBOX_TABS
    ],
    Page("inbox_completed_deep", f"provider inbox: completed, ?page={DEEP_PAGE}", "provider",
         "/provider/", {"tab": "completed", "page": str(DEEP_PAGE)}),
    Page("escalations_open", "escalation queue: open", "supervisor", "/escalations/",
         {"tab": "open"}),
    Page("escalations_decided", "escalation queue: decided", "supervisor", "/escalations/",
         {"tab": "decided"}),
    Page("audit", "audit trail, unfiltered", "admin", "/audit/"),
    Page("audit_person", "audit trail by person name (Smith)", "admin", "/audit/",
         {"person": "{family_name}"}),
    Page("audit_user", "audit trail by user (officer)", "admin", "/audit/", {"user": "officer"}),
    Page("report_funnel", "report: decision chain (force analyst)", "analyst", "/reports/funnel/"),
    Page("report_volumes", "report: cases over time", "analyst", "/reports/volumes/"),
    Page("report_fairness", "report: fairness monitoring", "analyst", "/reports/fairness/"),
]  # fmt: skip
PAGES_BY_KEY = {page.key: page for page in PAGES}


@dataclass
class PageResult:
    seconds: float
    queries: int
    status: int
    size: int


class PageRunner:
    """Opens pages as their users through the Django test client, one client per user."""

    def __init__(self, facts: dict[str, Any]) -> None:
        self.facts = facts
        self.clients: dict[str, Client] = {}

    def client(self, username: str) -> Client:
        if username not in self.clients:
            client = Client()
            client.force_login(get_user_model().objects.get(username=username))
            self.clients[username] = client
        return self.clients[username]

    def measure(self, key: str) -> PageResult:
        """Open one page once: wall time of the whole request, and every query it sent."""
        page = PAGES_BY_KEY[key]
        client = self.client(page.username)
        url = page.url(self.facts)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            seconds = time.perf_counter() - started
        return PageResult(seconds, len(queries), response.status_code, len(response.content))

    def explain(self, key: str, slowest: int = 3) -> list[str]:
        """Open one page, then EXPLAIN (ANALYZE, BUFFERS) its slowest SELECTs, as sent."""
        page = PAGES_BY_KEY[key]
        client = self.client(page.username)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page.url(self.facts))
        if response.status_code != 200:
            return [f"== {page.label}: answered {response.status_code}, not explained"]
        selects = [q for q in queries.captured_queries if q["sql"].lstrip().startswith("SELECT")]
        selects.sort(key=lambda q: float(q["time"]), reverse=True)
        lines = [f"== {page.label}: {page.url(self.facts)} ({len(queries)} queries)"]
        for query in selects[:slowest]:
            lines.append(f"-- {float(query['time']) * 1000:.1f} ms: {query['sql']}")
            lines += [row[0] for row in fetch("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])]
        return lines


# --- The eligibility check ----------------------------------------------------------------


def eligibility_check(case_id: int) -> dict[str, Any]:
    """cases.services.eligibility_check on a logged case as its officer, rolled back.

    Also times the earlier-cases search on its own (cases.selectors.earlier_cases_for).
    """
    check = case_services.eligibility_check
    case_model = apps.get_model("cases", "Case")
    officer = get_user_model().objects.get(username="officer")
    with transaction.atomic():
        case = case_model.objects.select_related("person").get(pk=case_id)
        started = time.perf_counter()
        found = earlier_cases_for(case=case)
        search_seconds = time.perf_counter() - started
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            decision = check(case=case, by=officer)
            seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return {
        "seconds": seconds,
        "queries": len(queries),
        "search_seconds": search_seconds,
        "earlier_cases": len(found),
        "eligible": decision.eligible,
    }


# --- The sweep, an honest single statement, and a naive per-row loop ---------------------

# Written from the rules in programmes/rules.py, independently of the sweep: one pass over
# the open referrals with their booked appointments and current attendance, grouped per
# referral; the breaching ones are inserted as escalations, and the partial unique index
# one_open_escalation_per_referral skips those already flagged (ON CONFLICT DO NOTHING).
HONEST_SQL = """
INSERT INTO programmes_escalation (referral_id, rule, facts, flagged_at, decision, rationale)
SELECT b.id,
       CASE WHEN b.too_many_absences THEN 'too_many_absences'
            WHEN b.completion_missed THEN 'completion_missed'
            ELSE 'first_appointment_missed' END,
       jsonb_build_object(
           'checked_at', %(now)s,
           'rules_fired', to_jsonb(array_remove(ARRAY[
               CASE WHEN b.too_many_absences THEN 'too_many_absences' END,
               CASE WHEN b.completion_missed THEN 'completion_missed' END,
               CASE WHEN b.first_appointment_missed THEN 'first_appointment_missed' END
           ], NULL)),
           'first_appointment_due', b.first_appointment_due,
           'completion_due', b.completion_due,
           'attended_by_first_deadline', b.attended,
           'unexcused_absences', b.unexcused,
           'max_unexcused_absences', b.max_unexcused_absences,
           'referral_status', b.status),
       %(now)s, '', ''
FROM (
    SELECT c.*,
           c.unexcused > c.max_unexcused_absences AS too_many_absences,
           %(now)s > c.completion_due AS completion_missed,
           %(now)s > c.first_appointment_due AND c.attended = 0 AS first_appointment_missed
    FROM (
        SELECT r.id, r.status, r.first_appointment_due, r.completion_due,
               p.max_unexcused_absences,
               count(*) FILTER (
                   WHERE a.starts_at <= r.first_appointment_due
                     AND (t.outcome = 'attended'
                          OR (t.outcome = 'late' AND p.late_counts_as_attended))
               ) AS attended,
               count(*) FILTER (
                   WHERE a.starts_at > coalesce(d.decided_at, '-infinity'::timestamptz)
                     AND (t.outcome = 'did_not_attend'
                          OR (t.outcome = 'late' AND NOT p.late_counts_as_attended))
               ) AS unexcused
        FROM programmes_referral r
        JOIN cases_schemepolicy p ON p.id = r.policy_id
        LEFT JOIN programmes_appointment a ON a.referral_id = r.id AND a.status = 'booked'
        LEFT JOIN programmes_attendance t ON t.appointment_id = a.id AND t.is_current
        LEFT JOIN (
            SELECT referral_id, max(decided_at) AS decided_at
            FROM programmes_escalation WHERE decided_at IS NOT NULL
            GROUP BY referral_id
        ) d ON d.referral_id = r.id
        WHERE r.status IN ('new', 'accepted', 'in_progress')
        GROUP BY r.id, p.id
    ) c
) b
WHERE b.too_many_absences OR b.completion_missed OR b.first_appointment_missed
ON CONFLICT (referral_id) WHERE decided_at IS NULL DO NOTHING
RETURNING referral_id
"""

DEFAULT_SWEEP_SETTINGS = ("SET LOCAL work_mem = '64MB'", "SET LOCAL jit = off")


def sweep_session_settings() -> tuple[str, ...]:
    """The SET LOCAL statements sweep_deadlines runs, read from its source, so the honest
    statement runs with the same settings even after they change."""
    function = sweep_deadlines
    try:
        found = re.findall(r"SET LOCAL \w+ = (?:'[^']*'|\w+)", inspect.getsource(function))
    except (OSError, TypeError):
        found = []
    return tuple(found) or DEFAULT_SWEEP_SETTINGS


@dataclass
class Flagging:
    referral_ids: list[int]
    seconds: float
    queries: int


def sweep_rolled_back(now: datetime) -> Flagging:
    """sweep_deadlines(now=...) in a transaction rolled back afterwards (no on_commit fires)."""
    with transaction.atomic():
        with counting_queries() as counter:
            started = time.perf_counter()
            flagged = sweep_deadlines(now=now)
            seconds = time.perf_counter() - started
        rows = fetch(
            "SELECT referral_id FROM programmes_escalation WHERE id = ANY(%s)",
            [[f.escalation_id for f in flagged]],
        )
        transaction.set_rollback(True)
    vacuum()
    return Flagging(sorted(row[0] for row in rows), seconds, counter.queries)


def honest_rolled_back(now: datetime) -> Flagging:
    """HONEST_SQL with the sweep's session settings, in a transaction rolled back afterwards."""
    with transaction.atomic():
        for statement in sweep_session_settings():
            execute(statement)
        with counting_queries() as counter:
            started = time.perf_counter()
            rows = fetch(HONEST_SQL, {"now": now})
            seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    vacuum()
    return Flagging(sorted(row[0] for row in rows), seconds, counter.queries)


@dataclass
class NaiveResult:
    examined: list[int]
    flagged: list[int]
    seconds: float
    queries: int
    open_referrals: int


def naive_loop(now: datetime, limit: int) -> NaiveResult:
    """The per-row way, on the first `limit` open referrals by id (a reference line).

    For each: skip it if it has an open escalation, then ask the breach rule about that one
    referral (escalations.breaches.referral_breaches, the same definition the sweep runs),
    one query at a time.
    """
    referral_model = apps.get_model("programmes", "Referral")

    [(open_count,)] = fetch(
        "SELECT count(*) FROM programmes_referral WHERE status = ANY(%s)", [list(OPEN_STATUSES)]
    )
    examined: list[int] = []
    flagged: list[int] = []
    with counting_queries() as counter:
        started = time.perf_counter()
        referrals = referral_model.objects.filter(status__in=OPEN_STATUSES).order_by("id")
        for referral in referrals[:limit]:
            examined.append(referral.id)
            if referral.escalations.filter(decided_at__isnull=True).exists():
                continue
            breach = referral_breaches(referral_id=referral.id, now=now)
            if breach is not None and breach.rules_fired:
                flagged.append(referral.id)
        seconds = time.perf_counter() - started
    return NaiveResult(examined, flagged, seconds, counter.queries, open_count)


def _rss_anon_mb(pid: int | str) -> float:
    """Private resident memory of a process (RssAnon in /proc/<pid>/status), in MB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def sweep_peak_memory(now: datetime) -> dict[str, float]:
    """One sweep, rolled back, on a fresh connection, watching memory as it runs.

    - python_traced_mb: the most memory Python allocated during the call (tracemalloc);
    - python_rss_mb: how much this process's private memory grew at its peak;
    - backend_mb: the peak private memory of the PostgreSQL backend that ran it (sampled
      every 20 ms from /proc; NaN when the server runs elsewhere).
    """
    connection.close()
    [(backend,)] = fetch("SELECT pg_backend_pid()")
    peaks = {"self": 0.0, "backend": 0.0}
    baseline = _rss_anon_mb("self")
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peaks["self"] = max(peaks["self"], _rss_anon_mb("self"))
            peaks["backend"] = max(peaks["backend"], _rss_anon_mb(backend))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tracemalloc.start()
    try:
        with transaction.atomic():
            sweep_deadlines(now=now)
            transaction.set_rollback(True)
        _current, traced = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        done.set()
        sampler.join()
    vacuum()
    return {
        "python_traced_mb": traced / 2**20,
        "python_rss_mb": max(peaks["self"] - baseline, 0.0),
        "backend_mb": peaks["backend"] if peaks["backend"] else float("nan"),
    }


def explain_sweep(now: datetime) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the sweep's statement and of the honest one, rolled back."""
    statement = sweep_statement(now)
    lines = []
    for label, sql, params in (
        ("sweep", statement.sql("SELECT count(*) FROM inserted"), statement.params),
        ("honest statement", HONEST_SQL, {"now": now}),
    ):
        with transaction.atomic():
            for statement in sweep_session_settings():
                execute(statement)
            lines.append(f"EXPLAIN (ANALYZE, BUFFERS) {label}:")
            lines += [row[0] for row in fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)]
            transaction.set_rollback(True)
        vacuum()
    return lines


# --- Retention ----------------------------------------------------------------------------

# When each person's retention runs out, as cases/retention.py decides it: not anonymised,
# every case closed, each of a force with a policy; due when the last-closed case has been
# closed for longer than its force's retention_days.
DUE_SQL = """
WITH current_policy AS (
    SELECT DISTINCT ON (force_id) force_id, retention_days
    FROM cases_schemepolicy ORDER BY force_id, version DESC
),
due AS (
    SELECT c.person_id,
           max(c.closed_at + make_interval(days => cp.retention_days)) AS due,
           bool_and(c.status = 'closed' AND cp.retention_days IS NOT NULL) AS all_closed
    FROM cases_case c
    JOIN cases_person p ON p.id = c.person_id AND p.anonymised_at IS NULL
    LEFT JOIN current_policy cp ON cp.force_id = c.force_id
    GROUP BY c.person_id
)
SELECT due, count(*) OVER () FROM due WHERE all_closed AND due IS NOT NULL
ORDER BY due OFFSET %(offset)s LIMIT 1
"""


def retention_clock(people: int) -> datetime | None:
    """The moment at which exactly `people` people are due for anonymisation (None: fewer)."""
    rows = fetch(DUE_SQL, {"offset": max(people - 1, 0)})
    if not rows:
        return None
    due, _total = rows[0]
    return due + timedelta(microseconds=1)


def retention_rolled_back(now: datetime, timeout_seconds: int) -> dict[str, Any]:
    """anonymise_expired(now=now) in a transaction rolled back afterwards, with a time limit.

    A version that works in batches still runs here: its transactions become savepoints.
    """
    timed_out = False
    people = cases = 0
    with counting_queries() as counter:
        started = time.perf_counter()
        try:
            with transaction.atomic():
                execute(f"SET LOCAL statement_timeout = '{int(timeout_seconds)}s'")
                result = anonymise_expired(now=now)
                people, cases = result.people, result.cases
                transaction.set_rollback(True)
        except OperationalError as error:  # statement_timeout: QueryCanceled
            if "statement timeout" not in str(error):
                raise
            timed_out = True
        seconds = time.perf_counter() - started
    vacuum()
    return {
        "seconds": seconds,
        "people": people,
        "cases": cases,
        "queries": counter.queries,
        "timed_out": timed_out,
    }


# --- The attendance API's inputs ----------------------------------------------------------


def api_token(username: str = "provider") -> str:
    """A new API token for the user (accounts.models.ApiToken.issue); its key."""
    token_model = apps.get_model("accounts", "ApiToken")
    user = get_user_model().objects.get(username=username)
    _token, key = token_model.issue(user=user, name="benchmark")
    return key


def attendance_appointments(count: int, username: str = "provider") -> list[tuple[int, str]]:
    """Appointments the provider can correct back and forth without changing what the sweep
    sees, with their current outcome: started, booked, attended or late, on an in-progress
    referral whose policy counts arriving late as attending (so "late" and "attended" are the
    same to every rule)."""
    rows = fetch(
        """
        SELECT a.id, t.outcome
        FROM programmes_appointment a
        JOIN programmes_attendance t ON t.appointment_id = a.id AND t.is_current
        JOIN programmes_referral r ON r.id = a.referral_id
        JOIN cases_schemepolicy p ON p.id = r.policy_id
        JOIN programmes_programme g ON g.id = r.programme_id
        JOIN accounts_user u ON u.provider_id = g.provider_id AND u.username = %s
        WHERE a.status = 'booked' AND a.starts_at < now() AND t.outcome IN ('attended', 'late')
          AND r.status = 'in_progress' AND p.late_counts_as_attended
        ORDER BY a.id DESC LIMIT %s
        """,
        [username, count],
    )
    return [(appointment, outcome) for appointment, outcome in rows]
