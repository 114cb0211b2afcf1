"""Reminders to people before each deadline, and each force's daily digest of new escalations
to its supervisors, queued in the outbox (programmes.notifications sends them).

- `notifications_queue_reminders`: a reminder to the person before each deadline, by their
  preferred channel, in Welsh and English when they prefer Welsh.
- `notifications_queue_digest`: each force's supervisors get the escalations flagged since
  the last digest, by referral and case reference and rule, with a link.

Each is a constant number of queries: one SELECT chooses what is due, Python renders each
message from its template under templates/escalations/messages/ (dates by Django's formats,
in Welsh under {% language "cy" %}), and one INSERT queues them all (`outbox_queue`). Each row
has a `dedupe_key` naming its purpose, so queueing twice (or on two workers at once) queues
once. Messages to supervisors carry no person's name.

Each row also carries the values of its kind's GOV.UK Notify template (programmes/notify.py),
in the recipient's language and in English, dates formatted by Django under
translation.override of that language: a reminder's `provider`, `reference` and `due_date`;
a digest's `force`, `count` and `escalations` (one line each, which Notify shows as a list).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation

from base.clock import london_date
from escalations import breaches
from escalations.models import Escalation
from programmes.notifications import OutboxMessage, outbox_queue

REMINDERS_FROM = time(9, 0)  # reminders go out from 9am London, never overnight
DIGEST_KIND = "escalation_digest"
# A sweep that started before a digest may commit just after it; escalations younger than
# this wait for the next digest, so none falls between two.
DIGEST_SETTLE = timedelta(minutes=5)
MESSAGES = "escalations/messages"


def _render(template: str, context: dict[str, object]) -> str:
    """A message's text from templates/escalations/messages/<template>.txt."""
    return render_to_string(f"{MESSAGES}/{template}.txt", context).strip()


def _in_languages(
    language: str, values: Callable[[], dict[str, object]]
) -> dict[str, dict[str, object]]:
    """`values()` computed under translation.override of `language` and of English."""
    by_language = {}
    for code in dict.fromkeys([language, "en"]):
        with translation.override(code):
            by_language[code] = values()
    return by_language


def _due(sql: str, params: dict[str, object]) -> list[dict[str, object]]:
    """The rows of a SELECT, each as a dict by column name."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- Reminders ----------------------------------------------------------------------------

# Per open referral and deadline that is due a reminder now and has none yet: what the
# message needs. The first-appointment reminder stops once the breach rule counts an
# appointment attended by the first deadline.
REMINDERS_DUE_SQL = f"""
WITH due AS (
    SELECT r.id AS referral_id, r.reference, d.kind, d.due, pr.name AS provider,
           pe.preferred_language AS language,
           CASE WHEN pe.contact_preference = 'email' THEN 'email' ELSE 'sms' END AS channel,
           CASE WHEN pe.contact_preference = 'email' THEN pe.email ELSE pe.phone END AS recipient,
           'reminder:' || d.kind || ':' || r.id || ':'
               || to_char(d.due AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS') AS dedupe_key
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
)
SELECT due.*
FROM due
JOIN ({breaches.breaches_sql(within="SELECT referral_id FROM due")}) b
    ON b.referral_id = due.referral_id
WHERE due.recipient <> ''
  AND (due.kind = 'completion' OR b.attended_by_first = 0)
  AND NOT EXISTS (
      SELECT 1 FROM programmes_notification n WHERE n.dedupe_key = due.dedupe_key
  )
ORDER BY due.referral_id, due.kind
"""  # noqa: S608 (built from the breach rule's constants, no input)


def _reminder(due: dict[str, object]) -> OutboxMessage:
    """The reminder for one deadline: Welsh then English for someone who prefers Welsh."""
    kind = f"reminder_{due['kind']}"
    context = {
        "provider": due["provider"],
        "reference": due["reference"],
        "due": london_date(due["due"]),
        "welsh": due["language"] == "cy",
    }
    personalisation = _in_languages(
        due["language"],
        lambda: {
            "provider": due["provider"],
            "reference": due["reference"],
            "due_date": formats.date_format(context["due"], "j F Y"),
        },
    )
    return OutboxMessage(
        kind=kind,
        channel=due["channel"],
        recipient=due["recipient"],
        subject=_render(f"{kind}_subject", context) if due["channel"] == "email" else "",
        body=_render(kind, context),
        dedupe_key=due["dedupe_key"],
        referral_id=due["referral_id"],
        language=due["language"],
        personalisation=personalisation,
    )


def notifications_queue_reminders(*, now: datetime | None = None) -> int:
    """Queue a reminder before each deadline of every open referral; return how many.

    A reminder is due from 9am London time `reminder_lead_days` days (the policy's) before
    the deadline's day, until the deadline. It goes by the person's preferred channel, and is
    skipped when they gave no address or number for it. The first-appointment reminder is
    not sent once an appointment has been attended. The dedupe key holds the deadline, so an
    extended deadline gets its own reminder and the same deadline never gets two.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = _due(REMINDERS_DUE_SQL, {**breaches.params(now), "reminders_from": REMINDERS_FROM})
        return outbox_queue([_reminder(row) for row in due], now=now)


# --- The supervisors' digest --------------------------------------------------------------

# Per force with escalations flagged since its last digest, and per active supervisor of it
# with an email address who has not had today's digest: the escalations, oldest first.
DIGEST_DUE_SQL = """
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
    SELECT w.force_id, w.force_name,
           array_agg(r.reference ORDER BY e.flagged_at, e.id) AS referrals,
           array_agg(c.reference ORDER BY e.flagged_at, e.id) AS cases,
           array_agg(e.rule ORDER BY e.flagged_at, e.id) AS rules
    FROM programmes_escalation e
    JOIN programmes_referral r ON r.id = e.referral_id
    JOIN cases_case c ON c.id = r.case_id
    JOIN windows w ON w.force_id = c.force_id
    WHERE e.decided_at IS NULL AND e.flagged_at > w.since AND e.flagged_at <= %(until)s
    GROUP BY w.force_id, w.force_name
),
recipients AS (
    SELECT f.*, u.email AS recipient,
           'digest:' || f.force_id || ':' || %(day)s || ':' || u.id AS dedupe_key
    FROM fresh f
    JOIN accounts_user u ON u.force_id = f.force_id
    WHERE u.role = 'supervisor' AND u.is_active AND u.email <> ''
)
SELECT recipients.*
FROM recipients
WHERE NOT EXISTS (
    SELECT 1 FROM programmes_notification n WHERE n.dedupe_key = recipients.dedupe_key
)
ORDER BY force_id, dedupe_key
"""


def _digest(due: dict[str, object], site: str) -> OutboxMessage:
    """One supervisor's digest of their force's new escalations, with a link to each case."""
    labels = dict(Escalation.Rule.choices)
    escalations = [
        {
            "referral": referral,
            "case": case,
            "rule": labels.get(rule, rule),
            "link": site + reverse("cases:detail", kwargs={"reference": case}),
        }
        for referral, case, rule in zip(due["referrals"], due["cases"], due["rules"], strict=True)
    ]
    context = {"force": due["force_name"], "escalations": escalations}
    lines = [f"{e['referral']} (case {e['case']}): {e['rule']} {e['link']}" for e in escalations]
    return OutboxMessage(
        kind=DIGEST_KIND,
        channel="email",
        recipient=due["recipient"],
        subject=_render(f"{DIGEST_KIND}_subject", context),
        body=_render(DIGEST_KIND, context),
        dedupe_key=due["dedupe_key"],
        personalisation={
            "en": {"force": due["force_name"], "count": len(lines), "escalations": lines}
        },
    )


def notifications_queue_digest(*, now: datetime | None = None) -> int:
    """Queue each force's digest of new escalations to its active supervisors; return how many.

    A digest lists the undecided escalations flagged since the force's last digest (the first
    one: the last day), each by referral and case reference and rule, with a link to the case.
    No names. A force with nothing new gets no email; a second digest on the same London day
    is not queued.
    """
    now = now or timezone.now()
    site = getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    params = {
        "kind": DIGEST_KIND,
        "until": now - DIGEST_SETTLE,
        "settle": DIGEST_SETTLE,
        "day": london_date(now).isoformat(),
    }
    with transaction.atomic():
        due = _due(DIGEST_DUE_SQL, params)
        return outbox_queue([_digest(row, site) for row in due], now=now)
