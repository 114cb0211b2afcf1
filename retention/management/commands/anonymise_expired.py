"""Anonymise now the people whose cases all closed longer ago than their force's policy allows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from base.clock import LONDON
from retention.anonymise import anonymise_expired, count_expired


def parse_now(value: str) -> datetime:
    """An ISO date or date and time; without a time zone, London time (a date: its midnight)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(
            f"--now {value!r} is not a date: give one like 2032-01-31 or 2032-01-31T02:30"
        ) from error
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=LONDON)
    return moment


class Command(BaseCommand):
    help = (
        "Anonymise every person whose cases all closed longer ago than their force's "
        "retention period, and print how many people and cases (never a name)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            type=parse_now,
            help="Measure the retention periods from this date or time instead of now "
            "(ISO format, London time unless given)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only count the people and cases that would be anonymised; change nothing",
        )

    def handle(self, *args: Any, now: datetime | None, dry_run: bool, **options: Any) -> None:
        if dry_run:
            result = count_expired(now=now)
            self.stdout.write(
                f"Would anonymise {_people(result.people)} and {_cases(result.cases)}. "
                "Nothing was changed (dry run)."
            )
            return
        result = anonymise_expired(now=now)
        self.stdout.write(
            self.style.SUCCESS(f"Anonymised {_people(result.people)} and {_cases(result.cases)}.")
        )


def _people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def _cases(count: int) -> str:
    return f"{count} case{'' if count == 1 else 's'}"
