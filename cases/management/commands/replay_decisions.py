"""`manage.py replay_decisions`: replay stored eligibility decisions under today's rules and
report every one that no longer gives the same answer and reasons (cases/replay.py).

Exits non-zero when any differs, so CI fails when a change to the rules would change the
meaning of past decisions. With --allow-recorded-changes, a difference that a change recorded
in cases.rules.RULES_CHANGES explains is reported but does not fail; one that no recorded
change explains always fails. Decisions whose date of birth was erased under the retention
policy cannot be replayed: they are counted, not failed. Prints references, rules and
reasons, never a name.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet

from audit.services import audit_record
from base.clock import LONDON
from cases.models import EligibilityDecision, Force
from cases.replay import Replay, replay_many


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"“{value}” is not a date: use the form 2026-11-30"
        ) from error


def _london_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LONDON)


class Command(BaseCommand):
    help = (
        "Replay every stored eligibility decision (or a force's, or those of a date range) "
        "under today's rules and the policy version each used, and report any that no longer "
        "give the same answer and reasons. Exits 1 when any differs."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--force", help="Only this force's decisions, by its code (e.g. TVP).")
        parser.add_argument(
            "--from",
            dest="date_from",
            type=iso_date,
            help="Only decisions made on or after this day (London), e.g. 2026-01-01.",
        )
        parser.add_argument(
            "--to",
            dest="date_to",
            type=iso_date,
            help="Only decisions made on or before this day (London), e.g. 2026-12-31.",
        )
        parser.add_argument(
            "--allow-recorded-changes",
            action="store_true",
            help="Do not fail on differences that a recorded change to the rules explains.",
        )

    def decisions(self, options: dict[str, Any]) -> QuerySet[EligibilityDecision]:
        decisions = EligibilityDecision.objects.select_related("case").order_by("id")
        if options["force"]:
            force = Force.objects.filter(code__iexact=options["force"]).first()
            if force is None:
                codes = ", ".join(Force.objects.values_list("code", flat=True))
                raise CommandError(
                    f"No force has the code “{options['force']}”: use one of {codes}."
                )
            decisions = decisions.filter(case__force=force)
        date_from, date_to = options["date_from"], options["date_to"]
        if date_from and date_to and date_from > date_to:
            raise CommandError("--from must be on or before --to.")
        if date_from:
            decisions = decisions.filter(decided_at__gte=_london_midnight(date_from))
        if date_to:
            decisions = decisions.filter(
                decided_at__lt=_london_midnight(date_to + timedelta(days=1))
            )
        return decisions

    def handle(self, *args: Any, **options: Any) -> None:
        allow_recorded = options["allow_recorded_changes"]
        tally = {"same": 0, "explained": 0, "unexplained": 0, "not replayable": 0}
        for replayed in replay_many(self.decisions(options).iterator(chunk_size=2000)):
            if not replayed.replayable:
                tally["not replayable"] += 1
            elif replayed.same:
                tally["same"] += 1
            else:
                tally["explained" if replayed.explained else "unexplained"] += 1
                self.report(replayed)
        total = sum(tally.values())
        audit_record(
            user=None,
            action="view",
            object_type="cases.eligibilitydecision",
            changes={
                "replayed": total,
                "force": options["force"] or "",
                "from": options["date_from"].isoformat() if options["date_from"] else "",
                "to": options["date_to"].isoformat() if options["date_to"] else "",
            },
            reason="manage.py replay_decisions",
        )
        self.stdout.write(
            f"Replayed {total} eligibility decisions: {tally['same']} the same, "
            f"{tally['explained'] + tally['unexplained']} different ({tally['explained']} "
            f"explained by a recorded change to the rules), {tally['not replayable']} not "
            "replayable (date of birth erased, or inputs incomplete)."
        )
        failing = tally["unexplained"] + (0 if allow_recorded else tally["explained"])
        if failing:
            raise CommandError(
                f"{failing} eligibility decision{'s' if failing != 1 else ''} no longer "
                "give the same answer and reasons: see above."
            )

    def report(self, replayed: Replay) -> None:
        decision = replayed.decision
        self.stdout.write(
            f"{decision.case.reference}, decision {decision.pk} of "
            f"{decision.decided_at.astimezone(LONDON):%Y-%m-%d %H:%M} (rules version "
            f"{decision.rules_version}): {replayed.summary}"
        )
        for difference in replayed.differences:
            self.stdout.write(f"  {difference.rule}:")
            for when, reason in (("then", difference.recorded), ("now", difference.replayed)):
                said = (
                    f"{'met' if reason.passed else 'not met'}: {reason.message}"
                    if reason
                    else "not given"
                )
                self.stdout.write(f"    {when}: {said}")
        for change in replayed.changes:
            self.stdout.write(f"  why: {change}")
