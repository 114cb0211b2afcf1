"""Forces, drugs, scheme policies, people and their cases, from logging to the offer.

Referrals, appointments and escalations live in programmes/models.py.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Concat, Upper

from cases.person_details import display_phone


class Force(models.Model):
    """A territorial police force of England and Wales (reference data)."""

    name = models.CharField(max_length=100, unique=True)
    code = models.SlugField(max_length=10, unique=True, help_text="Short code used in references")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def current_policy(self) -> SchemePolicy | None:
        """The newest version of this force's scheme policy, if it runs a scheme."""
        return self.policies.order_by("-version").first()


class DrugClass(models.TextChoices):
    A = "A", "Class A"
    B = "B", "Class B"
    C = "C", "Class C"


class Drug(models.Model):
    """A controlled drug and its class under the Misuse of Drugs Act 1971 (reference data)."""

    class Unit(models.TextChoices):
        GRAMS = "g", "grams"
        TABLETS = "tablets", "tablets"
        MILLILITRES = "ml", "millilitres"

    name = models.CharField(max_length=100, unique=True)
    code = models.SlugField(max_length=40, unique=True)
    drug_class = models.CharField(max_length=1, choices=DrugClass.choices)
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.GRAMS)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (class {self.drug_class})"


class OffenceType(models.TextChoices):
    SIMPLE_POSSESSION = "simple_possession", "Simple possession"
    POSSESSION_WITH_INTENT = "possession_with_intent", "Possession with intent to supply"
    SUPPLY = "supply", "Supply"
    PRODUCTION = "production", "Production or cultivation"
    IMPORTATION = "importation", "Importation"


class Setting(models.TextChoices):
    NONE = "none", "No aggravating setting"
    PRISON = "prison", "In or around a prison"
    SCHOOL = "school", "In or near a school"


class Exclusion(models.TextChoices):
    """Circumstances a scheme policy may exclude; the officer records which apply."""

    VIOLENCE_AT_ARREST = "violence_at_arrest", "Violence or threats at arrest"
    OUTSTANDING_WARRANT = "outstanding_warrant", "Outstanding warrant"
    COURT_ORDER = "court_order", "Subject to a court order"
    SUSPENDED_SENTENCE = "suspended_sentence", "Serving a suspended sentence"
    CO_ACCUSED = "co_accused", "Co-accused in a linked case"
    HATE_CRIME = "hate_crime", "Linked hate crime"
    MENTAL_HEALTH_ACT = "mental_health_act", "Detained under the Mental Health Act"


class Disposal(models.TextChoices):
    DEFERRED_PROSECUTION = "deferred_prosecution", "Deferred prosecution (outcome 22)"
    COMMUNITY_RESOLUTION = "community_resolution", "Community resolution (outcome 8)"
    CONDITIONAL_CAUTION = "conditional_caution", "Conditional caution"


class DeadlineStart(models.TextChoices):
    OFFENCE = "offence", "The date of the offence"
    REFERRAL = "referral", "The date of the referral"


# The fields of a policy that record the version, not a rule.
POLICY_BOOKKEEPING = frozenset({"id", "force", "version", "created_at", "created_by"})


def _setting(field: models.Field, value: object) -> str:
    """A policy setting as the administrator reads it."""
    if value is None or value == "" or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    choices = dict(getattr(field, "base_field", field).flatchoices)
    if isinstance(value, list):
        return ", ".join(str(choices.get(item, item)) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key} {amount}" for key, amount in sorted(value.items()))
    return str(choices.get(value, value))


class SchemePolicy(models.Model):
    """One version of a force's scheme rules. Versions are never edited: a change is a new row.

    Eligibility decisions and referrals keep the version they used, so a decision can be
    explained later with the rules that were in force when it was made.
    """

    force = models.ForeignKey(Force, on_delete=models.PROTECT, related_name="policies")
    version = models.PositiveIntegerField()
    scheme_name = models.CharField(
        max_length=100, help_text="The scheme's name as officers and people know it"
    )
    disposal = models.CharField(
        max_length=30,
        choices=Disposal.choices,
        help_text="The out-of-court disposal the scheme uses; it decides the Home Office outcome "
        "recorded when a programme is completed",
    )
    intervention = models.TextField(help_text="What the person is asked to do, in plain English")
    drug_classes = ArrayField(
        models.CharField(max_length=1, choices=DrugClass.choices),
        help_text="Drug classes the scheme covers, e.g. A,B",
    )
    personal_use_thresholds = models.JSONField(
        default=dict,
        blank=True,
        help_text='Largest quantity per drug code in the drug\'s unit, e.g. {"cannabis": "28"}. '
        "A drug with no threshold is not covered.",
    )
    minimum_age = models.PositiveSmallIntegerField(
        default=18, help_text="The youngest age, on the date of the offence, the scheme takes"
    )
    max_offence_age_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Oldest offence the scheme takes, in days (blank: any)"
    )
    requires_admission = models.BooleanField(
        default=False, help_text="Only people who admitted the offence may be offered diversion"
    )
    requires_residence_in_area = models.BooleanField(
        default=False, help_text="Only people who live in the force area may be offered it"
    )
    excluded_circumstances = ArrayField(
        models.CharField(max_length=30, choices=Exclusion.choices),
        default=list,
        blank=True,
        help_text="Circumstances that rule a case out (for example, possession in a prison)",
    )
    lookback_days = models.PositiveIntegerField(
        default=730, help_text="How far back earlier diversions count, in days"
    )
    max_previous_diversions = models.PositiveSmallIntegerField(
        default=0, help_text="Earlier diversions allowed within the look-back (0: once only)"
    )
    first_appointment_working_days = models.PositiveSmallIntegerField(
        default=10,
        help_text="Working days (weekends and bank holidays not counted) the person has to "
        "attend a first appointment",
    )
    completion_days = models.PositiveSmallIntegerField(
        default=84, help_text="Calendar days the person has to complete the programme"
    )
    deadlines_from = models.CharField(
        max_length=10,
        choices=DeadlineStart.choices,
        default=DeadlineStart.REFERRAL,
        help_text="The day both deadlines are counted from",
    )
    max_unexcused_absences = models.PositiveSmallIntegerField(
        default=1,
        help_text="Missed sessions without a good reason allowed before a supervisor is asked "
        "to decide",
    )
    late_counts_as_attended = models.BooleanField(
        default=True, help_text="Whether arriving late counts as attending the session"
    )
    max_extensions = models.PositiveSmallIntegerField(
        default=1, help_text="How many times a supervisor may extend a deadline for one referral"
    )
    reminder_lead_days = models.PositiveSmallIntegerField(
        default=2, help_text="Days before each deadline that the person is reminded"
    )
    retention_days = models.PositiveIntegerField(
        default=6 * 365, help_text="Days after closure before a case's personal data is erased"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name_plural = "scheme policies"
        ordering = ["force__name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["force", "version"], name="policy_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.force.code}: {self.scheme_name} v{self.version}"

    def changes_from(self, previous: SchemePolicy | None) -> list[str]:
        """What this version changed from `previous`, one sentence a setting, in the order of
        the form: "Minimum age: 18 → 21"."""
        if previous is None:
            return []
        changed = []
        for field in self._meta.concrete_fields:
            if field.name in POLICY_BOOKKEEPING:
                continue
            before, after = getattr(previous, field.attname), getattr(self, field.attname)
            if before != after:
                label = str(field.verbose_name).capitalize()
                changed.append(f"{label}: {_setting(field, before)} → {_setting(field, after)}")
        return changed

    def clean(self) -> None:
        errors = {}
        known = set(Drug.objects.values_list("code", flat=True))
        for code, value in (self.personal_use_thresholds or {}).items():
            if code not in known:
                errors["personal_use_thresholds"] = f"“{code}” is not a known drug code."
                break
            try:
                if Decimal(str(value)) <= 0:
                    raise ValueError
            except (ArithmeticError, ValueError):
                errors["personal_use_thresholds"] = (
                    f"The threshold for {code} must be a positive number."
                )
                break
        if not self.drug_classes:
            errors["drug_classes"] = "Choose at least one drug class the scheme covers."
        if errors:
            raise ValidationError(errors)


class NameKey(Func):
    """Name folded for matching: lower case, no accents, letters only (SQL diversion_name_key)."""

    function = "diversion_name_key"
    output_field = models.TextField()


class ContactPreference(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message (SMS)"


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    WELSH = "cy", "Welsh (Cymraeg)"


class Ethnicity(models.TextChoices):
    """Self-defined ethnicity, ONS 2021 census categories (equality monitoring only)."""

    ASIAN_BANGLADESHI = "asian_bangladeshi", "Asian or Asian British: Bangladeshi"
    ASIAN_CHINESE = "asian_chinese", "Asian or Asian British: Chinese"
    ASIAN_INDIAN = "asian_indian", "Asian or Asian British: Indian"
    ASIAN_PAKISTANI = "asian_pakistani", "Asian or Asian British: Pakistani"
    ASIAN_OTHER = "asian_other", "Asian or Asian British: any other Asian background"
    BLACK_AFRICAN = "black_african", "Black, Black British, Caribbean or African: African"
    BLACK_CARIBBEAN = "black_caribbean", "Black, Black British, Caribbean or African: Caribbean"
    BLACK_OTHER = "black_other", "Black, Black British, Caribbean or African: any other background"
    MIXED_WHITE_ASIAN = "mixed_white_asian", "Mixed or multiple: White and Asian"
    MIXED_WHITE_BLACK_AFRICAN = (
        "mixed_white_black_african",
        "Mixed or multiple: White and Black African",
    )
    MIXED_WHITE_BLACK_CARIBBEAN = (
        "mixed_white_black_caribbean",
        "Mixed or multiple: White and Black Caribbean",
    )
    MIXED_OTHER = "mixed_other", "Mixed or multiple: any other background"
    WHITE_BRITISH = (
        "white_british",
        "White: English, Welsh, Scottish, Northern Irish or British",
    )
    WHITE_IRISH = "white_irish", "White: Irish"
    WHITE_GYPSY_TRAVELLER = "white_gypsy_traveller", "White: Gypsy or Irish Traveller"
    WHITE_ROMA = "white_roma", "White: Roma"
    WHITE_OTHER = "white_other", "White: any other White background"
    OTHER_ARAB = "other_arab", "Other ethnic group: Arab"
    OTHER_ANY = "other_any", "Other ethnic group: any other ethnic group"
    NOT_STATED = "not_stated", "Prefer not to say"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    NOT_STATED = "not_stated", "Prefer not to say"


class Person(models.Model):
    """A member of the public. Names are kept exactly as typed; matching uses name_key."""

    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    pnc_id = models.CharField(
        "Police national identifier",
        max_length=20,
        blank=True,
        help_text="PNC ID when known, for example 2019/0123456A",
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    contact_preference = models.CharField(
        max_length=5, choices=ContactPreference.choices, default=ContactPreference.SMS
    )
    address = models.TextField(blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    preferred_language = models.CharField(
        max_length=2, choices=Language.choices, default=Language.ENGLISH
    )
    access_needs = models.TextField(blank=True)
    interpreter_language = models.CharField(
        max_length=50, blank=True, help_text="Leave blank if no interpreter is needed"
    )
    ethnicity = models.CharField(
        max_length=40, choices=Ethnicity.choices, default=Ethnicity.NOT_STATED
    )
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.NOT_STATED)
    name_key = models.GeneratedField(
        expression=NameKey(Concat(F("given_name"), Value(" "), F("family_name"))),
        output_field=models.TextField(),
        db_persist=True,
    )
    anonymised_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(
                fields=["pnc_id"], condition=~Q(pnc_id=""), name="person_pnc_id_unique"
            ),
        ]
        indexes = [
            GinIndex(fields=["name_key"], opclasses=["gin_trgm_ops"], name="person_name_trgm"),
            models.Index(fields=["date_of_birth"], name="person_dob"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def phone_display(self) -> str:
        """The phone number as people write it (07700 900123); stored as +447700900123."""
        return display_phone(self.phone)


class CaseStatus(models.TextChoices):
    LOGGED = "logged", "Logged"
    INELIGIBLE = "ineligible", "Not eligible"
    ELIGIBLE = "eligible", "Eligible"
    OFFERED = "offered", "Offered"
    ACCEPTED = "accepted", "Accepted"
    REFERRED = "referred", "Referred"
    IN_PROGRAMME = "in_programme", "In programme"
    AWAITING_SUPERVISOR = "awaiting_supervisor", "Awaiting supervisor"
    CLOSED = "closed", "Closed"


class CaseOutcome(models.TextChoices):
    STANDARD_PROCESS = "standard_process", "Standard process"
    DIVERTED = "diverted", "Diverted"
    PROSECUTION = "prosecution", "Referred for prosecution"
    NO_FURTHER_ACTION = "no_further_action", "No further action"


class Case(models.Model):
    """A possession offence by one person, logged by a force, from logging to closure."""

    reference = models.CharField(max_length=30, unique=True, editable=False)
    force = models.ForeignKey(Force, on_delete=models.PROTECT, related_name="cases")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cases")
    custody_record_number = models.CharField(max_length=30)
    crime_reference = models.CharField(max_length=30, blank=True)
    offence_date = models.DateField()
    offence_type = models.CharField(
        max_length=30, choices=OffenceType.choices, default=OffenceType.SIMPLE_POSSESSION
    )
    setting = models.CharField(max_length=10, choices=Setting.choices, default=Setting.NONE)
    admitted_offence = models.BooleanField()
    resides_in_force_area = models.BooleanField(default=True)
    previous_drug_conviction_or_caution = models.BooleanField(
        help_text="From the PNC check at custody"
    )
    circumstances = ArrayField(
        models.CharField(max_length=30, choices=Exclusion.choices), default=list, blank=True
    )
    status = models.CharField(max_length=30, choices=CaseStatus.choices, default=CaseStatus.LOGGED)
    outcome = models.CharField(max_length=30, choices=CaseOutcome.choices, blank=True)
    home_office_outcome = models.PositiveSmallIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases_logged"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The officer in charge of the case (services.case_assign); the history is CaseAssignment.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # no list filters by it; a national table keeps taking writes
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["force", "custody_record_number"], name="custody_record_unique_in_force"
            ),
            models.CheckConstraint(
                name="case_closed_has_outcome",
                condition=Q(status=CaseStatus.CLOSED, closed_at__isnull=False) & ~Q(outcome="")
                | ~Q(status=CaseStatus.CLOSED) & Q(outcome=""),
            ),
        ]
        indexes = [
            # The case list: a force's cases newest first, all of them or of one status.
            models.Index(fields=["force", "-created_at", "-id"], name="case_force_newest"),
            models.Index(
                fields=["force", "status", "-created_at", "-id"], name="case_force_status_newest"
            ),
            # An officer's own cases newest first ("My cases").
            models.Index(fields=["created_by", "-created_at", "-id"], name="case_officer_newest"),
            # Searches by custody record number or crime reference, in any letter case.
            models.Index(Upper("custody_record_number"), name="case_custody_record_upper"),
            models.Index(Upper("crime_reference"), name="case_crime_reference_upper"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_closed(self) -> bool:
        return self.status == CaseStatus.CLOSED


class CaseDrug(models.Model):
    """A drug found, with its quantity in the drug's unit."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="drugs")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(
        max_digits=10, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "drug"], name="case_drug_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="case_drug_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity.normalize():f} {self.drug.unit} {self.drug.name}"


class EligibilityDecision(models.Model):
    """One run of the eligibility rules: what they saw, which policy version, every reason."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="eligibility_decisions")
    policy = models.ForeignKey(SchemePolicy, on_delete=models.PROTECT, related_name="+")
    eligible = models.BooleanField()
    inputs = models.JSONField(help_text="The facts the rules saw")
    reasons = models.JSONField(help_text="Every rule with its result and plain-English reason")
    history = models.JSONField(help_text="Earlier cases found for the same person")
    rules_version = models.PositiveSmallIntegerField(
        db_default=1,
        help_text="The version of the eligibility rules that decided (cases.rules.RULES_VERSION)",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    override_reason = models.TextField(blank=True)
    overridden_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        get_latest_by = ["decided_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {'eligible' if self.outcome else 'not eligible'}"

    @property
    def outcome(self) -> bool:
        """Eligible as decided, after any supervisor override."""
        return (not self.eligible) if self.overridden_at else self.eligible

    @property
    def earlier_cases(self) -> list[dict]:
        """The history found, with dates as dates, for display."""
        return [
            {
                **item,
                "offence_date": date.fromisoformat(item["offence_date"]),
                "ended_on": date.fromisoformat(item["ended_on"]) if item.get("ended_on") else None,
                "end_recorded": "ended_on" in item,  # not kept before rules version 2
            }
            for item in self.history
        ]


class Offer(models.Model):
    """The diversion offer made to the person, and their answer and consent."""

    class Response(models.TextChoices):
        PENDING = "pending", "Not yet answered"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="offers")
    offered_at = models.DateTimeField()
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    response = models.CharField(max_length=10, choices=Response.choices, default=Response.PENDING)
    consent_given = models.BooleanField(default=False)
    responded_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-offered_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="offer_accepted_needs_consent",
                condition=~Q(response="accepted") | Q(consent_given=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Offer on case {self.case_id}: {self.response}"


class StatusChange(models.Model):
    """Base for the history rows written by every status transition."""

    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30)
    reason = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["changed_at", "id"]


class Assignment(models.Model):
    """Base for the history rows of who a record was given to (or back to nobody)."""

    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["assigned_at", "id"]


class CaseAssignment(Assignment):
    """One assignment of a case to an officer of its force (or back to nobody): the history."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="assignments")

    class Meta(Assignment.Meta):
        indexes = [models.Index(fields=["case", "assigned_at"], name="case_assignment_case")]

    def __str__(self) -> str:
        return f"{self.case_id} -> {self.assigned_to_id or '-'}"


class CaseStatusChange(StatusChange):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="status_changes")

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_status or '-'} -> {self.to_status}"


class Correction(models.Model):
    """Details of a person or a case changed after they were saved: who, when, why, and each
    field as it was and as it is now. Shown in the case's history; the audit log names the
    fields only (it outlives personal data), and retention erases these with the person."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="corrections")
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    changes = models.JSONField(help_text="Each field changed: its label, before and after")
    reason = models.TextField()
    rechecks = models.JSONField(
        default=list, blank=True, help_text="Cases sent back for a new eligibility check"
    )
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    corrected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-corrected_at", "-id"]

    def __str__(self) -> str:
        return f"Correction of {', '.join(change['label'] for change in self.changes)}"
