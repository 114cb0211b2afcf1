"""The supervisor's decision on an escalation flagged by the deadline sweep (sweep.py).

Missing a deadline never prosecutes anyone by itself: a supervisor of the case's force decides,
with a recorded rationale, and a decided escalation cannot be decided again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from base.clock import end_of_day, london_date
from base.errors import DomainError, IllegalTransition
from cases.models import CaseOutcome, CaseStatus
from cases.rules import supervises
from cases.services import case_lock, case_transition
from escalations import rules
from escalations.models import Escalation
from programmes.models import Programme, Referral, ReferralStatus
from programmes.services import referral_lock, referral_open, referral_transition


def _long(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _status_before_flag(referral: Referral, escalation: Escalation) -> str:
    """The status the referral had when the sweep flagged it, to return to on an extension."""
    before = escalation.facts.get("referral_status", ReferralStatus.ACCEPTED)
    return (
        before
        if before in (ReferralStatus.NEW, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS)
        else ReferralStatus.ACCEPTED
    )


@dataclass(frozen=True)
class DecisionChecked:
    """A decision as escalation_decide would carry it out, for the check step before it.

    `state` stands for what the supervisor saw (escalation_state): escalation_decide refuses
    the decision, loudly, if it changed before they confirmed.
    """

    decision: str
    rationale: str
    new_deadline: date | None
    new_programme: Programme | None
    state: str
    moved_deadline: datetime | None = None  # an extension: the deadline it moves
    extensions_after: int = 0  # an extension: how many the referral will have had


def escalation_state(escalation: Escalation) -> str:
    """What a decision depends on, as one string: whether the escalation is still open, and the
    referral's programme, status, deadlines and extensions, and the case's status."""
    referral = escalation.referral
    return ":".join(
        str(part)
        for part in (
            escalation.pk,
            escalation.decided_at is None,
            referral.programme_id,
            referral.status,
            referral.first_appointment_due.isoformat(),
            referral.completion_due.isoformat(),
            referral.extensions,
            referral.case.status,
        )
    )


def escalation_decision_check(
    *,
    escalation: Escalation,
    by: User,
    decision: str,
    rationale: str,
    new_deadline: date | None = None,
    new_programme: Programme | None = None,
) -> DecisionChecked:
    """Check a decision exactly as escalation_decide will, writing nothing: for the check step
    (views.detail) and for escalation_decide itself, under its locks. Raises DomainError (or
    IllegalTransition) with the reason it would be refused."""
    rationale = rationale.strip()
    if decision not in Escalation.Decision.values:
        raise DomainError("Choose a decision.", field="decision")
    if not rationale:
        raise DomainError(
            "Give the rationale for the decision: it is kept on the record.", field="rationale"
        )
    if not by.is_force_supervisor:
        raise DomainError("Only a supervisor can decide an escalation.", code="forbidden")
    referral = escalation.referral
    if not supervises(referral.case, by):
        raise DomainError("Only a supervisor of the case's force can decide it.", code="forbidden")
    if decision not in rules.escalation_actions_for(escalation, by):
        if escalation.decided_at is not None:
            raise IllegalTransition(
                "This escalation was already decided "
                f"({escalation.get_decision_display().lower()}) by {escalation.decided_by} "
                f"on {_long(london_date(escalation.decided_at))}."
            )
        policy = referral.policy  # still open: an extension, and none is left
        raise DomainError(
            f"The scheme allows {policy.max_extensions} extension"
            f"{'s' if policy.max_extensions != 1 else ''} and this referral has had "
            f"{referral.extensions}: choose another decision.",
            field="decision",
        )
    moved = None
    if decision == Escalation.Decision.EXTEND:
        moved = _extension_checked(escalation, referral, new_deadline)
    else:
        new_deadline = None
    if decision == Escalation.Decision.RE_REFER:
        if new_programme is None:
            raise DomainError("Choose the programme to refer to.", field="new_programme")
        if new_programme.pk == referral.programme_id:
            raise DomainError(
                "Choose a different programme from the current one.", field="new_programme"
            )
    else:
        new_programme = None
    return DecisionChecked(
        decision=decision,
        rationale=rationale,
        new_deadline=new_deadline,
        new_programme=new_programme,
        state=escalation_state(escalation),
        moved_deadline=moved,
        extensions_after=referral.extensions + 1 if moved else referral.extensions,
    )


STALE = (
    "The case changed since you checked this decision (another supervisor, the provider or the "
    "sweep acted on it): read the escalation again and make the decision afresh."
)


def escalation_decide(
    *,
    escalation: Escalation,
    by: User,
    decision: str,
    rationale: str,
    new_deadline: date | None = None,
    new_programme: Programme | None = None,
    state_seen: str | None = None,
) -> Escalation:
    """Record a supervisor's decision and carry it out on the referral and the case.

    Withdrawing the referral cancels its future appointments and tells its provider
    (programmes.services.referral_transition), with what rules.PROVIDER_TOLD says.

    - prosecute: the referral is withdrawn and the case closes as referred for prosecution;
    - extend: the deadline that was missed moves to the end of `new_deadline` (in the future,
      after the current one, within the policy's number of extensions); the referral returns
      to where it was and the case to the programme;
    - re_refer: the referral is withdrawn and a new one opens to `new_programme`;
    - no_further_action: the referral is withdrawn and the case closes.

    `state_seen`: the escalation_state the supervisor checked the decision against (the
    page's check step); when given and the state is no longer that, the decision is refused.
    """
    if not by.is_force_supervisor:
        raise DomainError("Only a supervisor can decide an escalation.", code="forbidden")
    with transaction.atomic():
        escalation = (
            Escalation.objects.select_for_update(of=("self",))
            .select_related("referral__case", "decided_by")
            .get(pk=escalation.pk)
        )
        referral = escalation.referral = referral_lock(escalation.referral)
        if state_seen is not None and escalation.decided_at is None:
            if escalation_state(escalation) != state_seen:
                raise DomainError(STALE, code="stale")
        checked = escalation_decision_check(
            escalation=escalation,
            by=by,
            decision=decision,
            rationale=rationale,
            new_deadline=new_deadline,
            new_programme=new_programme,
        )
        rationale = checked.rationale
        case = case_lock(referral.case)
        reason = f"{Escalation.Decision(decision).label}: {rationale}"
        if decision == Escalation.Decision.EXTEND:
            _extend(escalation, referral, case, by=by, due=checked.moved_deadline, reason=reason)
        elif decision == Escalation.Decision.RE_REFER:
            referral_transition(
                referral=referral,
                to=ReferralStatus.WITHDRAWN,
                by=by,
                reason=reason,
                end_reason=rules.PROVIDER_TOLD[decision],
            )
            referral_open(case=case, programme=new_programme, policy=referral.policy, by=by)
            case_transition(case=case, to=CaseStatus.REFERRED, by=by, reason=reason)
            escalation.new_programme = new_programme
        else:
            outcome = (
                CaseOutcome.PROSECUTION
                if decision == Escalation.Decision.PROSECUTE
                else CaseOutcome.NO_FURTHER_ACTION
            )
            referral_transition(
                referral=referral,
                to=ReferralStatus.WITHDRAWN,
                by=by,
                reason=reason,
                end_reason=rules.PROVIDER_TOLD[decision],
            )
            case_transition(case=case, to=CaseStatus.CLOSED, by=by, reason=reason, outcome=outcome)
        escalation.decision = decision
        escalation.rationale = rationale
        escalation.decided_by = by
        escalation.decided_at = timezone.now()
        escalation.save()
        audit_record(
            user=by,
            action="change",
            obj=escalation,
            person_id=case.person_id,
            changes={"after": {"decision": decision, "referral": referral.reference}},
            reason=rationale,
        )
    return escalation


def _extension_checked(
    escalation: Escalation, referral: Referral, new_deadline: date | None
) -> datetime:
    """The deadline an extension to `new_deadline` sets (its end of day), once checked: a
    date in the future, after the latest deadline the extension moves."""
    if new_deadline is None:
        raise DomainError("Enter the new deadline.", field="new_deadline")
    current = max(_moved_deadlines(escalation, referral))
    due = end_of_day(new_deadline)
    if new_deadline <= london_date(timezone.now()):
        raise DomainError("The new deadline must be a date in the future.", field="new_deadline")
    if due <= current:
        raise DomainError(
            f"The new deadline must be after the current one ({_long(london_date(current))}).",
            field="new_deadline",
        )
    return due


def _moves(escalation: Escalation) -> tuple[bool, bool]:
    """Which deadlines an extension moves: (first appointment, completion).

    Every deadline the sweep found missed moves to the new date; absences before this
    decision no longer count (see sweep.py), so an absence escalation moves completion."""
    fired = set(escalation.facts.get("rules_fired", [escalation.rule]))
    moves_first = Escalation.Rule.FIRST_APPOINTMENT_MISSED in fired
    moves_completion = not moves_first or Escalation.Rule.COMPLETION_MISSED in fired
    return moves_first, moves_completion


def _moved_deadlines(escalation: Escalation, referral: Referral) -> list[datetime]:
    moves_first, moves_completion = _moves(escalation)
    moved = [referral.first_appointment_due] if moves_first else []
    return moved + ([referral.completion_due] if moves_completion else [])


def _extend(escalation, referral, case, *, by: User, due: datetime, reason: str):
    """Move the missed deadline to `due` (checked by _extension_checked) and put the referral
    and case back in the programme."""
    moves_first, moves_completion = _moves(escalation)
    if moves_first:
        referral.first_appointment_due = due
    if moves_completion or due > referral.completion_due:
        referral.completion_due = due
    referral.extensions += 1
    referral.save(update_fields=["first_appointment_due", "completion_due", "extensions"])
    escalation.new_deadline = due
    back_to = _status_before_flag(referral, escalation)
    referral_transition(referral=referral, to=back_to, by=by, reason=reason)
    case_back = CaseStatus.REFERRED if back_to == ReferralStatus.NEW else CaseStatus.IN_PROGRAMME
    case_transition(case=case, to=case_back, by=by, reason=reason)
