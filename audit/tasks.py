"""The daily check of the audit log's hash chain, as a Celery task (a thin wrapper).

Scheduled by beat (a row added by audit/migrations/0004_verify_schedule.py). A broken chain
is logged as critical, administrators are alerted through the outbox (programmes declares the
alert, see audit/chain.py), and the task fails, so it shows as failed wherever tasks are
watched.
"""

from __future__ import annotations

from celery import shared_task

from audit.chain import verify_chain_and_alert


class AuditChainBroken(Exception):
    """The audit log's hash chain does not verify."""


@shared_task(name="audit.verify_chain")
def verify_chain_task() -> dict[str, int | None]:
    """Verify the audit log's chain; raise when it is broken (after alerting)."""
    report = verify_chain_and_alert()
    if not report.ok:
        raise AuditChainBroken(report.describe())
    return {"rows": report.rows, "head_id": report.head_id}
