#!/usr/bin/env python3
"""Benchmark the audit log's hash chain: appending N rows through the trigger, then
`verify_chain` (what `manage.py verify_audit` and the daily job run) over all of them, and the
migration that hashes rows already there (audit 0003), undone and done again on all of them.

    .venv/bin/python scripts/stack.py exec -- python scripts/bench_audit.py --n 2000000

It creates (and afterwards drops) its own database `<name>_auditbench` as the owner role, so
no real data is touched. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
BATCH = 100_000


def main() -> int:
    """Build the rows, time the inserts and the verification, drop the database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="audit rows to build")
    n = parser.parse_args().n
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diversion.settings")
    if os.environ.get("DATABASE_OWNER_URL"):  # it creates and drops a database of its own
        os.environ["DATABASE_URL"] = os.environ["DATABASE_OWNER_URL"]
    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    from audit.chain import verify_chain

    name = f"{connection.settings_dict['NAME']}_auditbench"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connections.close_all()
    connection.settings_dict["NAME"] = name
    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for first in range(0, n, BATCH):
                cursor.execute(
                    "INSERT INTO audit_auditevent (at, action, object_type, object_id, path, "
                    "person_id, changes, reason) SELECT now() - (n || ' seconds')::interval, "
                    "'view', 'cases.case', 'TVP-' || n, '/cases/TVP-' || n || '/', n, "
                    """'{"status": ["offered", "referred"]}', '' """
                    "FROM generate_series(%s, %s) AS n",
                    [first + 1, min(first + BATCH, n)],
                )
            cursor.execute("VACUUM ANALYZE audit_auditevent")
        inserted = time.perf_counter() - started
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            report = verify_chain()
            timings.append(time.perf_counter() - started)
        if not report.ok or report.rows != n:
            print(report.describe())
            return 1
        # The migration that gave rows already there their hashes, on all of them.
        call_command("migrate", "audit", "0002", verbosity=0)
        started = time.perf_counter()
        call_command("migrate", "audit", verbosity=0)
        backfilled = time.perf_counter() - started
        if not verify_chain().ok:
            print("the chain does not verify after the migration")
            return 1
        print(f"rows: {n}")
        print(f"migration hashing every existing row: {backfilled:.1f} s")
        print(f"insert through the chain trigger: {inserted:.1f} s ({n / inserted:,.0f} rows/s)")
        print(f"verify_chain (best of 3): {min(timings):.2f} s; all: {timings}")
    finally:
        connections.close_all()
        connection.settings_dict["NAME"] = name.removesuffix("_auditbench")
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
