"""Reads, always scoped to what the user's organisation may see.

`cases_visible_to` is the one place that decides which cases a user may see; every page and
endpoint starts from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.http import Http404

from accounts.models import Role, User
from cases.models import Case, NameKey, Person
from cases.rules import EarlierCase
from programmes.models import Referral

# How alike two folded names must be (pg_trgm similarity, 0 to 1) to be offered as a match.
NAME_MATCH_THRESHOLD = 0.3


def cases_visible_to(user: User) -> QuerySet[Case]:
    """Cases the user's organisation is entitled to: a force's officers see its own cases."""
    if user.is_authenticated and user.role in (Role.CUSTODY_OFFICER, Role.SUPERVISOR):
        return Case.objects.filter(force_id=user.force_id)
    return Case.objects.none()


def case_list(*, user: User, query: str = "", status: str = "") -> QuerySet[Case]:
    """The user's cases, newest first, filtered by a search of name or reference."""
    cases = cases_visible_to(user).select_related("person")
    if status:
        cases = cases.filter(status=status)
    query = query.strip()
    if query:
        cases = cases.annotate(
            name_similarity=TrigramSimilarity("person__name_key", NameKey(Value(query)))
        ).filter(
            Q(reference__iexact=query)
            | Q(custody_record_number__iexact=query)
            | Q(crime_reference__iexact=query)
            | Q(name_similarity__gte=NAME_MATCH_THRESHOLD)
        )
    return cases.order_by("-created_at", "-id")


def case_get(*, user: User, reference: str) -> Case:
    """One case by reference, or 404 when it does not exist or is not the user's to see."""
    case = (
        cases_visible_to(user)
        .select_related("person", "force", "created_by")
        .prefetch_related("drugs__drug")
        .filter(reference=reference)
        .first()
    )
    if case is None:
        raise Http404("No case found")
    return case


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
    if not user.is_authenticated or user.role not in (Role.CUSTODY_OFFICER, Role.SUPERVISOR):
        return PersonMatches(exact=None, possible=[])
    people = _with_own_cases(Person.objects.filter(anonymised_at__isnull=True), user)
    pnc_id = pnc_id.strip().upper()
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
        .filter(similarity__gte=NAME_MATCH_THRESHOLD)
        .order_by("-similarity", "family_name", "id")[:10]
    )
    return PersonMatches(exact=None, possible=list(possible))


def earlier_cases_for(*, case: Case) -> list[EarlierCase]:
    """The system's own history for the case's person, across every force.

    The same person is the same record, another record with the same PNC ID, or another
    record with the same folded name and date of birth. Other forces' references are withheld.
    """
    person = case.person
    same_name_and_birth = Q(
        person__name_key=person.name_key, person__date_of_birth=person.date_of_birth
    )
    if person.pnc_id:
        # Two records with different PNC IDs are different people, whatever their names.
        same_name_and_birth &= Q(person__pnc_id="") | Q(person__pnc_id=person.pnc_id)
    same_person = Q(person_id=person.pk) | same_name_and_birth
    earlier = (
        Case.objects.filter(same_person, offence_date__lte=case.offence_date)
        .exclude(pk=case.pk)
        .select_related("force", "person")
        .annotate(diverted=Exists(Referral.objects.filter(case_id=OuterRef("pk"))))
        .order_by("-offence_date")
    )
    found = []
    for other in earlier:
        if other.person_id == person.pk:
            matched_by = "the same person record"
        elif person.pnc_id and other.person.pnc_id == person.pnc_id:
            matched_by = "police national identifier"
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
            )
        )
    return found
