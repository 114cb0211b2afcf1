"""Requests per second of an API endpoint under gunicorn, from a small threaded client.

`serve(database)` runs gunicorn as production does (diversion.wsgi, the same worker count,
diversion/gunicorn.conf.py) under scripts.bench.settings on one database; `load(...)` sends
POSTs from `concurrency` threads for a fixed time, a new connection per request (gunicorn's
sync workers close each one), and counts the answers. The attendance API and the trivial
endpoints (urls.py) are loaded by the same client at the same concurrency.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent.parent
WEB_CONCURRENCY = os.environ.get("WEB_CONCURRENCY", "2")  # as scripts/stack.py and compose


@dataclass
class Load:
    """What one timed load answered."""

    requests: int
    errors: int
    seconds: float
    statuses: dict[int, int]

    @property
    def per_second(self) -> float:
        return (self.requests - self.errors) / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


@contextmanager
def serve(database: str, *, workers: str = WEB_CONCURRENCY) -> Iterator[int]:
    """Run gunicorn on `database` on a free local port; yield the port; stop it after."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scripts.bench.settings",
        "BENCH_DATABASE": database,
    }
    command = [
        sys.executable, "-m", "gunicorn", "diversion.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", workers, "-c", "diversion/gunicorn.conf.py", "--no-control-socket",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command, cwd=BASE, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if _get(port, "/healthz") == 200:
                        break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    errors.seek(0)
                    raise RuntimeError(
                        f"gunicorn did not start on {database}:\n{errors.read().decode()[-3000:]}"
                    )
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def load(
    port: int,
    *,
    request: Callable[[int, int], tuple[str, dict]],
    headers: dict[str, str],
    expected: set[int],
    concurrency: int,
    seconds: float,
) -> Load:
    """POST for `seconds` from `concurrency` threads; `request(thread, n)` gives path and body.

    Only requests that finished inside the window count; any status outside `expected` (or a
    connection error) is an error.
    """
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)
    deadline = 0.0

    def run(thread: int) -> None:
        mine: Counter[int] = Counter()
        n = 0
        start.wait()
        while True:
            path, body = request(thread, n)
            n += 1
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                conn.request(
                    "POST",
                    path,
                    body=json.dumps(body),
                    headers={"Content-Type": "application/json", "Connection": "close", **headers},
                )
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
            finally:
                conn.close()
            if time.monotonic() > deadline:
                break
            mine[status] += 1
        with lock:
            statuses.update(mine)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    deadline = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    total = sum(statuses.values())
    errors = sum(count for status, count in statuses.items() if status not in expected)
    return Load(total, errors, seconds, dict(statuses))


def attendance_requests(
    appointments: list[tuple[int, str]], concurrency: int
) -> Callable[[int, int], tuple[str, dict]]:
    """Each thread corrects its own appointments in turn, from their current outcome, attended
    to late and back again: every request writes (a correction), and to the deadline rules
    nothing changes."""
    mine = [appointments[t::concurrency] for t in range(concurrency)]
    if not all(mine):
        raise ValueError(f"Need at least {concurrency} appointments, found {len(appointments)}")
    current: dict[int, str] = dict(appointments)

    def request(thread: int, n: int) -> tuple[str, dict]:
        appointment, _outcome = mine[thread][n % len(mine[thread])]
        outcome = "late" if current[appointment] == "attended" else "attended"
        current[appointment] = outcome
        return (
            f"/api/v1/appointments/{appointment}/attendance/",
            {"outcome": outcome, "correction_reason": "Benchmark: register corrected"},
        )

    return request


def trivial_requests(path: str) -> Callable[[int, int], tuple[str, dict]]:
    """The same kind of body as the attendance API, to a trivial endpoint."""

    def request(thread: int, n: int) -> tuple[str, dict]:
        return path, {"outcome": "attended", "correction_reason": "Benchmark: register corrected"}

    return request
