"""Replaying an eligibility decision: the rules of today on the inputs it stored and the policy
version it used, compared with what it recorded.

A decision stores the facts the rules saw (inputs and the history found), the policy version
and the version of the rules (cases.rules.RULES_VERSION). Replaying gives the same answer and
reasons, or says exactly which reasons differ and which recorded rule change explains it. A
difference no recorded change explains means a rule changed without its version being raised:
`manage.py replay_decisions` fails on it, so past decisions cannot silently change meaning.

Nothing here writes; the caller audits the read (selectors.decision_replayed for pages and the
API, the command for itself).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from cases import rules
from cases.models import EligibilityDecision, Exclusion, OffenceType, SchemePolicy, Setting
from cases.services import policy_rules

ERASED = (
    "The person's date of birth was erased under the retention policy (only the year of birth "
    "is kept), so the decision cannot be replayed."
)
UNREADABLE = "The inputs this decision stored are incomplete ({missing}), so it cannot be replayed."


# The rules' names (Reason.rule) in words, for the page.
RULE_LABELS = {
    "offence_date": "Date of the offence",
    "age": "Age",
    "offence_age": "How old the offence is",
    "offence_type": "Offence",
    "setting": "Setting",
    "drugs": "Drugs recorded",
    "drug_class": "Drug class",
    "quantity": "Quantity",
    "previous_record": "Earlier conviction or caution",
    "earlier_diversion": "Earlier diversions",
    "exclusion": "Excluded circumstances",
    "residence": "Residence",
    "admission": "Admission",
}


@dataclass(frozen=True)
class ReasonDifference:
    """One reason that the replay gives differently: then (recorded) and now (replayed).

    Either side is None when the rule gave that reason on one side only."""

    rule: str
    recorded: rules.Reason | None
    replayed: rules.Reason | None

    @property
    def label(self) -> str:
        return RULE_LABELS.get(self.rule, self.rule)


@dataclass(frozen=True)
class Replay:
    """The outcome of replaying one decision."""

    decision: EligibilityDecision
    recorded: rules.EligibilityResult
    replayed: rules.EligibilityResult | None = None
    problem: str = ""  # why it could not be replayed; empty when it was
    differences: tuple[ReasonDifference, ...] = ()
    changes: tuple[str, ...] = field(default=())  # recorded rule changes since the decision

    @property
    def replayable(self) -> bool:
        return not self.problem

    @property
    def same(self) -> bool:
        """The replay gives the same answer and the same reasons, word for word."""
        return (
            self.replayed is not None
            and self.replayed.eligible == self.recorded.eligible
            and not self.differences
        )

    @property
    def answer_changed(self) -> bool:
        return self.replayed is not None and self.replayed.eligible != self.recorded.eligible

    @property
    def explained(self) -> bool:
        """The difference comes from a rule change recorded since the decision was made."""
        return not self.same and bool(self.changes)

    @property
    def summary(self) -> str:
        """One sentence on the outcome, for the page, the API and the command."""
        if not self.replayable:
            return self.problem
        if self.same:
            return "Replayed today, the decision gives the same answer and the same reasons."
        then = "eligible" if self.recorded.eligible else "not eligible"
        now = "eligible" if self.replayed.eligible else "not eligible"
        if self.answer_changed:
            what = f"The answer differs: {then} when decided, {now} when replayed"
        else:
            what = f"The answer is the same ({then}), but {_count(self.differences)} differ"
        if self.explained:
            return f"{what}, because the rules changed since (see why below)."
        return (
            f"{what}, and no recorded change to the rules explains it: a rule was changed "
            "without raising its version."
        )


def _count(differences: tuple[ReasonDifference, ...]) -> str:
    return "1 reason" if len(differences) == 1 else f"{len(differences)} reasons"


def _keyed(reasons: Iterable[rules.Reason]) -> dict[tuple[str, int], rules.Reason]:
    """Reasons by rule and occurrence (a rule such as drug_class gives one per drug)."""
    seen: Counter[str] = Counter()
    keyed = {}
    for reason in reasons:
        keyed[(reason.rule, seen[reason.rule])] = reason
        seen[reason.rule] += 1
    return keyed


def compare(
    recorded: rules.EligibilityResult, replayed: rules.EligibilityResult
) -> tuple[ReasonDifference, ...]:
    """The reasons that differ, in the order the rules give them (then the ones now gone)."""
    then, now = _keyed(recorded.reasons), _keyed(replayed.reasons)
    keys = list(now) + [key for key in then if key not in now]
    return tuple(
        ReasonDifference(rule=key[0], recorded=then.get(key), replayed=now.get(key))
        for key in keys
        if then.get(key) != now.get(key)
    )


def rule_changes_since(version: int) -> tuple[str, ...]:
    """What changed in the rules after `version`, oldest first, as recorded in RULES_CHANGES."""
    return tuple(
        f"Rules version {number}: {rules.RULES_CHANGES[number]}"
        for number in sorted(rules.RULES_CHANGES)
        if version < number <= rules.RULES_VERSION
    )


def replay(decision: EligibilityDecision, *, policy: rules.PolicyRules | None = None) -> Replay:
    """Replay `decision` under the rules of today and the policy version it used.

    `policy`: the plain-value form of decision.policy, when the caller has it already (the
    command replays many decisions of a few policy versions).
    """
    recorded = rules.result_from_json(decision.eligible, decision.reasons)
    if "date_of_birth" not in decision.inputs and "birth_year" in decision.inputs:
        return Replay(decision=decision, recorded=recorded, problem=ERASED)
    try:
        inputs = rules.inputs_from_json(decision.inputs, decision.history)
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        missing = f"no {error.args[0]}" if isinstance(error, KeyError) else "a value is unreadable"
        return Replay(
            decision=decision, recorded=recorded, problem=UNREADABLE.format(missing=missing)
        )
    replayed = rules.check_eligibility(inputs, policy or policy_rules(decision.policy))
    differences = compare(recorded, replayed)
    different = differences or replayed.eligible != recorded.eligible
    return Replay(
        decision=decision,
        recorded=recorded,
        replayed=replayed,
        differences=differences,
        changes=rule_changes_since(decision.rules_version) if different else (),
    )


def replay_many(decisions: Iterable[EligibilityDecision]) -> Iterable[Replay]:
    """Replay each decision, reading each policy version once."""
    policies: dict[int, rules.PolicyRules] = {}
    for decision in decisions:
        if decision.policy_id not in policies:
            policies[decision.policy_id] = policy_rules(
                SchemePolicy.objects.get(pk=decision.policy_id)
            )
        yield replay(decision, policy=policies[decision.policy_id])


def _yes_no(value: object) -> str:
    return {True: "Yes", False: "No"}.get(value, "Not recorded")  # type: ignore[arg-type]


def _quantity(value: object) -> str:
    try:
        return f"{Decimal(str(value)).normalize():f}"
    except ArithmeticError:
        return "?"


def _day(value: object) -> str:
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return "Not recorded"
    return f"{day.day} {day:%B %Y}"


def inputs_shown(decision: EligibilityDecision) -> list[tuple[str, str]]:
    """The facts a decision stored, in words, for the replay page (whatever their age)."""
    stored = decision.inputs
    if "date_of_birth" in stored:
        born = ("Date of birth", _day(stored["date_of_birth"]))
    else:
        born = ("Year of birth", str(stored.get("birth_year", "Not recorded")))
    drugs = [
        f"{_quantity(item.get('quantity'))} {item.get('unit', '')} of "
        f"{item.get('name', item.get('code'))} (class {item.get('class', '?')})"
        for item in stored.get("drugs", [])
    ]
    circumstances = [
        Exclusion(code).label if code in Exclusion.values else code
        for code in stored.get("circumstances", [])
    ]
    offence_type = stored.get("offence_type", "")
    setting = stored.get("setting", "")
    return [
        born,
        ("Date of offence", _day(stored.get("offence_date"))),
        ("Checked on", _day(stored.get("checked_on"))),
        (
            "Offence",
            OffenceType(offence_type).label
            if offence_type in OffenceType.values
            else "Not recorded",
        ),
        ("Setting", Setting(setting).label if setting in Setting.values else "Not recorded"),
        ("Drugs", "; ".join(drugs) or "None recorded"),
        ("Admitted the offence", _yes_no(stored.get("admitted_offence"))),
        ("Lives in the force area", _yes_no(stored.get("resides_in_force_area"))),
        (
            "Earlier drug conviction or caution (PNC)",
            _yes_no(stored.get("previous_drug_conviction_or_caution")),
        ),
        ("Other circumstances", "; ".join(circumstances) or "None"),
        ("Earlier cases found", str(len(decision.history))),
    ]
