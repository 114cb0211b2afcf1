"""Writes: every change to a person or a case, each one transaction, history and audit row.

Views and the API call these and nothing else to change data. Each checks the case's current
state, raises DomainError (or IllegalTransition) when the rules refuse, and records who did
it and why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import dateformat, timezone

from accounts.models import User
from audit.services import audit_record, audit_rows
from base.clock import london_date
from base.errors import DomainError, IllegalTransition
from base.sql import Statement
from cases import person_details, rules
from cases.models import (
    Assignment,
    Case,
    CaseAssignment,
    CaseDrug,
    CaseOutcome,
    CaseStatus,
    CaseStatusChange,
    ContactPreference,
    Correction,
    Drug,
    EligibilityDecision,
    Offer,
    Person,
    SchemePolicy,
    StatusChange,
)
from cases.selectors import earlier_cases_for

PERSON_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "pnc_id",
    "email",
    "phone",
    "contact_preference",
    "address",
    "postcode",
    "preferred_language",
    "access_needs",
    "interpreter_language",
    "ethnicity",
    "sex",
)

DUPLICATE_PNC_ID = (
    "A person with this PNC ID already exists: find them instead of adding them again."
)


def next_reference(prefix: str, sequence: str) -> str:
    """A new human-readable reference such as TVP-000123 from a database sequence."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [sequence])
        (number,) = cursor.fetchone()
    return f"{prefix}-{number:06d}"


def _require_force_role(user: User, action: str) -> None:
    if not user.is_force_staff:
        raise DomainError(
            f"Only a force's custody officers and supervisors can {action}.", code="forbidden"
        )


def _require_case_staff(user: User, case: Case, action: str) -> None:
    if not rules.works_on(case, user):
        raise DomainError(
            f"Only a force's custody officers and supervisors can {action}.", code="forbidden"
        )


def _full_clean(obj: Any, *, exclude: Sequence[str] = ()) -> None:
    """Validate a model, turning Django's errors into a DomainError for the first field."""
    try:
        obj.full_clean(exclude=list(exclude))
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from error


def validate_date_of_birth(date_of_birth: date, *, today: date | None = None) -> None:
    """Refuse a date of birth that cannot be a living person's."""
    today = today or london_date(timezone.now())
    if date_of_birth > today:
        raise DomainError("Date of birth must be in the past.", field="date_of_birth")
    if date_of_birth.year < today.year - 120:
        raise DomainError(
            "Date of birth must be within the last 120 years: check the year.",
            field="date_of_birth",
        )


def _validate_person(person: Person) -> None:
    """What a person's details must satisfy, when added and when corrected."""
    validate_date_of_birth(person.date_of_birth)
    # Reminders go by the person's preferred channel, so it must be one they gave; someone
    # with neither a phone nor an email can still be recorded (and gets no reminders).
    if person.email or person.phone:
        if person.contact_preference == ContactPreference.EMAIL and not person.email:
            raise DomainError(
                "Enter an email address, or choose text message for reminders", field="email"
            )
        if person.contact_preference == ContactPreference.SMS and not person.phone:
            raise DomainError(
                "Enter a mobile phone number, or choose email for reminders", field="phone"
            )
    _full_clean(person, exclude=["name_key"])


def _stored_details(fields: dict[str, Any]) -> dict[str, Any]:
    """The phone number, postcode, email address and PNC ID among `fields` in their stored
    forms (cases/person_details.py), or a DomainError on the first that is not well formed."""
    if "pnc_id" in fields and fields["pnc_id"] is None:
        fields = {**fields, "pnc_id": ""}
    try:
        return person_details.normalised(fields)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise DomainError(messages[0], field=field) from error


def person_create(*, by: User, **fields: Any) -> Person:
    """Create a person: names exactly as typed (accents, apostrophes and hyphens kept), the
    phone number, postcode, email address and PNC ID in their stored forms (person_details)."""
    _require_force_role(by, "add a person")
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise DomainError(f"Unknown person fields: {', '.join(sorted(unknown))}.")
    fields = _stored_details(fields)
    person = Person(**fields, created_by=by)
    if person.pnc_id and Person.objects.filter(pnc_id=person.pnc_id).exists():
        raise DomainError(DUPLICATE_PNC_ID, field="pnc_id")
    _validate_person(person)
    with transaction.atomic():
        try:
            with transaction.atomic():
                person.save()
        except IntegrityError as error:  # another officer saved the same PNC ID just now
            raise DomainError(DUPLICATE_PNC_ID, field="pnc_id") from error
        audit_record(
            user=by,
            action="create",
            obj=person,
            person_id=person.pk,
            # Which fields were given, not their values: the audit log is kept longer than
            # personal data, and must not become a second copy of it.
            changes={"fields": sorted(name for name in PERSON_FIELDS if fields.get(name))},
        )
    return person


@dataclass(frozen=True)
class DrugQuantity:
    drug: Drug
    quantity: Decimal


def _validate_offence(offence_date: date, date_of_birth: date) -> None:
    if offence_date > london_date(timezone.now()):
        raise DomainError("The offence date must be today or in the past.", field="offence_date")
    if offence_date < date_of_birth:
        raise DomainError(
            "The offence date is before the person's date of birth.", field="offence_date"
        )


def _validate_drugs(drugs: Sequence[DrugQuantity]) -> None:
    if not drugs:
        raise DomainError("Record at least one drug found.", field="drugs")
    seen = set()
    for item in drugs:
        if item.quantity is None or item.quantity <= 0:
            raise DomainError(
                f"The quantity of {item.drug.name} must be more than 0.", field="drugs"
            )
        if item.drug.pk in seen:
            raise DomainError(
                f"{item.drug.name} is listed twice: give its total quantity once.", field="drugs"
            )
        seen.add(item.drug.pk)


def case_create(
    *,
    by: User,
    person: Person,
    custody_record_number: str,
    offence_date: date,
    drugs: Sequence[DrugQuantity],
    admitted_offence: bool,
    previous_drug_conviction_or_caution: bool,
    offence_type: str = "simple_possession",
    setting: str = "none",
    resides_in_force_area: bool = True,
    circumstances: Sequence[str] = (),
    crime_reference: str = "",
) -> Case:
    """Log a possession case for `person` in the officer's own force."""
    _require_force_role(by, "log a case")
    custody_record_number = custody_record_number.strip().upper()
    _validate_offence(offence_date, person.date_of_birth)
    _validate_drugs(drugs)
    case = Case(
        force_id=by.force_id,
        person=person,
        custody_record_number=custody_record_number,
        crime_reference=crime_reference.strip().upper(),
        offence_date=offence_date,
        offence_type=offence_type,
        setting=setting,
        admitted_offence=admitted_offence,
        resides_in_force_area=resides_in_force_area,
        previous_drug_conviction_or_caution=previous_drug_conviction_or_caution,
        circumstances=sorted(set(circumstances)),
        created_by=by,
    )
    _full_clean(case, exclude=["reference", "created_by", "person", "force"])
    with transaction.atomic():
        # Lock the person: retention (retention/anonymise.py) may be erasing them right now.
        if (
            not Person.objects.select_for_update()
            .filter(pk=person.pk, anonymised_at__isnull=True)
            .exists()
        ):
            raise DomainError("This person's record was erased: add them again.", field="person")
        case.reference = next_reference(by.force.code, "case_reference_seq")
        try:
            with transaction.atomic():
                case.save()
        except IntegrityError as error:  # custody_record_unique_in_force, checked by PostgreSQL
            raise DomainError(
                f"Custody record {custody_record_number} already has a case in this force.",
                field="custody_record_number",
            ) from error
        CaseDrug.objects.bulk_create(
            CaseDrug(case=case, drug=item.drug, quantity=item.quantity) for item in drugs
        )
        CaseStatusChange.objects.create(
            case=case, from_status="", to_status=CaseStatus.LOGGED, changed_by=by
        )
        audit_record(
            user=by,
            action="create",
            obj=case,
            object_id=case.reference,
            person_id=person.pk,
            changes={
                "after": {
                    "offence_date": offence_date.isoformat(),
                    "offence_type": offence_type,
                    "drugs": [f"{item.drug.code}:{item.quantity}" for item in drugs],
                }
            },
        )
    return case


def case_lock(case: Case) -> Case:
    """Re-read the case under a row lock, so two transitions cannot interleave."""
    return Case.objects.select_for_update().select_related("person", "force").get(pk=case.pk)


def case_transition(
    *,
    case: Case,
    to: str,
    by: User | None,
    reason: str = "",
    outcome: str = "",
    home_office_outcome: int | None = None,
) -> Case:
    """Move a locked case to `to`, writing the history row. Call inside transaction.atomic."""
    if not rules.can_transition(case.status, to):
        raise IllegalTransition(
            f"Case {case.reference} is {case.get_status_display().lower()}; it cannot move to "
            f"“{CaseStatus(to).label.lower()}” from there."
        )
    previous = case.status
    case.status = to
    if to == CaseStatus.CLOSED:
        case.outcome = outcome
        case.closed_at = timezone.now()
        case.home_office_outcome = home_office_outcome
    case.save(update_fields=["status", "outcome", "closed_at", "home_office_outcome", "updated_at"])
    transition_record(
        history=CaseStatusChange,
        obj=case,
        person_id=case.person_id,
        from_status=previous,
        to=to,
        by=by,
        reason=reason,
        after={"outcome": outcome},
    )
    return case


def case_transition_many(
    statement: Statement,
    *,
    moves: str,
    to: str,
    by: User | None,
    at: datetime,
    audit: bool = True,
) -> str:
    """The set-based form of case_transition, as steps of `statement`.

    Every case in `moves` (a step with id, from_status and reason) that is still in
    from_status, and may move to `to`, moves there: one UPDATE, one INSERT of history rows and
    (unless `audit` is false) one of audit rows, the same rows case_transition writes for one.
    Closing takes an outcome per case, so it is done one case at a time. Returns the step
    listing the cases moved.
    """
    if to == CaseStatus.CLOSED:
        raise ValueError("Close cases one at a time with case_transition: each needs its outcome.")
    moved = statement.add(
        "case_moved",
        f"""
        UPDATE cases_case c SET status = %(case_to)s, updated_at = %(case_at)s
        FROM {moves} m
        WHERE c.id = m.id AND c.status = m.from_status AND m.from_status IN %(case_may_move)s
        RETURNING c.id, c.reference, c.person_id, m.from_status, m.reason,
                  jsonb_build_object('outcome', c.outcome) AS audit_after
        """,  # noqa: S608 (step names and constants, no input)
        case_to=to,
        case_at=at,
        case_may_move=tuple(s for s in CaseStatus.values if rules.can_transition(s, to)),
    )
    transition_rows(
        statement, history=CaseStatusChange, moved=moved, to=to, by=by, at=at, audit=audit
    )
    return moved


# --- What every transition writes ---------------------------------------------------------


def _changed_object(history: type[StatusChange]) -> Any:
    """The field of a history model naming the object that changed (its case, its referral)."""
    return next(
        f for f in history._meta.concrete_fields if f.is_relation and f.name != "changed_by"
    )


def transition_rows(
    statement: Statement,
    *,
    history: type[StatusChange],
    moved: str,
    to: str,
    by: User | None,
    at: datetime,
    audit: bool = True,
) -> None:
    """The history row and the audit row of each object in `moved` that moved to `to`, as
    steps of `statement`: what every status transition writes, of a case or a referral, one
    at a time or set-based.

    `history` is the model of the object's history (a StatusChange); `moved`, a step with the
    columns id, reference, person_id, from_status, reason and audit_after (a JSON object added
    to the audit row's "after", beside the status).
    """
    link = _changed_object(history)
    name = link.name
    statement.add(
        f"{name}_history",
        f"""
        INSERT INTO {history._meta.db_table}
            ({link.column}, from_status, to_status, reason, changed_by_id, changed_at)
        SELECT m.id, m.from_status, %({name}_to)s, m.reason, %({name}_by)s, %({name}_at)s
        FROM {moved} m
        """,  # noqa: S608 (step names and model metadata, no input)
        **{
            f"{name}_to": to,
            f"{name}_by": by.pk if by is not None else None,
            f"{name}_at": at,
            f"{name}_type": link.related_model._meta.label_lower,
        },
    )
    if audit:
        audit_rows(
            statement,
            name=f"{name}_audit",
            rows=f"""
            SELECT 'change' AS action, %({name}_type)s AS object_type, m.reference AS object_id,
                   m.person_id,
                   jsonb_build_object(
                       'before', jsonb_build_object('status', m.from_status),
                       'after', jsonb_build_object('status', %({name}_to)s::text) || m.audit_after
                   ) AS changes,
                   m.reason
            FROM {moved} m
            """,  # noqa: S608 (step names and model metadata, no input)
            user=by,
            at=at,
        )


def transition_record(
    *,
    history: type[StatusChange],
    obj: Any,
    person_id: int | None,
    from_status: str,
    to: str,
    by: User | None,
    reason: str,
    after: dict[str, Any] | None = None,
) -> None:
    """The history row and the audit row of one object's transition (transition_rows for one),
    in one statement. `obj` is the case or referral, with its pk and reference."""
    name = _changed_object(history).name
    statement = Statement()
    moved = statement.add(
        f"{name}_moved",
        f"""
        SELECT %({name}_id)s::bigint AS id, %({name}_reference)s::text AS reference,
               %({name}_person_id)s::bigint AS person_id, %({name}_from)s::text AS from_status,
               %({name}_reason)s::text AS reason, %({name}_after)s::jsonb AS audit_after
        """,
        **{
            f"{name}_id": obj.pk,
            f"{name}_reference": obj.reference,
            f"{name}_person_id": person_id,
            f"{name}_from": from_status,
            f"{name}_reason": reason,
            f"{name}_after": json.dumps(after or {}),
        },
    )
    transition_rows(statement, history=history, moved=moved, to=to, by=by, at=timezone.now())
    statement.run()


def policy_rules(policy: SchemePolicy) -> rules.PolicyRules:
    """The plain-value view of a stored policy version that the rules take."""
    return rules.PolicyRules(
        version=policy.version,
        scheme_name=policy.scheme_name,
        drug_classes=frozenset(policy.drug_classes),
        thresholds={code: Decimal(str(v)) for code, v in policy.personal_use_thresholds.items()},
        minimum_age=policy.minimum_age,
        max_offence_age_days=policy.max_offence_age_days,
        requires_admission=policy.requires_admission,
        requires_residence_in_area=policy.requires_residence_in_area,
        excluded_circumstances=frozenset(policy.excluded_circumstances),
        lookback_days=policy.lookback_days,
        max_previous_diversions=policy.max_previous_diversions,
    )


def eligibility_inputs(case: Case, *, checked_on: date) -> rules.EligibilityInputs:
    """Gather what the rules need about a case, including the person's history."""
    return rules.EligibilityInputs(
        date_of_birth=case.person.date_of_birth,
        offence_date=case.offence_date,
        checked_on=checked_on,
        offence_type=case.offence_type,
        setting=case.setting,
        drugs=tuple(
            rules.DrugFound(
                code=item.drug.code,
                name=item.drug.name,
                drug_class=item.drug.drug_class,
                quantity=item.quantity,
                unit=item.drug.unit,
            )
            for item in case.drugs.select_related("drug").order_by("drug__name")
        ),
        admitted_offence=case.admitted_offence,
        resides_in_force_area=case.resides_in_force_area,
        previous_drug_conviction_or_caution=case.previous_drug_conviction_or_caution,
        circumstances=frozenset(case.circumstances),
        earlier_cases=tuple(earlier_cases_for(case=case)),
    )


def eligibility_check(*, case: Case, by: User) -> EligibilityDecision:
    """Run the force's current policy on the case and record the decision with every reason."""
    _require_case_staff(by, case, "run an eligibility check")
    with transaction.atomic():
        case = case_lock(case)
        policy = case.force.current_policy()
        if policy is None:
            raise DomainError(
                f"{case.force.name} has no scheme policy yet: an administrator must add one "
                "before cases can be checked.",
                code="no_policy",
            )
        if rules.CHECK not in rules.case_actions_for(case, by):
            raise IllegalTransition(
                f"Case {case.reference} is {case.get_status_display().lower()}: eligibility can "
                "only be checked before the offer is made."
            )
        inputs = eligibility_inputs(case, checked_on=london_date(timezone.now()))
        result = rules.check_eligibility(inputs, policy_rules(policy))
        decision = EligibilityDecision.objects.create(
            case=case,
            policy=policy,
            eligible=result.eligible,
            inputs=rules.inputs_as_json(inputs),
            reasons=result.as_json(),
            history=rules.history_as_json(inputs.earlier_cases),
            rules_version=rules.RULES_VERSION,
            decided_by=by,
        )
        audit_record(
            user=by,
            action="create",
            obj=decision,
            person_id=case.person_id,
            changes={"after": {"eligible": result.eligible, "policy_version": policy.version}},
        )
        to = CaseStatus.ELIGIBLE if result.eligible else CaseStatus.INELIGIBLE
        case_transition(
            case=case,
            to=to,
            by=by,
            reason=f"Eligibility checked under {policy.scheme_name} version {policy.version}",
        )
    return decision


def case_offer_state(case: Case) -> str:
    """What recording an answer to the offer depends on, as one string: the case's status, its
    latest eligibility decision and the offer awaiting an answer, if any."""
    pending = case.offers.filter(response=Offer.Response.PENDING).values_list("pk", flat=True)
    return f"{case_close_state(case)}:{pending.first() or ''}"


OFFER_STALE = (
    "The case changed since you checked the answer (its eligibility was checked again, or "
    "someone else recorded the offer): read the case again before recording it."
)


def offer_record(
    *,
    case: Case,
    by: User,
    response: str,
    consent_given: bool,
    offered_at: datetime | None = None,
    notes: str = "",
    state_seen: str | None = None,
) -> Offer:
    """Record the offer of diversion and the person's answer.

    Accepting needs the person's consent; declining closes the case for the standard process;
    an answer not yet given leaves the case offered, to be answered later. `state_seen`: the
    case_offer_state the officer checked the answer against (the page's check step before a
    refusal closes the case); when given and the case is no longer in it, nothing is recorded.
    """
    _require_case_staff(by, case, "record an offer")
    if response not in Offer.Response.values:
        raise DomainError("Choose the person's answer to the offer.", field="response")
    if response == Offer.Response.ACCEPTED and not consent_given:
        raise DomainError(
            "The person must consent to take part before the offer can be accepted.",
            field="consent_given",
        )
    now = timezone.now()
    offered_at = offered_at or now
    if offered_at > now:
        raise DomainError("The offer cannot be recorded in the future.", field="offered_at")
    with transaction.atomic():
        case = case_lock(case)
        pending = case.offers.filter(response=Offer.Response.PENDING).first()
        if rules.OFFER not in rules.case_actions_for(case, by, offer=pending):
            raise IllegalTransition(
                f"Case {case.reference} is {case.get_status_display().lower()}: an offer can "
                "only be made to an eligible person."
            )
        if state_seen is not None and case_offer_state(case) != state_seen:
            raise DomainError(OFFER_STALE, code="stale")
        if case.status == CaseStatus.OFFERED:
            offer = pending  # the answer to the offer already made
        else:
            offer = Offer(case=case, offered_at=offered_at, offered_by=by)
        offer.response = response
        offer.consent_given = consent_given
        offer.notes = notes
        offer.responded_at = None if response == Offer.Response.PENDING else now
        offer.save()
        if case.status != CaseStatus.OFFERED:
            case_transition(case=case, to=CaseStatus.OFFERED, by=by, reason="Offer made")
        audit_record(
            user=by,
            action="change" if pending else "create",
            obj=offer,
            person_id=case.person_id,
            changes={"after": {"response": response, "consent_given": consent_given}},
        )
        if response == Offer.Response.ACCEPTED:
            case_transition(case=case, to=CaseStatus.ACCEPTED, by=by, reason="Offer accepted")
        elif response == Offer.Response.DECLINED:
            case_transition(
                case=case,
                to=CaseStatus.CLOSED,
                by=by,
                reason="Offer declined: the case goes to the standard process",
                outcome=CaseOutcome.STANDARD_PROCESS,
            )
    return offer


def case_close_state(case: Case) -> str:
    """What closing a case depends on, as one string: its status and its latest eligibility
    decision (a new check or an override since the closing was checked makes it stale)."""
    decision = case.eligibility_decisions.only("pk", "overridden_at").first()
    return ":".join(
        str(part)
        for part in (
            case.pk,
            case.status,
            decision.pk if decision else "",
            decision.overridden_at.isoformat() if decision and decision.overridden_at else "",
        )
    )


CLOSE_STALE = (
    "The case changed since you checked the closing (its eligibility was checked again or "
    "overridden): read the case again before closing it."
)


def case_close_ineligible(
    *, case: Case, by: User, reason: str = "", state_seen: str | None = None
) -> Case:
    """Close a case found not eligible, so it goes through the standard process.

    `state_seen`: the case_close_state the officer checked the closing against (the page's
    check step); when given and the case is no longer in that state, closing is refused.
    """
    _require_case_staff(by, case, "close a case")
    with transaction.atomic():
        case = case_lock(case)
        if rules.CLOSE not in rules.case_actions_for(case, by):
            raise IllegalTransition(
                f"Case {case.reference} is {case.get_status_display().lower()}: only a case "
                "found not eligible can be closed for the standard process."
            )
        if state_seen is not None and case_close_state(case) != state_seen:
            raise DomainError(CLOSE_STALE, code="stale")
        return case_transition(
            case=case,
            to=CaseStatus.CLOSED,
            by=by,
            reason=reason or "Not eligible: standard process",
            outcome=CaseOutcome.STANDARD_PROCESS,
        )


def eligibility_override(*, case: Case, by: User, reason: str) -> EligibilityDecision:
    """A supervisor reverses the latest eligibility decision, with a recorded reason.

    Only before the offer is made: an eligible person becomes not eligible, or the other way
    round, and the case follows. The rules' own result stays on the decision beside it.
    """
    reason = reason.strip()
    if not rules.supervises(case, by):
        raise DomainError(
            "Only a supervisor of the case's force can override eligibility.", code="forbidden"
        )
    if not reason:
        raise DomainError(
            "Give the reason for overriding the decision: it is kept on the record.", field="reason"
        )
    with transaction.atomic():
        case = case_lock(case)
        decision = case.eligibility_decisions.select_for_update().first()
        actions = rules.case_actions_for(case, by, decision=decision)
        if rules.OVERRIDE not in actions:
            if (
                decision is not None
                and decision.overridden_at is not None
                and rules.CHECK in actions
            ):
                raise IllegalTransition(
                    "This decision was already overridden: run the check again for a new decision."
                )
            raise IllegalTransition(
                f"Case {case.reference} is {case.get_status_display().lower()}: eligibility "
                "can only be overridden after a check and before the offer."
            )
        decision.overridden_by = by
        decision.override_reason = reason
        decision.overridden_at = timezone.now()
        decision.save(update_fields=["overridden_by", "override_reason", "overridden_at"])
        audit_record(
            user=by,
            action="change",
            obj=decision,
            person_id=case.person_id,
            changes={
                "before": {"eligible": decision.eligible},
                "after": {"eligible": decision.outcome},
            },
            reason=reason,
        )
        case_transition(
            case=case,
            to=CaseStatus.ELIGIBLE if decision.outcome else CaseStatus.INELIGIBLE,
            by=by,
            reason=f"Eligibility overridden by a supervisor: {reason}",
        )
    return decision


def case_officer_refused(case: Case) -> DomainError:
    """The refusal of an officer who is not active staff of the case's force."""
    return DomainError(
        f"Choose an officer of {case.force.name}: only its custody officers and supervisors "
        "can be given its cases.",
        field="assigned_to",
    )


def case_assign(*, case: Case, by: User, to: User | None) -> Case:
    """Give a case not yet closed to an officer of its force, or to nobody (`to` None).

    Each change adds a row to the assignment history; giving the case to the officer it
    already has changes nothing.
    """
    _require_case_staff(by, case, "give a case to an officer")
    if to is not None and not rules.may_be_case_officer(to, case):
        raise case_officer_refused(case)
    with transaction.atomic():
        case = case_lock(case)
        if rules.ASSIGN not in rules.case_actions_for(case, by):
            raise IllegalTransition(
                f"Case {case.reference} is closed: it is no longer given to an officer."
            )
        assignment_record(history=CaseAssignment, obj=case, person_id=case.person_id, to=to, by=by)
    return case


def assignment_record(
    *, history: type[Assignment], obj: Any, person_id: int, to: User | None, by: User
) -> None:
    """Give a locked case or referral (`obj`, with `assigned_to` and a reference) to `to`: the
    record, its history row (`history`) and the audit row. Giving it to whoever has it already
    writes nothing. Call inside transaction.atomic."""
    before = obj.assigned_to_id
    after = to.pk if to is not None else None
    if before == after:
        return
    obj.assigned_to = to
    obj.save(update_fields=["assigned_to", "updated_at"])
    history.objects.create(**{obj._meta.model_name: obj}, assigned_to=to, assigned_by=by)
    audit_record(
        user=by,
        action="change",
        obj=obj,
        object_id=obj.reference,
        person_id=person_id,
        changes={"before": {"assigned_to": before}, "after": {"assigned_to": after}},
    )


# --- Corrections ---------------------------------------------------------------------------

CASE_FIELDS = (
    "custody_record_number",
    "crime_reference",
    "offence_date",
    "offence_type",
    "setting",
    "admitted_offence",
    "resides_in_force_area",
    "previous_drug_conviction_or_caution",
    "circumstances",
)
NOTHING_CHANGED = "Nothing was changed: change the details that are wrong, or go back."


class RecordChanged(IllegalTransition):
    """The record changed after the form was shown, so a correction would overwrite someone
    else's: nothing was saved."""

    def __init__(self) -> None:
        DomainError.__init__(
            self,
            "Someone else changed these details while you were correcting them, so nothing was "
            "saved. The details below are as they are now: make your correction again.",
            code="record_changed",
        )


def version_of(record: Person | Case) -> str:
    """The version of a record as shown in a form; a correction sent with an older one is
    refused (RecordChanged). The time of its last change, to the microsecond."""
    return record.updated_at.isoformat()


def _as_text(record: Any, name: str, value: Any) -> str:
    """A value as the history shows it: labels for choices, dates in words, Yes or No."""
    if value is None or value == "" or value == []:
        return "(none)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return dateformat.format(value, "j F Y")
    model_field = record._meta.get_field(name)
    choices = dict(getattr(model_field, "base_field", model_field).flatchoices)
    if isinstance(value, list):
        return ", ".join(str(choices.get(item, item)) for item in value)
    return str(choices.get(value, value))


# What the pages call the fields whose model names say less.
LABELS = {
    "given_name": "First name",
    "family_name": "Last name",
    "pnc_id": "PNC ID",
    "phone": "Mobile phone number",
    "email": "Email address",
    "contact_preference": "Reminders by",
    "admitted_offence": "Admitted the offence",
    "previous_drug_conviction_or_caution": "Earlier drug conviction or caution (PNC)",
    "resides_in_force_area": "Lives in the force area",
    "circumstances": "Other circumstances",
    "offence_date": "Date of the offence",
    "offence_type": "Offence",
    "drugs": "Drugs found",
}


def _label(record: Any, name: str) -> str:
    return LABELS.get(name) or str(record._meta.get_field(name).verbose_name).capitalize()


def _differences(record: Any, fields: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose new value differs from the record's: name -> (before, after)."""
    return {
        name: (getattr(record, name), after)
        for name, after in fields.items()
        if getattr(record, name) != after
    }


def _correction_written(
    *,
    by: User,
    record: Person | Case,
    changed: dict[str, tuple[Any, Any]],
    reason: str,
    rechecks: Sequence[Case],
) -> Correction:
    """The history row (before and after, shown on the case page) and the audit row (which
    fields, not their values: the audit log outlives personal data)."""
    is_case = isinstance(record, Case)
    person_id = record.person_id if is_case else record.pk
    correction = Correction.objects.create(
        person_id=person_id,
        case=record if is_case else None,
        changes=[
            {
                "field": name,
                "label": _label(record, name),
                "before": before if name == "drugs" else _as_text(record, name, before),
                "after": after if name == "drugs" else _as_text(record, name, after),
            }
            for name, (before, after) in changed.items()
        ],
        reason=reason,
        rechecks=[case.reference for case in rechecks],
        corrected_by=by,
    )
    audit_record(
        user=by,
        action="change",
        obj=record,
        object_id=record.reference if is_case else str(record.pk),
        person_id=person_id,
        changes={"fields": sorted(changed), "correction": correction.pk},
        reason=reason,
    )
    return correction


def _send_back_for_checking(
    cases: Sequence[Case], changed: frozenset[str], labels: str, by: User
) -> list[Case]:
    """Cases decided on facts now corrected go back to logged, to be checked again."""
    rechecks = [case for case in cases if rules.needs_new_check(case.status, changed)]
    for case in rechecks:
        case_transition(
            case=case,
            to=CaseStatus.LOGGED,
            by=by,
            reason=f"{labels} corrected: eligibility must be checked again",
        )
    return rechecks


def _reason_given(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the details are being corrected", field="reason")
    return reason


def person_correct(
    *, person: Person, by: User, reason: str = "", version: str = "", **fields: Any
) -> Correction:
    """Correct a person's details as typed after they were saved, by an officer of a force
    holding them. A corrected date of birth sends their decided, unreferred cases back for a
    new eligibility check, and is refused while a case of theirs is with a programme."""
    _require_force_role(by, "correct a person's details")
    reason = _reason_given(reason)
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise DomainError(f"Unknown person fields: {', '.join(sorted(unknown))}.")
    fields = _stored_details(fields)
    with transaction.atomic():
        locked = Person.objects.select_for_update().filter(pk=person.pk).first()
        if locked is None or not Case.objects.filter(person=locked, force=by.force_id).exists():
            raise DomainError("No such person in your force.", code="not_found")
        if locked.anonymised_at is not None:
            raise DomainError("This person's record was erased.", code="erased")
        if version and version != version_of(locked):
            raise RecordChanged()
        changed = _differences(locked, fields)
        if not changed:
            raise DomainError(NOTHING_CHANGED)
        names = frozenset(changed)
        cases = list(
            Case.objects.select_for_update()
            .filter(person=locked)
            .exclude(status=CaseStatus.CLOSED)
            .order_by("pk")
        )
        for case in cases:
            if refusal := rules.correction_refusal(case.status, names):
                raise IllegalTransition(f"Case {case.reference}: {refusal}")
        if (
            "pnc_id" in changed
            and changed["pnc_id"][1]
            and Person.objects.filter(pnc_id=changed["pnc_id"][1]).exclude(pk=locked.pk).exists()
        ):
            raise DomainError(DUPLICATE_PNC_ID, field="pnc_id")
        for name, (_, after) in changed.items():
            setattr(locked, name, after)
        _validate_person(locked)
        first_offence = min((c.offence_date for c in locked.cases.all()), default=None)
        if first_offence is not None and locked.date_of_birth > first_offence:
            raise DomainError(
                "The date of birth is after the date of an offence recorded for this person.",
                field="date_of_birth",
            )
        locked.save()
        labels = ", ".join(_label(locked, name) for name in changed)
        rechecks = _send_back_for_checking(cases, names, labels, by)
        return _correction_written(
            by=by, record=locked, changed=changed, reason=reason, rechecks=rechecks
        )


def _drugs_text(items: Sequence[tuple[str, Decimal, str]]) -> str:
    return ", ".join(f"{quantity.normalize():f} {unit} {name}" for name, quantity, unit in items)


def case_correct(
    *,
    case: Case,
    by: User,
    reason: str = "",
    version: str = "",
    drugs: Sequence[DrugQuantity] | None = None,
    **fields: Any,
) -> Correction:
    """Correct a case's details after it was logged. A correction of the facts eligibility was
    decided on sends a decided case back for a new check, and is refused once it is referred
    (rules.correction_refusal); references can be corrected until it is closed."""
    _require_case_staff(by, case, "correct a case")
    reason = _reason_given(reason)
    unknown = set(fields) - set(CASE_FIELDS)
    if unknown:
        raise DomainError(f"Unknown case fields: {', '.join(sorted(unknown))}.")
    for name in ("custody_record_number", "crime_reference"):
        if name in fields:
            fields[name] = (fields[name] or "").strip().upper()
    if "circumstances" in fields:
        fields["circumstances"] = sorted(set(fields["circumstances"]))
    with transaction.atomic():
        locked = case_lock(case)
        if version and version != version_of(locked):
            raise RecordChanged()
        changed = _differences(locked, fields)
        if drugs is not None:
            _validate_drugs(drugs)
            found = CaseDrug.objects.filter(case=locked).select_related("drug")
            before = sorted((d.drug.name, d.quantity, d.drug.unit) for d in found)
            after = sorted((d.drug.name, d.quantity, d.drug.unit) for d in drugs)
            if before != after:
                changed["drugs"] = (_drugs_text(before), _drugs_text(after))
        if not changed:
            raise DomainError(NOTHING_CHANGED)
        names = frozenset(changed)
        if refusal := rules.correction_refusal(locked.status, names):
            raise IllegalTransition(refusal)
        for name, (_, after) in changed.items():
            if name != "drugs":
                setattr(locked, name, after)
        _validate_offence(locked.offence_date, locked.person.date_of_birth)
        _full_clean(locked, exclude=["reference", "created_by", "person", "force"])
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError as error:  # custody_record_unique_in_force
            raise DomainError(
                f"Custody record {locked.custody_record_number} already has a case in this force.",
                field="custody_record_number",
            ) from error
        if "drugs" in changed:
            CaseDrug.objects.filter(case=locked).delete()
            CaseDrug.objects.bulk_create(
                CaseDrug(case=locked, drug=item.drug, quantity=item.quantity) for item in drugs
            )
        labels = ", ".join(_label(locked, name) for name in changed)
        rechecks = _send_back_for_checking([locked], names, labels, by)
        return _correction_written(
            by=by, record=locked, changed=changed, reason=reason, rechecks=rechecks
        )
