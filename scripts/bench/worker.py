"""A process that runs measurements on one database, on request, for the parent to interleave.

The parent (scripts/bench_national.py) starts one worker per database with `Worker(name)` and
calls `worker("page", key="cases")`; each call is answered before the next is sent, so the two
workers never measure at the same time. Both run the same code under the same settings
(scripts.bench.settings); only BENCH_DATABASE differs, and both stay warm between calls.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from multiprocessing.connection import Connection
from typing import Any


class WorkerError(RuntimeError):
    """A measurement failed in the worker; the message is its traceback."""


def serve(conn: Connection, database: str) -> None:
    """Set Django up on `database`, then answer (operation, arguments) until "stop"."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "scripts.bench.settings"
    os.environ["BENCH_DATABASE"] = database
    import django

    django.setup()
    from scripts.bench import build, measure

    state: dict[str, Any] = {}

    def runner() -> measure.PageRunner:
        if "runner" not in state:
            state["runner"] = measure.PageRunner(measure.discover())
        return state["runner"]

    operations = {
        "meta": build.read_meta,
        "facts": lambda: runner().facts,
        "page": lambda key: runner().measure(key),
        "explain_page": lambda key: runner().explain(key),
        "eligibility": lambda: measure.eligibility_check(runner().facts["logged_case_id"]),
        "sweep": measure.sweep_rolled_back,
        "honest": measure.honest_rolled_back,
        "sweep_settings": measure.sweep_session_settings,
        "naive": measure.naive_loop,
        "memory": measure.sweep_peak_memory,
        "explain_sweep": measure.explain_sweep,
        "retention_clock": measure.retention_clock,
        "retention": measure.retention_rolled_back,
        "api_token": measure.api_token,
        "attendance_appointments": measure.attendance_appointments,
    }
    while True:
        operation, arguments = conn.recv()
        if operation == "stop":
            break
        try:
            conn.send(("ok", operations[operation](**arguments)))
        except Exception:
            conn.send(("error", traceback.format_exc()))
    conn.close()


class Worker:
    """The parent's handle on one worker process."""

    def __init__(self, database: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.database = database
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, database), daemon=True)
        self.process.start()
        child.close()

    def __call__(self, operation: str, **arguments: Any) -> Any:
        self.conn.send((operation, arguments))
        status, value = self.conn.recv()
        if status == "error":
            raise WorkerError(f"{operation} on {self.database} failed:\n{value}")
        return value

    def stop(self) -> None:
        if self.process.is_alive():
            self.conn.send(("stop", {}))
            self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.terminate()
