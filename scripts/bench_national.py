#!/usr/bin/env python3
"""The national-scale benchmark (`make bench`): 1k cases against N, one table.

    make bench                  # N=1000000 (builds it the first time: minutes)
    make bench N=20000          # a quick run
    .venv/bin/python scripts/stack.py exec -- python scripts/bench_national.py --help

See scripts/bench/ (run.py lists the steps) and docs/benchmarks.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from scripts.bench.run import main

    sys.exit(main())
