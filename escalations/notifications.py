"""Reminders to people before each deadline, and each force's daily digest of new escalations
to its supervisors, queued in the outbox (programmes.notifications sends them).

- `notifications_queue_reminders`: a reminder to the person before each deadline, by their
  preferred channel, in Welsh and English when they prefer Welsh. One INSERT ... SELECT.
- `notifications_queue_digest`: each force's supervisors get the escalations flagged since
  the last digest, by referral and case reference and rule, with a link. One INSERT ... SELECT.

Each row has a `dedupe_key` naming its purpose, so queueing twice (or on two workers at once)
queues once. Messages to supervisors carry no person's name.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from base.clock import london_date
from escalations.models import Escalation
from programmes.notifications import send_soon

OPEN_FOR_REMINDERS = ("new", "accepted", "in_progress")
REMINDERS_FROM = time(9, 0)  # reminders go out from 9am London, never overnight
DIGEST_KIND = "escalation_digest"
# A sweep that started before a digest may commit just after it; escalations younger than
# this wait for the next digest, so none falls between two.
DIGEST_SETTLE = timedelta(minutes=5)

WELSH_MONTHS = [
    "Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin",
    "Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr",
]  # fmt: skip

# (subject, body) per deadline and language. {provider}, {date} and {reference} are filled in.
REMINDER_TEXT = {
    "first_appointment": {
        "en": (
            "Reminder: your first appointment",
            "Reminder: please attend your first appointment with {provider} by {date}. "
            "Your reference is {reference}. If you cannot, contact them as soon as you can.",
        ),
        "cy": (
            "Nodyn atgoffa: eich apwyntiad cyntaf",
            "Nodyn atgoffa: mynychwch eich apwyntiad cyntaf gyda {provider} erbyn {date}. "
            "Eich cyfeirnod yw {reference}. Os na allwch, cysylltwch â nhw cyn gynted ag y "
            "gallwch.",
        ),
    },
    "completion": {
        "en": (
            "Reminder: finish your programme",
            "Reminder: please finish your programme with {provider} by {date}. "
            "Your reference is {reference}. If you cannot, contact them as soon as you can.",
        ),
        "cy": (
            "Nodyn atgoffa: gorffen eich rhaglen",
            "Nodyn atgoffa: gorffennwch eich rhaglen gyda {provider} erbyn {date}. "
            "Eich cyfeirnod yw {reference}. Os na allwch, cysylltwch â nhw cyn gynted ag y "
            "gallwch.",
        ),
    },
}


def _sql_format(template: str, *names: str) -> str:
    """Turn a `{name}` template into one for PostgreSQL's format(), arguments in `names` order."""
    template = template.replace("%", "%%")
    for position, name in enumerate(names, start=1):
        template = template.replace("{" + name + "}", f"%{position}$s")
    return template


REMINDERS_SQL = """
WITH due AS (
    SELECT r.id AS referral_id, r.reference, d.kind, d.due, pr.name AS provider,
           pe.preferred_language AS language,
           CASE WHEN pe.contact_preference = 'email' THEN 'email' ELSE 'sms' END AS channel,
           CASE WHEN pe.contact_preference = 'email' THEN pe.email ELSE pe.phone END AS recipient,
           (d.due AT TIME ZONE 'Europe/London')::date AS due_day
    FROM programmes_referral r
    JOIN cases_case c ON c.id = r.case_id
    JOIN cases_person pe ON pe.id = c.person_id
    JOIN cases_schemepolicy p ON p.id = r.policy_id
    JOIN programmes_programme g ON g.id = r.programme_id
    JOIN programmes_provider pr ON pr.id = g.provider_id
    CROSS JOIN LATERAL (
        VALUES ('first_appointment', r.first_appointment_due), ('completion', r.completion_due)
    ) AS d (kind, due)
    WHERE r.status IN %(open)s
      AND pe.anonymised_at IS NULL
      AND p.reminder_lead_days > 0
      AND %(now)s < d.due
      AND %(now)s >= (((d.due AT TIME ZONE 'Europe/London')::date - p.reminder_lead_days)
                      + %(reminders_from)s::time) AT TIME ZONE 'Europe/London'
      AND (d.kind = 'completion' OR NOT EXISTS (
          SELECT 1
          FROM programmes_appointment a
          JOIN programmes_attendance t ON t.appointment_id = a.id AND t.is_current
          WHERE a.referral_id = r.id AND a.status = 'booked'
            AND (t.outcome = 'attended' OR (t.outcome = 'late' AND p.late_counts_as_attended))
      ))
),
worded AS (
    SELECT due.*,
           format(%(text)s::jsonb -> kind -> 'en' ->> 1, provider,
                  to_char(due_day, 'FMDD FMMonth YYYY'), reference) AS body_en,
           format(%(text)s::jsonb -> kind -> 'cy' ->> 1, provider,
                  extract(day FROM due_day) || ' '
                  || (%(welsh_months)s::text[])[extract(month FROM due_day)::int] || ' '
                  || extract(year FROM due_day), reference) AS body_cy
    FROM due
    WHERE recipient <> ''
)
INSERT INTO programmes_notification
    (kind, channel, recipient, subject, body, referral_id, dedupe_key, status, attempts,
     last_error, created_at, sent_at)
SELECT 'reminder_' || kind, channel, recipient,
       CASE WHEN channel <> 'email' THEN ''
            WHEN language = 'cy' THEN (%(text)s::jsonb -> kind -> 'cy' ->> 0) || ' / '
                                      || (%(text)s::jsonb -> kind -> 'en' ->> 0)
            ELSE %(text)s::jsonb -> kind -> 'en' ->> 0 END,
       CASE WHEN language = 'cy' THEN body_cy || E'\\n\\n' || body_en ELSE body_en END,
       referral_id,
       'reminder:' || kind || ':' || referral_id || ':'
           || to_char(due AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS'),
       'pending', 0, '', %(now)s, NULL
FROM worded
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""


def notifications_queue_reminders(*, now: datetime | None = None) -> int:
    """Queue a reminder before each deadline of every open referral; return how many.

    A reminder is due from 9am London time `reminder_lead_days` days (the policy's) before
    the deadline's day, until the deadline. It goes by the person's preferred channel, and is
    skipped when they gave no address or number for it. The first-appointment reminder is
    not sent once an appointment has been attended. The dedupe key holds the deadline, so an
    extended deadline gets its own reminder and the same deadline never gets two.
    """
    now = now or timezone.now()
    text = {
        kind: {
            language: [subject, _sql_format(body, "provider", "date", "reference")]
            for language, (subject, body) in languages.items()
        }
        for kind, languages in REMINDER_TEXT.items()
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            REMINDERS_SQL,
            {
                "now": now,
                "open": OPEN_FOR_REMINDERS,
                "reminders_from": REMINDERS_FROM,
                "text": json.dumps(text),
                "welsh_months": WELSH_MONTHS,
            },
        )
        queued = len(cursor.fetchall())
        if queued:
            send_soon()
    return queued


DIGEST_SUBJECT_ONE = "1 new escalation to review: {force}"
DIGEST_SUBJECT_MANY = "{count} new escalations to review: {force}"
DIGEST_BODY = (
    "Referrals of {force} flagged by the deadline sweep since the last digest, waiting for a "
    "supervisor's decision: {count}.\n\n{lines}\n\n"
    "Sign in to the service to review them. Missing a deadline does not prosecute anyone: "
    "each case waits for your decision."
)
DIGEST_LINE = "{referral} (case {case}): {rule}\n{link}"

DIGEST_SQL = """
WITH last_digest AS (
    SELECT split_part(dedupe_key, ':', 2)::bigint AS force_id, max(created_at) AS at
    FROM programmes_notification
    WHERE kind = %(kind)s
    GROUP BY 1
),
windows AS (
    SELECT f.id AS force_id, f.name AS force_name,
           coalesce(l.at - %(settle)s, %(until)s - interval '1 day') AS since
    FROM cases_force f
    LEFT JOIN last_digest l ON l.force_id = f.id
),
fresh AS (
    SELECT w.force_id, w.force_name, count(*) AS escalations,
           string_agg(
               format(%(line)s, r.reference, c.reference, coalesce(rl.label, e.rule),
                      replace(%(link)s, '__CASE__', c.reference)),
               E'\\n\\n' ORDER BY e.flagged_at, e.id
           ) AS lines
    FROM programmes_escalation e
    JOIN programmes_referral r ON r.id = e.referral_id
    JOIN cases_case c ON c.id = r.case_id
    JOIN windows w ON w.force_id = c.force_id
    LEFT JOIN jsonb_each_text(%(rule_labels)s::jsonb) AS rl (rule, label) ON rl.rule = e.rule
    WHERE e.decided_at IS NULL AND e.flagged_at > w.since AND e.flagged_at <= %(until)s
    GROUP BY w.force_id, w.force_name
)
INSERT INTO programmes_notification
    (kind, channel, recipient, subject, body, referral_id, dedupe_key, status, attempts,
     last_error, created_at, sent_at)
SELECT %(kind)s, 'email', u.email,
       CASE WHEN f.escalations = 1 THEN format(%(subject_one)s, f.force_name)
            ELSE format(%(subject_many)s, f.escalations, f.force_name) END,
       format(%(body)s, f.force_name, f.escalations, f.lines),
       NULL, 'digest:' || f.force_id || ':' || %(day)s || ':' || u.id,
       'pending', 0, '', %(now)s, NULL
FROM fresh f
JOIN accounts_user u ON u.force_id = f.force_id
WHERE u.role = 'supervisor' AND u.is_active AND u.email <> ''
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""


def notifications_queue_digest(*, now: datetime | None = None) -> int:
    """Queue each force's digest of new escalations to its active supervisors; return how many.

    A digest lists the undecided escalations flagged since the force's last digest (the first
    one: the last day), each by referral and case reference and rule, with a link to the case.
    No names. A force with nothing new gets no email; a second digest on the same London day
    is not queued.
    """
    now = now or timezone.now()
    site = getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    case_path = reverse("cases:detail", kwargs={"reference": "__CASE__"})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            DIGEST_SQL,
            {
                "kind": DIGEST_KIND,
                "now": now,
                "until": now - DIGEST_SETTLE,
                "settle": DIGEST_SETTLE,
                "day": london_date(now).isoformat(),
                "rule_labels": json.dumps({rule.value: rule.label for rule in Escalation.Rule}),
                "link": site + case_path,
                "line": _sql_format(DIGEST_LINE, "referral", "case", "rule", "link"),
                "subject_one": _sql_format(DIGEST_SUBJECT_ONE, "force"),
                "subject_many": _sql_format(DIGEST_SUBJECT_MANY, "count", "force"),
                "body": _sql_format(DIGEST_BODY, "force", "count", "lines"),
            },
        )
        queued = len(cursor.fetchall())
        if queued:
            send_soon()
    return queued
