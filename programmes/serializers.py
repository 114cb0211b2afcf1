"""API shapes for programmes and referrals: what comes in, what goes out, and to whom."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.models import Case, Person
from cases.selectors import cases_visible_to
from programmes.models import Programme, Referral


class ProgrammeSerializer(serializers.ModelSerializer):
    """A programme a force may refer to (or a provider runs)."""

    provider = serializers.CharField(source="provider.name", read_only=True)
    forces_served = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Programme
        fields = ["id", "name", "kind", "provider", "sessions_required", "forces_served"]


class ReferralProgrammeSerializer(serializers.ModelSerializer):
    """The programme a referral was made to."""

    provider = serializers.CharField(source="provider.name", read_only=True)

    class Meta:
        model = Programme
        fields = ["id", "name", "provider"]


class ReferralSerializer(serializers.ModelSerializer):
    """A referral as the referring force sees it."""

    case = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    programme = ReferralProgrammeSerializer(read_only=True)

    class Meta:
        model = Referral
        fields = [
            "reference",
            "case",
            "programme",
            "status",
            "first_appointment_due",
            "completion_due",
            "extensions",
            "referred_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReferralPersonSerializer(serializers.ModelSerializer):
    """Who to contact, and how: all a provider needs to book appointments."""

    class Meta:
        model = Person
        fields = [
            "given_name",
            "family_name",
            "contact_preference",
            "email",
            "phone",
            "preferred_language",
            "access_needs",
            "interpreter_language",
        ]
        read_only_fields = fields


class ProviderReferralSerializer(serializers.ModelSerializer):
    """A referral as a provider sees it: no offence, drug, police reference or eligibility."""

    person = ReferralPersonSerializer(source="case.person", read_only=True)
    programme = ReferralProgrammeSerializer(read_only=True)

    class Meta:
        model = Referral
        fields = [
            "reference",
            "person",
            "programme",
            "status",
            "first_appointment_due",
            "completion_due",
            "extensions",
            "referred_at",
            "updated_at",
        ]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.STR)
class VisibleCaseField(serializers.RelatedField):
    """A case reference, resolved only among the cases the requesting user may see."""

    default_error_messages = {
        "does_not_exist": "No case with this reference.",
        "invalid": "Give the case reference as text, for example TVP-000123.",
    }

    def get_queryset(self) -> Any:
        return cases_visible_to(self.context["request"].user)

    def to_internal_value(self, data: Any) -> Case:
        if not isinstance(data, str):
            self.fail("invalid")
        case = self.get_queryset().filter(reference=data.strip()).first()
        if case is None:
            # The same answer whether the case is another force's or does not exist at all.
            self.fail("does_not_exist")
        return case

    def to_representation(self, value: Case) -> str:
        return value.reference


class ReferralCreateSerializer(serializers.Serializer):
    """Refer a case whose offer was accepted to a programme."""

    case = VisibleCaseField(help_text="The case reference, for example TVP-000123.")
    programme = serializers.PrimaryKeyRelatedField(
        queryset=Programme.objects.select_related("provider"),
        help_text="The programme's id, from GET /api/v1/programmes/.",
        error_messages={
            "does_not_exist": "No programme with id {pk_value}: choose one listed at "
            "/api/v1/programmes/.",
        },
    )
