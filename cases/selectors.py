"""Reads, always scoped to what the user's organisation may see.

`cases_visible_to` is the one place that decides which cases a user may see; every page and
endpoint starts from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.http import Http404
from django.utils import timezone

from accounts.models import FORCE_ROLES, User
from audit.models import AuditEvent
from audit.services import audit_record
from base.clock import london_date
from cases.models import (
    Case,
    CaseAssignment,
    CaseOutcome,
    CaseStatus,
    EligibilityDecision,
    NameKey,
    Person,
)
from cases.person_details import pnc_id_for_search
from cases.rules import EarlierCase

# How alike two folded names must be (pg_trgm similarity, 0 to 1) to be offered as a match.
NAME_MATCH_THRESHOLD = 0.3

# An earlier case counts as a diversion when it was completed as one, or the person is in a
# diversion now. A referral declined, withdrawn or ended in prosecution is not a diversion.
DIVERTED = ExpressionWrapper(
    Q(outcome=CaseOutcome.DIVERTED)
    | Q(
        status__in=[
            CaseStatus.REFERRED,
            CaseStatus.IN_PROGRAMME,
            CaseStatus.AWAITING_SUPERVISOR,
        ]
    ),
    output_field=BooleanField(),
)


def cases_visible_to(user: User) -> QuerySet[Case]:
    """Cases the user's organisation is entitled to: a force's officers see its own cases."""
    if user.is_authenticated and user.is_force_staff:
        return Case.objects.filter(force_id=user.force_id)
    return Case.objects.none()


MIN_NAME_LETTERS = 2  # a name search needs this many letters: one letter matches too many


@dataclass(frozen=True)
class CaseSearch:
    """What a case-list search box holds: a reference to look up exactly, a name to match."""

    text: str
    problem: str = ""  # why the search cannot run, for the page to say

    @property
    def looks_like_reference(self) -> bool:
        # Names have no digits; case, custody and crime references all do.
        return any(character.isdigit() for character in self.text)


def case_search(query: str) -> CaseSearch:
    """Read a search box: trimmed, at most 100 characters, with a problem when it is unusable."""
    text = query.strip()[:100]
    letters = sum(character.isalpha() for character in text)
    if text and not any(character.isdigit() for character in text) and letters < MIN_NAME_LETTERS:
        return CaseSearch(
            text,
            problem=f"Enter at least {MIN_NAME_LETTERS} letters of a name, or a case, custody "
            "or crime reference.",
        )
    return CaseSearch(text)


def people_named(name: str) -> QuerySet[Person]:
    """People whose folded name is close to the folded `name` (pg_trgm similarity at least
    NAME_MATCH_THRESHOLD). The % operator lets the trigram index find the candidates."""
    key = NameKey(Value(name))
    return Person.objects.annotate(similarity=TrigramSimilarity("name_key", key)).filter(
        name_key__trigram_similar=key, similarity__gte=NAME_MATCH_THRESHOLD
    )


def case_list(
    *, user: User, query: str = "", status: str = "", mine: bool = False
) -> QuerySet[Case]:
    """The user's force's cases (or, `mine`, those the user logged), newest first, filtered by
    a search of name or reference.

    A search finds the case reference, custody record number or crime reference exactly (any
    letter case), each through its own index, and, when it holds no digit (names have none),
    the people whose name is close to it, through the trigram index. A name search lists the
    closest names first (the same name ignoring case, accents, spaces and punctuation, then
    one letter wrong, ...), each name's cases newest first. An unusable search (see
    case_search) finds nothing.
    """
    # The page's people in a second query, not joined: a deep page (OFFSET 975) would
    # otherwise look up the person of every row it skips.
    cases = cases_visible_to(user).prefetch_related("person")
    if mine:
        cases = cases.filter(created_by=user)
    if status:
        cases = cases.filter(status=status)
    search = case_search(query)
    if search.problem:
        return cases.none()
    if not search.text:
        return cases.order_by("-created_at", "-id")
    found = Case.objects.filter(reference=search.text.upper()).values("pk")
    others = [
        Case.objects.filter(custody_record_number__iexact=search.text).values("pk"),
        Case.objects.filter(crime_reference__iexact=search.text).values("pk"),
    ]
    if search.looks_like_reference:
        return cases.filter(pk__in=found.union(*others)).order_by("-created_at", "-id")
    # The force's own cases of the people named, not everyone's: the union stays small.
    named = people_named(search.text).values("pk")
    others.append(cases_visible_to(user).filter(person__in=named).values("pk"))
    return (
        cases.filter(pk__in=found.union(*others))
        .annotate(closeness=TrigramSimilarity("person__name_key", NameKey(Value(search.text))))
        .order_by("-closeness", "-created_at", "-id")
    )


def latest_decision(case: Case) -> EligibilityDecision | None:
    """The case's most recent eligibility decision, with its policy, force and decider."""
    return case.eligibility_decisions.select_related("policy__force", "decided_by").first()


def case_get(*, user: User, reference: str) -> Case:
    """One case by reference, or 404 when it does not exist or is not the user's to see."""
    case = (
        cases_visible_to(user)
        .select_related("person", "force", "created_by", "assigned_to")
        .prefetch_related("drugs__drug")
        .filter(reference=reference)
        .first()
    )
    if case is None:
        raise Http404("No case found")
    return case


class ClosedCaseNeedsReason(Exception):
    """A closed case is opened only with a reason, which goes into the audit trail."""

    def __init__(self, case: Case) -> None:
        super().__init__(f"Case {case.reference} is closed: give the reason for opening it.")
        self.case = case


def case_shown(*, user: User, reference: str, reason: str = "") -> Case:
    """One case, as `case_get`, for a page or endpoint that shows it and its person.

    The read is audited here ("view", naming the person, with the reason given), so no page
    that shows a case can forget it. A closed case needs a reason: without one this raises
    ClosedCaseNeedsReason and writes nothing.
    """
    case = case_get(user=user, reference=reference)
    reason = reason.strip()
    if case.is_closed and not reason:
        raise ClosedCaseNeedsReason(case)
    audit_record(
        user=user,
        action="view",
        obj=case,
        object_id=case.reference,
        person_id=case.person_id,
        reason=reason,
    )
    return case


def decision_shown(
    *, user: User, reference: str, decision_id: int, reason: str = ""
) -> EligibilityDecision:
    """One eligibility decision of a case the user may see, with its stored inputs, for a page
    or endpoint that shows or replays it; 404 when it is not the case's.

    Audited here, as case_shown audits the case (a closed case needs a reason): the decision's
    inputs hold the person's date of birth.
    """
    case = case_shown(user=user, reference=reference, reason=reason)
    decision = (
        case.eligibility_decisions.select_related("policy__force", "decided_by", "overridden_by")
        .filter(pk=decision_id)
        .first()
    )
    if decision is None:
        raise Http404("No such eligibility decision")
    decision.case = case
    audit_record(
        user=user, action="view", obj=decision, person_id=case.person_id, reason=reason.strip()
    )
    return decision


def decisions_of(case: Case) -> list[EligibilityDecision]:
    """Every eligibility decision of a case, newest first (a case has a handful)."""
    return list(case.eligibility_decisions.select_related("policy", "decided_by"))


@dataclass
class PersonMatches:
    exact: Person | None
    possible: list[Person]


def _with_own_cases(people: QuerySet[Person], user: User) -> QuerySet[Person]:
    own = cases_visible_to(user).order_by("-offence_date")
    return people.prefetch_related(Prefetch("cases", queryset=own, to_attr="own_cases")).annotate(
        has_other_force_cases=Exists(
            Case.objects.filter(person=OuterRef("pk")).exclude(force_id=user.force_id)
        )
    )


def people_matching(
    *,
    user: User,
    given_name: str,
    family_name: str,
    date_of_birth: date | None,
    pnc_id: str = "",
) -> PersonMatches:
    """Find a person before logging a case: an exact PNC match, else ranked possible matches.

    Possible matches share the date of birth and have a similar folded name (case, accents,
    spaces, hyphens and apostrophes ignored, small misspellings tolerated by pg_trgm). Each
    carries the user's own force's earlier cases, and whether another force has any.
    """
    if not user.is_authenticated or not user.is_force_staff:
        return PersonMatches(exact=None, possible=[])
    people = _with_own_cases(Person.objects.filter(anonymised_at__isnull=True), user)
    return people_like(
        people,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        pnc_id=pnc_id,
    )


def people_like(
    people: QuerySet[Person],
    *,
    given_name: str,
    family_name: str,
    date_of_birth: date | None,
    pnc_id: str = "",
) -> PersonMatches:
    """The matching rule of people_matching over any set of people: an exact PNC match, else
    up to ten people with that date of birth and a close folded name, closest first."""
    pnc_id = pnc_id_for_search(pnc_id)
    if pnc_id:
        exact = people.filter(pnc_id=pnc_id).first()
        if exact is not None:
            return PersonMatches(exact=exact, possible=[])
    if date_of_birth is None:
        return PersonMatches(exact=None, possible=[])
    name = f"{given_name} {family_name}"
    possible = (
        people.filter(date_of_birth=date_of_birth)
        .annotate(similarity=TrigramSimilarity("name_key", NameKey(Value(name))))
        .filter(Q(similarity__gte=NAME_MATCH_THRESHOLD) | Q(name_key=NameKey(Value(name))))
        .order_by("-similarity", "family_name", "id")[:10]
    )
    return PersonMatches(exact=None, possible=list(possible))


def people_search(
    *,
    user: User,
    given_name: str = "",
    family_name: str = "",
    date_of_birth: date | None = None,
    pnc_id: str = "",
) -> PersonMatches:
    """The find-a-person search for pages and the API: matches, with the search audited.

    The audit row keeps which fields were searched and which people were shown; being shown a
    person is what lets an officer log a case for them (see people_available_to).
    """
    matches = people_matching(
        user=user,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        pnc_id=pnc_id,
    )
    audit_person_search(
        user=user,
        matches=matches,
        searched_by={
            "given_name": given_name,
            "family_name": family_name,
            "date_of_birth": date_of_birth,
            "pnc_id": pnc_id,
        },
    )
    return matches


def audit_person_search(
    *, user: User, matches: PersonMatches, searched_by: dict[str, Any], reason: str = ""
) -> None:
    """Record a search for a person: which fields were searched by (not the values typed: the
    audit log outlives personal data) and who was shown, which is what a subject access or
    misuse inquiry needs."""
    shown = [matches.exact] if matches.exact else matches.possible
    audit_record(
        user=user,
        action="search",
        object_type="cases.person",
        changes={
            "searched_by": [name for name, value in searched_by.items() if value],
            "found": [person.pk for person in shown],
        },
        reason=reason,
    )


# How long being shown a person by a search lets an officer log a case for them.
SEARCH_GRANT = timedelta(hours=4)


def people_available_to(user: User) -> QuerySet[Person]:
    """People an officer may log a case for: their force's, or found by their recent search.

    People are national records, but nobody can reach one by guessing its id: the force must
    already hold them (a case, or added by one of its users), or the search showed them.
    """
    if not user.is_authenticated or not user.is_force_staff:
        return Person.objects.none()
    found = AuditEvent.objects.filter(
        user=user,
        action=AuditEvent.Action.SEARCH,
        object_type="cases.person",
        at__gte=timezone.now() - SEARCH_GRANT,
    ).values_list("changes__found", flat=True)
    shown = {pk for ids in found for pk in (ids or [])}
    return Person.objects.filter(
        Q(cases__force_id=user.force_id) | Q(created_by__force_id=user.force_id) | Q(pk__in=shown),
        anonymised_at__isnull=True,
    ).distinct()


def earlier_cases_for(*, case: Case) -> list[EarlierCase]:
    """The system's own history for the case's person, across every force.

    The same person is the same record, another record with the same PNC ID, or another
    record with the same folded name and date of birth. Other forces' references are withheld.
    Each says when it ended (the London day it was closed), by which the rules count an
    earlier diversion (cases.rules.counts_as_earlier_diversion).
    """
    person = case.person
    same_name_and_birth = Q(name_key=person.name_key, date_of_birth=person.date_of_birth)
    if not person.name_key:
        same_name_and_birth = Q(pk__in=[])  # a name with no letters matches nobody by name
    elif person.pnc_id:
        # Two records with different PNC IDs are different people, whatever their names.
        same_name_and_birth &= Q(pnc_id="") | Q(pnc_id=person.pnc_id)
    # The people first (their primary key and date of birth are indexed), then their cases
    # (by the person index): never a scan of every case.
    same_people = Person.objects.filter(Q(pk=person.pk) | same_name_and_birth).values("pk")
    earlier = (
        Case.objects.filter(person__in=same_people, offence_date__lte=case.offence_date)
        .exclude(pk=case.pk)
        .select_related("force", "person")
        .annotate(diverted=DIVERTED)
        .order_by("-offence_date")
    )
    found = []
    for other in earlier:
        if other.person_id == person.pk:
            matched_by = "the same person record"
        elif person.pnc_id and other.person.pnc_id == person.pnc_id:
            matched_by = "PNC ID"
        else:
            matched_by = "name and date of birth"
        found.append(
            EarlierCase(
                offence_date=other.offence_date,
                force_name=other.force.name,
                diverted=other.diverted,
                matched_by=matched_by,
                reference=other.reference if other.force_id == case.force_id else "",
                outcome=other.get_outcome_display() if other.force_id == case.force_id else "",
                ended_on=london_date(other.closed_at) if other.closed_at else None,
            )
        )
    return found


def person_ids_named(name: str) -> QuerySet[Person]:
    """The ids of people whose folded name contains, or is close to, the folded `name`
    (pg_trgm), anonymised or not: for the audit trail's search by person."""
    key = NameKey(Value(name))
    # Both conditions are served by the trigram index (LIKE and %), so no scan of everyone.
    return Person.objects.filter(
        Q(name_key__contains=key) | Q(name_key__trigram_similar=key)
    ).values_list("pk", flat=True)


def people_by_ids(ids: Iterable[int]) -> dict[int, Person]:
    """People by id in one query, anonymised or not: for the audit trail's pages."""
    return Person.objects.in_bulk(list(ids))


def officers_for(user: User) -> QuerySet[User]:
    """The active officers and supervisors of the user's force, who may be given its cases."""
    if not user.is_authenticated or not user.is_force_staff:
        return User.objects.none()
    return User.objects.filter(
        role__in=FORCE_ROLES, force_id=user.force_id, is_active=True
    ).order_by("first_name", "last_name", "username")


def case_assignment_history(case: Case) -> list[CaseAssignment]:
    """Every assignment of a case, oldest first, with who assigned whom."""
    return list(
        case.assignments.select_related("assigned_to", "assigned_by").order_by("assigned_at", "id")
    )


def officer_named(username: str) -> User | None:
    """The user with this username, or None; whether they may be given a case is the rules'."""
    return User.objects.filter(username=username).first()
