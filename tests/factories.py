"""factory-boy factories for the tests: real rows in PostgreSQL, sensible defaults."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Role, User
from cases.models import Case, CaseDrug, Drug, Force, Person, SchemePolicy
from programmes.models import Appointment, GroupSession, Programme, Provider, Referral


def force(code: str = "TVP") -> Force:
    """A force from the reference data loaded by the migrations."""
    return Force.objects.get(code=code)


def drug(code: str = "cannabis") -> Drug:
    """A drug from the reference data loaded by the migrations."""
    return Drug.objects.get(code=code)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Sam"
    last_name = "Tester"
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = Role.CUSTODY_OFFICER
    force = factory.LazyAttribute(
        lambda u: force() if u.role in (Role.CUSTODY_OFFICER, Role.SUPERVISOR) else None
    )
    provider = None
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchemePolicy

    force = factory.LazyFunction(force)
    version = factory.Sequence(lambda n: n + 1)
    scheme_name = "Test diversion scheme"
    disposal = "deferred_prosecution"
    intervention = "One 3.5-hour group education session."
    drug_classes = ["A", "B"]
    personal_use_thresholds = factory.LazyFunction(
        lambda: {"cannabis": "28", "cannabis-resin": "10", "cocaine": "1", "mdma": "1"}
    )
    lookback_days = 730
    max_previous_diversions = 0
    first_appointment_working_days = 10
    completion_days = 84


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    given_name = "Alex"
    family_name = factory.Sequence(lambda n: f"Testperson{n}")
    date_of_birth = date(1995, 6, 15)
    phone = "07700 900123"
    contact_preference = "sms"


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case
        skip_postgeneration_save = True

    reference = factory.Sequence(lambda n: f"TEST-{n:06d}")
    force = factory.LazyFunction(force)
    person = factory.SubFactory(PersonFactory)
    custody_record_number = factory.Sequence(lambda n: f"CR{n:06d}")
    offence_date = date(2026, 11, 1)
    admitted_offence = True
    previous_drug_conviction_or_caution = False
    created_by = factory.SubFactory(UserFactory)

    @factory.post_generation
    def drugs(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            for code, quantity in extracted or [("cannabis", "5")]:
                CaseDrug.objects.create(case=obj, drug=drug(code), quantity=Decimal(quantity))


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    name = factory.Sequence(lambda n: f"Provider {n}")


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme
        skip_postgeneration_save = True

    provider = factory.SubFactory(ProviderFactory)
    name = factory.Sequence(lambda n: f"Programme {n}")
    kind = "education"
    sessions_required = 1

    @factory.post_generation
    def forces_served(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.forces_served.set(extracted if extracted is not None else [force()])


class ReferralFactory(factory.django.DjangoModelFactory):
    """A new referral of a case to a programme, with deadlines two and twelve weeks out."""

    class Meta:
        model = Referral

    reference = factory.Sequence(lambda n: f"R-TEST-{n:06d}")
    case = factory.SubFactory(CaseFactory, status="referred")
    programme = factory.SubFactory(ProgrammeFactory)
    policy = factory.LazyAttribute(
        lambda r: r.case.force.current_policy() or PolicyFactory(force=r.case.force)
    )
    first_appointment_due = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))
    completion_due = factory.LazyFunction(lambda: timezone.now() + timedelta(days=84))
    referred_by = factory.LazyAttribute(lambda r: r.case.created_by)


def provider_staff(provider: Provider) -> User:
    """A member of `provider`'s staff."""
    return UserFactory(role=Role.PROVIDER_STAFF, provider=provider)


class GroupSessionFactory(factory.django.DjangoModelFactory):
    """A three-and-a-half-hour sitting of a programme, a week from now."""

    class Meta:
        model = GroupSession

    programme = factory.SubFactory(ProgrammeFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + timedelta(hours=3, minutes=30))
    location = "Community hall, Reading"


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A booked session on an accepted referral that started an hour ago (attendance is due)."""

    class Meta:
        model = Appointment

    referral = factory.SubFactory(ReferralFactory, status="accepted", case__status="in_programme")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    kind = "session"
    mode = "in_person"
    booked_by = factory.LazyAttribute(lambda a: provider_staff(a.referral.programme.provider))
