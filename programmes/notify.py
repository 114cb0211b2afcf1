"""GOV.UK Notify: how the outbox sends email and SMS when NOTIFY_API_KEY is set, and how
delivery receipts come back to it. Without a key, programmes.notifications uses Django's email
backend and NOTIFICATION_SMS_BACKEND instead.

Sending (`NotifyGateway.send`, for each message programmes.notifications claims):

1. If an earlier attempt may have reached Notify (a timeout, a 5xx, a worker killed half-way),
   ask Notify for the message by its reference, the outbox row's id: if Notify has it, it is
   recorded as sent and not sent again.
2. Choose the template (`template_for`): the message kind's own, by channel, in the
   recipient's language, with the values queued for that language; a Welsh one missing falls
   back to the English one, logged for an administrator; a kind without a template of its own
   goes by the "message" template, with our own text as ((subject)) and ((body)).
3. Send it with the row's id as its reference, and read Notify's answer (`outcome_of`): 429
   (a rate or daily limit) pauses sending without counting the attempt; a 5xx, a timeout or a
   403 (a key or clock problem, logged for an administrator) is retried with a growing wait;
   a 400 fails the message at once: a number or address Notify calls invalid is shown to the
   officer, a template or personalisation problem is logged for an administrator.

Receipts (`notifications_check_delivery`, every 10 minutes by beat): Notify's status of each
message sent in the last RECEIPTS_KEPT whose status may still change, recorded in one UPDATE;
a permanent, temporary or technical failure marks the message failed with its reason.

Logs and `last_error` carry ids, kinds, Notify's status codes and error names, and only the
Notify messages known to hold no personal data; never an address, a number or a text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from notifications_python_client import NotificationsAPIClient
from notifications_python_client.errors import APIError, InvalidResponse

from programmes.models import Notification
from programmes.notifications import Outcome, describe_error

logger = logging.getLogger(__name__)

GENERIC_KIND = "message"  # the templates whose subject is ((subject)) and body ((body))
RATE_LIMIT_WAIT = timedelta(minutes=1)  # Notify counts its rate limit per minute
DAILY_LIMIT_WAIT = timedelta(hours=1)
RECEIPTS_KEPT = timedelta(days=7)  # Notify answers for a notification this long
UNKNOWN = "unknown"  # our status for a message whose receipt Notify no longer has

# Notify's final statuses that mean the message did not arrive, and why, for the officer.
DELIVERY_FAILURES = {
    "permanent-failure": Notification.Failure.PERMANENT,
    "temporary-failure": Notification.Failure.TEMPORARY,
    "technical-failure": Notification.Failure.TECHNICAL,
}
# Notify's error messages that hold no personal data, kept in last_error for an administrator.
SAFE_MESSAGES = (
    "Template not found",
    "Missing personalisation",
    "template_id is not a valid UUID",
    "Can't send to this recipient using a team-only API key",
    "Can't send to this recipient when service is in trial mode",
    "Invalid token",
    "Error: Your system clock",
)
RECIPIENT_FIELDS = ("phone_number", "email_address")


def client() -> NotificationsAPIClient:
    """Notify's client for the configured key, at NOTIFY_BASE_URL."""
    return NotificationsAPIClient(
        settings.NOTIFY_API_KEY,
        base_url=settings.NOTIFY_BASE_URL,
        timeout=getattr(settings, "NOTIFY_TIMEOUT", 10),
    )


# --- Choosing the template ----------------------------------------------------------------


@dataclass(frozen=True)
class TemplateChoice:
    """The Notify template for a message, the language it is in and its values."""

    template_id: str
    language: str
    personalisation: dict[str, Any]


def template_setting(kind: str, channel: str, language: str) -> str:
    """The setting that holds a template's id: NOTIFY_TEMPLATE_<KIND>_<CHANNEL>_<LANGUAGE>."""
    return f"NOTIFY_TEMPLATE_{kind}_{channel}_{language}".upper()


class NoTemplate(Exception):
    """No Notify template can carry the message (the "message" ones are not configured)."""


def template_for(
    notification: Notification, templates: dict[tuple[str, str, str], str]
) -> TemplateChoice:
    """The kind's own template in the recipient's language, else in English, else the
    "message" template in their language, else in English; raise NoTemplate if none is set."""
    languages = list(dict.fromkeys([notification.language, "en"]))
    generic = {"subject": notification.subject, "body": notification.body}
    for kind in (notification.kind, GENERIC_KIND):
        for language in languages:
            template_id = templates.get((kind, notification.channel, language))
            values = generic if kind == GENERIC_KIND else notification.personalisation.get(language)
            if template_id and values is not None:
                return TemplateChoice(template_id, language, values)
    raise NoTemplate


# --- Notify's answers ---------------------------------------------------------------------


def _first_error(error: APIError) -> tuple[str, str]:
    """The name and message of the first error in Notify's answer ("" when there is none)."""
    try:
        errors = error.response.json().get("errors") or [{}]  # type: ignore[union-attr]
        return str(errors[0].get("error", "")), str(errors[0].get("message", ""))
    except (AttributeError, TypeError, ValueError):
        return "", ""


def _safe_detail(message: str) -> str:
    """Notify's message if it is one known to hold no personal data, else its field name."""
    if message.startswith(SAFE_MESSAGES):
        return message[:200]
    field = message.split(" ", 1)[0]
    return field if field in RECIPIENT_FIELDS or field == "personalisation" else ""


def outcome_of(error: APIError) -> Outcome:
    """What to do after Notify refused a message or did not answer, by Notify's guidance."""
    status = error.status_code
    name, message = _first_error(error)
    detail = _safe_detail(message)
    described = " ".join(part for part in ("Notify", str(status), name or type(error).__name__))
    described += f" ({detail})" if detail else ""
    if status == 429:  # RateLimitError (per minute) or TooManyRequestsError (per day)
        wait = DAILY_LIMIT_WAIT if name == "TooManyRequestsError" else RATE_LIMIT_WAIT
        return Outcome("pause", error=described, wait=wait)
    if status == 400 and name == "ValidationError" and detail in RECIPIENT_FIELDS:
        return Outcome("failed", error=described, failure=Notification.Failure.INVALID)
    if status == 403:
        logger.error("GOV.UK Notify refused the API key: check NOTIFY_API_KEY and the clock")
        return Outcome("retry", error=described)
    if status >= 500 or isinstance(error, InvalidResponse):
        return Outcome("retry", error=described)
    logger.error("GOV.UK Notify refused a message for good, for an administrator: %s", described)
    return Outcome("failed", error=described, failure=Notification.Failure.REJECTED)


# --- Sending ------------------------------------------------------------------------------


class NotifyGateway:
    """Sends outbox messages through GOV.UK Notify (see the module's docstring)."""

    def __init__(self, notify: NotificationsAPIClient | None = None) -> None:
        self.notify = notify or client()
        self.templates: dict[tuple[str, str, str], str] = settings.NOTIFY_TEMPLATES

    def already_sent(self, notification: Notification) -> str | None:
        """Notify's id for the message if an earlier attempt reached Notify, else None."""
        found = self.notify.get_all_notifications(reference=str(notification.pk))
        for sent in found.get("notifications", []):
            if sent.get("reference") == str(notification.pk):
                return str(sent["id"])
        return None

    def send(self, notification: Notification, *, earlier_attempts: int) -> Outcome:
        """Send one message by its template; say what became of it."""
        try:
            if earlier_attempts and (notify_id := self.already_sent(notification)):
                logger.info(
                    "Notification %s (%s) was already with Notify: not sent again",
                    notification.pk,
                    notification.kind,
                )
                return Outcome("sent", notify_id=notify_id)
            choice = template_for(notification, self.templates)
            if choice.language != notification.language:
                logger.warning(
                    "Notification %s (%s) sent in English: set %s to send it in %s",
                    notification.pk,
                    notification.kind,
                    template_setting(
                        notification.kind, notification.channel, notification.language
                    ),
                    notification.language,
                )
            reference = str(notification.pk)
            if notification.channel == Notification.Channel.EMAIL:
                answer = self.notify.send_email_notification(
                    email_address=notification.recipient,
                    template_id=choice.template_id,
                    personalisation=choice.personalisation,
                    reference=reference,
                )
            else:
                answer = self.notify.send_sms_notification(
                    phone_number=notification.recipient,
                    template_id=choice.template_id,
                    personalisation=choice.personalisation,
                    reference=reference,
                )
        except NoTemplate:
            logger.error(
                "Notification %s (%s) has no Notify template: set %s",
                notification.pk,
                notification.kind,
                template_setting(GENERIC_KIND, notification.channel, "en"),
            )
            return Outcome(
                "failed", error="no Notify template", failure=Notification.Failure.REJECTED
            )
        except APIError as error:
            return outcome_of(error)
        except Exception as error:  # an answer we cannot read: it may have been sent
            return Outcome("retry", error=describe_error(error))
        return Outcome("sent", notify_id=str(answer["id"]))


# --- Delivery receipts --------------------------------------------------------------------


@dataclass(frozen=True)
class DeliverySummary:
    checked: int = 0
    delivered: int = 0
    failed: int = 0


def notifications_check_delivery(
    *, now: datetime | None = None, batch: int = 500
) -> DeliverySummary:
    """Fetch Notify's status of up to `batch` sent messages whose status may still change,
    least recently checked first, and record them in one UPDATE; return what was found.

    A permanent, temporary or technical failure marks the message failed with its reason (the
    officer sees it on the case page and in the case list). A message sent longer ago than
    RECEIPTS_KEPT is no longer asked about (its status becomes "unknown"). A rate limit ends
    the run; the rest are asked next time. Without NOTIFY_API_KEY there is nothing to ask.
    """
    if not getattr(settings, "NOTIFY_API_KEY", ""):
        return DeliverySummary()
    now = now or timezone.now()
    awaiting = Notification.objects.filter(
        status=Notification.Status.SENT,
        delivery_status__in=Notification.DELIVERY_PENDING,
        notify_id__isnull=False,
    )
    awaiting.filter(sent_at__lt=now - RECEIPTS_KEPT).update(
        delivery_status=UNKNOWN, delivery_checked_at=now
    )
    rows = list(
        awaiting.filter(sent_at__gte=now - RECEIPTS_KEPT).order_by(
            F("delivery_checked_at").asc(nulls_first=True), "id"
        )[:batch]
    )
    notify = client()
    checked: list[Notification] = []
    delivered = failed = 0
    for row in rows:
        try:
            status = str(notify.get_notification_by_id(str(row.notify_id))["status"])
        except APIError as error:
            if error.status_code == 429:
                break
            status = UNKNOWN if error.status_code == 404 else row.delivery_status
            logger.warning(
                "Notification %s (%s): no delivery status from Notify: %s",
                row.pk,
                row.kind,
                outcome_of(error).error,
            )
        except Exception as error:  # an answer we cannot read: ask again next time
            status = row.delivery_status
            logger.warning("Notification %s (%s): %s", row.pk, row.kind, describe_error(error))
        row.delivery_status, row.delivery_checked_at = status[:20], now
        if status in DELIVERY_FAILURES:
            row.status, row.failure = Notification.Status.FAILED, DELIVERY_FAILURES[status]
            row.last_error = f"Notify: {status}"
            failed += 1
            logger.warning("Notification %s (%s) not delivered: %s", row.pk, row.kind, status)
        delivered += status == "delivered"
        checked.append(row)
    Notification.objects.bulk_update(
        checked, ["delivery_status", "delivery_checked_at", "status", "failure", "last_error"]
    )
    return DeliverySummary(checked=len(checked), delivered=delivered, failed=failed)
