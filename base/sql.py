"""One SQL statement built from named steps, for set-based work that must stay one statement.

PostgreSQL runs every step of a WITH statement, data-modifying ones (INSERT, UPDATE ...
RETURNING) included, in one snapshot and all or nothing. So a set-based service can add its
steps to a statement another service started: the deadline sweep adds the referrals' and the
cases' transitions to its own statement, and they commit or roll back with it.

Steps name their parameters after themselves (`referral_to`, `case_at`), so two services'
steps never collide; `%(name)s` placeholders are filled in by the database driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection


@dataclass
class Statement:
    """Named steps (`WITH name AS (...)`) and their parameters, run with a final query."""

    steps: list[tuple[str, str]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, sql: str, **params: Any) -> str:
        """Add the step `name AS (sql)`; return its name, for later steps to read from."""
        if any(name == existing for existing, _ in self.steps):
            raise ValueError(f"The statement already has a step named {name}.")
        self.steps.append((name, sql.strip()))
        self.params.update(params)
        return name

    def sql(self, final: str) -> str:
        """The whole statement: the steps, then `final`, a query that may read them."""
        steps = ",\n".join(f"{name} AS (\n{sql}\n)" for name, sql in self.steps)
        return f"WITH {steps}\n{final.strip()}"

    def run(self, final: str = "SELECT 1") -> list[tuple[Any, ...]]:
        """Run the statement on the default database; return the rows of `final`."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql(final), self.params)
            return cursor.fetchall()
