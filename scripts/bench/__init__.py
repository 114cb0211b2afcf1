"""The national-scale benchmark behind `make bench` (issue 11).

    make bench                 # 1k cases against N=1,000,000, one table
    make bench N=20000         # a quick run

Modules, in the order a run uses them:

- `build`: builds a national dataset of N cases in a scratch database `<name>_bench_<N>`
  with set-based SQL only (generate_series, INSERT ... SELECT), printing progress;
- `settings`, `urls`: the Django settings the measurements run under (the test suite's:
  no lockout, no second factor, plain HTTP, unhashed static files) and two trivial API
  endpoints to compare the attendance API against;
- `measure`: every measurement, in-process on the current database connection: the pages
  as their users see them, the eligibility check, the sweep against an honest single
  statement and a naive per-row loop, retention, the sweep's peak memory;
- `worker`: one process per database that runs `measure` on request, so the parent can
  interleave 1k and N measurement by measurement with both sides warm;
- `api_load`: gunicorn and a small threaded HTTP client for requests per second;
- `report`: the table, with the targets from the issue.

The figures are the benchmark's; nothing here changes the application. tests/test_benchmark.py
runs the builder and every measurement at a small N so that none of this rots.
"""
