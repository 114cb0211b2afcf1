"""Who may use every URL, declared once, and the world the access tests run against.

`DECLARATIONS` maps every named URL pattern (namespace:name, DRF router names such as
"case-detail" included) to an `Expect`: the surface it belongs to (pages, API, public, admin),
the roles that may use it, what its URL arguments point to, the requests the matrix makes, and
whether it lists rows or returns personal data. tests/test_access_matrix.py walks the resolver
and fails for any pattern missing here, so a new page or endpoint breaks the build until its
expectation is written down.

The rules every declaration is checked against:

- a role that may use the URL, on its own organisation's object: 200/201/204/302 (for writes,
  also 400/409, a refusal by the rules), never 401/403/404/405 or 5xx;
- anyone, on another organisation's object: exactly the answer for an id that does not exist,
  which is 404 for a role that may use the URL (never 403), and nothing changes;
- a role that may never use the URL: 404 on pages, 403 on the API (the same for every object);
- anonymous: a redirect to the sign-in page on pages, 401 on the API;
- no response shown to one organisation names another's people, cases or referrals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.contrib.admin.sites import site as admin_site
from django.core import signing
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import ApiToken, Role, User, hash_token
from audit.models import AuditEvent
from cases.models import Case, CaseAssignment, EligibilityDecision, Offer, Person
from cases.services import DrugQuantity, case_create, eligibility_check, offer_record, person_create
from cases.views import PERSON_TOKEN_SALT
from escalations.models import Escalation
from escalations.services import escalation_decide
from escalations.sweep import sweep_deadlines
from programmes.models import (
    Appointment,
    Attendance,
    GroupSession,
    Notification,
    Programme,
    ProgrammeReport,
    Referral,
    ReferralAssignment,
    ReferralNote,
)
from programmes.services import (
    appointment_book,
    group_session_create,
    note_add,
    referral_accept,
    referral_create,
)
from reports.views import REPORTS
from tests import factories

ANONYMOUS = "anonymous"
OFFICER = Role.CUSTODY_OFFICER.value
SUPERVISOR = Role.SUPERVISOR.value
PROVIDER = Role.PROVIDER_STAFF.value
ANALYST = Role.ANALYST.value
ADMINISTRATOR = Role.ADMINISTRATOR.value
ROLES = (OFFICER, PROVIDER, SUPERVISOR, ANALYST, ADMINISTRATOR, ANONYMOUS)

FORCE_STAFF = frozenset({OFFICER, SUPERVISOR})
PROVIDER_STAFF = frozenset({PROVIDER})
SUPERVISORS = frozenset({SUPERVISOR})
SIGNED_IN = frozenset({OFFICER, PROVIDER, SUPERVISOR, ANALYST, ADMINISTRATOR})
EVERYONE = SIGNED_IN | {ANONYMOUS}

Surface = Literal["page", "api", "public", "admin"]

# What a role that may never use a URL gets, and what anonymous gets, per surface.
DENIED = {"page": 404, "api": 403}
ANONYMOUS_STATUS = {"page": 302, "api": 401}
LOGIN_PATH = "/accounts/login/"


@dataclass(frozen=True)
class Call:
    """One request the matrix makes: a method, a query string and a body with placeholders.

    Placeholders ({case}, {programme}, {other_family_name}, ...) are filled from the
    organisation whose object is in the URL, and own_*/other_* from the acting user's side.
    """

    method: str = "get"
    query: str = ""
    body: Mapping[str, Any] | None = None

    @property
    def writes(self) -> bool:
        return self.method != "get"


GET = Call()


@dataclass(frozen=True)
class Expect:
    """The declared expectation for one URL pattern."""

    surface: Surface
    roles: frozenset[str]
    # URL keyword argument -> the kind of object it names (a key of Org.values)
    args: Mapping[str, str] = field(default_factory=dict)
    calls: tuple[Call, ...] = (GET,)
    # A list: the acting user's own marker of this kind must show up in one of the calls
    shows: str = ""
    # People are national records: the person search may show another force's person (never
    # their cases), so only references are checked in its answers.
    national_people: bool = False
    # The request that returns personal data, which must write an audit row by the user...
    personal: Call | None = None
    # ...naming the person (False: a search or export over many people, audited as such)
    audit_person: bool = True
    # The roles allowed are national (the administrator's audit pages): they see both sides
    national: bool = False
    note: str = ""

    @property
    def writes(self) -> bool:
        return any(call.writes for call in self.calls)


LIST_QUERIES = ("", "?q={other_family_name}", "?q={other_case}", "?q={other_referral}")
INBOX_QUERIES = tuple(
    f"?tab={tab}{q}"
    for tab in ("mine", "unassigned", "new", "accepted", "in_progress", "flagged", "completed")
    for q in ("", "&q={other_family_name}", "&q={other_referral}")
)
PERSON_SEARCH = "?given_name={given_name}&family_name={family_name}&date_of_birth={date_of_birth}"
OTHER_PERSON_SEARCH = (
    "?given_name={other_given_name}&family_name={other_family_name}"
    "&date_of_birth={other_date_of_birth}"
)
PERSON_FORM = {
    "given_name": "{given_name}",
    "family_name": "{family_name}",
    "date_of_birth_day": "{birth_day}",
    "date_of_birth_month": "{birth_month}",
    "date_of_birth_year": "{birth_year}",
}
FUTURE = (timezone.now() + timedelta(days=30)).replace(microsecond=0).isoformat()

REFERENCE = {"reference": "case"}
REFERRAL = {"reference": "referral"}
APPOINTMENT = {"reference": "referral", "pk": "appointment"}
DECISION = {"reference": "case", "decision_id": "decision"}


DECLARATIONS: dict[str, Expect] = {
    # The start page and signing in and out.
    "home": Expect("page", SIGNED_IN, note="each role is sent where their work is"),
    "accounts:login": Expect("public", EVERYONE, note="signed-in users are sent home"),
    "accounts:logout": Expect("public", EVERYONE, calls=(Call("post"),)),
    "accounts:two_factor": Expect("page", SIGNED_IN),
    "accounts:stay_signed_in": Expect("page", SIGNED_IN, calls=(Call("post"),)),
    "accounts:tokens": Expect("page", SIGNED_IN, shows="token_name"),
    "accounts:token_revoke": Expect(
        "page", SIGNED_IN, args={"pk": "api_token"}, calls=(Call("post"),)
    ),
    # The custody officer's case pages.
    "cases:list": Expect(
        "page",
        FORCE_STAFF,
        calls=tuple(Call(query=q) for q in (*LIST_QUERIES, "?status=referred")),
        shows="case",
        personal=GET,
    ),
    "cases:find_person": Expect(
        "page",
        FORCE_STAFF,
        calls=(GET, Call("post", body=PERSON_FORM)),
        national_people=True,
        personal=Call("post", body=PERSON_FORM),
    ),
    "cases:add_person": Expect("page", FORCE_STAFF),
    "cases:create": Expect(
        "page",
        FORCE_STAFF,
        args={"token": "person_token"},
        personal=GET,
        note="a person the force holds, or was shown by its own search; nobody else",
    ),
    "cases:detail": Expect("page", FORCE_STAFF, args=REFERENCE, personal=GET),
    "cases:eligibility": Expect("page", FORCE_STAFF, args=REFERENCE, calls=(Call("post"),)),
    "cases:replay": Expect("page", FORCE_STAFF, args=DECISION, personal=GET),
    "cases:correct": Expect(
        "page",
        FORCE_STAFF,
        args=REFERENCE,
        calls=(GET, Call("post", body={"reason": "typed wrongly", "crime_reference": "CR/9"})),
        personal=GET,
    ),
    "cases:correct_person": Expect(
        "page",
        FORCE_STAFF,
        args=REFERENCE,
        calls=(GET, Call("post", body={"reason": "typed wrongly", "phone": "07700 900999"})),
        personal=GET,
    ),
    "cases:offer": Expect(
        "page",
        FORCE_STAFF,
        args=REFERENCE,
        calls=(GET, Call("post", body={"response": "accepted", "consent_given": "on"})),
    ),
    "referrals:notice": Expect(
        "page", FORCE_STAFF, args=REFERENCE, calls=(GET, Call("post")), personal=GET
    ),
    "referrals:refer": Expect(
        "page",
        FORCE_STAFF,
        args=REFERENCE,
        calls=(GET, Call("post", body={"programme": "{programme}"})),
    ),
    "cases:assign": Expect(
        "page",
        FORCE_STAFF,
        args=REFERENCE,
        calls=(GET, Call("post", body={"assigned_to": "{own_officer_pk}"})),
    ),
    "referrals:note": Expect(
        "page",
        FORCE_STAFF,
        args=REFERRAL,
        calls=(GET, Call("post", body={"body": "Matrix note", "visibility": "force"})),
    ),
    "cases:close": Expect(
        "page", FORCE_STAFF, args=REFERENCE, calls=(Call("post", body={"reason": "Test"}),)
    ),
    # A supervisor's override; an officer's post is refused by the service (the page says so).
    "cases:override": Expect(
        "page", FORCE_STAFF, args=REFERENCE, calls=(Call("post", body={"reason": "Test"}),)
    ),
    # The supervisor's escalation pages.
    "escalations:waiting": Expect(
        "page",
        SUPERVISORS,
        note="lists people only while something waits; each one shown is audited "
        "(tests/test_waiting_on_others.py)",
    ),
    "escalations:queue": Expect(
        "page",
        SUPERVISORS,
        calls=(GET, Call(query="?tab=decided")),
        shows="escalated_case",
        personal=GET,
    ),
    "escalations:detail": Expect(
        "page",
        SUPERVISORS,
        args={"pk": "escalation"},
        calls=(
            GET,
            Call("post", body={"decision": "no_further_action", "rationale": "Matrix test"}),
        ),
        personal=GET,
    ),
    "escalations:summary": Expect(
        "page", SUPERVISORS, args={"pk": "prosecuted_escalation"}, personal=GET
    ),
    # The provider's pages.
    "programmes:inbox": Expect(
        "page",
        PROVIDER_STAFF,
        calls=tuple(Call(query=q) for q in INBOX_QUERIES),
        shows="referral",
        personal=Call(query="?tab=accepted"),
    ),
    "programmes:referral": Expect("page", PROVIDER_STAFF, args=REFERRAL, personal=GET),
    "programmes:accept": Expect("page", PROVIDER_STAFF, args=REFERRAL, calls=(Call("post"),)),
    "programmes:decline": Expect(
        "page",
        PROVIDER_STAFF,
        args=REFERRAL,
        calls=(GET, Call("post", body={"reason": "No capacity"})),
    ),
    "programmes:book": Expect(
        "page",
        PROVIDER_STAFF,
        args=REFERRAL,
        calls=(GET, Call("post", body={"group_session": "{session}"})),
    ),
    "programmes:reschedule": Expect(
        "page",
        PROVIDER_STAFF,
        args=APPOINTMENT,
        calls=(GET, Call("post", body={"reason": "Asked"})),
    ),
    "programmes:cancel": Expect(
        "page",
        PROVIDER_STAFF,
        args=APPOINTMENT,
        calls=(GET, Call("post", body={"reason": "Facilitator ill"})),
    ),
    "programmes:attendance": Expect(
        "page",
        PROVIDER_STAFF,
        args=APPOINTMENT,
        calls=(GET, Call("post", body={"outcome": "attended"})),
    ),
    "programmes:complete": Expect(
        "page",
        PROVIDER_STAFF,
        args=REFERRAL,
        calls=(GET, Call("post", body={"completed_on_day": "1"})),
    ),
    "programmes:note": Expect(
        "page",
        PROVIDER_STAFF,
        args=REFERRAL,
        calls=(GET, Call("post", body={"body": "Matrix note", "concern_category": "other"})),
    ),
    "programmes:assign": Expect(
        "page",
        PROVIDER_STAFF,
        args=REFERRAL,
        calls=(GET, Call("post", body={"assigned_to": "{own_staff_pk}"})),
        personal=GET,
    ),
    "programmes:report": Expect(
        "page",
        PROVIDER_STAFF,
        args=REFERRAL,
        calls=(GET, Call("post", body={"outcome": "completed", "summary": "Matrix"})),
        note="an open referral: both are sent back to the referral, which says why",
    ),
    "programmes:sessions": Expect("page", PROVIDER_STAFF, shows="session_location"),
    "programmes:session_create": Expect("page", PROVIDER_STAFF),
    "programmes:session": Expect(
        "page",
        PROVIDER_STAFF,
        args={"pk": "session"},
        calls=(GET, Call("post", body={"outcome_{booking}": "attended"})),
        personal=GET,
    ),
    # The API.
    "api-root": Expect("api", SIGNED_IN),
    "people": Expect(
        "api",
        FORCE_STAFF,
        calls=(Call(query=PERSON_SEARCH), Call(query=OTHER_PERSON_SEARCH)),
        shows="family_name",
        national_people=True,
        personal=Call(query=PERSON_SEARCH),
    ),
    "case-list": Expect(
        "api",
        FORCE_STAFF,
        calls=tuple(Call(query=q) for q in LIST_QUERIES),
        shows="case",
        personal=GET,
    ),
    "case-detail": Expect(
        "api",
        FORCE_STAFF,
        args=REFERENCE,
        calls=(GET, Call("patch", body={"crime_reference": "43/1", "reason": "Issued"})),
        personal=GET,
    ),
    "case-person": Expect(
        "api",
        FORCE_STAFF,
        args=REFERENCE,
        calls=(Call("patch", body={"phone": "07700 900999", "reason": "Mistyped"}),),
    ),
    "case-eligibility": Expect(
        "api", FORCE_STAFF, args=REFERENCE, calls=(GET, Call("post")), personal=GET
    ),
    "case-eligibility-replay": Expect("api", FORCE_STAFF, args=DECISION, personal=GET),
    "case-offer": Expect(
        "api",
        FORCE_STAFF,
        args=REFERENCE,
        calls=(Call("post", body={"response": "accepted", "consent_given": True}),),
    ),
    "case-assignment": Expect(
        "api",
        FORCE_STAFF,
        args=REFERENCE,
        calls=(Call("post", body={"assigned_to": "{own_officer}"}),),
    ),
    "referral-list": Expect(
        "api",
        FORCE_STAFF | PROVIDER_STAFF,
        calls=(GET, Call(query="?status=accepted"), Call(query="?status=flagged")),
        shows="referral",
        personal=GET,
    ),
    "referral-detail": Expect("api", FORCE_STAFF | PROVIDER_STAFF, args=REFERRAL, personal=GET),
    "referral-accept": Expect("api", PROVIDER_STAFF, args=REFERRAL, calls=(Call("post"),)),
    "referral-decline": Expect(
        "api", PROVIDER_STAFF, args=REFERRAL, calls=(Call("post", body={"reason": "Full"}),)
    ),
    "referral-appointments": Expect(
        "api",
        PROVIDER_STAFF,
        args=REFERRAL,
        calls=(Call("post", body={"starts_at": FUTURE, "kind": "session"}),),
    ),
    "referral-completion": Expect(
        "api",
        PROVIDER_STAFF,
        args=REFERRAL,
        calls=(Call("post", body={"completed_on": date.today().isoformat()}),),
    ),
    "referral-notes": Expect(
        "api",
        FORCE_STAFF | PROVIDER_STAFF,
        args=REFERRAL,
        calls=(GET, Call("post", body={"body": "Matrix note"})),
        shows="note",
        personal=GET,
    ),
    "referral-assignment": Expect(
        "api",
        PROVIDER_STAFF,
        args=REFERRAL,
        calls=(Call("post", body={"assigned_to": "{own_staff}"}),),
    ),
    "referral-report": Expect(
        "api",
        PROVIDER_STAFF,
        args=REFERRAL,
        calls=(Call("post", body={"outcome": "completed", "summary": "Matrix"}),),
        note="an open referral: 409",
    ),
    "programme-list": Expect("api", SIGNED_IN, shows="programme_name"),
    "appointment-detail": Expect(
        "api",
        PROVIDER_STAFF,
        args={"pk": "appointment"},
        calls=(GET, Call("patch", body={"starts_at": FUTURE})),
        personal=GET,
        note="a person's attendance at a drug programme is personal data",
    ),
    "appointment-cancel": Expect(
        "api",
        PROVIDER_STAFF,
        args={"pk": "appointment"},
        calls=(Call("post", body={"reason": "Ill"}),),
    ),
    "appointment-attendance": Expect(
        "api",
        PROVIDER_STAFF,
        args={"pk": "appointment"},
        calls=(Call("post", body={"outcome": "attended"}),),
    ),
    # The schema and its docs describe the API and hold no data; health checks likewise.
    "api-schema": Expect("public", EVERYONE),
    "api-docs": Expect("public", EVERYONE),
    "healthz": Expect("public", EVERYONE),
    "readyz": Expect("public", EVERYONE),
    # The administrator's audit trail: the whole service's, so both sides are theirs to see.
    "audit:search": Expect(
        "page", frozenset({ADMINISTRATOR}), national=True, personal=GET, audit_person=False
    ),
    "audit:person": Expect(
        "page",
        frozenset({ADMINISTRATOR}),
        args={"person_id": "person"},
        national=True,
        personal=GET,
    ),
    "audit:export": Expect(
        "page", frozenset({ADMINISTRATOR}), national=True, personal=GET, audit_person=False
    ),
    # Subject access requests: any person, in any force, for the administrator.
    "data_protection:subject_access_find": Expect(
        "page",
        frozenset({ADMINISTRATOR}),
        calls=(GET, Call("post", body=PERSON_FORM)),
        national=True,
        personal=Call("post", body=PERSON_FORM),
    ),
    "data_protection:subject_access": Expect(
        "page",
        frozenset({ADMINISTRATOR}),
        args={"person_id": "person"},
        calls=(GET, Call("post", body={"reference": "DP-2026-1", "copy": "document"})),
        national=True,
        personal=GET,
    ),
    # The Django admin, one declaration for all its pages (see ADMIN_NAMESPACE).
    "admin:index": Expect("admin", frozenset({ADMINISTRATOR})),
}

# The analysts' reports: aggregate figures only, so no personal data and no audit of a person;
# another organisation's names and references must never appear in them (checked for every
# role allowed). Bad filters are a 400 with the message (tests/test_reports.py).
ANALYSTS = frozenset({ANALYST})
DECLARATIONS["reports:index"] = Expect("page", ANALYSTS)
for _slug in REPORTS:
    DECLARATIONS[f"reports:{_slug}"] = Expect(
        "page", ANALYSTS, calls=(GET, Call(query="?drug_class=B&disposal=community_resolution"))
    )
    DECLARATIONS[f"reports:{_slug}_csv"] = Expect("page", ANALYSTS)
    DECLARATIONS[f"report-{_slug}"] = Expect(
        "api", ANALYSTS, calls=(GET, Call(query="?drug_class=A"))
    )

# Every admin:* pattern is covered by the "admin:index" declaration: only administrators
# (is_staff) get in, everyone else is sent to the admin's sign-in page.
ADMIN_NAMESPACE = "admin:"
# DRF's format-suffix duplicates (cases.json, ...) run the same view as the plain pattern.
FORMAT_SUFFIX = re.compile(r"\(\?P<format>|<drf_format_suffix:format>")
# Models holding personal data that the admin must not expose.
PERSONAL_MODELS = (Person, Case, Referral, Appointment, Escalation)


@dataclass(frozen=True)
class Pattern:
    """A named URL pattern found by walking the resolver."""

    name: str
    route: str

    def __str__(self) -> str:
        return self.name


def _walk(patterns: list, prefix: str = "", namespace: tuple[str, ...] = ()) -> Iterator[Pattern]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespace, entry.namespace) if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespace, entry.name or f"<unnamed {entry.pattern}>"))
            yield Pattern(name=name, route=prefix + str(entry.pattern))


def url_patterns() -> list[Pattern]:
    """Every named pattern to check, once each: the admin by one entry, no format suffixes."""
    found: dict[str, Pattern] = {}
    for pattern in _walk(get_resolver().url_patterns):
        if FORMAT_SUFFIX.search(pattern.route):
            continue
        if pattern.name.startswith(ADMIN_NAMESPACE):
            pattern = Pattern(name="admin:index", route="admin/")
        found.setdefault(pattern.name, pattern)
    return list(found.values())


def admin_registers_personal_data() -> list[str]:
    """Labels of personal-data models registered with the admin (should be none)."""
    return [model._meta.label for model in PERSONAL_MODELS if model in admin_site._registry]


# --- The world: two forces, two providers, one case of each kind per side ----------------

LONG_AFTER = timezone.now() + timedelta(days=1000)
MISSING = {
    "case": "NOPE-999999",
    "referral": "R-NOPE-999999",
    "appointment": "987654321",
    "session": "987654322",
    "escalation": "987654323",
    "prosecuted_escalation": "987654324",
    "api_token": "987654325",
    "booking": "987654326",
    "programme": "987654327",
    "person": "987654328",
    "decision": "987654329",
}


@dataclass
class Org:
    """One side of the world: a force and the provider its cases are referred to."""

    code: str
    force: Any
    provider: Any
    programme: Programme
    officer: User
    supervisor: User
    staff: User
    person: Person
    case: Case
    referral: Referral
    appointment: Appointment
    booking: Appointment
    session: GroupSession
    escalation: Escalation
    escalated_case: Case
    prosecuted_escalation: Escalation
    token_pk: int
    token_name: str
    values: dict[str, str] = field(default_factory=dict)

    def markers(self) -> dict[str, str]:
        """Text that must never appear in what another organisation is shown."""
        return {
            "family_name": self.person.family_name,
            "escalated_family_name": self.escalated_case.person.family_name,
            "case": self.case.reference,
            "escalated_case": self.escalated_case.reference,
            "referral": self.referral.reference,
            "escalated_referral": self.escalation.referral.reference,
            "session_location": self.session.location,
            "token_name": self.token_name,
            "programme_name": self.programme.name,
            "note": self.values["note"],
        }


@dataclass
class World:
    """Both sides, and the acting user for each role (all on the "own" side)."""

    own: Org
    other: Org
    actors: dict[str, User | None]
    actor_tokens: dict[str, int]

    def value(self, kind: str, side: str, role: str) -> str:
        """The value for a URL argument of `kind` naming an object of `side`."""
        if side == "missing":
            if kind == "person_token":
                return signing.dumps(987654321, salt=PERSON_TOKEN_SALT)
            return MISSING[kind]
        if kind == "api_token" and side == "own" and role in self.actor_tokens:
            return str(self.actor_tokens[role])
        return self.org(side).values[kind]

    def org(self, side: str) -> Org:
        return self.other if side == "other" else self.own

    def placeholders(self, side: str) -> dict[str, str]:
        """Values for a call's placeholders: the URL's side plain, and own_*/other_*."""
        target = self.org(side)
        mapping = dict(target.values)
        mapping.update({f"own_{k}": v for k, v in self.own.values.items()})
        mapping.update({f"other_{k}": v for k, v in self.other.values.items()})
        return mapping


def _person(officer: User, given: str, family: str, born: date) -> Person:
    return person_create(
        by=officer, given_name=given, family_name=family, date_of_birth=born, phone="07700 900111"
    )


def _referred(officer: User, programme: Programme, person: Person, number: str) -> Referral:
    """A case for `person`, checked eligible, accepted, and referred: through the services."""
    case = case_create(
        by=officer,
        person=person,
        custody_record_number=number,
        offence_date=date.today() - timedelta(days=2),
        drugs=[DrugQuantity(drug=factories.drug("cannabis"), quantity=Decimal("2"))],
        admitted_offence=True,
        previous_drug_conviction_or_caution=False,
    )
    decision = eligibility_check(case=case, by=officer)
    assert decision.eligible, decision.reasons
    offer_record(case=case, by=officer, response="accepted", consent_given=True)
    return referral_create(case=case, programme=programme, by=officer)


SIDES = {
    # code: (label, family names of the main and escalated people, dates of birth)
    "TVP": ("Thames", "Quillfeather", "Escalonne", date(1991, 3, 4), date(1988, 7, 9)),
    "DUR": ("Durham", "Marrowdale", "Prossington", date(1985, 11, 23), date(1979, 2, 14)),
}


def _side_people(code: str) -> dict[str, Any]:
    label, family, escalated_family, born, escalated_born = SIDES[code]
    force = factories.force(code)
    factories.PolicyFactory(force=force)
    provider = factories.ProviderFactory(name=f"{label} Recovery")
    programme = factories.ProgrammeFactory(
        provider=provider, forces_served=[force], sessions_required=2, name=f"{label} course"
    )
    officer = factories.UserFactory(role=OFFICER, force=force, username=f"officer-{code}")
    supervisor = factories.UserFactory(role=SUPERVISOR, force=force, username=f"super-{code}")
    staff = factories.UserFactory(
        role=PROVIDER, force=None, provider=provider, username=f"staff-{code}"
    )
    return {
        "label": label,
        "family": family,
        "born": born,
        "force": force,
        "provider": provider,
        "programme": programme,
        "officer": officer,
        "supervisor": supervisor,
        "staff": staff,
        "escalated": [
            _referred(
                officer,
                programme,
                _person(officer, given, f"{escalated_family}{suffix}", escalated_born),
                f"ESC-{code}-{suffix}",
            )
            for given, suffix in (("Esme", ""), ("Evan", "-Two"))
        ],
    }


def _finish_side(code: str, side: dict[str, Any]) -> Org:
    """Decide one escalation, then the main case: accepted, booked, on a group session."""
    officer, staff, programme = side["officer"], side["staff"], side["programme"]
    open_escalation, prosecuted = (
        Escalation.objects.get(referral=referral) for referral in side["escalated"]
    )
    escalation_decide(
        escalation=prosecuted, by=side["supervisor"], decision="prosecute", rationale="Gone"
    )
    person = _person(officer, "Rowan", side["family"], side["born"])
    referral = _referred(officer, programme, person, f"MAIN-{code}")
    referral_accept(referral=referral, by=staff)
    appointment = appointment_book(
        referral=referral, by=staff, starts_at=timezone.now() + timedelta(days=1)
    )
    # The services book only the future; attendance is due once an appointment has started.
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=timezone.now() - timedelta(hours=2)
    )
    appointment.refresh_from_db()
    starts = timezone.now() + timedelta(days=7)
    session = group_session_create(
        programme=programme,
        by=staff,
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        location=f"{side['label']} community hall",
    )
    booking = appointment_book(referral=referral, by=staff, group_session=session)
    note_add(
        referral=referral,
        by=staff,
        body=f"{side['label']} note marker",
        concern_category="behaviour",
    )
    token_name = f"{side['label']} integration"
    token, _ = ApiToken.issue(user=officer, name=token_name)
    org = Org(
        code=code,
        force=side["force"],
        provider=side["provider"],
        programme=programme,
        officer=officer,
        supervisor=side["supervisor"],
        staff=staff,
        person=person,
        case=referral.case,
        referral=referral,
        appointment=appointment,
        booking=booking,
        session=session,
        escalation=open_escalation,
        escalated_case=open_escalation.referral.case,
        prosecuted_escalation=prosecuted,
        token_pk=token.pk,
        token_name=token_name,
    )
    org.values = {
        "case": org.case.reference,
        "referral": referral.reference,
        "appointment": str(appointment.pk),
        "booking": str(booking.pk),
        "session": str(session.pk),
        "escalation": str(open_escalation.pk),
        "prosecuted_escalation": str(prosecuted.pk),
        "api_token": str(token.pk),
        "programme": str(programme.pk),
        "person": str(person.pk),
        "decision": str(referral.case.eligibility_decisions.first().pk),
        "person_token": signing.dumps(person.pk, salt=PERSON_TOKEN_SALT),
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth.isoformat(),
        "birth_day": str(person.date_of_birth.day),
        "birth_month": str(person.date_of_birth.month),
        "birth_year": str(person.date_of_birth.year),
        "session_location": session.location,
        "token_name": token_name,
        "programme_name": programme.name,
        "label": side["label"],
        "note": f"{side['label']} note marker",
        "staff": staff.username,
        "staff_pk": str(staff.pk),
        "officer": officer.username,
        "officer_pk": str(officer.pk),
    }
    return org


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
def build_world() -> World:
    """Both sides through the services; the sweep flags the escalated referrals first."""
    sides = {code: _side_people(code) for code in SIDES}
    sweep_deadlines(now=LONG_AFTER)
    own, other = (_finish_side(code, side) for code, side in sides.items())
    analyst = factories.UserFactory(role=ANALYST, force=None, username="analyst")
    administrator = factories.UserFactory(
        role=ADMINISTRATOR,
        force=None,
        username="administrator",
        is_staff=True,
        is_superuser=True,
    )
    actors: dict[str, User | None] = {
        OFFICER: own.officer,
        SUPERVISOR: own.supervisor,
        PROVIDER: own.staff,
        ANALYST: analyst,
        ADMINISTRATOR: administrator,
        ANONYMOUS: None,
    }
    actor_tokens = {OFFICER: own.token_pk}
    for role, user in actors.items():
        if user is not None and role != OFFICER:
            # Supervisors and administrators may hold no new token; one made before that rule
            # is still theirs to revoke, so each actor gets a token made as it was then.
            actor_tokens[role] = ApiToken.objects.create(
                user=user,
                name=f"{own.token_name} {role}",
                prefix=role[:8],
                key_hash=hash_token(f"{own.token_name} {role}"),
                expires_at=timezone.now() + timedelta(days=30),
            ).pk
    return World(own=own, other=other, actors=actors, actor_tokens=actor_tokens)


def fill(template: str, mapping: Mapping[str, str]) -> str:
    """A query or body value with its {placeholders} filled."""
    return template.format_map(mapping)


def fill_body(body: Mapping[str, Any] | None, mapping: Mapping[str, str]) -> dict[str, Any]:
    """A call's body with placeholders filled in keys and string values."""
    return {
        fill(key, mapping): fill(value, mapping) if isinstance(value, str) else value
        for key, value in (body or {}).items()
    }


def world_in_transaction(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """A module-scoped fixture body: build the world once inside a transaction, roll it back
    at the end; each test's own transaction is a savepoint inside it."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build_world()
        except BaseException:
            atomic.__exit__(None, None, None)
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def client_for(world: World, role: str) -> Client:
    """A test client signed in as the role's acting user (anonymous: not signed in)."""
    client = Client()
    user = world.actors[role]
    if user is not None:
        client.force_login(user)
    return client


def url_for(name: str, expect: Expect, world: World, side: str, role: str) -> str:
    """The pattern's URL with its arguments naming an object of `side`."""
    kwargs = {arg: world.value(kind, side, role) for arg, kind in expect.args.items()}
    return reverse(name, kwargs=kwargs or None)


def perform(
    client: Client, surface: Surface, call: Call, url: str, mapping: Mapping[str, str]
) -> HttpResponse:
    """Make one call: a form post on pages, JSON on the API."""
    path = url + fill(call.query, mapping)
    if call.method == "get":
        return client.get(path)
    body = fill_body(call.body, mapping)
    if surface == "api":
        return client.generic(
            call.method.upper(), path, json.dumps(body), content_type="application/json"
        )
    return client.post(path, body)


READS = ("view", "search", "disclose", "export")


def content(response: HttpResponse) -> bytes:
    """The body, streamed or not."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def snapshot() -> dict[str, Any]:
    """Every row count and every status a write could change: equal before and after means
    nothing changed (audit rows of reads excepted: view, search, disclose, export)."""
    models = (Person, Case, Offer, EligibilityDecision, Referral, Appointment, Attendance)
    state: dict[str, Any] = {
        model.__name__: model.objects.count()
        for model in (
            *models,
            GroupSession,
            Escalation,
            ApiToken,
            Notification,
            ReferralNote,
            ReferralAssignment,
            ProgrammeReport,
            CaseAssignment,
        )
    }
    state["audited writes"] = AuditEvent.objects.exclude(action__in=READS).count()
    state["cases"] = list(
        Case.objects.order_by("pk").values_list("pk", "status", "outcome", "assigned_to")
    )
    state["referrals"] = list(
        Referral.objects.order_by("pk").values_list(
            "pk", "status", "updated_at", "first_appointment_due", "completion_due", "assigned_to"
        )
    )
    state["appointments"] = list(
        Appointment.objects.order_by("pk").values_list("pk", "status", "starts_at", "updated_at")
    )
    state["sessions"] = list(
        GroupSession.objects.order_by("pk").values_list("pk", "starts_at", "ends_at", "location")
    )
    state["escalations"] = list(
        Escalation.objects.order_by("pk").values_list("pk", "decision", "decided_at")
    )
    state["tokens"] = list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at"))
    return state


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The snapshot keys whose value differs."""
    return [key for key in before if before[key] != after.get(key)]
