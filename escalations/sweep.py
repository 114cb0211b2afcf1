"""The deadline sweep: flag every open referral past a deadline or its absence limit.

`sweep_deadlines` is one SQL statement, so it runs in a constant number of queries however
many referrals there are, and is safe to run twice or on two workers at once: it locks the
referrals it flags (FOR UPDATE SKIP LOCKED, re-checking their status, so a referral completed
at the same moment is left alone), the partial unique index `one_open_escalation_per_referral`
lets exactly one transaction insert a referral's open escalation (INSERT ... ON CONFLICT DO
NOTHING), and every other change (the
referral flagged, the case awaiting a supervisor, their history and the audit rows) is driven
from the rows that INSERT returned. A worker killed half-way rolls the whole statement back;
the next run does it all. The rules are the same as `escalations.rules.breached_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from programmes.notifications import send_soon

OPEN_FOR_SWEEP = ("new", "accepted", "in_progress")

SWEEP_SQL = """
WITH last_decision AS (
    SELECT referral_id, max(decided_at) AS decided_at
    FROM programmes_escalation
    WHERE decided_at IS NOT NULL
    GROUP BY referral_id
),
counts AS (
    -- Per open referral: appointments attended by the first deadline, and unexcused absences
    -- since the last supervisor decision (a decision deals with the absences before it).
    SELECT a.referral_id,
           count(*) FILTER (
               WHERE a.starts_at <= r.first_appointment_due
                 AND (t.outcome = 'attended' OR (t.outcome = 'late' AND p.late_counts_as_attended))
           ) AS attended_by_first,
           count(*) FILTER (
               WHERE (t.outcome = 'did_not_attend'
                      OR (t.outcome = 'late' AND NOT p.late_counts_as_attended))
                 AND a.starts_at > coalesce(d.decided_at, '-infinity'::timestamptz)
           ) AS unexcused
    FROM programmes_appointment a
    JOIN programmes_attendance t ON t.appointment_id = a.id AND t.is_current
    JOIN programmes_referral r ON r.id = a.referral_id
    JOIN cases_schemepolicy p ON p.id = r.policy_id
    LEFT JOIN last_decision d ON d.referral_id = r.id
    WHERE a.status = 'booked' AND r.status IN %(open)s
    GROUP BY a.referral_id
),
checked AS (
    SELECT r.id AS referral_id, r.reference, r.status AS referral_status,
           c.id AS case_id, c.reference AS case_reference, c.status AS case_status, c.person_id,
           r.first_appointment_due, r.completion_due, p.max_unexcused_absences,
           coalesce(k.attended_by_first, 0) AS attended_by_first,
           coalesce(k.unexcused, 0) AS unexcused,
           coalesce(k.unexcused, 0) > p.max_unexcused_absences AS too_many_absences,
           %(now)s > r.completion_due AS completion_missed,
           %(now)s > r.first_appointment_due
               AND coalesce(k.attended_by_first, 0) = 0 AS first_appointment_missed
    FROM programmes_referral r
    JOIN cases_case c ON c.id = r.case_id
    JOIN cases_schemepolicy p ON p.id = r.policy_id
    LEFT JOIN counts k ON k.referral_id = r.id
    WHERE r.status IN %(open)s
      AND NOT EXISTS (
          SELECT 1 FROM programmes_escalation e
          WHERE e.referral_id = r.id AND e.decided_at IS NULL
      )
),
breaches AS (
    SELECT checked.*,
           CASE WHEN too_many_absences THEN 'too_many_absences'
                WHEN completion_missed THEN 'completion_missed'
                ELSE 'first_appointment_missed' END AS rule,
           CASE WHEN too_many_absences THEN 'more unexcused absences than the policy allows'
                WHEN completion_missed THEN 'not completed by the deadline'
                ELSE 'no first appointment attended by the deadline' END AS rule_label
    FROM checked
    WHERE too_many_absences OR completion_missed OR first_appointment_missed
),
locked AS (
    -- Lock each breaching referral before flagging it. One being changed right now (say,
    -- completed by its provider) is skipped, and one changed since this statement's snapshot
    -- is re-checked against its new status: a completed referral is never flagged.
    SELECT r.id
    FROM programmes_referral r
    WHERE r.id IN (SELECT referral_id FROM breaches) AND r.status IN %(open)s
    FOR UPDATE OF r SKIP LOCKED
),
inserted AS (
    INSERT INTO programmes_escalation (referral_id, rule, facts, flagged_at, decision, rationale)
    SELECT b.referral_id, b.rule,
           jsonb_build_object(
               'checked_at', %(now)s,
               'rules_fired', to_jsonb(array_remove(ARRAY[
                   CASE WHEN b.too_many_absences THEN 'too_many_absences' END,
                   CASE WHEN b.completion_missed THEN 'completion_missed' END,
                   CASE WHEN b.first_appointment_missed THEN 'first_appointment_missed' END
               ], NULL)),
               'first_appointment_due', b.first_appointment_due,
               'completion_due', b.completion_due,
               'attended_by_first_deadline', b.attended_by_first,
               'unexcused_absences', b.unexcused,
               'max_unexcused_absences', b.max_unexcused_absences,
               'referral_status', b.referral_status
           ),
           %(now)s, '', ''
    FROM breaches b JOIN locked l ON l.id = b.referral_id
    ON CONFLICT (referral_id) WHERE decided_at IS NULL DO NOTHING
    RETURNING id, referral_id, rule
),
flagged AS (
    UPDATE programmes_referral r SET status = 'flagged', updated_at = %(now)s
    FROM inserted i WHERE r.id = i.referral_id
    RETURNING r.id
),
referral_history AS (
    INSERT INTO programmes_referralstatuschange
        (referral_id, from_status, to_status, reason, changed_by_id, changed_at)
    SELECT b.referral_id, b.referral_status, 'flagged', %(reason)s || b.rule_label, NULL, %(now)s
    FROM inserted i JOIN breaches b ON b.referral_id = i.referral_id
),
awaiting AS (
    UPDATE cases_case c SET status = 'awaiting_supervisor', updated_at = %(now)s
    FROM inserted i JOIN breaches b ON b.referral_id = i.referral_id
    WHERE c.id = b.case_id AND c.status IN ('referred', 'in_programme')
    RETURNING c.id
),
case_history AS (
    INSERT INTO cases_casestatuschange (case_id, from_status, to_status, reason, changed_by_id,
                                        changed_at)
    SELECT b.case_id, b.case_status, 'awaiting_supervisor', %(reason)s || b.rule_label, NULL,
           %(now)s
    FROM inserted i JOIN breaches b ON b.referral_id = i.referral_id
    WHERE b.case_status IN ('referred', 'in_programme')
),
audit AS (
    INSERT INTO audit_auditevent (at, user_id, ip_address, path, action, object_type, object_id,
                                  person_id, changes, reason)
    SELECT %(now)s, NULL, NULL, '', 'change', 'programmes.referral', b.reference, b.person_id,
           jsonb_build_object('before', jsonb_build_object('status', b.referral_status),
                              'after', jsonb_build_object('status', 'flagged',
                                                          'escalation', i.id)),
           %(reason)s || b.rule_label
    FROM inserted i JOIN breaches b ON b.referral_id = i.referral_id
)
SELECT i.id, b.reference, b.case_reference, i.rule
FROM inserted i JOIN breaches b ON b.referral_id = i.referral_id
ORDER BY i.id
"""


@dataclass(frozen=True)
class Flagged:
    escalation_id: int
    referral_reference: str
    case_reference: str
    rule: str


def sweep_deadlines(*, now: datetime | None = None) -> list[Flagged]:
    """Flag every open referral past a deadline or its absence limit, once; return them.

    Notifications are enqueued only after the transaction commits (on_commit).
    """
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        # One big statement: give it room to aggregate in memory, and skip JIT compilation,
        # which costs more than it saves here (docs/benchmarks.md).
        cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        cursor.execute(
            SWEEP_SQL,
            {"now": now, "open": OPEN_FOR_SWEEP, "reason": "Flagged by the deadline sweep: "},
        )
        flagged = [Flagged(*row) for row in cursor.fetchall()]
        if flagged:
            # robust: with the broker down the flags stay committed and the error is logged;
            # the outbox waits for the periodic send task.
            send_soon()
    return flagged
