"""The outbox (programmes.models.Notification) and how its messages are sent.

Messages are written to the outbox in the same transaction as the work that calls for them,
each with a `dedupe_key` naming its purpose, so queueing twice (or on two workers at once)
queues once. A Celery task sends what is pending; while the broker is down the rows simply
wait, and the periodic send task (every 5 minutes) sends them once it is back.

- `outbox_queue`: queue messages in one INSERT, each once (by its dedupe_key).
- `provider_told_referral_ended`: the provider's message when the force ends a referral.
- `send_soon`: after the transaction commits, ask a worker to send the outbox now.
- `notifications_send_pending`: claims rows one at a time (FOR UPDATE SKIP LOCKED, committed
  with a lease) and hands each to the gateway: GOV.UK Notify when NOTIFY_API_KEY is set
  (programmes/notify.py), else Django's email backend and NOTIFICATION_SMS_BACKEND. A failure
  is retried by later runs with a growing wait, up to MAX_ATTEMPTS, then marked failed.

Never sent twice: a claim counts the attempt before the message leaves, so a message that an
earlier attempt may have handed over (a timeout, a 5xx, a worker killed half-way) is known as
such; the Notify gateway then asks Notify for it by its reference (the row's id) before
sending again. (Email by SMTP has no such look-up: a worker killed between the SMTP server's
answer and the commit sends that one email again.)

Logs and `last_error` carry only ids and the kind of error, never an address, a number or a
message body.
"""

from __future__ import annotations

import json
import logging
import smtplib
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from programmes.models import Appointment, Notification, Referral

logger = logging.getLogger(__name__)

SEND_PENDING_TASK = "programmes.send_pending_notifications"
MAX_ATTEMPTS = 8  # waits of 1, 2, 4, ... 60 minutes between them: about two hours of retries
RETRY_FIRST_WAIT = timedelta(minutes=1)
RETRY_LONGEST_WAIT = timedelta(hours=1)
# A claimed message is left to its worker this long before another may take it over: far
# longer than one send (NOTIFY_TIMEOUT, EMAIL_TIMEOUT).
CLAIM_LEASE = timedelta(minutes=5)


def send_soon() -> None:
    """After commit, ask a worker to send the outbox now; with the broker down, rows wait."""
    transaction.on_commit(lambda: current_app.send_task(SEND_PENDING_TASK), robust=True)


# --- Queueing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxMessage:
    """A message to queue: by `channel` to `recipient`, once for its `dedupe_key`.

    `subject` and `body` are the text the email and SMS backends send, and GOV.UK Notify's
    "message" template; `personalisation` holds, by language, the values of the kind's own
    Notify template ({"cy": {...}, "en": {...}}), for the recipient's `language` and English.
    """

    kind: str
    channel: str
    recipient: str
    subject: str
    body: str
    dedupe_key: str
    referral_id: int | None = None
    language: str = "en"
    personalisation: dict[str, dict[str, Any]] = field(default_factory=dict)


QUEUE_SQL = """
INSERT INTO programmes_notification
    (kind, channel, recipient, subject, body, referral_id, dedupe_key, language,
     personalisation, status, attempts, last_error, failure, delivery_status, created_at,
     sent_at)
SELECT m.kind, m.channel, m.recipient, m.subject, m.body, m.referral_id, m.dedupe_key,
       m.language, m.personalisation::jsonb, 'pending', 0, '', '', '', %(now)s, NULL
FROM unnest(%(kind)s::text[], %(channel)s::text[], %(recipient)s::text[], %(subject)s::text[],
            %(body)s::text[], %(dedupe_key)s::text[], %(referral_id)s::bigint[],
            %(language)s::text[], %(personalisation)s::text[])
     AS m (kind, channel, recipient, subject, body, dedupe_key, referral_id, language,
           personalisation)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""


def outbox_queue(messages: Sequence[OutboxMessage], *, now: datetime) -> int:
    """Queue messages in one INSERT, leaving out any whose dedupe_key is queued already (by
    an earlier run, or another worker at the same moment); return how many were queued. After
    commit, a worker is asked to send them."""
    if not messages:
        return 0
    columns = {f.name: [getattr(m, f.name) for m in messages] for f in fields(OutboxMessage)}
    columns["personalisation"] = [json.dumps(values) for values in columns["personalisation"]]
    with connection.cursor() as cursor:
        cursor.execute(QUEUE_SQL, {**columns, "now": now})
        queued = len(cursor.fetchall())
    if queued:
        send_soon()
    return queued


# --- Messages ------------------------------------------------------------------------------

REFERRAL_ENDED_KIND = "referral_ended"


def provider_told_referral_ended(
    referral: Referral, *, cancelled: Sequence[Appointment], now: datetime
) -> int:
    """Queue the email telling a referral's provider that the force ended it: the reference,
    the programme, why (the referral's end_reason), the appointments cancelled and a link. No
    person's name. Nothing is queued for a provider without a contact email: the referral is
    under "Ended" in its inbox either way. Returns how many were queued (0 or 1)."""
    provider = referral.programme.provider
    if not provider.contact_email:
        return 0
    site = getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    context = {
        "referral": referral,
        "programme": referral.programme.name,
        "cancelled": cancelled,
        "link": site + reverse("programmes:referral", args=[referral.reference]),
    }
    return outbox_queue(
        [
            OutboxMessage(
                kind=REFERRAL_ENDED_KIND,
                channel=Notification.Channel.EMAIL,
                recipient=provider.contact_email,
                subject=render_to_string(
                    "programmes/messages/referral_ended_subject.txt", context
                ).strip(),
                body=render_to_string("programmes/messages/referral_ended.txt", context).strip(),
                dedupe_key=f"{REFERRAL_ENDED_KIND}:{referral.pk}",
                # Not tied to the referral: it is no message to the person, so it stays out
                # of the case page's messages to them (and it names nobody).
                referral_id=None,
            )
        ],
        now=now,
    )


REFERRAL_DECLINED_KIND = "referral_declined"


def officer_told_referral_declined(referral: Referral, *, now: datetime) -> int:
    """Queue the email telling the officer who referred that the provider declined: the case
    and referral references, the provider, the reason given and a link to the case. No
    person's name. Nothing is queued for an officer without an email: the case list and the
    case page flag it either way. Returns how many were queued (0 or 1)."""
    officer = referral.referred_by
    if not officer.email:
        return 0
    site = getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    context = {
        "referral": referral,
        "provider": referral.programme.provider.name,
        "link": site + reverse("cases:detail", args=[referral.case.reference]),
    }
    return outbox_queue(
        [
            OutboxMessage(
                kind=REFERRAL_DECLINED_KIND,
                channel=Notification.Channel.EMAIL,
                recipient=officer.email,
                subject=render_to_string(
                    "programmes/messages/referral_declined_subject.txt", context
                ).strip(),
                body=render_to_string("programmes/messages/referral_declined.txt", context).strip(),
                dedupe_key=f"{REFERRAL_DECLINED_KIND}:{referral.pk}",
                referral_id=None,  # a message to staff, not to the person
            )
        ],
        now=now,
    )


# --- Sending -------------------------------------------------------------------------------


class SmsBackend(Protocol):
    """Sends one text message; raises on failure. Set by NOTIFICATION_SMS_BACKEND."""

    def send(self, *, to: str, body: str) -> None: ...


class ConsoleSmsBackend:
    """Development: print text messages to standard output, as Django's console email does."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, *, to: str, body: str) -> None:
        """Write the message to the stream."""
        self.stream.write(f"SMS to {to}\n{body}\n{'-' * 79}\n")
        self.stream.flush()


class FileSmsBackend:
    """Development: write each text message to its own file under NOTIFICATION_FILE_DIR/sms."""

    def __init__(self, directory: Path | str | None = None) -> None:
        base = directory or getattr(
            settings, "NOTIFICATION_FILE_DIR", Path(settings.BASE_DIR) / "var" / "notifications"
        )
        self.directory = Path(base) / "sms"

    def send(self, *, to: str, body: str) -> None:
        """Write the message to a new file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.txt"
        (self.directory / name).write_text(f"To: {to}\n\n{body}\n", encoding="utf-8")


class DisabledSmsBackend:
    """No SMS gateway configured: every text message fails, so it is visible in the outbox."""

    def send(self, *, to: str, body: str) -> None:
        """Refuse, saying what to configure."""
        raise RuntimeError("no SMS gateway: set NOTIFICATION_SMS_BACKEND to its class")


SMS_BACKENDS = {
    "console": ConsoleSmsBackend,
    "file": FileSmsBackend,
    "disabled": DisabledSmsBackend,
}


def sms_backend() -> SmsBackend:
    """The configured SMS backend: "console", "file" or the dotted path of a class."""
    name = getattr(settings, "NOTIFICATION_SMS_BACKEND", "console")
    backend_class = SMS_BACKENDS.get(name) or import_string(name)
    return backend_class()


def _send(notification: Notification) -> None:
    """Hand one message to its channel's backend; raise if it was not accepted."""
    if notification.channel == Notification.Channel.EMAIL:
        message = EmailMessage(
            subject=notification.subject,
            body=notification.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.recipient],
        )
        if message.send() != 1:
            raise RuntimeError("the email backend accepted no message")
    else:
        sms_backend().send(to=notification.recipient, body=notification.body)


def describe_error(error: Exception) -> str:
    """The kind of a sending error, without its message (which may hold an address)."""
    name = type(error).__name__
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{name} (SMTP {error.smtp_code})"
    if isinstance(error, OSError) and error.errno:
        return f"{name} (errno {error.errno})"
    return name


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt to send a message.

    sent: handed over (with Notify's id, through Notify); retry: try again after a wait, the
    attempt counted; failed: never try again, for `failure`; pause: the gateway asks us to slow
    down (a rate limit), so the attempt is not counted and sending stops for `wait`.
    """

    result: Literal["sent", "retry", "failed", "pause"]
    error: str = ""
    failure: str = ""
    notify_id: str | None = None
    wait: timedelta | None = None


class Gateway(Protocol):
    """Where the outbox hands its messages: Notify, or the email and SMS backends."""

    def send(self, notification: Notification, *, earlier_attempts: int) -> Outcome: ...


class BackendGateway:
    """Django's email backend and NOTIFICATION_SMS_BACKEND: development, or SMTP."""

    def send(self, notification: Notification, *, earlier_attempts: int) -> Outcome:
        """Send by the channel's backend; any failure is retried."""
        try:
            _send(notification)
        except Exception as error:  # any backend failure: count it, keep the row
            return Outcome("retry", error=describe_error(error))
        return Outcome("sent")


def gateway() -> Gateway:
    """GOV.UK Notify when NOTIFY_API_KEY is set, else the email and SMS backends."""
    if getattr(settings, "NOTIFY_API_KEY", ""):
        from programmes.notify import NotifyGateway  # notify builds on this module's Outcome

        return NotifyGateway()
    return BackendGateway()


def retry_wait(attempts: int) -> timedelta:
    """How long a message waits after its `attempts`-th failed attempt: 1, 2, 4 ... 60 min."""
    return min(RETRY_FIRST_WAIT * 2 ** max(attempts - 1, 0), RETRY_LONGEST_WAIT)


@dataclass(frozen=True)
class SendSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    paused: int = 0


def claim_next(*, now: datetime, skip: Sequence[int]) -> Notification | None:
    """The oldest pending message that is due and not locked by another worker, with its
    attempt counted and a lease on it, committed before it is sent."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Notification.Status.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .exclude(pk__in=skip)
            .order_by("created_at", "id")
            .first()
        )
        if notification is not None:
            Notification.objects.filter(pk=notification.pk).update(
                attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE
            )
    return notification


def _record(notification: Notification, outcome: Outcome, *, now: datetime) -> str:
    """Write what became of the attempt; return "sent", "retrying", "failed" or "paused".

    Only if the row is still as this attempt claimed it: a worker that outlived its lease
    finds another worker's attempt recorded instead, and leaves it.
    """
    attempts = notification.attempts + 1
    rows = Notification.objects.filter(
        pk=notification.pk, attempts=attempts, status=Notification.Status.PENDING
    )
    label = (notification.pk, notification.kind)
    if outcome.result == "sent":
        changes: dict[str, Any] = {
            "status": Notification.Status.SENT,
            "sent_at": now,
            "last_error": "",
            "next_attempt_at": None,
            "notify_id": outcome.notify_id,
            "delivery_status": "created" if outcome.notify_id else "",
        }
        result = "sent"
    elif outcome.result == "pause":
        changes = {
            "attempts": F("attempts") - 1,
            "next_attempt_at": now + (outcome.wait or RETRY_FIRST_WAIT),
            "last_error": outcome.error,
        }
        result = "paused"
        logger.warning("Notification %s (%s) not sent, sending paused: %s", *label, outcome.error)
    elif outcome.result == "failed":
        changes = {
            "status": Notification.Status.FAILED,
            "failure": outcome.failure,
            "last_error": outcome.error,
            "next_attempt_at": None,
        }
        result = "failed"
        logger.warning("Notification %s (%s) not sent, failed: %s", *label, outcome.error)
    else:
        gave_up = attempts >= MAX_ATTEMPTS
        changes = {
            "status": Notification.Status.FAILED if gave_up else Notification.Status.PENDING,
            "failure": Notification.Failure.GAVE_UP if gave_up else "",
            "last_error": outcome.error,
            "next_attempt_at": None if gave_up else now + retry_wait(attempts),
        }
        result = "failed" if gave_up else "retrying"
        logger.warning(
            "Notification %s (%s) not sent, attempt %s of %s: %s",
            *label,
            attempts,
            MAX_ATTEMPTS,
            outcome.error,
        )
    if not rows.update(**changes):
        logger.warning("Notification %s (%s): another worker took it over", *label)
    return result


def notifications_send_pending(*, batch: int = 100, now: datetime | None = None) -> SendSummary:
    """Send up to `batch` pending messages that are due, oldest first; return what happened.

    Each message is claimed in its own short transaction (SELECT ... FOR UPDATE SKIP LOCKED),
    which counts the attempt and leases the row for CLAIM_LEASE, so two workers never send the
    same row; then it is sent outside any transaction and the outcome recorded. A failure
    waits `retry_wait` before the next attempt, until MAX_ATTEMPTS, then the message is marked
    failed; a message the gateway refuses for good is failed at once; a rate limit stops this
    run and the message waits, its attempt not counted. A worker killed half-way leaves the
    one message it was sending to be taken up again when its lease ends.
    """
    send_by = gateway()
    tried: list[int] = []
    results = {"sent": 0, "retrying": 0, "failed": 0, "paused": 0}
    for _ in range(batch):
        notification = claim_next(now=now or timezone.now(), skip=tried)
        if notification is None:
            break
        tried.append(notification.pk)
        outcome = send_by.send(notification, earlier_attempts=notification.attempts)
        results[_record(notification, outcome, now=now or timezone.now())] += 1
        if outcome.result == "pause":
            break
    return SendSummary(**results)
