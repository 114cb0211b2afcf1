"""The deadline sweep: flag every open referral past a deadline or its absence limit.

`sweep_deadlines` is one SQL statement, so it runs in a constant number of queries however
many referrals there are, and is safe to run twice or on two workers at once:

1. `due`: the referrals the breach rule (escalations.breaches, the one definition of it) finds
   breaking a rule, and not already waiting for a decision;
2. `locked`: each of them locked (FOR UPDATE SKIP LOCKED), re-checking its status, so a
   referral being changed right now (say, completed by its provider) is skipped, and one
   changed since the statement's snapshot is re-checked against its new status: a completed
   referral is never flagged;
3. `inserted`: its escalation, with the facts the rule found; the partial unique index
   `one_open_escalation_per_referral` lets exactly one transaction insert a referral's open
   escalation (INSERT ... ON CONFLICT DO NOTHING);
4. from the escalations inserted, and nothing else: the referrals' transition to flagged and
   the cases' to awaiting a supervisor, by the set-based form of each transition
   (referral_transition_many, case_transition_many), with their history and audit rows.

A worker killed half-way rolls the whole statement back; the next run does it all.
Notifications are enqueued only after the transaction commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from base.sql import Statement
from cases.models import CaseStatus
from cases.services import case_transition_many
from escalations import breaches
from escalations.models import Escalation
from programmes.models import ReferralStatus
from programmes.notifications import send_soon
from programmes.services import referral_transition_many


@dataclass(frozen=True)
class Flagged:
    escalation_id: int
    referral_reference: str
    case_reference: str
    rule: str


def _reason(rule: Escalation.Rule) -> str:
    """ "Flagged by the deadline sweep: not completed by the deadline": the history's reason."""
    return f"Flagged by the deadline sweep: {rule.label[0].lower()}{rule.label[1:]}"


def sweep_statement(now: datetime) -> Statement:
    """The sweep as one statement at `now`; its final query lists what it flagged."""
    statement = Statement()
    statement.add(
        "due",
        f"""
        SELECT b.referral_id, b.rule, b.facts
        FROM ({breaches.breaches_sql()}) b
        WHERE b.breached
          AND NOT EXISTS (
              SELECT 1 FROM programmes_escalation e
              WHERE e.referral_id = b.referral_id AND e.decided_at IS NULL
          )
        """,  # noqa: S608 (step names and constants, no input)
        **breaches.params(now),
    )
    statement.add(
        "locked",
        """
        SELECT r.id, r.status, r.reference, r.case_id, c.status AS case_status,
               c.reference AS case_reference
        FROM programmes_referral r
        JOIN cases_case c ON c.id = r.case_id
        WHERE r.id IN (SELECT referral_id FROM due) AND r.status IN %(open)s
        FOR UPDATE OF r SKIP LOCKED
        """,
    )
    statement.add(
        "inserted",
        """
        INSERT INTO programmes_escalation
            (referral_id, rule, facts, flagged_at, decision, rationale)
        SELECT d.referral_id, d.rule,
               d.facts || jsonb_build_object('referral_status', l.status), %(now)s, '', ''
        FROM due d JOIN locked l ON l.id = d.referral_id
        ON CONFLICT (referral_id) WHERE decided_at IS NULL DO NOTHING
        RETURNING id, referral_id, rule
        """,
    )
    statement.add(
        "referral_moves",
        """
        SELECT i.referral_id AS id, l.status AS from_status,
               %(sweep_reasons)s::jsonb ->> i.rule AS reason,
               jsonb_build_object('escalation', i.id) AS audit_after
        FROM inserted i JOIN locked l ON l.id = i.referral_id
        """,
        sweep_reasons=json.dumps({rule.value: _reason(rule) for rule in Escalation.Rule}),
    )
    flagged = referral_transition_many(
        statement, moves="referral_moves", to=ReferralStatus.FLAGGED, by=None, at=now
    )
    statement.add(
        "case_moves",
        f"""
        SELECT l.case_id AS id, l.case_status AS from_status, f.reason
        FROM {flagged} f JOIN locked l ON l.id = f.id
        """,  # noqa: S608 (step names and constants, no input)
    )
    # One audit row per flag, the referral's (it names the escalation): the case's move is
    # in its history.
    case_transition_many(
        statement,
        moves="case_moves",
        to=CaseStatus.AWAITING_SUPERVISOR,
        by=None,
        at=now,
        audit=False,
    )
    return statement


FLAGGED_SQL = """
SELECT i.id, l.reference, l.case_reference, i.rule
FROM inserted i JOIN locked l ON l.id = i.referral_id
ORDER BY i.id
"""


def sweep_deadlines(*, now: datetime | None = None) -> list[Flagged]:
    """Flag every open referral past a deadline or its absence limit, once; return them.

    Notifications are enqueued only after the transaction commits (on_commit).
    """
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # One big statement: give it room to aggregate in memory, and skip JIT
            # compilation, which costs more than it saves here (docs/benchmarks.md).
            cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        flagged = [Flagged(*row) for row in sweep_statement(now).run(FLAGGED_SQL)]
        if flagged:
            # robust: with the broker down the flags stay committed and the error is logged;
            # the outbox waits for the periodic send task.
            send_soon()
    return flagged
