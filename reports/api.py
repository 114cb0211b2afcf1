"""The reports in the API: each report's figures for the same filters and scope as its page,
through the same disclosure control (GET /api/v1/reports/<report>/). Descriptions: api_docs.py.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from base.api import IsAnalyst
from reports.api_docs import report_schema
from reports.views import REPORTS, report_read


class ReportView(APIView):
    """One report as JSON: the scope in words, the summary, each table, the notes. A refused
    filter is a 400 naming it."""

    permission_classes = [IsAnalyst]
    slug = ""

    def get(self, request: Request) -> Response:
        kind = REPORTS[self.slug]
        form = kind.filters(request.query_params, user=request.user)
        report = report_read(user=request.user, kind=kind, form=form, action="export")
        if report is None:
            return Response(form.errors.get_json_data(), status=400)
        return Response({"scope": form.described(), **report.as_json()})


def report_views() -> dict[str, type[ReportView]]:
    """A view class per report, each with its own schema, by slug."""
    return {
        slug: report_schema(kind)(type(f"{slug.title()}ReportView", (ReportView,), {"slug": slug}))
        for slug, kind in REPORTS.items()
    }
