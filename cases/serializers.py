"""API shapes for people, cases, eligibility decisions and offers.

Input serializers only check the shape of a request (types, lengths, known codes); the rules
live in cases/services.py, which refuses with a DomainError the API turns into a 400 or 409.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from base.api import BooleanField, TextField
from cases.extensions import api_fields
from cases.models import (
    Case,
    CaseDrug,
    CaseOutcome,
    CaseStatus,
    Drug,
    EligibilityDecision,
    Exclusion,
    OffenceType,
    Offer,
    Person,
    SchemePolicy,
    Setting,
)
from cases.rules import RULES_VERSION
from cases.selectors import people_available_to
from cases.services import CASE_FIELDS, PERSON_FIELDS, version_of


class PersonSearchSerializer(serializers.Serializer):
    """The find-a-person query: a PNC ID, or a name with a date of birth."""

    given_name = TextField(max_length=100, required=False, default="", allow_blank=True)
    family_name = TextField(max_length=100, required=False, default="", allow_blank=True)
    date_of_birth = serializers.DateField(required=False, default=None, allow_null=True)
    pnc_id = TextField(max_length=20, required=False, default="", allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["date_of_birth"] is None and not attrs["pnc_id"].strip():
            raise serializers.ValidationError(
                {
                    "date_of_birth": [
                        "Give the person's date of birth (YYYY-MM-DD) or their police national "
                        "identifier (pnc_id) to search."
                    ]
                }
            )
        if not attrs["pnc_id"].strip() and not (attrs["given_name"] or attrs["family_name"]):
            raise serializers.ValidationError(
                {"family_name": ["Give the person's name as well as their date of birth."]}
            )
        return attrs


class EarlierCaseSerializer(serializers.ModelSerializer):
    """One of the person's earlier cases in the user's own force."""

    class Meta:
        model = Case
        fields = ["reference", "offence_date", "status"]
        read_only_fields = fields


class PersonMatchSerializer(serializers.ModelSerializer):
    """A person found by the search, with their history in the user's force."""

    earlier_cases = EarlierCaseSerializer(source="own_cases", many=True, read_only=True)
    has_other_force_cases = serializers.BooleanField(
        read_only=True, help_text="Whether another force has a case for this person."
    )

    class Meta:
        model = Person
        fields = [
            "id",
            "given_name",
            "family_name",
            "date_of_birth",
            "pnc_id",
            "earlier_cases",
            "has_other_force_cases",
        ]
        read_only_fields = fields


class PersonMatchesSerializer(serializers.Serializer):
    """The search result: an exact PNC match, or possible matches by name and date of birth."""

    exact = PersonMatchSerializer(allow_null=True, read_only=True)
    possible = PersonMatchSerializer(many=True, read_only=True)


class PersonSerializer(serializers.ModelSerializer):
    """A person as created: names exactly as typed, contact details and preferences.

    The phone number, postcode, email address and PNC ID may be typed as people write them
    (spaces, lower case, +44): they come back in their stored forms (cases/person_details.py).
    """

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: TextField,
        models.TextField: TextField,
    }
    email = TextField(
        max_length=254,
        required=False,
        allow_blank=True,
        help_text="An email address, like name@example.com; blank when none was given.",
    )
    phone = TextField(
        max_length=30,
        required=False,
        allow_blank=True,
        help_text="A UK mobile number, like 07700 900123; stored and returned as +447700900123.",
    )
    postcode = TextField(
        max_length=10,
        required=False,
        allow_blank=True,
        help_text="A UK postcode, like sw1a1aa or SW1A 1AA; returned as SW1A 1AA.",
    )

    version = serializers.SerializerMethodField(
        help_text="Send it back with a correction (PATCH .../person/) to be told if someone "
        "else changed the person since."
    )

    class Meta:
        model = Person
        fields = ["id", *PERSON_FIELDS, "version"]
        # person_create checks PNC ID uniqueness and answers with what to do instead.
        extra_kwargs = {"pnc_id": {"validators": []}}

    def get_version(self, person: Person) -> str:
        return version_of(person)


class PersonSummarySerializer(serializers.ModelSerializer):
    """Who a case is about."""

    class Meta:
        model = Person
        fields = ["id", "given_name", "family_name", "date_of_birth", "pnc_id"]
        read_only_fields = fields


class DrugCodeField(serializers.SlugRelatedField):
    """A drug by its code (cannabis, cocaine, ...); an unknown code lists the known ones."""

    default_error_messages = {
        "does_not_exist": "“{value}” is not a known drug code. Use one of: {codes}.",
        "invalid": "Give the drug's code as text, for example cannabis.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="code", queryset=Drug.objects.all(), **kwargs)

    def to_internal_value(self, data: Any) -> Drug:
        if not isinstance(data, str):
            self.fail("invalid")
        drug = self.get_queryset().filter(code=data.strip().lower()).first()
        if drug is None:
            codes = ", ".join(Drug.objects.order_by("code").values_list("code", flat=True))
            self.fail("does_not_exist", value=data, codes=codes)
        return drug


class DrugQuantityInputSerializer(serializers.Serializer):
    """A drug found and how much, in the drug's unit (grams, tablets or millilitres)."""

    drug = DrugCodeField(help_text="The drug's code, for example cannabis or cocaine.")
    quantity = serializers.DecimalField(
        max_digits=10, decimal_places=3, help_text="Quantity in the drug's unit, more than 0."
    )


class DrugListField(serializers.ListField):
    """The drugs found. Errors come back as one list of messages, the shape the service uses."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=DrugQuantityInputSerializer(), **kwargs)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError(_item_messages(error.detail)) from error


def _item_messages(detail: Any) -> list[str]:
    """Flatten DRF's {index: {field: [message]}} errors into plain, numbered messages."""
    if not isinstance(detail, dict):
        return [str(message) for message in detail]
    messages = []
    for index, errors in detail.items():
        fields = errors.items() if isinstance(errors, dict) else [("", errors)]
        for field, field_messages in fields:
            for message in field_messages:
                if field == "drug":  # already names the code it refuses
                    messages.append(str(message))
                elif field in ("", "non_field_errors"):
                    messages.append(f"Drug {index + 1}: {message}")
                else:
                    messages.append(f"Drug {index + 1}, {field}: {message}")
    return messages


class CaseCreateSerializer(serializers.Serializer):
    """What an officer records at custody to log a possession case."""

    person = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.none(),
        help_text="The person's id, from GET or POST /api/v1/people/ (a person your force "
        "holds, or one your search showed in the last four hours).",
        error_messages={
            "does_not_exist": "No person with id {pk_value} for you: find them with GET "
            "/api/v1/people/ or add them with POST /api/v1/people/.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["person"].queryset = people_available_to(request.user)

    custody_record_number = TextField(max_length=30)
    crime_reference = TextField(max_length=30, required=False, default="", allow_blank=True)
    offence_date = serializers.DateField()
    offence_type = serializers.ChoiceField(
        choices=OffenceType.choices, default=OffenceType.SIMPLE_POSSESSION
    )
    setting = serializers.ChoiceField(choices=Setting.choices, default=Setting.NONE)
    admitted_offence = BooleanField()
    resides_in_force_area = BooleanField(default=True)
    previous_drug_conviction_or_caution = BooleanField(help_text="From the PNC check at custody.")
    circumstances = serializers.ListField(
        child=serializers.ChoiceField(choices=Exclusion.choices),
        default=list,
        help_text="Circumstances a scheme may exclude, when they apply.",
    )
    drugs = DrugListField(help_text="Each drug found, once, with its total quantity.")


class CaseDrugSerializer(serializers.ModelSerializer):
    """A drug found on a case."""

    drug = serializers.CharField(source="drug.code", read_only=True)
    name = serializers.CharField(source="drug.name", read_only=True)
    drug_class = serializers.CharField(source="drug.drug_class", read_only=True)
    unit = serializers.CharField(source="drug.unit", read_only=True)

    class Meta:
        model = CaseDrug
        fields = ["drug", "name", "drug_class", "quantity", "unit"]
        read_only_fields = fields


def outcome_field() -> serializers.ChoiceField:
    """How a case closed: one of the outcomes, or blank while it is open."""
    return serializers.ChoiceField(
        choices=CaseOutcome.choices,
        allow_blank=True,
        read_only=True,
        help_text="How the case closed; blank while it is open.",
    )


class CaseListSerializer(serializers.ModelSerializer):
    """A case in a list."""

    person = PersonSummarySerializer(read_only=True)
    outcome = outcome_field()

    class Meta:
        model = Case
        fields = [
            "reference",
            "person",
            "offence_date",
            "offence_type",
            "status",
            "outcome",
            "created_at",
        ]
        read_only_fields = fields


class CaseListQuerySerializer(serializers.Serializer):
    """Filters for the case list."""

    q = TextField(
        max_length=200,
        required=False,
        default="",
        allow_blank=True,
        help_text="A name, case reference, custody record number or crime reference.",
    )
    status = serializers.ChoiceField(
        choices=CaseStatus.choices, required=False, default="", allow_blank=True
    )


class PolicySummarySerializer(serializers.ModelSerializer):
    """The scheme policy version a decision used."""

    force = serializers.CharField(source="force.name", read_only=True)

    class Meta:
        model = SchemePolicy
        fields = ["force", "scheme_name", "version"]
        read_only_fields = fields


class ReasonSerializer(serializers.Serializer):
    """One rule the check applied, whether it passed, and why."""

    rule = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()


class HistoryItemSerializer(serializers.Serializer):
    """An earlier case the check found for the same person (another force's has no reference)."""

    offence_date = serializers.DateField()
    force = serializers.CharField()
    reference = serializers.CharField(allow_blank=True)
    diverted = serializers.BooleanField()
    outcome = serializers.CharField(allow_blank=True)
    matched_by = serializers.CharField()
    ended_on = serializers.DateField(
        allow_null=True,
        default=None,
        help_text="When the earlier case was completed or closed; null while it is open (and "
        "for decisions recorded before this was kept).",
    )


class EligibilityDecisionSerializer(serializers.ModelSerializer):
    """One eligibility check: the policy version, the facts it saw, and every reason."""

    case = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    policy = PolicySummarySerializer(read_only=True)
    reasons = ReasonSerializer(many=True, read_only=True)
    history = HistoryItemSerializer(many=True, read_only=True)
    inputs = serializers.JSONField(
        read_only=True, help_text="The facts the rules saw: dates, offence, drugs, answers."
    )
    decided_by = serializers.StringRelatedField(read_only=True)
    outcome = serializers.BooleanField(
        read_only=True, help_text="Eligible as decided, after any supervisor override."
    )

    class Meta:
        model = EligibilityDecision
        fields = [
            "id",
            "case",
            "eligible",
            "outcome",
            "policy",
            "reasons",
            "history",
            "inputs",
            "decided_at",
            "decided_by",
            "overridden_at",
            "override_reason",
        ]
        read_only_fields = fields


class ResultSerializer(serializers.Serializer):
    """An answer with every reason: as recorded, or as replayed."""

    eligible = serializers.BooleanField()
    reasons = ReasonSerializer(many=True)


class ReasonDifferenceSerializer(serializers.Serializer):
    """One reason that differs: as recorded and as replayed (null when given on one side only)."""

    rule = serializers.CharField()
    label = serializers.CharField()
    recorded = ReasonSerializer(allow_null=True)
    replayed = ReasonSerializer(allow_null=True)


class DecisionReplaySerializer(serializers.Serializer):
    """A decision replayed under today's rules, the policy version it used and its inputs."""

    decision = serializers.IntegerField(source="decision.pk")
    case = serializers.CharField(source="decision.case.reference")
    decided_at = serializers.DateTimeField(source="decision.decided_at")
    policy = PolicySummarySerializer(source="decision.policy")
    rules_version = serializers.IntegerField(
        source="decision.rules_version", help_text="The version of the rules that decided."
    )
    current_rules_version = serializers.SerializerMethodField()
    replayable = serializers.BooleanField()
    same = serializers.BooleanField()
    answer_changed = serializers.BooleanField()
    summary = serializers.CharField()
    recorded = ResultSerializer()
    replayed = ResultSerializer(allow_null=True)
    differences = ReasonDifferenceSerializer(many=True)
    why = serializers.ListField(child=serializers.CharField(), source="changes")

    @extend_schema_field(serializers.IntegerField(help_text="The version of the rules today."))
    def get_current_rules_version(self, replay: Any) -> int:
        return RULES_VERSION


class CaseDetailSerializer(serializers.ModelSerializer):
    """A case with its person, drugs, latest eligibility decision, and what the apps above
    cases add to it (its referrals, see cases/extensions.py).

    The view passes the latest decision in the context, read by a selector.
    """

    force = serializers.CharField(source="force.name", read_only=True)
    person = PersonSummarySerializer(read_only=True)
    drugs = CaseDrugSerializer(many=True, read_only=True)
    outcome = outcome_field()
    version = serializers.SerializerMethodField(
        help_text="Send it back with a correction (PATCH) to be told if someone else changed "
        "the case since."
    )
    latest_eligibility = serializers.SerializerMethodField()
    assigned_to = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The officer in charge's username, or null while unassigned.",
    )

    class Meta:
        model = Case
        fields = [
            "reference",
            "force",
            "person",
            *CASE_FIELDS,
            "drugs",
            "status",
            "outcome",
            "home_office_outcome",
            "latest_eligibility",
            "assigned_to",
            "version",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields

    def get_version(self, case: Case) -> str:
        return version_of(case)

    @extend_schema_field(EligibilityDecisionSerializer(allow_null=True))
    def get_latest_eligibility(self, case: Case) -> dict[str, Any] | None:
        decision = self.context.get("latest_eligibility")
        return EligibilityDecisionSerializer(decision).data if decision else None

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for name, field in api_fields().items():
            fields[name] = field()
        return fields


class OfferCreateSerializer(serializers.Serializer):
    """The person's answer to the offer of diversion."""

    response = serializers.ChoiceField(choices=Offer.Response.choices)
    consent_given = BooleanField(default=False, help_text="Required for an accepted offer.")
    notes = TextField(required=False, default="", allow_blank=True)
    offered_at = serializers.DateTimeField(
        required=False,
        default=None,
        allow_null=True,
        help_text="When the offer was made; defaults to now.",
    )


class OfferSerializer(serializers.ModelSerializer):
    """An offer with the person's answer, and where it left the case."""

    case = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    case_status = serializers.ChoiceField(
        source="case.status", choices=CaseStatus.choices, read_only=True
    )
    offered_by = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = Offer
        fields = [
            "id",
            "case",
            "case_status",
            "response",
            "consent_given",
            "offered_at",
            "offered_by",
            "responded_at",
            "notes",
        ]
        read_only_fields = fields


class CaseAssignmentSerializer(serializers.Serializer):
    """Who of the force's officers is in charge of the case."""

    assigned_to = TextField(
        allow_null=True,
        help_text="The officer's username (an officer or supervisor of your force), or null "
        "to unassign.",
        error_messages={"required": "Give the officer's username, or null to unassign."},
    )


class CaseAssignedSerializer(serializers.ModelSerializer):
    """The case and the officer now in charge of it."""

    assigned_to = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Case
        fields = ["reference", "status", "assigned_to"]
        read_only_fields = fields


class CorrectionInputSerializer(serializers.Serializer):
    """Why details are corrected, and the version of the record they were read at."""

    reason = TextField(
        max_length=500, help_text="Why the details are corrected; kept in the case's history."
    )
    version = TextField(
        max_length=100,
        required=False,
        default="",
        allow_blank=True,
        help_text="The `version` the record was read at: a correction sent with an older one "
        "is refused with 409 (code record_changed) instead of overwriting someone else's.",
    )


class CaseCorrectionSerializer(CaseCreateSerializer, CorrectionInputSerializer):
    """The case fields to correct (any of them; the others stay), with the reason."""

    person = None  # a case's person is not corrected by moving the case to someone else

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


class PersonCorrectionSerializer(PersonSerializer):
    """The person's fields to correct (any of them; the others stay), with the reason."""

    reason = TextField(
        max_length=500, help_text="Why the details are corrected; kept in the case's history."
    )
    version = TextField(max_length=100, required=False, allow_blank=True, write_only=True)

    class Meta(PersonSerializer.Meta):
        fields = [*PersonSerializer.Meta.fields, "reason"]
        read_only_fields = ["id"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)
