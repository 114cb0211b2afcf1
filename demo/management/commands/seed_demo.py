"""Demo data: providers, programmes, three forces' scheme policies, a user per role, cases.

Safe to run again: everything is found by its natural key (provider and programme names, a
force's first policy version, usernames, demo custody record numbers) before it is created,
and existing rows are left as they are. Cases are built through the services, as the demo
officers, so each has its history and audit rows like a real one; the demo provider then takes
some on (accepts, books, marks attendance) through the provider services.

The services refuse to book the past, so appointments and the group session the provider
should mark attendance for are booked in the future and then moved back a few hours: demo data
only. Likewise a few Thames Valley referrals are backdated so that their deadlines have passed,
and the deadline sweep then flags them, so the demo supervisor has escalations to decide.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User
from base.clock import LONDON, london_date
from cases.models import Case, CaseStatus, Drug, Force, Person, SchemePolicy
from cases.reference_data import load_reference_data
from cases.services import (
    DrugQuantity,
    case_close_ineligible,
    case_create,
    eligibility_check,
    offer_record,
    person_create,
)
from demo.report_data import seed_report_cases
from escalations.sweep import sweep_deadlines
from programmes.models import Appointment, GroupSession, Programme, Provider, Referral
from programmes.rules import compute_deadlines
from programmes.services import (
    appointment_book,
    attendance_record,
    group_session_create,
    referral_accept,
    referral_create,
)

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (documented demo credential, see README)

PROVIDERS = {
    "Pathways Drug Education": "referrals@pathways.example.org",
    "Northern Recovery Partnership": "checkpoint@northern-recovery.example.org",
    "Midlands Drug Education Service": "divert@mdes.example.org",
}

# (provider, name, kind, sessions required, forces served, description)
PROGRAMMES = [
    (
        "Pathways Drug Education",
        "Drug awareness group session",
        "education",
        1,
        ["TVP"],
        "One 3.5-hour group session on the health and legal risks of drug use.",
    ),
    (
        "Pathways Drug Education",
        "Drug awareness online course",
        "education",
        1,
        ["TVP", "WMP"],
        "A 4-hour online course, done in one sitting or in parts within the deadline.",
    ),
    (
        "Northern Recovery Partnership",
        "Assessment and treatment sessions",
        "treatment",
        4,
        ["TVP", "DUR"],
        "A substance-use assessment followed by three one-to-one treatment sessions.",
    ),
    (
        "Northern Recovery Partnership",
        "Checkpoint four-month contract",
        "treatment",
        4,
        ["DUR"],
        "A 4-month contract with a navigator: an assessment and monthly meetings, with "
        "conditions agreed at the start.",
    ),
    (
        "Midlands Drug Education Service",
        "DIVERT drug education course",
        "education",
        1,
        ["WMP"],
        "One 3-hour drug education course, booked within 14 days of the offence.",
    ),
]

CLASS_B_THRESHOLDS = {
    "cannabis": "28",
    "cannabis-resin": "10",
    "ketamine": "1",
    "amphetamine": "2",
}
CLASS_A_THRESHOLDS = {"cocaine": "1", "mdma": "1", "ecstasy-tablets": "4"}

# Version 1 of each demo force's scheme, differing where real schemes differ (DESIGN.md).
POLICIES: dict[str, dict[str, Any]] = {
    "DUR": {
        "scheme_name": "Checkpoint",
        "disposal": "deferred_prosecution",
        "intervention": "A 4-month contract with conditions, supported by a navigator; "
        "prosecution is deferred and dropped when the contract is kept.",
        "drug_classes": ["A", "B"],
        "personal_use_thresholds": {**CLASS_A_THRESHOLDS, **CLASS_B_THRESHOLDS},
        "max_offence_age_days": 90,
        "requires_admission": True,
        "requires_residence_in_area": True,
        "excluded_circumstances": ["hate_crime", "court_order", "suspended_sentence"],
        "lookback_days": 730,
        "max_previous_diversions": 0,
        "first_appointment_working_days": 10,
        "completion_days": 120,
        "deadlines_from": "referral",
        "max_unexcused_absences": 1,
        "late_counts_as_attended": True,
    },
    "TVP": {
        "scheme_name": "Drug Diversion Scheme",
        "disposal": "community_resolution",
        "intervention": "A drug awareness session or course, or an assessment and treatment "
        "sessions, chosen with the person.",
        "drug_classes": ["A", "B"],
        "personal_use_thresholds": {**CLASS_A_THRESHOLDS, **CLASS_B_THRESHOLDS},
        "max_offence_age_days": None,
        "requires_admission": False,
        "requires_residence_in_area": False,
        "excluded_circumstances": ["violence_at_arrest", "outstanding_warrant", "court_order"],
        "lookback_days": 3 * 365,
        "max_previous_diversions": 0,
        "first_appointment_working_days": 10,
        "completion_days": 84,
        "deadlines_from": "referral",
        "max_unexcused_absences": 1,
        "late_counts_as_attended": True,
    },
    "WMP": {
        "scheme_name": "DIVERT",
        "disposal": "community_resolution",
        "intervention": "A drug education course: book within 14 days and attend within 12 "
        "weeks of the offence. Offered again while the person engages.",
        "drug_classes": ["B"],
        "personal_use_thresholds": CLASS_B_THRESHOLDS,
        "max_offence_age_days": None,
        "requires_admission": False,
        "requires_residence_in_area": False,
        "excluded_circumstances": ["violence_at_arrest", "co_accused", "mental_health_act"],
        "lookback_days": 730,
        "max_previous_diversions": 2,
        "first_appointment_working_days": 10,
        "completion_days": 84,
        "deadlines_from": "offence",
        "max_unexcused_absences": 0,
        "late_counts_as_attended": False,
    },
}

# (username, first name, last name, role, force code, provider name, is_staff, is_superuser)
# The demo supervisor's and administrator's authenticator key, in hex; an authenticator app
# takes it in base32 as D2FGD4PIUYPR5CTB6HUKMHY6RJQ7D2FG (README, "Demo sign-ins").
DEMO_TOTP_KEY = "1e8a61f1e8a61f1e8a61f1e8a61f1e8a61f1e8a6"

USERS = [
    ("officer", "Olivia", "Bennett", Role.CUSTODY_OFFICER, "TVP", None, False, False),
    ("supervisor", "Marcus", "Reid", Role.SUPERVISOR, "TVP", None, False, False),
    (
        "provider",
        "Priya",
        "Nair",
        Role.PROVIDER_STAFF,
        None,
        "Pathways Drug Education",
        False,
        False,
    ),
    ("analyst", "Tom", "Hargreaves", Role.ANALYST, "TVP", None, False, False),
    ("national.analyst", "Nadia", "Okafor", Role.ANALYST, None, None, False, False),
    ("admin", "Ada", "Lloyd", Role.ADMINISTRATOR, None, None, True, True),
    ("durham.officer", "Gethin", "Morgan", Role.CUSTODY_OFFICER, "DUR", None, False, False),
    ("westmidlands.officer", "Grace", "Adebayo", Role.CUSTODY_OFFICER, "WMP", None, False, False),
]
OFFICER_FOR_FORCE = {"TVP": "officer", "DUR": "durham.officer", "WMP": "westmidlands.officer"}


@dataclass(frozen=True)
class DemoPerson:
    given_name: str
    family_name: str
    years: int
    days: int  # born `years` years before the date `days` days ago
    pnc_id: str = ""
    preferred_language: str = "en"


@dataclass(frozen=True)
class DemoCase:
    """One demo case and how far along its life to take it."""

    number: str
    force: str
    person: DemoPerson
    days_ago: int
    drugs: tuple[tuple[str, str], ...]
    # logged, checked, offered, accepted, referred, declined or closed; or, taken on by the
    # provider: booked (a past appointment to mark), attending (one attended) or on_session
    # (booked on the demo group session that has just taken place); or, past its deadlines
    # and flagged by the sweep: missed_first (no first appointment), absent (two unexcused
    # absences) or overdue (an excused absence, then nothing until the completion deadline)
    goal: str
    programme: str = ""
    admitted: bool = True
    previous: bool = False
    offence_type: str = "simple_possession"
    setting: str = "none"
    resides: bool = True
    circumstances: tuple[str, ...] = ()


SIAN = DemoPerson("Siân", "Llŷr", 24, 131, preferred_language="cy")
CIARAN = DemoPerson("Ciarán", "Ó Briain", 31, 48)
ZOE = DemoPerson("Zoë", "Smith-Jones", 27, 205)
SEAN = DemoPerson("Seán", "O'Connor", 35, 17)
AOIFE = DemoPerson("Aoife", "Ní Bhriain", 22, 301)
DAFYDD = DemoPerson("Dafydd", "ap Gruffydd", 40, 77, preferred_language="cy")
RHIANNON = DemoPerson("Rhiannon", "Pryce-Davies", 19, 160)
JAYDEN = DemoPerson("Jayden", "Clarke", 17, 40)
TOMASZ = DemoPerson("Tomasz", "Nowak", 29, 90, pnc_id="2016/0238841C")
AMIRA = DemoPerson("Amira", "Haddad", 26, 222)
CONNOR = DemoPerson("Connor", "MacDonald", 33, 12)
EOIN = DemoPerson("Eoin", "Mac Giolla Phádraig", 45, 180)
PRIYA = DemoPerson("Priya", "Shah", 38, 33)
NIAMH = DemoPerson("Niamh", "O'Sullivan", 21, 250)
GARETH = DemoPerson("Gareth", "Llewellyn", 52, 5)
CHLOE = DemoPerson("Chloé", "Dubois", 30, 99)
KIERAN = DemoPerson("Kieran", "O'Neill", 28, 140, pnc_id="2019/0456123K")
OLUSEGUN = DemoPerson("Olusegun", "Adeyemi", 28, 64)
LOWRI = DemoPerson("Lowri", "Wyn-Jones", 23, 310, preferred_language="cy")
ELLIE = DemoPerson("Ellie-Mae", "Turner", 18, 6)  # 18 on the very day of the offence
DECLAN_WMP = DemoPerson("Declan", "McBride", 34, 21)
DECLAN_TVP = DemoPerson("Declan", "Mc Bride", 34, 21)  # the same man, typed differently
BETHAN = DemoPerson("Bethan", "Ellis-Roberts", 29, 115, preferred_language="cy")
CIARA = DemoPerson("Ciara", "Ní Dhomhnaill", 34, 190)
MARK = DemoPerson("Mark", "Thompson", 44, 2)
SIOBHAN = DemoPerson("Siobhán", "Kelly", 26, 260)
ROISIN = DemoPerson("Róisín", "D'Arcy", 37, 55)
HANNAH = DemoPerson("Hannah", "Okafor", 25, 170)
RYAN = DemoPerson("Ryan", "Patel", 30, 45)
FFION = DemoPerson("Ffion", "Hughes", 20, 270, preferred_language="cy")
KACPER = DemoPerson("Kacper", "Wiśniewski", 27, 80)
LEAH = DemoPerson("Leah", "Ó Súilleabháin", 32, 150)
AALIYAH = DemoPerson("Aaliyah", "Begum", 23, 58)
OISIN = DemoPerson("Oisín", "Kavanagh", 36, 120)
NIA = DemoPerson("Nia", "Roberts", 29, 210, preferred_language="cy")
MATEUSZ = DemoPerson("Mateusz", "Zieliński", 41, 15)
SAMIRA = DemoPerson("Samira", "El-Amin", 27, 95)
JOEL = DemoPerson("Joel", "Ó Ceallaigh", 33, 44)
MAIR = DemoPerson("Mair", "Prys", 41, 12, preferred_language="cy")

GROUP = "Drug awareness group session"
ONLINE = "Drug awareness online course"
TREATMENT = "Assessment and treatment sessions"
CHECKPOINT = "Checkpoint four-month contract"
DIVERT = "DIVERT drug education course"

# In the order they are built: an earlier diversion comes before the case that finds it.
CASES = [
    # West Midlands (DIVERT: class B only, repeats allowed, deadlines from the offence).
    DemoCase("DEMO-0101", "WMP", DECLAN_WMP, 150, (("cannabis", "6"),), "referred", DIVERT),
    DemoCase("DEMO-0102", "WMP", RYAN, 400, (("cannabis-resin", "3"),), "referred", ONLINE),
    DemoCase("DEMO-0103", "WMP", RYAN, 6, (("cannabis", "9"),), "referred", DIVERT),
    DemoCase("DEMO-0104", "WMP", HANNAH, 4, (("cocaine", "0.3"),), "closed"),
    DemoCase("DEMO-0105", "WMP", FFION, 10, (("cannabis", "2"),), "referred", DIVERT),
    DemoCase("DEMO-0106", "WMP", KACPER, 3, (("ketamine", "0.5"),), "accepted"),
    DemoCase(
        "DEMO-0107",
        "WMP",
        LEAH,
        8,
        (("amphetamine", "1"),),
        "checked",
        circumstances=("violence_at_arrest",),
    ),
    # Durham (Checkpoint: classes A and B, under 90 days old, admission required).
    DemoCase("DEMO-0201", "DUR", BETHAN, 12, (("cocaine", "0.6"),), "referred", CHECKPOINT),
    DemoCase("DEMO-0202", "DUR", CIARA, 9, (("cannabis", "9"),), "closed", admitted=False),
    DemoCase("DEMO-0203", "DUR", MARK, 120, (("cannabis", "4"),), "checked"),
    DemoCase("DEMO-0204", "DUR", SIOBHAN, 5, (("cannabis-resin", "3"),), "offered"),
    DemoCase("DEMO-0205", "DUR", ROISIN, 20, (("mdma", "0.5"),), "referred", TREATMENT),
    DemoCase("DEMO-0206", "DUR", SIAN, 2, (("cannabis", "3"),), "logged"),
    # Thames Valley (Drug Diversion Scheme: classes A and B, once only in three years).
    DemoCase("DEMO-0001", "TVP", SIAN, 1, (("cannabis", "6"),), "logged"),
    DemoCase("DEMO-0002", "TVP", CIARAN, 18, (("cocaine", "0.5"),), "referred", GROUP),
    DemoCase("DEMO-0003", "TVP", ZOE, 11, (("cannabis", "12"),), "referred", ONLINE),
    DemoCase("DEMO-0004", "TVP", SEAN, 3, (("cannabis-resin", "4"),), "accepted"),
    DemoCase("DEMO-0005", "TVP", AOIFE, 2, (("mdma", "0.4"),), "offered"),
    DemoCase("DEMO-0006", "TVP", DAFYDD, 2, (("cannabis", "3"),), "checked"),
    DemoCase("DEMO-0007", "TVP", RHIANNON, 4, (("cannabis", "45"),), "checked"),
    DemoCase("DEMO-0008", "TVP", JAYDEN, 3, (("cannabis", "2"),), "closed"),
    DemoCase("DEMO-0009", "TVP", TOMASZ, 7, (("cocaine", "0.8"),), "closed", previous=True),
    DemoCase(
        "DEMO-0010",
        "TVP",
        AMIRA,
        25,
        (("ketamine", "0.5"), ("cannabis", "2")),
        "referred",
        TREATMENT,
    ),
    DemoCase("DEMO-0011", "TVP", CONNOR, 5, (("cannabis", "8"),), "declined"),
    DemoCase("DEMO-0012", "TVP", EOIN, 6, (("cocaine", "3.5"),), "closed"),
    DemoCase("DEMO-0013", "TVP", PRIYA, 15, (("ecstasy-tablets", "2"),), "referred", GROUP),
    DemoCase("DEMO-0014", "TVP", NIAMH, 4, (("cannabis", "5"),), "closed", offence_type="supply"),
    DemoCase("DEMO-0015", "TVP", GARETH, 9, (("amphetamine", "1"),), "closed", setting="school"),
    DemoCase(
        "DEMO-0016",
        "TVP",
        CHLOE,
        3,
        (("cannabis-resin", "2"),),
        "checked",
        circumstances=("outstanding_warrant",),
    ),
    DemoCase("DEMO-0017", "TVP", KIERAN, 300, (("cannabis", "5"),), "referred", GROUP),
    DemoCase("DEMO-0018", "TVP", KIERAN, 5, (("cannabis", "4"),), "checked"),
    DemoCase("DEMO-0019", "TVP", OLUSEGUN, 1, (("cannabis", "10"),), "checked"),
    DemoCase("DEMO-0020", "TVP", LOWRI, 0, (("cannabis", "1.5"),), "logged"),
    DemoCase("DEMO-0021", "TVP", ELLIE, 6, (("cannabis", "3"),), "offered"),
    DemoCase("DEMO-0022", "TVP", DECLAN_TVP, 4, (("cannabis", "5"),), "checked"),
    # Thames Valley cases Pathways has taken on, so the demo provider has work to do.
    DemoCase("DEMO-0023", "TVP", AALIYAH, 9, (("cannabis", "4"),), "booked", ONLINE),
    DemoCase("DEMO-0024", "TVP", OISIN, 14, (("cannabis-resin", "2"),), "attending", ONLINE),
    DemoCase("DEMO-0025", "TVP", NIA, 8, (("cannabis", "3"),), "on_session", GROUP),
    DemoCase("DEMO-0026", "TVP", MATEUSZ, 10, (("cocaine", "0.4"),), "on_session", GROUP),
    # Thames Valley referrals past their deadlines: the sweep flags them for the supervisor.
    DemoCase("DEMO-0027", "TVP", SAMIRA, 30, (("cannabis", "5"),), "absent", ONLINE),
    DemoCase("DEMO-0028", "TVP", JOEL, 24, (("cocaine", "0.3"),), "missed_first", GROUP),
    DemoCase("DEMO-0029", "TVP", MAIR, 100, (("cannabis-resin", "3"),), "overdue", ONLINE),
]
PROVIDER_GOALS = ("booked", "attending", "on_session", "absent", "overdue")
LAPSED_GOALS = ("missed_first", "absent", "overdue")
PROVIDER_USERNAME = "provider"


def ascii_letters(text: str) -> str:
    """Lower-case ASCII letters and dots of `text`, accents dropped (for demo addresses)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(char for char in folded if char.isalnum() or char == ".")


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


class Command(BaseCommand):
    help = "Load demo providers, programmes, scheme policies, users for every role and cases."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the demo even with DEBUG off (it creates users with a published password)",
        )
        parser.add_argument(
            "--report-cases",
            type=int,
            default=0,
            metavar="N",
            help="Also load N cases over the last two years across the demo forces, for the "
            "analysts' reports (about 3000 make the reports worth looking at; once only)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates users, an administrator among them, whose password is "
                "published in the README. Run it only on a demo or development machine: with "
                "DEBUG on (as `make run` does), or with --force if you are sure."
            )
        self.verbosity = int(options.get("verbosity", 1))
        self.today = london_date(timezone.now())
        with transaction.atomic():
            load_reference_data(Force, Drug)
            self.forces = {force.code: force for force in Force.objects.filter(code__in=POLICIES)}
            self.drugs = {drug.code: drug for drug in Drug.objects.all()}
            providers = self.seed_providers()
            programmes = self.seed_programmes(providers)
            users = self.seed_users(providers)
            policies = self.seed_policies(users["admin"])
            cases = self.seed_cases(users, programmes)
            if options.get("report_cases"):
                cases["for reports"] = seed_report_cases(
                    cases=options["report_cases"],
                    today=self.today,
                    policies=policies,
                    programmes={
                        code: [p for p in programmes.values() if force in p.forces_served.all()]
                        for code, force in self.forces.items()
                    },
                    officers={code: users[name] for code, name in OFFICER_FOR_FORCE.items()},
                    staff=users["provider"],
                    supervisor=users["supervisor"],
                )
        self.report(providers, programmes, policies, users, cases)

    def say(self, message: str = "") -> None:
        """Print unless asked to be quiet."""
        if self.verbosity > 0:
            self.stdout.write(message)

    def seed_providers(self) -> dict[str, Provider]:
        """The demo providers, by name."""
        providers = {}
        for name, email in PROVIDERS.items():
            providers[name], _ = Provider.objects.get_or_create(
                name=name, defaults={"contact_email": email}
            )
        return providers

    def seed_programmes(self, providers: dict[str, Provider]) -> dict[str, Programme]:
        """The demo programmes, by name, each serving its forces."""
        programmes = {}
        for provider, name, kind, sessions, forces, description in PROGRAMMES:
            programme, _ = Programme.objects.get_or_create(
                provider=providers[provider],
                name=name,
                defaults={
                    "kind": kind,
                    "sessions_required": sessions,
                    "description": description,
                },
            )
            programme.forces_served.add(*(self.forces[code] for code in forces))
            programmes[name] = programme
        return programmes

    def seed_users(self, providers: dict[str, Provider]) -> dict[str, User]:
        """One demo user per role (and an officer in each other demo force), by username."""
        users = {}
        for username, first, last, role, force, provider, staff, superuser in USERS:
            user, created = User.objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.org",
                    "role": role,
                    "force": self.forces[force] if force else None,
                    "provider": providers[provider] if provider else None,
                    "is_staff": staff,
                    "is_superuser": superuser,
                    "is_active": True,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            if role in settings.TWO_FACTOR_ROLES:
                # The demo's authenticator, with a key published in the README, so anyone
                # trying the demo can sign in (`make code USER=supervisor` shows the code).
                TOTPDevice.objects.get_or_create(
                    user=user,
                    name="Demo authenticator",
                    defaults={"key": DEMO_TOTP_KEY, "confirmed": True},
                )
            users[username] = user
        return users

    def seed_policies(self, admin: User) -> dict[str, SchemePolicy]:
        """Version 1 of each demo force's policy, unless the force already has a policy."""
        policies = {}
        for code, fields in POLICIES.items():
            force = self.forces[code]
            current = force.current_policy()
            if current is None:
                current = SchemePolicy(force=force, version=1, created_by=admin, **fields)
                current.full_clean()
                current.save()
            policies[code] = current
        return policies

    def seed_cases(self, users: dict[str, User], programmes: dict[str, Programme]) -> Counter:
        """Build each demo case that is not there yet; count what was created and kept."""
        tally: Counter[str] = Counter()
        self.users = users
        self.past_session: GroupSession | None = None
        existing = set(
            Case.objects.filter(custody_record_number__startswith="DEMO-").values_list(
                "force__code", "custody_record_number"
            )
        )
        for demo in CASES:
            if (demo.force, demo.number) in existing:
                tally["kept"] += 1
                continue
            officer = users[OFFICER_FOR_FORCE[demo.force]]
            self.build_case(demo, officer, programmes)
            tally["created"] += 1
        if self.past_session is not None:
            self.move_into_the_past(self.past_session)
        # What Celery beat does within a minute of `make run`: flag every referral past its
        # deadlines, so the demo supervisor has escalations to decide. The sweep never flags a
        # referral with an open escalation twice, so a second run flags nothing new.
        tally["flagged"] = len(sweep_deadlines())
        return tally

    def demo_person(self, demo: DemoPerson, officer: User) -> Person:
        """The demo person, found by PNC ID or exact name and date of birth, else added."""
        born = years_before(self.today - timedelta(days=demo.days), demo.years)
        if demo.pnc_id:
            found = Person.objects.filter(pnc_id=demo.pnc_id).first()
        else:
            found = Person.objects.filter(
                given_name=demo.given_name, family_name=demo.family_name, date_of_birth=born
            ).first()
        if found is not None:
            return found
        mailbox = ascii_letters(f"{demo.given_name}.{demo.family_name}")
        return person_create(
            by=officer,
            given_name=demo.given_name,
            family_name=demo.family_name,
            date_of_birth=born,
            pnc_id=demo.pnc_id,
            email=f"{mailbox}@example.org",
            # Ofcom's drama range 07700 900000-900999: never a real mobile number.
            phone=f"07700 900{zlib.crc32(mailbox.encode()) % 1000:03d}",
            preferred_language=demo.preferred_language,
        )

    def build_case(self, demo: DemoCase, officer: User, programmes: dict[str, Programme]) -> None:
        """Log the case and take it as far as its goal, through the services."""
        with transaction.atomic():
            case = case_create(
                by=officer,
                person=self.demo_person(demo.person, officer),
                custody_record_number=demo.number,
                offence_date=self.today - timedelta(days=demo.days_ago),
                drugs=[
                    DrugQuantity(drug=self.drugs[code], quantity=Decimal(quantity))
                    for code, quantity in demo.drugs
                ],
                admitted_offence=demo.admitted,
                previous_drug_conviction_or_caution=demo.previous,
                offence_type=demo.offence_type,
                setting=demo.setting,
                resides_in_force_area=demo.resides,
                circumstances=demo.circumstances,
            )
            if demo.goal == "logged":
                return
            decision = eligibility_check(case=case, by=officer)
            if not decision.eligible:
                if demo.goal == "closed":
                    case_close_ineligible(case=case, by=officer)
                return
            if demo.goal in ("checked", "closed"):
                return
            response = {"offered": "pending", "declined": "declined"}.get(demo.goal, "accepted")
            offer_record(
                case=case,
                by=officer,
                response=response,
                consent_given=response == "accepted",
                notes="Demo case: offer explained at custody.",
            )
            if demo.goal == "referred" or demo.goal in PROVIDER_GOALS + LAPSED_GOALS:
                referral = referral_create(
                    case=case, programme=programmes[demo.programme], by=officer
                )
                if demo.goal in LAPSED_GOALS:
                    self.backdate(demo, referral)
                if demo.goal in PROVIDER_GOALS:
                    self.take_on(demo, referral)

    def take_on(self, demo: DemoCase, referral: Referral) -> None:
        """The provider's side, through the services: accept, book, and mark attendance."""
        staff = self.users[PROVIDER_USERNAME]
        referral_accept(referral=referral, by=staff)
        if demo.goal == "on_session":
            appointment_book(referral=referral, by=staff, group_session=self.demo_sessions(staff))
            return
        if demo.goal in LAPSED_GOALS:
            self.miss(demo, referral, staff)
            return
        appointment = appointment_book(
            referral=referral,
            by=staff,
            starts_at=self.at(1, time(10)),
            kind=Appointment.Kind.SESSION,
            mode=Appointment.Mode.ONLINE,
            location="Video call: link sent by text message",
        )
        # Demo data only: the service books only future appointments, and attendance can be
        # recorded only once an appointment has started, so move this one back two hours.
        Appointment.objects.filter(pk=appointment.pk).update(starts_at=self.hours_ago(2))
        if demo.goal == "attending":
            appointment.refresh_from_db()
            attendance_record(appointment=appointment, by=staff, outcome="attended")

    def backdate(self, demo: DemoCase, referral: Referral) -> None:
        """Demo data only: the referral was made the day after the offence, so by now its
        deadlines (from the policy, as the service computes them) have passed."""
        policy = referral.policy
        referred_on = self.today - timedelta(days=demo.days_ago - 1)
        deadlines = compute_deadlines(
            referred_on=referred_on,
            offence_date=self.today - timedelta(days=demo.days_ago),
            counted_from=policy.deadlines_from,
            first_appointment_working_days=policy.first_appointment_working_days,
            completion_days=policy.completion_days,
        )
        Referral.objects.filter(pk=referral.pk).update(
            referred_at=self.at(-(demo.days_ago - 1), time(11)),
            first_appointment_due=deadlines.first_appointment_due,
            completion_due=deadlines.completion_due,
        )

    def miss(self, demo: DemoCase, referral: Referral, staff: User) -> None:
        """Appointments the person missed, recorded through the services: two unexcused
        absences (absent), or one excused absence (overdue)."""
        missed = {"absent": (20, 12), "overdue": (demo.days_ago - 8,)}[demo.goal]
        for number, days_ago in enumerate(missed, start=1):
            appointment = appointment_book(
                referral=referral,
                by=staff,
                starts_at=self.at(number, time(10)),
                kind=Appointment.Kind.SESSION,
                mode=Appointment.Mode.ONLINE,
                location="Video call: link sent by text message",
            )
            # Demo data only: booked in the future (the service refuses the past), then moved
            # back to when the person should have come.
            Appointment.objects.filter(pk=appointment.pk).update(
                starts_at=self.at(-days_ago, time(10))
            )
            appointment.refresh_from_db()
            if demo.goal == "absent":
                attendance_record(appointment=appointment, by=staff, outcome="did_not_attend")
            else:
                attendance_record(
                    appointment=appointment,
                    by=staff,
                    outcome="excused",
                    reason="In hospital on the day; asked to rebook and did not reply.",
                )

    def demo_sessions(self, staff: User) -> GroupSession:
        """The group session the demo people are booked on, made with an upcoming one."""
        if self.past_session is None:
            programme = Programme.objects.get(
                provider=staff.provider, name="Drug awareness group session"
            )
            place = "Pathways Centre, 12 Cowley Road, Oxford"
            self.past_session = group_session_create(
                programme=programme,
                by=staff,
                starts_at=self.at(1, time(10)),
                ends_at=self.at(1, time(13, 30)),
                location=place,
            )
            group_session_create(
                programme=programme,
                by=staff,
                starts_at=self.at(7, time(10)),
                ends_at=self.at(7, time(13, 30)),
                location=place,
            )
        return self.past_session

    def move_into_the_past(self, session: GroupSession) -> None:
        """Demo data only: the session (booked while it was in the future) has just ended."""
        starts_at = self.hours_ago(4)
        GroupSession.objects.filter(pk=session.pk).update(
            starts_at=starts_at, ends_at=starts_at + timedelta(hours=3, minutes=30)
        )
        Appointment.objects.filter(group_session=session).update(starts_at=starts_at)

    def at(self, days: int, clock: time) -> datetime:
        """`clock` on a London clock, `days` days from today."""
        return datetime.combine(self.today + timedelta(days=days), clock, tzinfo=LONDON)

    def hours_ago(self, hours: int) -> datetime:
        """On the hour, `hours` hours ago."""
        return (timezone.now() - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)

    def report(
        self,
        providers: dict[str, Provider],
        programmes: dict[str, Programme],
        policies: dict[str, SchemePolicy],
        users: dict[str, User],
        cases: Counter,
    ) -> None:
        """A short summary, then the demo sign-ins (no personal data)."""
        demo_cases = Case.objects.filter(custody_record_number__startswith="DEMO-")
        by_status = Counter(demo_cases.values_list("status", flat=True))
        self.say(f"Providers: {len(providers)}. Programmes: {len(programmes)}.")
        for policy in policies.values():
            self.say(
                f"Scheme policy: {policy.force.name}, {policy.scheme_name} v{policy.version} "
                f"({policy.get_disposal_display()}; classes {','.join(policy.drug_classes)}; "
                f"deadlines from the {policy.deadlines_from})."
            )
        self.say(
            f"Demo cases: {cases['created']} created, {cases['kept']} already there. By status: "
            + ", ".join(
                f"{CaseStatus(status).label.lower()} {count}"
                for status, count in sorted(by_status.items())
            )
            + "."
        )
        self.say(f"Deadline sweep: {cases['flagged']} referrals flagged for a supervisor.")
        if cases.get("for reports"):
            self.say(f"Cases for the analysts' reports: {cases['for reports']} added.")
        self.say()
        self.say("Demo sign-ins (every demo user has the same password):")
        rows = [("username", "role", "organisation", "password")] + [
            (user.username, user.get_role_display(), user.organisation_name, DEMO_PASSWORD)
            for user in users.values()
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            self.say(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
