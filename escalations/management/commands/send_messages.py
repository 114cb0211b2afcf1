"""`manage.py send_messages`: queue the reminders due now, send what waits in the outbox and
fetch GOV.UK Notify's delivery receipts, as beat does over the hour; print the counts."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from escalations.management.commands.sweep_deadlines import aware_datetime
from escalations.notifications import notifications_queue_reminders
from programmes.notifications import notifications_send_pending
from programmes.notify import notifications_check_delivery


class Command(BaseCommand):
    help = (
        "Queue the reminders due now, send the outbox (through GOV.UK Notify when "
        "NOTIFY_API_KEY is set) and fetch Notify's delivery receipts; print counts, no names."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--now",
            type=aware_datetime,
            help="Queue the reminders due at this moment (for demos), e.g. 2026-12-03T10:00; "
            "without an offset it is London time. Default: now.",
        )

    def handle(self, *args: Any, now: datetime | None = None, **options: Any) -> None:
        queued = notifications_queue_reminders(now=now)
        sent = notifications_send_pending()
        self.stdout.write(
            f"Reminders queued: {queued}. Sent: {sent.sent}, to try again: {sent.retrying}, "
            f"failed: {sent.failed}, paused by a rate limit: {sent.paused}."
        )
        if settings.NOTIFY_API_KEY:
            receipts = notifications_check_delivery()
            self.stdout.write(
                f"Receipts from GOV.UK Notify: {receipts.checked}. Delivered: "
                f"{receipts.delivered}, not delivered: {receipts.failed}."
            )
