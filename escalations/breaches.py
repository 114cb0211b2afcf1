"""The breach rule, in one place: which deadline rules an open referral breaks at a moment.

An open referral (new, accepted or in progress) breaks, at `now`:

- first_appointment_missed: its first-appointment deadline has passed and no appointment on or
  before that deadline was attended;
- completion_missed: its completion deadline has passed (a completed referral is not open);
- too_many_absences: it has more unexcused absences than its policy allows, counting only
  those after the last supervisor decision on it (a decision deals with the ones before).

Only booked appointments count, each by its current attendance, as
`programmes.rules.OUTCOME_COUNTS` says: arriving late is attending, or an unexcused absence,
as the referral's policy says; an excused absence counts as neither. When several rules fire,
the escalation is named after the most serious (RULES, most serious first).

The rule is written once, as one SQL query (`breaches_sql`), because the sweep must judge every
open referral in one statement. Everything else runs that query rather than a copy of it:

- `escalations.sweep` flags every referral it finds breaking a rule, in one statement;
- `referral_breaches` runs it for one referral: what the sweep would find now, and why;
- `escalations.notifications` leaves out the first-appointment reminder once its
  `attended_by_first` is not 0;
- `Breach.explain` words the facts the query gave (and the sweep stored) for a supervisor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from base.clock import london_date, london_day_in_words
from escalations.models import Escalation
from programmes.models import ReferralStatus
from programmes.rules import counts_as_sql, referral_can_transition

# The rules, most serious first: an escalation is named after the first that fired. Each is
# also the name of the query's column that says whether it fired.
RULES = tuple(
    rule.value
    for rule in (
        Escalation.Rule.TOO_MANY_ABSENCES,
        Escalation.Rule.COMPLETION_MISSED,
        Escalation.Rule.FIRST_APPOINTMENT_MISSED,
    )
)

# The referrals the rule judges: those in a programme, which the sweep may flag.
OPEN = tuple(
    status
    for status in ReferralStatus.values
    if referral_can_transition(status, ReferralStatus.FLAGGED)
)


def breaches_sql(within: str | None = None) -> str:
    """The breach rule as one SELECT: a row per open referral, judged at %(now)s.

    Its columns: referral_id; attended_by_first (appointments attended by the first
    deadline); unexcused (absences since the last decision); a boolean per rule in RULES;
    breached (any of them); rules_fired (most serious first); rule (the most serious, or
    NULL); facts (what a flag stores: the deadlines, the counts and the rules fired).

    `within`, when given, is SQL for the referral ids to judge (a subquery or a parameter),
    and every part of the query reads only their rows. Parameters: `params(now)`.
    """

    def only(column: str) -> str:
        return f"AND {column} IN ({within})" if within else ""

    def counts_as(what: str) -> str:
        return counts_as_sql(
            what, outcome="t.outcome", late_counts_as_attended="p.late_counts_as_attended"
        )

    fired = ",\n                     ".join(f"CASE WHEN {rule} THEN '{rule}' END" for rule in RULES)
    return f"""
SELECT fired.*,
       {" OR ".join(RULES)} AS breached,
       rules_fired[1] AS rule,
       jsonb_build_object(
           'checked_at', %(now)s,
           'rules_fired', to_jsonb(rules_fired),
           'first_appointment_due', first_appointment_due,
           'completion_due', completion_due,
           'attended_by_first_deadline', attended_by_first,
           'unexcused_absences', unexcused,
           'max_unexcused_absences', max_unexcused_absences
       ) AS facts
FROM (
    SELECT judged.*,
           array_remove(ARRAY[{fired}]::text[], NULL) AS rules_fired
    FROM (
        SELECT r.id AS referral_id, r.first_appointment_due, r.completion_due,
               p.max_unexcused_absences,
               coalesce(k.attended_by_first, 0) AS attended_by_first,
               coalesce(k.unexcused, 0) AS unexcused,
               %(now)s > r.first_appointment_due
                   AND coalesce(k.attended_by_first, 0) = 0 AS first_appointment_missed,
               %(now)s > r.completion_due AS completion_missed,
               coalesce(k.unexcused, 0) > p.max_unexcused_absences AS too_many_absences
        FROM programmes_referral r
        JOIN cases_schemepolicy p ON p.id = r.policy_id
        LEFT JOIN (
            -- Per referral: booked appointments attended by the first deadline, and
            -- unexcused absences since the last supervisor decision, by current attendance.
            SELECT a.referral_id,
                   count(*) FILTER (
                       WHERE a.starts_at <= r.first_appointment_due AND {counts_as("attended")}
                   ) AS attended_by_first,
                   count(*) FILTER (
                       WHERE {counts_as("absence")}
                         AND a.starts_at > coalesce(d.decided_at, '-infinity'::timestamptz)
                   ) AS unexcused
            FROM programmes_appointment a
            JOIN programmes_attendance t ON t.appointment_id = a.id AND t.is_current
            JOIN programmes_referral r ON r.id = a.referral_id
            JOIN cases_schemepolicy p ON p.id = r.policy_id
            LEFT JOIN (
                SELECT e.referral_id, max(e.decided_at) AS decided_at
                FROM programmes_escalation e
                WHERE e.decided_at IS NOT NULL {only("e.referral_id")}
                GROUP BY e.referral_id
            ) d ON d.referral_id = r.id
            WHERE a.status = 'booked' AND r.status IN %(open)s {only("r.id")}
            GROUP BY a.referral_id
        ) k ON k.referral_id = r.id
        WHERE r.status IN %(open)s {only("r.id")}
    ) judged
) fired
"""  # noqa: S608 (built from the constants above, no input)


def params(now: datetime) -> dict[str, Any]:
    """The parameters breaches_sql takes."""
    return {"now": now, "open": OPEN}


@dataclass(frozen=True)
class Fact:
    """One rule that fired, with what made it fire, in plain English."""

    rule: str
    label: str
    text: str


@dataclass(frozen=True)
class Breach:
    """What the rule found about one referral at one moment: the `facts` column of
    breaches_sql, which the sweep stores on each escalation."""

    rules_fired: tuple[str, ...]
    first_appointment_due: datetime | None
    completion_due: datetime | None
    attended_by_first_deadline: int
    unexcused_absences: int
    max_unexcused_absences: int

    @classmethod
    def from_facts(cls, facts: dict[str, Any], *, rule: str = "") -> Breach:
        """Read stored facts; an escalation from before `rules_fired` was stored has `rule`."""

        def moment(key: str) -> datetime | None:
            value = facts.get(key)
            return datetime.fromisoformat(value) if value else None

        return cls(
            rules_fired=tuple(facts.get("rules_fired") or ([rule] if rule else [])),
            first_appointment_due=moment("first_appointment_due"),
            completion_due=moment("completion_due"),
            attended_by_first_deadline=facts.get("attended_by_first_deadline", 0),
            unexcused_absences=facts.get("unexcused_absences", 0),
            max_unexcused_absences=facts.get("max_unexcused_absences", 0),
        )

    def headline(self, *, named: str) -> str:
        """ "Flagged: no first appointment attended by 15 December 2026": the rule the escalation is
        named after, with its deadline, for the case's timeline."""
        if named == Escalation.Rule.FIRST_APPOINTMENT_MISSED:
            what = f"no first appointment attended by {_day_month(self.first_appointment_due)}"
        elif named == Escalation.Rule.COMPLETION_MISSED:
            what = f"not completed by {_day_month(self.completion_due)}"
        else:
            absences = self.unexcused_absences
            what = (
                f"{absences} unexcused absence{'s' if absences != 1 else ''}, more than the "
                f"{self.max_unexcused_absences} allowed"
            )
        return f"Flagged: {what}"

    def explain(self, *, named: str, late_counts_as_attended: bool) -> list[Fact]:
        """Every rule that fired with the facts that made it fire: `named` (the rule the
        escalation is named after) first, then the others, most serious first."""
        absences = self.unexcused_absences
        first_due = london_day_in_words(self.first_appointment_due)
        completion_due = london_day_in_words(self.completion_due)
        texts = {
            "first_appointment_missed": (
                f"The first appointment was due by the end of {first_due}. Appointments "
                f"attended by then: {self.attended_by_first_deadline}."
            ),
            "completion_missed": (
                f"The programme was due to be completed by the end of {completion_due}, and it "
                "was not."
            ),
            "too_many_absences": (
                f"{absences} unexcused absence{'s' if absences != 1 else ''} (did not attend"
                f"{'' if late_counts_as_attended else ', or late'}); "
                f"the scheme allows {self.max_unexcused_absences}."
            ),
        }
        order = [named] + [rule for rule in RULES if rule != named]
        return [
            Fact(rule=rule, label=Escalation.Rule(rule).label, text=texts[rule])
            for rule in order
            if rule in self.rules_fired
        ]


def _day_month(moment: datetime | None) -> str:
    """ "15 December 2026": the day of a deadline in London."""
    if moment is None:
        return "its deadline"
    day = london_date(moment)
    return f"{day.day} {day:%B %Y}"


def referral_breaches(*, referral_id: int, now: datetime) -> Breach | None:
    """What the rule finds about one referral at `now` (the same query the sweep runs), or
    None when the referral is not open."""
    sql = f"SELECT facts FROM ({breaches_sql(within='%(referral_id)s')}) b"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params(now), "referral_id": referral_id})
        row = cursor.fetchone()
    return Breach.from_facts(json.loads(row[0])) if row else None
