"""Demo cases in bulk for the analysts' reports: a few thousand over two years across the demo
forces, from logging to closure, with realistic variation by force, group and drug.

`seed_demo --report-cases N` calls `seed_report_cases`. Each case is made with bulk INSERTs
(people, cases, drugs, decisions, offers, referrals, appointments, attendance, escalations), not
through the services, so a few thousand take seconds; the eligibility decision is still the
rules' own answer on the case's inputs (cases.rules.check_eligibility), stored with those inputs
and the policy version as the service stores it, so every decision replays. No audit or status
history rows are written for these cases: demo data only.

Reproducible: the same seed gives the same cases. Safe to run again: cases numbered RPT-... are
made once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction

from accounts.models import User
from base.clock import LONDON
from cases import rules
from cases.models import (
    Case,
    CaseDrug,
    CaseOutcome,
    CaseStatus,
    Drug,
    EligibilityDecision,
    Offer,
    Person,
    SchemePolicy,
)
from cases.services import policy_rules
from escalations.models import Escalation
from programmes.models import Appointment, Attendance, Programme, Referral, ReferralStatus
from programmes.rules import HOME_OFFICE_OUTCOME_BY_DISPOSAL

PREFIX = "RPT-"
FORCE_SHARE = {"TVP": 0.45, "WMP": 0.35, "DUR": 0.20}

# Self-defined ethnicity of people stopped with drugs (weights roughly as in published
# stop-and-search figures for England and Wales; demo only).
ETHNICITY = {
    "white_british": 57,
    "white_irish": 1,
    "white_gypsy_traveller": 0.5,
    "white_roma": 0.3,
    "white_other": 6,
    "black_african": 5,
    "black_caribbean": 5,
    "black_other": 2,
    "asian_bangladeshi": 2,
    "asian_chinese": 0.5,
    "asian_indian": 3,
    "asian_pakistani": 5,
    "asian_other": 2,
    "mixed_white_asian": 1,
    "mixed_white_black_african": 1,
    "mixed_white_black_caribbean": 2,
    "mixed_other": 1,
    "other_arab": 1,
    "other_any": 1.5,
    "not_stated": 6,
}
SEX = {"male": 84, "female": 14, "not_stated": 2}
AGE = {(16, 17): 1, (18, 24): 34, (25, 34): 34, (35, 44): 18, (45, 54): 9, (55, 70): 4}
DRUGS = {
    "cannabis": 62,
    "cannabis-resin": 6,
    "cocaine": 20,
    "ketamine": 5,
    "mdma": 4,
    "amphetamine": 3,
}
GIVEN = ["Alex", "Sam", "Jordan", "Chris", "Jamie", "Taylor", "Morgan", "Casey", "Riley", "Robin"]
FAMILY = [
    "Ashworth",
    "Blakemore",
    "Carrow",
    "Dunmore",
    "Eldridge",
    "Fenwick",
    "Garside",
    "Holloway",
    "Ingram",
    "Jessop",
    "Kershaw",
    "Lumley",
    "Marwood",
    "Northcott",
]


def _pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _group(ethnicity: str) -> str:
    return ethnicity.split("_")[0]


@dataclass
class Plan:
    """One case as it will be inserted, and what happened to it."""

    force: str
    person: Person
    offence_date: date
    logged_at: datetime
    drug: str
    quantity: Decimal
    previous: bool
    admitted: bool
    rows: dict[str, Any] = field(default_factory=dict)


@contextmanager
def _keep_given_times(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let bulk_create store the times given (created_at, referred_at ...) rather than now:
    demo cases are dated over two years. auto_now and auto_now_add are switched off meanwhile."""
    switched = []
    for model in model_classes:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                switched.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in switched:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _at(day: date, rng: random.Random, start: int = 8, end: int = 20) -> datetime:
    return datetime.combine(day, time(rng.randrange(start, end), rng.randrange(60)), LONDON)


def _numbers(sequence: str, n: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, n])
        return [row[0] for row in cursor.fetchall()]


class Builder:
    """Plans every case's path through the decision chain, then inserts them in bulk."""

    def __init__(
        self,
        *,
        rng: random.Random,
        today: date,
        policies: dict[str, SchemePolicy],
        programmes: dict[str, list[Programme]],
        officers: dict[str, User],
        staff: User,
        supervisor: User,
    ) -> None:
        self.rng, self.today = rng, today
        self.policies, self.programmes = policies, programmes
        self.officers, self.staff, self.supervisor = officers, staff, supervisor
        self.drugs = {drug.code: drug for drug in Drug.objects.all()}

    def person(self, index: int, born: date, ethnicity: str, sex: str) -> Person:
        given, family = self.rng.choice(GIVEN), self.rng.choice(FAMILY)
        return Person(
            given_name=given,
            family_name=f"{family}-{index:05d}",
            date_of_birth=born,
            ethnicity=ethnicity,
            sex=sex,
            contact_preference="sms",
            phone=f"07700 9{index % 100000:05d}",
        )

    def plan(self, n: int) -> list[Plan]:
        """n first cases, and later cases for some of the same people (re-offending)."""
        plans = []
        for index in range(n):
            ethnicity, sex = _pick(self.rng, ETHNICITY), _pick(self.rng, SEX)
            low, high = _pick(self.rng, AGE)
            offence = self.today - timedelta(days=self.rng.randrange(3, 730))
            born = offence - timedelta(
                days=365 * self.rng.randint(low, high) + self.rng.randrange(365)
            )
            plans.append(
                self.case(
                    _pick(self.rng, FORCE_SHARE), self.person(index, born, ethnicity, sex), offence
                )
            )
        return plans

    def case(self, force: str, person: Person, offence: date) -> Plan:
        rng = self.rng
        drug = _pick(rng, DRUGS)
        threshold = Decimal(str(self.policies[force].personal_use_thresholds.get(drug, "1")))
        # Most within the personal-use threshold, a few above it.
        quantity = threshold * Decimal(rng.choice(["0.2", "0.4", "0.5", "0.8", "1", "1.5"]))
        quantity = max(quantity.quantize(Decimal("0.1")), Decimal("0.1"))
        group = _group(person.ethnicity)
        # Demo variation: a previous conviction or caution recorded more often for some
        # groups, and in West Midlands.
        previous = rng.random() < {"black": 0.24, "mixed": 0.18}.get(group, 0.12) + (
            0.05 if force == "WMP" else 0
        )
        logged = _at(offence + timedelta(days=rng.choice([0, 0, 0, 1, 2])), rng)
        return Plan(
            force=force,
            person=person,
            offence_date=offence,
            logged_at=logged,
            drug=drug,
            quantity=quantity,
            previous=previous,
            admitted=rng.random() < 0.9,
        )

    def decide(self, plan: Plan) -> tuple[bool, dict[str, Any], list]:
        """The rules' own decision on the case's inputs."""
        policy = self.policies[plan.force]
        drug = self.drugs[plan.drug]
        inputs = rules.EligibilityInputs(
            date_of_birth=plan.person.date_of_birth,
            offence_date=plan.offence_date,
            checked_on=plan.logged_at.date(),
            offence_type="simple_possession",
            setting="none",
            drugs=(
                rules.DrugFound(
                    code=drug.code,
                    name=drug.name,
                    drug_class=drug.drug_class,
                    quantity=plan.quantity,
                    unit=drug.unit,
                ),
            ),
            admitted_offence=plan.admitted,
            resides_in_force_area=True,
            previous_drug_conviction_or_caution=plan.previous,
        )
        result = rules.check_eligibility(inputs, policy_rules(policy))
        return result.eligible, rules.inputs_as_json(inputs), result.as_json()

    def path(self, plan: Plan) -> None:
        """What happens to the case after the decision, by chance that varies by group."""
        rng, rows = self.rng, plan.rows
        group = _group(plan.person.ethnicity)
        age = (plan.offence_date - plan.person.date_of_birth).days // 365
        eligible, inputs, reasons = self.decide(plan)
        rows["decision"] = (eligible, inputs, reasons)
        decided = plan.logged_at + timedelta(minutes=rng.randrange(20, 240))
        rows["decided_at"] = decided
        if not eligible:
            rows["closed"] = (CaseOutcome.STANDARD_PROCESS, decided)
            return
        offered = rng.random() < {"black": 0.82, "mixed": 0.87, "asian": 0.89}.get(group, 0.93)
        if not offered:
            rows["status"] = CaseStatus.ELIGIBLE
            if (self.today - decided.date()).days > 14:
                rows["closed"] = (CaseOutcome.STANDARD_PROCESS, decided + timedelta(days=3))
            return
        accepts = rng.random() < (0.78 if age < 25 else 0.86)
        responded = decided + timedelta(minutes=rng.randrange(10, 120))
        rows["offer"] = ("accepted" if accepts else "declined", decided, responded)
        if not accepts:
            rows["closed"] = (CaseOutcome.STANDARD_PROCESS, responded)
            return
        programme = rng.choice(self.programmes[plan.force])
        referred = responded + timedelta(hours=rng.randrange(1, 48))
        rows["referral"] = {"programme": programme, "at": referred}
        started = rng.random() < (0.80 if age < 25 else 0.88)
        first = referred + timedelta(days=rng.randrange(2, 21), hours=rng.randrange(0, 6))
        finishes = started and rng.random() < (0.93 if plan.person.sex == "female" else 0.88)
        done = first + timedelta(days=rng.randrange(0, 80))
        if started and first.date() < self.today:
            rows["attended"] = first
        else:
            started = False
        if finishes and done.date() < self.today:
            rows["completed"] = done.date()
            rows["closed"] = (CaseOutcome.DIVERTED, _at(done.date(), rng))
            return
        if (self.today - referred.date()).days < 90:
            rows["status"] = CaseStatus.IN_PROGRAMME
            return
        flagged = referred + timedelta(days=rng.choice([15, 30, 60, 90]))
        rows["flagged"] = flagged
        if (self.today - flagged.date()).days < 10:
            rows["status"] = CaseStatus.AWAITING_SUPERVISOR
            return
        decision = _pick(
            rng,
            {
                "prosecute": {"black": 50, "mixed": 45}.get(group, 38),
                "extend": 30,
                "re_refer": 10,
                "no_further_action": 20,
            },
        )
        decided_on = flagged + timedelta(days=rng.randrange(1, 9))
        rows["escalation_decision"] = (decision, decided_on)
        if decision == "prosecute":
            rows["closed"] = (CaseOutcome.PROSECUTION, decided_on)
        elif decision == "no_further_action":
            rows["closed"] = (CaseOutcome.NO_FURTHER_ACTION, decided_on)
        elif rng.random() < 0.6 and decided_on.date() + timedelta(days=30) < self.today:
            completed = decided_on.date() + timedelta(days=rng.randrange(7, 30))
            rows["late_completion"] = completed
            rows["closed"] = (CaseOutcome.DIVERTED, _at(completed, rng))
        else:
            rows["status"] = CaseStatus.IN_PROGRAMME

    def reoffences(self, plans: list[Plan]) -> list[Plan]:
        """Later cases for some people, after their case ended: more often after prosecution
        or declining than after completing."""
        later = []
        chance = {
            CaseOutcome.DIVERTED: 0.12,
            CaseOutcome.PROSECUTION: 0.30,
            CaseOutcome.STANDARD_PROCESS: 0.22,
        }
        for plan in plans:
            outcome, ended = plan.rows.get("closed", (None, None))
            if outcome not in chance or self.rng.random() >= chance[outcome]:
                continue
            offence = ended.date() + timedelta(days=self.rng.randrange(20, 700))
            if offence < self.today - timedelta(days=3):
                again = self.case(plan.force, plan.person, offence)
                # A prosecution leaves a conviction the custody check finds.
                again.previous = again.previous or outcome == CaseOutcome.PROSECUTION
                later.append(again)
        return later


def seed_report_cases(
    *,
    cases: int,
    today: date,
    policies: dict[str, SchemePolicy],
    programmes: dict[str, list[Programme]],
    officers: dict[str, User],
    staff: User,
    supervisor: User,
    seed: int = 2026,
) -> int:
    """Insert `cases` demo cases (and later cases for some of the same people) unless they are
    there already; return how many cases were inserted."""
    if Case.objects.filter(custody_record_number__startswith=PREFIX).exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
    builder = Builder(
        rng=rng,
        today=today,
        policies=policies,
        programmes=programmes,
        officers=officers,
        staff=staff,
        supervisor=supervisor,
    )
    plans = builder.plan(cases)
    for plan in plans:
        builder.path(plan)
    extra = builder.reoffences(plans)
    for plan in extra:
        builder.path(plan)
    plans += extra
    with transaction.atomic():
        _insert(plans, builder)
    with connection.cursor() as cursor:
        # Fresh planner statistics after a bulk load, so the reports' queries use the indexes.
        # (A role that does not own the tables is warned and skipped, which is harmless.)
        cursor.execute(
            "ANALYZE cases_person, cases_case, cases_casedrug, cases_eligibilitydecision, "
            "cases_offer, programmes_referral, programmes_appointment, programmes_attendance, "
            "programmes_escalation"
        )
    return len(plans)


def _insert(plans: list[Plan], builder: Builder) -> None:
    """Every row of every plan, model by model, in bulk."""
    people = {id(plan.person): plan.person for plan in plans}
    with _keep_given_times(Person):
        for person in people.values():
            person.created_at = person.updated_at = datetime.now(LONDON)
        Person.objects.bulk_create(people.values(), batch_size=1000)
    numbers = _numbers("case_reference_seq", len(plans))
    cases = []
    for number, plan in zip(numbers, plans, strict=True):
        outcome, closed_at = plan.rows.get("closed", ("", None))
        status = CaseStatus.CLOSED if outcome else plan.rows.get("status", CaseStatus.LOGGED)
        policy = builder.policies[plan.force]
        cases.append(
            Case(
                reference=f"{plan.force}-{number:06d}",
                force=policy.force,
                person=plan.person,
                custody_record_number=f"{PREFIX}{plan.force}-{number:06d}",
                offence_date=plan.offence_date,
                admitted_offence=plan.admitted,
                previous_drug_conviction_or_caution=plan.previous,
                status=status,
                outcome=outcome,
                home_office_outcome=(
                    HOME_OFFICE_OUTCOME_BY_DISPOSAL.get(policy.disposal)
                    if outcome == CaseOutcome.DIVERTED
                    else None
                ),
                created_by=builder.officers[plan.force],
                created_at=plan.logged_at,
                updated_at=closed_at or plan.logged_at,
                closed_at=closed_at,
            )
        )
    with _keep_given_times(Case):
        Case.objects.bulk_create(cases, batch_size=1000)
    CaseDrug.objects.bulk_create(
        [
            CaseDrug(case=case, drug=builder.drugs[plan.drug], quantity=plan.quantity)
            for case, plan in zip(cases, plans, strict=True)
        ],
        batch_size=1000,
    )
    decisions, offers = [], []
    for case, plan in zip(cases, plans, strict=True):
        eligible, inputs, reasons = plan.rows["decision"]
        decisions.append(
            EligibilityDecision(
                case=case,
                policy=builder.policies[plan.force],
                eligible=eligible,
                inputs=inputs,
                reasons=reasons,
                history=[],
                rules_version=rules.RULES_VERSION,
                decided_by=builder.officers[plan.force],
                decided_at=plan.rows["decided_at"],
            )
        )
        if "offer" in plan.rows:
            response, offered_at, responded_at = plan.rows["offer"]
            offers.append(
                Offer(
                    case=case,
                    offered_at=offered_at,
                    offered_by=builder.officers[plan.force],
                    response=response,
                    consent_given=response == "accepted",
                    responded_at=responded_at,
                )
            )
    with _keep_given_times(EligibilityDecision):
        EligibilityDecision.objects.bulk_create(decisions, batch_size=1000)
    Offer.objects.bulk_create(offers, batch_size=1000)
    _insert_referrals(
        [(c, p) for c, p in zip(cases, plans, strict=True) if "referral" in p.rows], builder
    )


def _insert_referrals(pairs: list[tuple[Case, Plan]], builder: Builder) -> None:
    numbers = _numbers("referral_reference_seq", len(pairs))
    referrals = []
    for number, (case, plan) in zip(numbers, pairs, strict=True):
        rows = plan.rows
        policy = builder.policies[plan.force]
        at = rows["referral"]["at"]
        programme = rows["referral"]["programme"]
        completed_on = rows.get("completed") or rows.get("late_completion")
        if completed_on:
            status = ReferralStatus.COMPLETED
        elif rows.get("closed"):
            status = ReferralStatus.WITHDRAWN
        elif "flagged" in rows and "escalation_decision" not in rows:
            status = ReferralStatus.FLAGGED
        else:
            status = ReferralStatus.IN_PROGRESS if "attended" in rows else ReferralStatus.ACCEPTED
        referrals.append(
            Referral(
                reference=f"R-{number:06d}",
                case=case,
                programme=programme,
                provider=programme.provider,
                policy=policy,
                status=status,
                first_appointment_due=at + timedelta(days=14),
                completion_due=at + timedelta(days=policy.completion_days),
                extensions=1 if rows.get("escalation_decision", ("",))[0] == "extend" else 0,
                referred_by=builder.officers[plan.force],
                referred_at=at,
                completed_on=completed_on,
                updated_at=at,
            )
        )
    with _keep_given_times(Referral):
        Referral.objects.bulk_create(referrals, batch_size=1000)
    appointments, escalations = [], []
    for referral, (_, plan) in zip(referrals, pairs, strict=True):
        if "attended" in plan.rows:
            appointments.append(
                Appointment(
                    referral=referral,
                    starts_at=plan.rows["attended"],
                    booked_by=builder.staff,
                    booked_at=referral.referred_at,
                    updated_at=referral.referred_at,
                )
            )
        if "flagged" in plan.rows:
            decision, decided_at = plan.rows.get("escalation_decision", ("", None))
            escalations.append(
                Escalation(
                    referral=referral,
                    force=referral.case.force,
                    rule=(
                        Escalation.Rule.COMPLETION_MISSED
                        if "attended" in plan.rows
                        else Escalation.Rule.FIRST_APPOINTMENT_MISSED
                    ),
                    facts={"demo": True},
                    flagged_at=plan.rows["flagged"],
                    decision=decision,
                    rationale="Demo decision." if decision else "",
                    decided_by=builder.supervisor if decision else None,
                    decided_at=decided_at,
                )
            )
    with _keep_given_times(Appointment, Escalation):
        Appointment.objects.bulk_create(appointments, batch_size=1000)
        Escalation.objects.bulk_create(escalations, batch_size=1000)
    with _keep_given_times(Attendance):
        Attendance.objects.bulk_create(
            [
                Attendance(
                    appointment=appointment,
                    outcome=Attendance.Outcome.ATTENDED,
                    recorded_by=builder.staff,
                    recorded_at=appointment.starts_at + timedelta(hours=2),
                )
                for appointment in appointments
            ],
            batch_size=1000,
        )
