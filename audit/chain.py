"""The audit log's hash chain: each row carries SHA-256(previous row's hash + its own fields).

The database computes it on every INSERT (the trigger audit_event_chain, added by
audit/migrations/0003_hash_chain.py): under a transaction-level advisory lock, so concurrent
writers chain one after another in id order, and row by row within one multi-row INSERT.

`verify_chain()` recomputes every row's hash from its own fields and the stored hash of the
row before it, in one streaming pass over the table (a window function): a row changed, removed
or inserted out of order, even by a superuser who bypassed the triggers, breaks the chain at or
just after that row. The formula is written out again here, not read from the database, so a
replaced trigger function cannot vouch for itself.

What a chain inside the database cannot show: rows removed from the very end, or a whole
chain recomputed by someone holding the owner's or a superuser's password. For that, compare
the head (last id and hash) that each run logs with an earlier one kept elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection

logger = logging.getLogger(__name__)

# The fields of a row, as the trigger hashes them (see the migration): keep the two in step.
ROW_FIELDS = """convert_to(jsonb_build_array(
    e.id, extract(epoch FROM e.at), e.user_id, e.ip_address::text, e.path, e.action,
    e.object_type, e.object_id, e.person_id, e.changes, e.reason)::text, 'UTF8')"""

VERIFY_SQL = f"""
SELECT count(*),
       max(id),
       min(id) FILTER (WHERE row_hash IS DISTINCT FROM expected)
FROM (
    SELECT e.id, e.row_hash,
           sha256(coalesce(lag(e.row_hash) OVER (ORDER BY e.id), ''::bytea) || {ROW_FIELDS})
               AS expected
    FROM audit_auditevent e
) AS chain
"""  # noqa: S608 (built from constants only)


@dataclass(frozen=True)
class ChainReport:
    """What verify_chain found: how many rows, the head, and the first row that breaks."""

    rows: int
    head_id: int | None
    head_hash: str
    first_bad_id: int | None = None
    row_before_bad_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None

    def describe(self) -> str:
        """One line for a log or a terminal."""
        if self.ok and not self.rows:
            return "The audit log is empty: nothing to verify."
        if self.ok:
            return (
                f"The audit log's chain is intact: {self.rows} rows, "
                f"head id {self.head_id} hash {self.head_hash or '-'}."
            )
        before = (
            f"the row before it (id {self.row_before_bad_id})"
            if self.row_before_bad_id
            else "a row before it"
        )
        return (
            f"The audit log's chain is broken at row id {self.first_bad_id}: that row was "
            f"changed or inserted out of order, or {before} was changed, or rows between them "
            f"were removed ({self.rows} rows checked)."
        )


def verify_chain() -> ChainReport:
    """Check every row's hash against its fields and the previous row's hash, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(VERIFY_SQL)
        rows, head_id, first_bad_id = cursor.fetchone()
        cursor.execute("SELECT row_hash FROM audit_auditevent ORDER BY id DESC LIMIT 1")
        head = cursor.fetchone()
        before = None
        if first_bad_id is not None:
            cursor.execute("SELECT max(id) FROM audit_auditevent WHERE id < %s", [first_bad_id])
            before = cursor.fetchone()[0]
    return ChainReport(
        rows=rows,
        head_id=head_id,
        head_hash=bytes(head[0]).hex() if head else "",
        first_bad_id=first_bad_id,
        row_before_bad_id=before,
    )


# Apps above audit say here how to alert people when the chain breaks (programmes queues an
# email to every administrator through its outbox), so audit imports none of them.
_alerts: list[Callable[[ChainReport], None]] = []


def add_broken_chain_alert(alert: Callable[[ChainReport], None]) -> None:
    """Call `alert(report)` whenever a scheduled check finds the chain broken."""
    if alert not in _alerts:
        _alerts.append(alert)


def verify_chain_and_alert() -> ChainReport:
    """Verify the chain; when broken, log it as critical and run every declared alert."""
    report = verify_chain()
    if report.ok:
        logger.info("%s", report.describe())
        return report
    logger.critical("%s", report.describe())
    for alert in _alerts:
        try:
            alert(report)
        except Exception:  # one failing alert must not stop the others, nor the log above
            logger.exception("An alert about the broken audit chain failed")
    return report
