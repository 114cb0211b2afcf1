"""The OpenAPI descriptions of the reports API (reports/api.py)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from base.api import FORBIDDEN

FILTERS = [
    OpenApiParameter("start", str, description="First month, YYYY-MM (default: 23 months ago)"),
    OpenApiParameter("end", str, description="Last month, YYYY-MM (default: this month)"),
    OpenApiParameter("force", str, description="A force's code (national analysts only)"),
    OpenApiParameter("programme", int, description="A programme's id"),
    OpenApiParameter("provider", int, description="A provider's id"),
    OpenApiParameter("drug_class", str, description="A, B or C: the case's most serious drug"),
    OpenApiParameter("disposal", str, description="The scheme's disposal"),
]
FAIRNESS = [
    OpenApiParameter("by", str, description="ethnic_group (default), ethnicity, sex or age_band"),
    OpenApiParameter("reference", str, description="The group to compare with"),
]


def report_schema(kind):
    """The schema decorator of one report's endpoint."""
    return extend_schema(
        summary=kind.title,
        description=(
            f"{kind.question} Aggregate figures for the analyst's scope, after disclosure "
            'control: a value of null with withheld "small" is a count from 1 to 7; '
            'withheld "base" is a rate or median over too few people. Counts are rounded '
            "to the nearest 5. Unknown filters, months in the wrong order and anything outside "
            "the analyst's scope are a 400 naming the filter."
        ),
        tags=["reports"],
        parameters=FILTERS + (FAIRNESS if kind.slug == "fairness" else []),
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The report"),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A refused filter, by name"),
            403: FORBIDDEN,
        },
    )
