"""Writes for referrals: each one transaction, with history and audit rows."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.services import audit_record
from cases.errors import DomainError, IllegalTransition
from cases.models import Case, CaseStatus
from cases.services import _locked, case_transition, next_reference
from programmes.models import Programme, Referral, ReferralStatus, ReferralStatusChange
from programmes.rules import compute_deadlines, london_date


def referral_create(*, case: Case, programme: Programme, by: User) -> Referral:
    """Refer a case whose offer was accepted to a programme serving its force.

    The deadlines come from the policy version that decided eligibility, counted from the
    offence or the referral as that policy says, in Europe/London working days.
    """
    if by.role not in (Role.CUSTODY_OFFICER, Role.SUPERVISOR) or by.force_id != case.force_id:
        raise DomainError("Only the case's force can refer it to a programme.", code="forbidden")
    with transaction.atomic():
        case = _locked(case)
        if case.status != CaseStatus.ACCEPTED:
            raise IllegalTransition(
                f"Case {case.reference} is {case.get_status_display().lower()}: only a case "
                "whose offer was accepted can be referred."
            )
        if not programme.is_active or not programme.forces_served.filter(pk=case.force_id).exists():
            raise DomainError(
                f"{programme.name} does not take referrals from {case.force.name}: choose one "
                "of the programmes listed.",
                field="programme",
            )
        decision = case.eligibility_decisions.select_related("policy").latest()
        policy = decision.policy
        now = timezone.now()
        deadlines = compute_deadlines(
            referred_on=london_date(now),
            offence_date=case.offence_date,
            counted_from=policy.deadlines_from,
            first_appointment_working_days=policy.first_appointment_working_days,
            completion_days=policy.completion_days,
        )
        referral = Referral.objects.create(
            reference=next_reference("R", "referral_reference_seq"),
            case=case,
            programme=programme,
            policy=policy,
            first_appointment_due=deadlines.first_appointment_due,
            completion_due=deadlines.completion_due,
            referred_by=by,
        )
        ReferralStatusChange.objects.create(
            referral=referral, from_status="", to_status=ReferralStatus.NEW, changed_by=by
        )
        case_transition(
            case=case, to=CaseStatus.REFERRED, by=by, reason=f"Referred to {programme.name}"
        )
        audit_record(
            user=by,
            action="create",
            obj=referral,
            object_id=referral.reference,
            person_id=case.person_id,
            changes={
                "after": {
                    "case": case.reference,
                    "programme": programme.name,
                    "first_appointment_due": deadlines.first_appointment_due.isoformat(),
                    "completion_due": deadlines.completion_due.isoformat(),
                }
            },
        )
    return referral
