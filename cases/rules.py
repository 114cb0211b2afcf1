"""The scheme's rules as plain functions: eligibility, the legal life of a case, and what a
user may do next with one.

Nothing here touches the database or a request. Callers build the inputs (services.py reads
the case, the person's history and the force's policy) and store what comes back, so a test
of any boundary needs only values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cases.models import CaseStatus as S
from cases.models import Exclusion, Offer

if TYPE_CHECKING:
    from accounts.models import User
    from cases.models import Case, EligibilityDecision

# Which status a case may move to from each status (DESIGN.md, "The life of a case").
# A correction of the facts eligibility was decided on sends a decided case back to logged,
# to be checked again (see correction_refusal).
CASE_TRANSITIONS: dict[str, frozenset[str]] = {
    S.LOGGED: frozenset({S.ELIGIBLE, S.INELIGIBLE}),
    S.INELIGIBLE: frozenset({S.ELIGIBLE, S.INELIGIBLE, S.CLOSED, S.LOGGED}),
    S.ELIGIBLE: frozenset({S.ELIGIBLE, S.INELIGIBLE, S.OFFERED, S.LOGGED}),
    S.OFFERED: frozenset({S.ACCEPTED, S.CLOSED, S.LOGGED}),
    S.ACCEPTED: frozenset({S.REFERRED, S.LOGGED}),
    S.REFERRED: frozenset({S.IN_PROGRAMME, S.ACCEPTED, S.AWAITING_SUPERVISOR}),
    S.IN_PROGRAMME: frozenset({S.CLOSED, S.AWAITING_SUPERVISOR}),
    S.AWAITING_SUPERVISOR: frozenset({S.IN_PROGRAMME, S.REFERRED, S.CLOSED}),
    S.CLOSED: frozenset(),
}


def can_transition(from_status: str, to_status: str) -> bool:
    """Whether a case in `from_status` may move to `to_status`."""
    return to_status in CASE_TRANSITIONS.get(from_status, frozenset())


# What a user may do next with a case. The case page offers exactly these, and each service
# refuses an action that is not among them (DESIGN.md, "The life of a case").
CHECK = "check"  # run the eligibility check, or run it again (services.eligibility_check)
OVERRIDE = "override"  # reverse the latest eligibility decision (services.eligibility_override)
CLOSE = "close"  # close a case found not eligible (services.case_close_ineligible)
OFFER = "offer"  # record the offer, or the answer to it (services.offer_record)
REFER = "refer"  # refer to a programme (programmes.services.referral_create)
ASSIGN = "assign"  # give the case to an officer of the force (services.case_assign)
CORRECT = "correct"  # correct the case's or the person's details (services.case_correct, ...)

# The facts an eligibility decision rests on (EligibilityInputs): correcting one after a
# decision sends the case back for a new check; after referral they can no longer change.
ELIGIBILITY_FACTS = frozenset(
    {
        "date_of_birth",
        "offence_date",
        "offence_type",
        "setting",
        "admitted_offence",
        "resides_in_force_area",
        "previous_drug_conviction_or_caution",
        "circumstances",
        "drugs",
    }
)
# Decided, but not referred yet: a correction of the facts means checking again.
DECIDED_NOT_REFERRED = frozenset({S.ELIGIBLE, S.INELIGIBLE, S.OFFERED, S.ACCEPTED})


def correction_refusal(status: str, changed: frozenset[str]) -> str:
    """Why correcting the fields `changed` of a case in `status` is refused, or "" if it may
    be made. Contact details and references can be corrected until the case is closed."""
    if status == S.CLOSED:
        return "The case is closed, so its details can no longer be corrected."
    if changed & ELIGIBILITY_FACTS and status not in DECIDED_NOT_REFERRED | {S.LOGGED}:
        return (
            "The case has been referred to a programme, so the facts its eligibility was "
            "decided on can no longer change. Ask a supervisor if the decision was wrong."
        )
    return ""


def needs_new_check(status: str, changed: frozenset[str]) -> bool:
    """Whether correcting `changed` sends a case in `status` back for a new eligibility check."""
    return bool(changed & ELIGIBILITY_FACTS) and status in DECIDED_NOT_REFERRED


def case_actions(
    status: str,
    *,
    staff: bool,
    supervisor: bool = False,
    decision_open: bool = False,
    offer_pending: bool = False,
) -> frozenset[str]:
    """What a user may do next with a case in `status`.

    `staff`: the user is a custody officer or supervisor of the case's force; `supervisor`: a
    supervisor of it; `decision_open`: the latest eligibility decision is not overridden yet;
    `offer_pending`: an offer awaits the person's answer. Nobody else may do anything.

    - check: before the offer (logged, eligible or not eligible);
    - close: found not eligible (the case goes to the standard process);
    - offer: eligible, or offered with the answer still to record;
    - refer: the offer was accepted;
    - override: a supervisor, after a check and before the offer, once per decision;
    - assign: any case not closed yet.
    - correct: until the case is closed (correction_refusal says which fields may change).
    """
    if not staff:
        return frozenset()
    actions = set()
    if status != S.CLOSED:
        actions.add(ASSIGN)
    if can_transition(status, S.ELIGIBLE):  # a check may find either way (CASE_TRANSITIONS)
        actions.add(CHECK)
    if status == S.INELIGIBLE:
        actions.add(CLOSE)
    if status == S.ELIGIBLE or (status == S.OFFERED and offer_pending):
        actions.add(OFFER)
    if status == S.ACCEPTED:
        actions.add(REFER)
    if supervisor and decision_open and status in (S.ELIGIBLE, S.INELIGIBLE):
        actions.add(OVERRIDE)
    if status != S.CLOSED:
        actions.add(CORRECT)
    return frozenset(actions)


# What happens next to a case in each status, and who does it, for the case list.
NEXT_STEP: dict[str, str] = {
    S.LOGGED: "Check eligibility",
    S.INELIGIBLE: "Close for the standard process, or check again",
    S.ELIGIBLE: "Make the offer",
    S.OFFERED: "Record the person’s answer",
    S.ACCEPTED: "Refer to a programme",
    S.REFERRED: "Provider to take the referral on",
    S.IN_PROGRAMME: "Person to attend the programme",
    S.AWAITING_SUPERVISOR: "Supervisor to decide",
    S.CLOSED: "None: closed",
}


def works_on(case: Case, user: User) -> bool:
    """Whether `user` is a custody officer or supervisor of the case's force."""
    return user.is_force_staff and user.force_id == case.force_id


def may_be_case_officer(user: User, case: Case) -> bool:
    """Whether `user` may be given a case: an active officer or supervisor of its force."""
    return user.is_active and works_on(case, user)


def supervises(case: Case, user: User) -> bool:
    """Whether `user` is a supervisor of the case's force."""
    return user.is_force_supervisor and user.force_id == case.force_id


def case_actions_for(
    case: Case,
    user: User,
    *,
    decision: EligibilityDecision | None = None,
    offer: Offer | None = None,
) -> frozenset[str]:
    """`case_actions` for `user` and a case with its latest decision and offer (no queries:
    the caller passes what it has read; a decision or offer not given counts as none)."""
    return case_actions(
        case.status,
        staff=works_on(case, user),
        supervisor=supervises(case, user),
        decision_open=decision is not None and decision.overridden_at is None,
        offer_pending=offer is not None and offer.response == Offer.Response.PENDING,
    )


# The version of the eligibility rules below. Raise it, and say in RULES_CHANGES what changed,
# whenever a change could give a stored decision another answer or other reasons: each
# decision keeps the version that made it, and replaying it (cases/replay.py,
# `manage.py replay_decisions`) says which recorded change explains a difference. A
# difference no recorded change explains fails the replay.
RULES_VERSION = 2
RULES_CHANGES: dict[int, str] = {
    2: "Earlier diversions count by when they ended (completed or closed), back from the new "
    "offence over the look-back, not by the date of their offence. Decisions recorded before "
    "this did not keep when an earlier case ended, so their replay reads every earlier "
    "diversion as not yet ended.",
}


@dataclass(frozen=True)
class PolicyRules:
    """The parts of a force's scheme policy that eligibility needs."""

    version: int
    scheme_name: str
    drug_classes: frozenset[str]
    thresholds: dict[str, Decimal]
    minimum_age: int = 18
    max_offence_age_days: int | None = None
    requires_admission: bool = False
    requires_residence_in_area: bool = False
    excluded_circumstances: frozenset[str] = frozenset()
    lookback_days: int = 730
    max_previous_diversions: int = 0


@dataclass(frozen=True)
class DrugFound:
    code: str
    name: str
    drug_class: str
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class EarlierCase:
    """A case found in the system's own history for the same person."""

    offence_date: date
    force_name: str
    diverted: bool
    matched_by: str
    reference: str = ""  # blank when the case belongs to another force
    outcome: str = ""
    ended_on: date | None = None  # when it was completed or closed; None while it is open


@dataclass(frozen=True)
class EligibilityInputs:
    date_of_birth: date
    offence_date: date
    checked_on: date
    offence_type: str
    setting: str
    drugs: tuple[DrugFound, ...]
    admitted_offence: bool
    resides_in_force_area: bool
    previous_drug_conviction_or_caution: bool
    circumstances: frozenset[str] = frozenset()
    earlier_cases: tuple[EarlierCase, ...] = ()


@dataclass(frozen=True)
class Reason:
    rule: str
    passed: bool
    message: str


@dataclass(frozen=True)
class EligibilityResult:
    eligible: bool
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    def as_json(self) -> list[dict[str, object]]:
        return [asdict(reason) for reason in self.reasons]


def age_on(date_of_birth: date, day: date) -> int:
    """Age in whole years on `day`; a birthday on `day` counts (29 February: 1 March)."""
    had_birthday = (day.month, day.day) >= (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - (0 if had_birthday else 1)


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def check_eligibility(inputs: EligibilityInputs, policy: PolicyRules) -> EligibilityResult:
    """Apply every rule of `policy` and give a reason for each, passed or failed.

    Steps: age on the offence date; how old the offence is; offence type and setting; each
    drug's class and quantity; earlier drug convictions or cautions; earlier diversions in the
    look-back found in the system's history; the policy's other exclusions; residence;
    admission. The person is eligible only when every rule passes.
    """
    reasons: list[Reason] = []

    def add(rule: str, passed: bool, message: str) -> None:
        reasons.append(Reason(rule=rule, passed=passed, message=message))

    age = age_on(inputs.date_of_birth, inputs.offence_date)
    if inputs.offence_date > inputs.checked_on:
        add("offence_date", False, "The offence date is in the future.")
    if age >= policy.minimum_age:
        add("age", True, f"Aged {age} on the date of the offence: an adult under this scheme.")
    else:
        add(
            "age",
            False,
            f"Aged {age} on the date of the offence: the scheme is for people aged "
            f"{policy.minimum_age} or over. Refer to the youth diversion scheme instead.",
        )

    if policy.max_offence_age_days is not None:
        days = (inputs.checked_on - inputs.offence_date).days
        if days <= policy.max_offence_age_days:
            add(
                "offence_age",
                True,
                f"The offence was {days} days ago, within the scheme's limit of "
                f"{policy.max_offence_age_days} days.",
            )
        else:
            add(
                "offence_age",
                False,
                f"The offence was {days} days ago: the scheme only takes offences up to "
                f"{policy.max_offence_age_days} days old.",
            )

    if inputs.offence_type == "simple_possession":
        add("offence_type", True, "The offence is simple possession.")
    else:
        add(
            "offence_type",
            False,
            "Only simple possession can be diverted: possession with intent to supply, supply, "
            "production and importation go through the standard process.",
        )
    if inputs.setting == "none":
        add("setting", True, "No aggravating setting (prison or school).")
    else:
        place = "a prison" if inputs.setting == "prison" else "a school"
        add("setting", False, f"Possession in or near {place} is excluded from diversion.")

    if not inputs.drugs:
        add("drugs", False, "No drugs were recorded for the case.")
    covered = ", ".join(sorted(policy.drug_classes))
    for drug in inputs.drugs:
        if drug.drug_class not in policy.drug_classes:
            add(
                "drug_class",
                False,
                f"{drug.name} is class {drug.drug_class}; {policy.scheme_name} covers class "
                f"{covered} only.",
            )
            continue
        add("drug_class", True, f"{drug.name} is class {drug.drug_class}, which the scheme covers.")
        limit = policy.thresholds.get(drug.code)
        if limit is None:
            add(
                "quantity",
                False,
                f"The policy sets no personal-use amount for {drug.name}, so it cannot be "
                "diverted.",
            )
        elif drug.quantity <= limit:
            add(
                "quantity",
                True,
                f"{_quantity(drug.quantity)} {drug.unit} of {drug.name} is within the "
                f"personal-use amount of {_quantity(limit)} {drug.unit}.",
            )
        else:
            add(
                "quantity",
                False,
                f"{_quantity(drug.quantity)} {drug.unit} of {drug.name} is more than the "
                f"personal-use amount of {_quantity(limit)} {drug.unit}.",
            )

    if inputs.previous_drug_conviction_or_caution:
        add(
            "previous_record",
            False,
            "The PNC check shows an earlier conviction or caution for a drug offence.",
        )
    else:
        add("previous_record", True, "No earlier conviction or caution for a drug offence.")

    reasons.append(_earlier_diversions_reason(inputs, policy))

    present = sorted(inputs.circumstances & policy.excluded_circumstances)
    if present:
        for circumstance in present:
            label = Exclusion(circumstance).label.lower()
            add("exclusion", False, f"The scheme excludes cases with this circumstance: {label}.")
    elif policy.excluded_circumstances:
        add("exclusion", True, "None of the scheme's excluded circumstances apply.")

    if policy.requires_residence_in_area:
        if inputs.resides_in_force_area:
            add("residence", True, "Lives in the force area, as the scheme requires.")
        else:
            add("residence", False, "The scheme is only for people who live in the force area.")

    if policy.requires_admission:
        if inputs.admitted_offence:
            add("admission", True, "Admitted the offence, as the scheme requires.")
        else:
            add("admission", False, "The scheme requires the person to admit the offence.")

    return EligibilityResult(
        eligible=all(reason.passed for reason in reasons), reasons=tuple(reasons)
    )


def counts_as_earlier_diversion(
    earlier: EarlierCase, inputs: EligibilityInputs, policy: PolicyRules
) -> bool:
    """Whether `earlier` is a diversion that counts against the new offence.

    A diversion counts by when it ended (completed or closed), not by its offence: it counts
    when it ended within the policy's look-back before the new offence (the same day
    included, or later), and while it has not ended at all. A case whose offence came after
    the new one is not earlier.
    """
    if not earlier.diverted or earlier.offence_date > inputs.offence_date:
        return False
    if earlier.ended_on is None:
        return True  # still in progress
    return (inputs.offence_date - earlier.ended_on).days <= policy.lookback_days


def _earlier_described(earlier: EarlierCase) -> str:
    """ "TVP-000012 (Thames Valley Police) for an offence on 1 June 2025, ended on ..." """
    case = (
        f"{earlier.reference} ({earlier.force_name})"
        if earlier.reference
        else f"a {earlier.force_name} case"
    )
    ended = (
        "still in progress"
        if earlier.ended_on is None
        else f"ended on {_long_date(earlier.ended_on)}"
    )
    return f"{case} for an offence on {_long_date(earlier.offence_date)}, {ended}"


def _latest_ended_first(earlier: EarlierCase) -> tuple[bool, date]:
    return (earlier.ended_on is None, earlier.ended_on or earlier.offence_date)


def _earlier_diversions_reason(inputs: EligibilityInputs, policy: PolicyRules) -> Reason:
    """Count earlier diversions ended within the look-back before this offence, or still open,
    and say which counted and when each ended."""
    counted = sorted(
        (e for e in inputs.earlier_cases if counts_as_earlier_diversion(e, inputs, policy)),
        key=_latest_ended_first,
        reverse=True,
    )
    allowed = policy.max_previous_diversions
    window = f"ended in the {policy.lookback_days} days before this offence or not yet ended"
    if len(counted) > allowed:
        limit = "none are allowed" if allowed == 0 else f"at most {allowed} allowed"
        return Reason(
            "earlier_diversion",
            False,
            f"Found {_count(len(counted), 'earlier diversion')} {window} ({limit}): "
            + "; ".join(_earlier_described(earlier) for earlier in counted)
            + ".",
        )
    if inputs.earlier_cases:
        message = (
            f"Found {_count(len(inputs.earlier_cases), 'earlier case')} for this person, with "
            f"{_count(len(counted), 'diversion')} {window} ({allowed} allowed)"
        )
        if counted:
            message += ": " + "; ".join(_earlier_described(earlier) for earlier in counted)
        older = [
            earlier
            for earlier in inputs.earlier_cases
            if earlier.diverted
            and earlier.ended_on is not None
            and earlier not in counted
            and earlier.offence_date <= inputs.offence_date
        ]
        if older:
            latest = max(older, key=_latest_ended_first)
            days = (inputs.offence_date - latest.ended_on).days
            message += (
                f". Not counted: {_earlier_described(latest)}, {_count(days, 'day')} before "
                "this offence"
            )
        return Reason("earlier_diversion", True, message + ".")
    return Reason(
        "earlier_diversion", True, "No earlier cases or diversions found for this person."
    )


# --- Stored form --------------------------------------------------------------------------
# A decision stores its inputs and the history found as JSON; replaying it reads them back.
# Both directions are here, so what is stored is exactly what a replay gives the rules.


def inputs_as_json(inputs: EligibilityInputs) -> dict[str, Any]:
    """The facts the rules saw, as stored on a decision (without the history)."""
    return {
        "date_of_birth": inputs.date_of_birth.isoformat(),
        "offence_date": inputs.offence_date.isoformat(),
        "checked_on": inputs.checked_on.isoformat(),
        "offence_type": inputs.offence_type,
        "setting": inputs.setting,
        "drugs": [
            {
                "code": d.code,
                "name": d.name,
                "class": d.drug_class,
                "quantity": str(d.quantity),
                "unit": d.unit,
            }
            for d in inputs.drugs
        ],
        "admitted_offence": inputs.admitted_offence,
        "resides_in_force_area": inputs.resides_in_force_area,
        "previous_drug_conviction_or_caution": inputs.previous_drug_conviction_or_caution,
        "circumstances": sorted(inputs.circumstances),
    }


def history_as_json(earlier_cases: tuple[EarlierCase, ...]) -> list[dict[str, Any]]:
    """The earlier cases found, as stored on a decision."""
    return [
        {
            "offence_date": e.offence_date.isoformat(),
            "force": e.force_name,
            "reference": e.reference,
            "diverted": e.diverted,
            "outcome": e.outcome,
            "matched_by": e.matched_by,
            "ended_on": e.ended_on.isoformat() if e.ended_on else None,
        }
        for e in earlier_cases
    ]


def _date_or_none(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def inputs_from_json(inputs: dict[str, Any], history: list[dict[str, Any]]) -> EligibilityInputs:
    """The inputs a decision stored, read back as the rules take them."""
    return EligibilityInputs(
        date_of_birth=date.fromisoformat(inputs["date_of_birth"]),
        offence_date=date.fromisoformat(inputs["offence_date"]),
        checked_on=date.fromisoformat(inputs["checked_on"]),
        offence_type=inputs["offence_type"],
        setting=inputs["setting"],
        drugs=tuple(
            DrugFound(
                code=d["code"],
                name=d.get("name", d["code"]),
                drug_class=d["class"],
                quantity=Decimal(d["quantity"]),
                unit=d["unit"],
            )
            for d in inputs["drugs"]
        ),
        admitted_offence=inputs["admitted_offence"],
        resides_in_force_area=inputs["resides_in_force_area"],
        previous_drug_conviction_or_caution=inputs["previous_drug_conviction_or_caution"],
        circumstances=frozenset(inputs["circumstances"]),
        earlier_cases=tuple(
            EarlierCase(
                offence_date=date.fromisoformat(e["offence_date"]),
                force_name=e["force"],
                diverted=e["diverted"],
                matched_by=e["matched_by"],
                reference=e.get("reference", ""),
                outcome=e.get("outcome", ""),
                ended_on=_date_or_none(e.get("ended_on")),
            )
            for e in history
        ),
    )


def result_from_json(eligible: bool, reasons: list[dict[str, Any]]) -> EligibilityResult:
    """A stored decision's answer and reasons, read back."""
    return EligibilityResult(
        eligible=eligible,
        reasons=tuple(
            Reason(rule=r["rule"], passed=r["passed"], message=r["message"]) for r in reasons
        ),
    )
