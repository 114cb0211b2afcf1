"""Retention: anonymise the people whose cases all closed longer ago than their force allows.

`anonymise_expired` finds every person who is not anonymised yet and whose every case is
closed, each longer ago than the `retention_days` of the current policy of that case's force
(a force with no policy: never), and erases what identifies them, set-based in two statements
however many people there are in a batch:

Batch by batch (BATCH_SIZE people by id, each batch its own transaction):

1. Lock the next people found (SELECT ... FOR UPDATE SKIP LOCKED), so an officer cannot log a
   new case for one of them until the batch commits, and two runs at once erase each person
   once.
2. One statement with writable CTEs that checks each locked person again (a case logged just
   before the lock is seen now) and then erases, for the people that UPDATE returned:
   - the person: names become "Anonymised" and "", the date of birth becomes 1 January of the
     birth year (so ages on the offence date, to within a year, survive for statistics), the
     PNC ID, email, phone, address, postcode, access needs and interpreter language are blanked;
     ethnicity, sex, preferred language and contact preference stay (equality monitoring);
   - each case: the custody record number becomes ANON-<case id> (unique within the force, as
     its constraint needs), the crime reference is blanked;
   - free text that may name or describe the person (offer notes, status-change reasons,
     override reasons, decline reasons, attendance reasons, reasons an appointment was moved
     or cancelled, escalation rationales) becomes ERASED_TEXT when it held anything; the
     eligibility inputs keep the birth year only;
   - the outbox's copies of the person's email or phone number are blanked;
   - one audit row per person, action "erase", with the cases and the retention that applied.

Statuses, outcomes, dates, drugs and quantities, eligibility results and reasons, deadlines,
attendance outcomes and escalation decisions stay: they are the anonymous facts statistics need.
The person's name_key is a generated column and recomputes itself. Idempotent: a person
anonymised once is never found again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

ANONYMISED_GIVEN_NAME = "Anonymised"
ERASED_TEXT = "Erased after the retention period"
CUSTODY_RECORD_PREFIX = "ANON-"
BATCH_SIZE = 500  # people locked and anonymised per transaction

# The person's fields that are erased, as the audit row lists them.
ERASED_PERSON_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "pnc_id",
    "email",
    "phone",
    "address",
    "postcode",
    "access_needs",
    "interpreter_language",
)

# The newest policy version of each force that runs a scheme.
CURRENT_POLICY = """
current_policy AS (
    SELECT DISTINCT ON (force_id) force_id, retention_days
    FROM cases_schemepolicy
    ORDER BY force_id, version DESC
)
"""

# A person whose retention has run out: not anonymised, at least one case, and no case that is
# open, of a force with no policy, or closed within its force's retention period.
EXPIRED = """
p.anonymised_at IS NULL
AND EXISTS (SELECT 1 FROM cases_case c WHERE c.person_id = p.id)
AND NOT EXISTS (
    SELECT 1
    FROM cases_case c
    LEFT JOIN current_policy cp ON cp.force_id = c.force_id
    WHERE c.person_id = p.id
      AND (c.status <> 'closed'
           OR cp.retention_days IS NULL
           OR c.closed_at >= %(now)s - make_interval(days => cp.retention_days))
)
"""

# One batch: the next people by id whose retention has run out. One being changed right now
# (an officer logging a case for them) is skipped, and found again by the next run.
LOCK_SQL = f"""
WITH {CURRENT_POLICY}
SELECT p.id FROM cases_person p
WHERE p.id > %(after)s AND {EXPIRED}
ORDER BY p.id
LIMIT %(batch)s
FOR UPDATE OF p SKIP LOCKED
"""  # noqa: S608 (built from the constants above, no input)

COUNT_SQL = f"""
WITH {CURRENT_POLICY},
expired AS (SELECT p.id FROM cases_person p WHERE {EXPIRED})
SELECT (SELECT count(*) FROM expired),
       (SELECT count(*) FROM cases_case c JOIN expired e ON e.id = c.person_id)
"""  # noqa: S608 (built from the constants above, no input)


def _erase(column: str) -> str:
    """SQL that replaces free text with ERASED_TEXT, leaving an empty value empty."""
    return f"CASE WHEN {column} <> '' THEN %(erased)s ELSE '' END"


ANONYMISE_SQL = f"""
WITH {CURRENT_POLICY},
expired AS (
    SELECT p.id,
           -- The retention that applied to the person's most recently closed case.
           (SELECT cp.retention_days
            FROM cases_case c JOIN current_policy cp ON cp.force_id = c.force_id
            WHERE c.person_id = p.id
            ORDER BY c.closed_at DESC, c.id DESC LIMIT 1) AS retention_days
    FROM cases_person p
    WHERE p.id = ANY(%(locked)s) AND {EXPIRED}
),
people AS (
    UPDATE cases_person p
    SET given_name = %(given_name)s, family_name = '',
        date_of_birth = make_date(extract(year FROM p.date_of_birth)::int, 1, 1),
        pnc_id = '', email = '', phone = '', address = '', postcode = '',
        access_needs = '', interpreter_language = '',
        anonymised_at = %(at)s, updated_at = %(at)s
    FROM expired e
    WHERE p.id = e.id
    RETURNING p.id, e.retention_days
),
cases AS (
    SELECT c.id, c.person_id, c.reference, cp.retention_days
    FROM cases_case c
    JOIN people ON people.id = c.person_id
    JOIN current_policy cp ON cp.force_id = c.force_id
),
-- Each person's cases, gathered once (a lookup per person would make a batch quadratic).
case_lists AS (
    SELECT person_id, count(*) AS cases,
           jsonb_agg(jsonb_build_object('reference', reference, 'retention_days', retention_days)
                     ORDER BY reference) AS listed
    FROM cases
    GROUP BY person_id
),
case_identifiers AS (
    UPDATE cases_case c
    SET custody_record_number = %(prefix)s || c.id, crime_reference = '', updated_at = %(at)s
    FROM cases WHERE c.id = cases.id
),
offers AS (
    UPDATE cases_offer o SET notes = %(erased)s
    FROM cases WHERE o.case_id = cases.id AND o.notes <> ''
),
case_history AS (
    UPDATE cases_casestatuschange h SET reason = %(erased)s
    FROM cases WHERE h.case_id = cases.id AND h.reason <> ''
),
corrections AS (
    -- Which fields were corrected stays; what they said before and after, and why, goes.
    UPDATE cases_correction k
    SET changes = (SELECT coalesce(jsonb_agg(change - 'before' - 'after'), '[]'::jsonb)
                   FROM jsonb_array_elements(k.changes) AS change),
        reason = %(erased)s
    FROM people WHERE k.person_id = people.id
),
decisions AS (
    UPDATE cases_eligibilitydecision d
    SET inputs = CASE WHEN d.inputs ? 'date_of_birth'
                      THEN (d.inputs - 'date_of_birth') || jsonb_build_object(
                          'birth_year', extract(year FROM (d.inputs->>'date_of_birth')::date)::int)
                      ELSE d.inputs END,
        override_reason = {_erase("d.override_reason")}
    FROM cases WHERE d.case_id = cases.id
),
referrals AS (
    UPDATE programmes_referral r
    SET decline_reason = {_erase("r.decline_reason")}, updated_at = %(at)s
    FROM cases WHERE r.case_id = cases.id
    RETURNING r.id
),
referral_history AS (
    UPDATE programmes_referralstatuschange h SET reason = %(erased)s
    FROM referrals WHERE h.referral_id = referrals.id AND h.reason <> ''
),
attendance AS (
    UPDATE programmes_attendance t
    SET reason = {_erase("t.reason")}, correction_reason = {_erase("t.correction_reason")}
    FROM programmes_appointment a, referrals
    WHERE t.appointment_id = a.id AND a.referral_id = referrals.id
      AND (t.reason <> '' OR t.correction_reason <> '')
),
appointment_changes AS (
    UPDATE programmes_appointmentchange m SET reason = %(erased)s
    FROM programmes_appointment a, referrals
    WHERE m.appointment_id = a.id AND a.referral_id = referrals.id AND m.reason <> ''
),
escalations AS (
    UPDATE programmes_escalation e SET rationale = %(erased)s
    FROM referrals WHERE e.referral_id = referrals.id AND e.rationale <> ''
),
outbox AS (
    UPDATE programmes_notification n
    SET recipient = '',
        status = CASE WHEN n.status = 'pending' THEN 'failed' ELSE n.status END,
        last_error = CASE WHEN n.status = 'pending' THEN %(erased)s ELSE n.last_error END
    FROM referrals WHERE n.referral_id = referrals.id
),
audit AS (
    INSERT INTO audit_auditevent (at, user_id, ip_address, path, action, object_type, object_id,
                                  person_id, changes, reason)
    SELECT %(at)s, NULL, NULL, '', 'erase', 'cases.person', people.id::text, people.id,
           jsonb_build_object(
               'fields', %(fields)s::jsonb,
               'cases', coalesce(l.listed, '[]'::jsonb)
           ),
           'Retention: closed more than ' || people.retention_days || ' days ago'
    FROM people LEFT JOIN case_lists l ON l.person_id = people.id
)
SELECT people.id, coalesce(l.cases, 0)
FROM people LEFT JOIN case_lists l ON l.person_id = people.id
ORDER BY people.id
"""  # noqa: S608 (built from the constants above, no input)


@dataclass(frozen=True)
class RetentionResult:
    """How many people and cases were (or, for a dry run, would be) anonymised."""

    people: int
    cases: int
    person_ids: tuple[int, ...] = ()


def count_expired(*, now: datetime | None = None) -> RetentionResult:
    """How many people and cases `anonymise_expired` would anonymise now; changes nothing."""
    with connection.cursor() as cursor:
        cursor.execute(COUNT_SQL, {"now": now or timezone.now()})
        people, cases = cursor.fetchone()
    return RetentionResult(people=people, cases=cases)


def anonymise_expired(*, now: datetime | None = None, batch: int = BATCH_SIZE) -> RetentionResult:
    """Anonymise every person whose cases all closed longer ago than their force's policy allows.

    In batches of `batch` people by id, each in its own transaction: no more than one batch is
    locked at a time, the time per person does not grow with how many are due, and a run that
    dies part-way has committed the batches before; the next run goes on from there (the
    people it finished are anonymised, so never found again).

    `now` moves the clock the retention periods are measured against (for tests and the
    management command's --now); anonymised_at and the audit rows carry the real time.
    """
    params = {
        "now": now or timezone.now(),
        "given_name": ANONYMISED_GIVEN_NAME,
        "prefix": CUSTODY_RECORD_PREFIX,
        "erased": ERASED_TEXT,
        "fields": json.dumps(ERASED_PERSON_FIELDS),
        "batch": batch,
    }
    after, people, cases = 0, [], 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(LOCK_SQL, {**params, "after": after})
            locked = [row[0] for row in cursor.fetchall()]
            if not locked:
                break
            cursor.execute(ANONYMISE_SQL, {**params, "at": timezone.now(), "locked": locked})
            rows = cursor.fetchall()
        after = locked[-1]
        people += [person_id for person_id, _count in rows]
        cases += sum(count for _id, count in rows)
    return RetentionResult(people=len(people), cases=cases, person_ids=tuple(people))
