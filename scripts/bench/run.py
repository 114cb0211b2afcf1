"""`make bench`: build 1k and N cases, measure both side by side, print one table.

Steps:

1. Build (or reuse, when a complete one exists and --rebuild is not given) the scratch
   databases `<name>_bench_<small>` and `<name>_bench_<N>` with build.py, printing progress.
2. Start one worker process per database (worker.py). Everything that follows is measured in
   both, interleaved: each measurement runs on one side, then the other, alternating which
   side goes first; the first round of pages is a warm-up and is not counted. Medians.
3. Pages as their users see them, and the eligibility check (rolled back), --runs rounds.
4. The sweep and the honest single statement, --sweep-runs each, rolled back and vacuumed
   after every run; the naive per-row loop once on --naive-limit open referrals
   (extrapolated); the sweep's peak memory on a run of its own. The methods must flag the
   same referrals, and as many as the builder planned to breach.
5. Retention on N only: anonymise_expired at the moments when 10k and 100k people are due,
   rolled back, per person.
6. The attendance API against the trivial endpoints under gunicorn, --api-runs rounds.
7. The table (report.py) and notes; exit 1 when the methods disagree or a page failed
   (with --strict, also when a target is missed). The databases are kept (--drop to drop).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import django

from scripts.bench import report
from scripts.bench.report import Row, median, ms, queries, times

BASE = Path(__file__).resolve().parent.parent.parent


def say(message: str = "") -> None:
    print(message, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="cases at scale (1000000)")
    parser.add_argument("--small", type=int, default=1000, help="cases to compare with (1000)")
    parser.add_argument("--runs", type=int, default=5, help="rounds of pages (5, plus warm-up)")
    parser.add_argument("--sweep-runs", type=int, default=3, help="runs of the sweep (3)")
    parser.add_argument(
        "--naive-limit", type=int, default=2000, help="open referrals the naive loop checks"
    )
    parser.add_argument(
        "--retention",
        default="10000,100000",
        help="people due for the retention runs, comma-separated (10000,100000)",
    )
    parser.add_argument(
        "--retention-runs",
        type=int,
        default=3,
        help="runs per retention size, while a run takes under a minute (3)",
    )
    parser.add_argument(
        "--retention-timeout", type=int, default=1800, help="seconds before a run is stopped"
    )
    parser.add_argument("--api-seconds", type=float, default=8.0, help="seconds per API load")
    parser.add_argument("--api-concurrency", type=int, default=4, help="client threads (4)")
    parser.add_argument("--api-runs", type=int, default=3, help="rounds of API loads (3)")
    parser.add_argument(
        "--skip",
        default="",
        help="parts to leave out, comma-separated: pages,sweep,naive,retention,api",
    )
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() for the data")
    parser.add_argument(
        "--overdue-share", type=float, default=0.1, help="open referrals built to breach"
    )
    parser.add_argument("--rebuild", action="store_true", help="build even if a database exists")
    parser.add_argument("--build-only", action="store_true", help="build, measure nothing")
    parser.add_argument("--explain", action="store_true", help="write EXPLAIN ANALYZE at N")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--drop", action="store_true", help="drop the databases at the end")
    args = parser.parse_args(argv)
    if min(args.n, args.small, args.runs, args.sweep_runs, args.naive_limit, args.api_runs) < 1:
        parser.error("sizes and run counts must be positive")
    args.skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    args.retention = [int(k) for k in args.retention.split(",") if k.strip()]
    return args


def machine_basics() -> list[str]:
    from scripts.bench.build import fetch

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    (version,) = fetch("SHOW server_version")[0]
    shown = {
        name: fetch(f"SHOW {name}")[0][0]
        for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit")
    }
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"Machine:    {os.cpu_count()} cores, {memory:.0f} GiB RAM, {platform.platform()}",
        f"Load:       {load} at the start (other work on the machine skews the timings)",
        f"Python:     {platform.python_version()}, Django {django.get_version()}",
        f"PostgreSQL: {version} ({', '.join(f'{k}={v}' for k, v in shown.items())})",
    ]


def prepare(size: int, args: argparse.Namespace, base_name: str) -> tuple[str, dict[str, Any]]:
    """The scratch database for `size` cases, built now or reused; its bench_meta."""
    from django.utils import timezone

    from scripts.bench import build

    name = build.bench_database_name(base_name, size)
    build.use_database(base_name)
    if not args.rebuild and build.database_exists(name):
        build.use_database(name)
        meta = build.read_meta()
        if meta.get("complete") and meta.get("n") == size and meta.get("seed") == args.seed:
            say(
                f"Reusing {name}: {size:,} cases built {meta['now']} in "
                f"{meta['build_seconds']:,.0f} s (--rebuild to build it again)."
            )
            return name, meta
        build.use_database(base_name)
    say(f"Building {name}: {size:,} cases (set-based SQL):")
    started = time.perf_counter()
    build.create_database(name)
    say(f"  {'created and migrated':<59} {time.perf_counter() - started:7.1f} s")
    now = timezone.now().replace(second=0, microsecond=0)
    built = build.build(n=size, now=now, seed=args.seed, overdue_share=args.overdue_share)
    say(
        f"  built in {built.seconds:,.0f} s: "
        + ", ".join(f"{t} {c:,}" for t, c in built.counts.items())
    )
    return name, build.read_meta()


def sides_in_turn(sides: list[str], round_number: int) -> list[str]:
    """Both sides, the first one alternating from round to round."""
    return sides if round_number % 2 == 0 else sides[::-1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = "scripts.bench.settings"
    os.environ.pop("BENCH_DATABASE", None)
    # It creates, bulk-loads and drops databases of its own: it runs as the owner role (its
    # worker processes too), which make bench's embedded PostgreSQL lets do both.
    if os.environ.get("DATABASE_OWNER_URL"):
        os.environ["DATABASE_URL"] = os.environ["DATABASE_OWNER_URL"]
    django.setup()
    from django.conf import settings

    from scripts.bench import api_load, build, measure
    from scripts.bench.worker import Worker

    base_name = settings.DATABASES["default"]["NAME"]
    for line in machine_basics():
        say(line)
    started = time.perf_counter()
    small_db, small_meta = prepare(args.small, args, base_name)
    big_db, big_meta = prepare(args.n, args, base_name)
    build.use_database(base_name)
    from django.db import connections

    connections.close_all()
    if args.build_only:
        return 0

    workers = {"small": Worker(small_db), "big": Worker(big_db)}
    sides = ["small", "big"]
    meta = {"small": small_meta, "big": big_meta}
    rows: list[Row] = []
    notes: list[str] = []
    problems: list[str] = []
    try:
        facts = {side: workers[side]("facts") for side in sides}
        for side in sides:
            f = facts[side]
            notes.append(
                f"{meta[side]['n']:,} cases: searched for {f['case_reference']} and "
                f"{f['family_name']!r} ({f['family_name_cases']:,} Thames Valley cases); "
                f"eligibility checked on case id {f['logged_case_id']} (its person has "
                f"{f['logged_case_person_cases']} cases)."
            )
        if "pages" not in args.skip:
            rows += measure_pages(workers, sides, args, problems)
        if "sweep" not in args.skip:
            rows += measure_sweep(workers, sides, args, meta, notes, problems)
        if "retention" not in args.skip:
            rows += measure_retention(workers["big"], args, notes)
        if "api" not in args.skip:
            rows += measure_api(workers, sides, args, {"small": small_db, "big": big_db}, api_load)
        if args.explain:
            path = BASE / "var" / f"bench-explain-{args.n}.txt"
            path.parent.mkdir(exist_ok=True)
            lines = []
            for page in measure.PAGES:
                lines += workers["big"]("explain_page", key=page.key) + [""]
            lines += workers["big"]("explain_sweep", now=datetime.fromisoformat(big_meta["now"]))
            path.write_text("\n".join(lines) + "\n")
            notes.append(f"EXPLAIN (ANALYZE, BUFFERS) at N written to {path}.")
    finally:
        for worker in workers.values():
            worker.stop()

    say()
    say(f"National-scale benchmark: {args.small:,} cases against {args.n:,} cases")
    for line in report.table(rows, args.small, args.n):
        say(line)
    say()
    for side, db in (("small", small_db), ("big", big_db)):
        say(f"{db}: built {meta[side]['now']} in {meta[side]['build_seconds']:,.0f} s.")
    for note in notes:
        say(note)
    targets = [row for row in rows if row.met is not None]
    missed = [row.measurement for row in targets if not row.met]
    say(
        f"Targets met: {len(targets) - len(missed)} of {len(targets)}"
        + (f"; missed: {', '.join(missed)}" if missed else "")
    )
    say(f"Load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())};"
        f" the run took {time.perf_counter() - started:,.0f} s.")  # fmt: skip
    for problem in problems:
        say(f"PROBLEM: {problem}")
    if args.drop:
        build.use_database(base_name)
        for db in {small_db, big_db}:
            build.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            say(f"Dropped {db}.")
    if problems:
        return 1
    return 1 if args.strict and missed else 0


def measure_pages(workers, sides, args, problems) -> list[Row]:
    """Every page and the eligibility check, interleaved by round, medians."""
    from scripts.bench.measure import PAGES

    say(f"\nMeasuring pages and the eligibility check: {args.runs} rounds after a warm-up")
    results: dict[str, dict[str, list]] = {p.key: {s: [] for s in sides} for p in PAGES}
    checks: dict[str, list[dict]] = {s: [] for s in sides}
    for number in range(args.runs + 1):
        began = time.perf_counter()
        for page in PAGES:
            for side in sides_in_turn(sides, number):
                result = workers[side]("page", key=page.key)
                if number:
                    results[page.key][side].append(result)
                if result.status != 200:
                    problems.append(f"{page.label} answered {result.status} ({side})")
        for side in sides_in_turn(sides, number):
            check = workers[side]("eligibility")
            if number:
                checks[side].append(check)
        say(f"  round {number or 'warm-up'}: {time.perf_counter() - began:.1f} s")
    rows = []
    for page in PAGES:
        small = median(r.seconds for r in results[page.key]["small"])
        big = median(r.seconds for r in results[page.key]["big"])
        big_queries = [r.queries for r in results[page.key]["big"]]
        ok = all(r.status == 200 for side in sides for r in results[page.key][side])
        ratio = big / small
        rows.append(
            Row(
                page.label,
                ms(small),
                ms(big),
                times(ratio),
                queries([r.queries for r in results[page.key]["small"]], big_queries),
                f"≤{report.PAGE_RATIO}x, ≤{report.PAGE_QUERIES} q" if page.target else "",
                (ok and ratio <= report.PAGE_RATIO and max(big_queries) <= report.PAGE_QUERIES)
                if page.target
                else None,
            )
        )
    small = median(c["seconds"] for c in checks["small"])
    big = median(c["seconds"] for c in checks["big"])
    rows.append(
        Row(
            "eligibility check (service, rolled back)",
            ms(small),
            ms(big),
            times(big / small),
            queries([c["queries"] for c in checks["small"]], [c["queries"] for c in checks["big"]]),
            f"≤{report.ELIGIBILITY_RATIO}x",
            big / small <= report.ELIGIBILITY_RATIO,
        )
    )
    small = median(c["search_seconds"] for c in checks["small"])
    big = median(c["search_seconds"] for c in checks["big"])
    rows.append(Row("  of which the earlier-cases search", ms(small), ms(big), times(big / small)))
    return rows


def measure_sweep(workers, sides, args, meta, notes, problems) -> list[Row]:
    """The sweep against the honest statement and the naive loop; peak memory; agreement."""
    say(f"\nMeasuring the sweep and the honest statement: {args.sweep_runs} runs each")
    now = {side: datetime.fromisoformat(meta[side]["now"]) for side in sides}
    sweeps: dict[str, list] = {s: [] for s in sides}
    honest: dict[str, list] = {s: [] for s in sides}
    for number in range(args.sweep_runs):
        for side in sides_in_turn(sides, number):
            first, second = (sweeps, honest) if number % 2 == 0 else (honest, sweeps)
            first[side].append(
                workers[side]("sweep" if first is sweeps else "honest", now=now[side])
            )
            second[side].append(
                workers[side]("sweep" if second is sweeps else "honest", now=now[side])
            )
        say(
            f"  run {number + 1}: "
            + ", ".join(
                f"{side} sweep {sweeps[side][-1].seconds:.2f} s,"
                f" honest {honest[side][-1].seconds:.2f} s"
                for side in sides
            )
        )
    memory = {side: workers[side]("memory", now=now[side]) for side in sides}
    naive = {}
    if "naive" not in args.skip:
        for side in sides:
            naive[side] = workers[side]("naive", now=now[side], limit=args.naive_limit)
            result = naive[side]
            say(f"  naive loop ({side}): {len(result.examined):,} in {result.seconds:.1f} s")
    settings_used = workers["big"]("sweep_settings")
    notes.append(f"Honest statement run with the sweep's own settings: {'; '.join(settings_used)}.")

    rows = []
    sweep_s = {s: median(r.seconds for r in sweeps[s]) for s in sides}
    honest_s = {s: median(r.seconds for r in honest[s]) for s in sides}
    rows.append(
        Row(
            "sweep_deadlines (rolled back)",
            ms(sweep_s["small"]),
            ms(sweep_s["big"]),
            times(sweep_s["big"] / sweep_s["small"]),
            queries([r.queries for r in sweeps["small"]], [r.queries for r in sweeps["big"]]),
        )
    )
    rows.append(
        Row(
            "honest INSERT ... SELECT ... ON CONFLICT",
            ms(honest_s["small"]),
            ms(honest_s["big"]),
            times(honest_s["big"] / honest_s["small"]),
            queries([r.queries for r in honest["small"]], [r.queries for r in honest["big"]]),
        )
    )
    ratio = {s: sweep_s[s] / honest_s[s] for s in sides}
    rows.append(
        Row(
            "sweep ÷ honest statement",
            times(ratio["small"]),
            times(ratio["big"]),
            target=f"≤{report.SWEEP_RATIO}x at N",
            met=ratio["big"] <= report.SWEEP_RATIO,
        )
    )

    def memory_text(side: str) -> str:
        m = memory[side]
        return f"py {m['python_traced_mb']:.0f} / pg {m['backend_mb']:.0f} MB"

    peak = max(
        memory["big"]["python_traced_mb"],
        memory["big"]["python_rss_mb"],
        memory["big"]["backend_mb"],
    )
    rows.append(
        Row(
            "sweep peak memory (Python / PG backend)",
            memory_text("small"),
            memory_text("big"),
            target=f"<{report.SWEEP_MEMORY_MB} MB",
            met=peak < report.SWEEP_MEMORY_MB,
        )
    )
    notes.append(
        "Sweep memory at N: Python allocated at most "
        f"{memory['big']['python_traced_mb']:.1f} MB (tracemalloc), its private memory grew "
        f"{memory['big']['python_rss_mb']:.1f} MB; the PostgreSQL backend peaked at "
        f"{memory['big']['backend_mb']:.1f} MB private (RssAnon, sampled every 20 ms)."
    )
    if naive:

        def extrapolated(side: str) -> tuple[float, int]:
            result = naive[side]
            scale = result.open_referrals / max(len(result.examined), 1)
            return result.seconds * scale, round(result.queries * scale)

        (small_t, small_q), (big_t, big_q) = extrapolated("small"), extrapolated("big")
        rows.append(
            Row(
                "naive per-row loop, extrapolated (reference)",
                ms(small_t),
                ms(big_t),
                times(big_t / small_t),
                queries([small_q], [big_q]),
            )
        )
        notes.append(
            "Naive loop: "
            + "; ".join(
                f"{len(naive[s].examined):,} of {naive[s].open_referrals:,} open referrals in "
                f"{naive[s].seconds:.1f} s ({naive[s].queries:,} queries), "
                f"{big_or_small(s)} figure = that x "
                f"{naive[s].open_referrals / max(len(naive[s].examined), 1):.1f}"
                for s in sides
            )
            + "."
        )

    agreement = []
    for side in sides:
        swept = set(sweeps[side][0].referral_ids)
        checks = {
            "honest statement": set(honest[side][0].referral_ids),
            "repeated sweeps": set().union(*(set(r.referral_ids) for r in sweeps[side])),
            "repeated honest runs": set().union(*(set(r.referral_ids) for r in honest[side])),
        }
        if side in naive:
            examined = set(naive[side].examined)
            checks["naive loop (its subset)"] = set(naive[side].flagged) | (swept - examined)
        for name, got in checks.items():
            if got != swept:
                problems.append(
                    f"{side}: the sweep and the {name} flag different referrals "
                    f"({len(swept - got)} only by the sweep, {len(got - swept)} only by the other)"
                )
        planned = meta[side].get("planned_breaches")
        if planned is not None and planned != len(swept):
            problems.append(
                f"{side}: {planned:,} referrals were built to breach, {len(swept):,} flagged"
            )
        agreement.append(len(swept))
    rows.append(
        Row(
            "referrals flagged (sweep = honest = naive = plan)",
            f"{agreement[0]:,}",
            f"{agreement[1]:,}",
            target="all agree",
            met=not any("flag" in p for p in problems),
        )
    )
    return rows


def big_or_small(side: str) -> str:
    return "N" if side == "big" else "1k"


def measure_retention(worker, args, notes) -> list[Row]:
    """anonymise_expired at N with 10k and 100k people due (rolled back), per person."""
    rows = []
    per_person: dict[int, float] = {}
    for people in args.retention:
        clock = worker("retention_clock", people=people)
        if clock is None:
            notes.append(f"Retention: fewer than {people:,} people can ever be due at N.")
            continue
        say(f"\nRetention with {people:,} people due (clock {clock:%Y-%m-%d %H:%M}):")
        runs = []
        while len(runs) < args.retention_runs:
            result = worker("retention", now=clock, timeout_seconds=args.retention_timeout)
            runs.append(result)
            say(
                f"  {result['seconds']:,.1f} s, {result['people']:,} people,"
                f" {result['cases']:,} cases"
                + (" (stopped: statement timeout)" if result["timed_out"] else "")
            )
            if result["seconds"] > 60 or result["timed_out"]:
                break
        if any(r["timed_out"] for r in runs):
            per_person[people] = float("inf")
            text = f">{args.retention_timeout:,} s total"
        else:
            seconds = median(r["seconds"] for r in runs)
            per_person[people] = seconds / max(runs[0]["people"], 1)
            text = f"{per_person[people] * 1000:.2f} ms/person ({seconds:,.1f} s)"
        ratio_text, met, target = "", None, ""
        if people != args.retention[0] and args.retention[0] in per_person:
            ratio = per_person[people] / per_person[args.retention[0]]
            ratio_text = "timed out" if ratio == float("inf") else times(ratio)
            target = f"≤{report.RETENTION_RATIO}x of {args.retention[0]:,}"
            met = ratio <= report.RETENTION_RATIO
        rows.append(
            Row(
                f"retention per person, {people:,} due",
                "-",
                text,
                ratio_text,
                queries([r["queries"] for r in runs], [r["queries"] for r in runs]),
                target,
                met,
            )
        )
    notes.append(
        "Retention: anonymise_expired(now=the moment k people are due) at N only, in a "
        "transaction rolled back afterwards (so every lock is held to the end); runs repeat "
        f"up to {args.retention_runs} times while one takes under a minute."
    )
    return rows


def measure_api(workers, sides, args, databases, api_load) -> list[Row]:
    """The attendance API against the trivial endpoints under gunicorn, interleaved."""
    say(
        f"\nMeasuring the API under gunicorn ({api_load.WEB_CONCURRENCY} workers): "
        f"{args.api_concurrency} client threads, {args.api_seconds:.0f} s per load, "
        f"{args.api_runs} rounds"
    )
    endpoints = ("attendance", "trivial", "trivial_token")
    loads: dict[str, dict[str, list]] = {s: {e: [] for e in endpoints} for s in sides}
    tokens = {side: workers[side]("api_token") for side in sides}
    from contextlib import ExitStack

    with ExitStack() as stack:
        ports = {side: stack.enter_context(api_load.serve(databases[side])) for side in sides}
        for number in range(args.api_runs):
            for side in sides_in_turn(sides, number):
                appointments = workers[side](
                    "attendance_appointments", count=args.api_concurrency * 25
                )
                auth = {"Authorization": f"Token {tokens[side]}"}
                plans = {
                    "attendance": (
                        api_load.attendance_requests(appointments, args.api_concurrency),
                        auth,
                        {200, 201},
                    ),
                    "trivial": (api_load.trivial_requests("/bench/trivial/"), {}, {200}),
                    "trivial_token": (
                        api_load.trivial_requests("/bench/trivial-token/"),
                        auth,
                        {200},
                    ),
                }
                for endpoint in endpoints:
                    request, headers, expected = plans[endpoint]
                    loads[side][endpoint].append(
                        api_load.load(
                            ports[side],
                            request=request,
                            headers=headers,
                            expected=expected,
                            concurrency=args.api_concurrency,
                            seconds=args.api_seconds,
                        )
                    )
            say(
                f"  round {number + 1}: "
                + "; ".join(
                    f"{side} "
                    + ", ".join(f"{e} {loads[side][e][-1].per_second:.0f}/s" for e in endpoints)
                    for side in sides
                )
            )
    rate = {s: {e: median(x.per_second for x in loads[s][e]) for e in endpoints} for s in sides}
    errors = {s: sum(x.errors for e in endpoints for x in loads[s][e]) for s in sides}
    labels = {
        "attendance": "attendance API, requests/s",
        "trivial": "trivial DRF endpoint, requests/s",
        "trivial_token": "trivial endpoint with token auth, req/s",
    }
    rows = [
        Row(
            labels[e],
            f"{rate['small'][e]:,.0f}/s",
            f"{rate['big'][e]:,.0f}/s",
            times(rate["big"][e] / rate["small"][e]),
        )
        for e in endpoints
    ]
    ratio = {s: rate[s]["attendance"] / rate[s]["trivial"] for s in sides}
    rows.append(
        Row(
            "attendance API ÷ trivial endpoint",
            times(ratio["small"]),
            times(ratio["big"]),
            target=f"≥{report.API_RATIO}x at N",
            met=ratio["big"] >= report.API_RATIO and not errors["big"],
        )
    )
    if any(errors.values()):
        rows.append(
            Row("API errors (unexpected statuses)", str(errors["small"]), str(errors["big"]))
        )
    return rows


if __name__ == "__main__":
    sys.exit(main())
