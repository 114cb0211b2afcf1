"""`manage.py sweep_deadlines`: run the deadline sweep now and print what it flagged."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from base.clock import LONDON
from escalations.models import Escalation
from escalations.sweep import sweep_deadlines


def aware_datetime(value: str) -> datetime:
    """An ISO 8601 date and time; without an offset it is taken as London time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"“{value}” is not an ISO date and time: use e.g. 2026-10-27T00:00:00+00:00"
        ) from error
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=LONDON)


class Command(BaseCommand):
    help = (
        "Flag every open referral past a deadline or its absence limit, once, and list each "
        "by referral and case reference and rule (no names)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--now",
            type=aware_datetime,
            help="Sweep as if it were this moment (for demos), e.g. 2026-10-27T00:00:00; "
            "without an offset it is London time. Default: now.",
        )

    def handle(self, *args: Any, now: datetime | None = None, **options: Any) -> None:
        flagged = sweep_deadlines(now=now)
        for item in flagged:
            rule = Escalation.Rule(item.rule).label
            self.stdout.write(f"{item.referral_reference}  case {item.case_reference}  {rule}")
        noun = "referral" if len(flagged) == 1 else "referrals"
        self.stdout.write(self.style.SUCCESS(f"{len(flagged)} {noun} flagged."))
