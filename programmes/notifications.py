"""The outbox (programmes.models.Notification) and how its messages are sent.

Messages are written to the outbox in the same transaction as the work that calls for them,
each with a `dedupe_key` naming its purpose, so queueing twice (or on two workers at once)
queues once. A Celery task sends what is pending; while the broker is down the rows simply
wait, and the periodic send task (every 5 minutes) sends them once it is back.

- `outbox_queue`: queue messages in one INSERT, each once (by its dedupe_key).
- `provider_told_referral_ended`: the provider's message when the force ends a referral.
- `send_soon`: after the transaction commits, ask a worker to send the outbox now.
- `notifications_send_pending`: claims rows with FOR UPDATE SKIP LOCKED and sends them;
  a failure is counted and retried by later runs, up to MAX_ATTEMPTS, then marked failed.

Logs and `last_error` carry only ids and the kind of error, never an address, a number or a
message body.
"""

from __future__ import annotations

import logging
import smtplib
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Protocol, TextIO

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from programmes.models import Appointment, Notification, Referral

logger = logging.getLogger(__name__)

SEND_PENDING_TASK = "programmes.send_pending_notifications"
MAX_ATTEMPTS = 8  # with the send task every 5 minutes: about 40 minutes of retries


def send_soon() -> None:
    """After commit, ask a worker to send the outbox now; with the broker down, rows wait."""
    transaction.on_commit(lambda: current_app.send_task(SEND_PENDING_TASK), robust=True)


# --- Queueing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxMessage:
    """A message to queue: by `channel` to `recipient`, once for its `dedupe_key`."""

    kind: str
    channel: str
    recipient: str
    subject: str
    body: str
    dedupe_key: str
    referral_id: int | None = None


QUEUE_SQL = """
INSERT INTO programmes_notification
    (kind, channel, recipient, subject, body, referral_id, dedupe_key, status, attempts,
     last_error, created_at, sent_at)
SELECT m.kind, m.channel, m.recipient, m.subject, m.body, m.referral_id, m.dedupe_key,
       'pending', 0, '', %(now)s, NULL
FROM unnest(%(kind)s::text[], %(channel)s::text[], %(recipient)s::text[], %(subject)s::text[],
            %(body)s::text[], %(dedupe_key)s::text[], %(referral_id)s::bigint[])
     AS m (kind, channel, recipient, subject, body, dedupe_key, referral_id)
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
                referral_id=referral.pk,
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


def _describe(error: Exception) -> str:
    """The kind of a sending error, without its message (which may hold an address)."""
    name = type(error).__name__
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{name} (SMTP {error.smtp_code})"
    if isinstance(error, OSError) and error.errno:
        return f"{name} (errno {error.errno})"
    return name


@dataclass(frozen=True)
class SendSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def notifications_send_pending(*, batch: int = 100) -> SendSummary:
    """Send up to `batch` pending messages, oldest first; return what happened.

    Each message is claimed in its own short transaction (SELECT ... FOR UPDATE SKIP LOCKED),
    sent, and marked in the same transaction, so two workers never send the same row and a
    worker killed half-way loses at most the one message it was sending (which is sent again).
    A failure adds one to `attempts` and records the kind of error; the row stays pending for
    a later run until MAX_ATTEMPTS, then it is marked failed.
    """
    tried: list[int] = []
    sent = retrying = failed = 0
    for _ in range(batch):
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True)
                .filter(status=Notification.Status.PENDING)
                .exclude(pk__in=tried)
                .order_by("created_at", "id")
                .first()
            )
            if notification is None:
                break
            tried.append(notification.pk)
            rows = Notification.objects.filter(pk=notification.pk)
            try:
                _send(notification)
            except Exception as error:  # any backend failure: count it, keep the row
                attempts = notification.attempts + 1
                gave_up = attempts >= MAX_ATTEMPTS
                rows.update(
                    attempts=F("attempts") + 1,
                    last_error=_describe(error),
                    status=Notification.Status.FAILED if gave_up else Notification.Status.PENDING,
                )
                logger.warning(
                    "Notification %s (%s) not sent, attempt %s of %s: %s",
                    notification.pk,
                    notification.kind,
                    attempts,
                    MAX_ATTEMPTS,
                    _describe(error),
                )
                failed += gave_up
                retrying += not gave_up
            else:
                rows.update(
                    status=Notification.Status.SENT,
                    sent_at=timezone.now(),
                    attempts=F("attempts") + 1,
                    last_error="",
                )
                sent += 1
    return SendSummary(sent=sent, retrying=retrying, failed=failed)
