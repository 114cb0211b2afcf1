#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

With DATABASE_URL or REDIS_URL unset, it runs itself through scripts/stack.py, which starts
the embedded PostgreSQL and Redis first (as `make run` and `make test` do), so
`python manage.py ...` works on a machine where nothing is configured.
"""

import os
import sys
from pathlib import Path


def main():
    """Run administrative tasks."""
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        stack = Path(__file__).resolve().parent / "scripts" / "stack.py"
        argv = [sys.executable, str(stack), "exec", "--", sys.executable, *sys.argv]
        os.execv(sys.executable, argv)  # noqa: S606 (this same command, with the services up)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diversion.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
