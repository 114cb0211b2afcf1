"""The analyst's report pages and their CSV downloads. Thin: each checks the filters against
the analyst's scope (filters.py), builds one report (outcomes.py, fairness.py) and renders it.

Reading a report is audited like a list page (one row: which report, which filters), though it
holds no one's personal data: it is aggregate figures only, every one through disclosure
control.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from audit.services import audit_record
from base.clock import london_date
from base.pages import analyst_required
from reports import outcomes
from reports.fairness import fairness
from reports.filters import FairnessFilters, ReportFilters
from reports.routers import reading_reports
from reports.tables import Report


@dataclass(frozen=True)
class Kind:
    """One report: its slug (its URL), its title, what it answers and how it is built."""

    slug: str
    title: str
    question: str
    build: Callable[..., Report]
    filters: type[ReportFilters] = ReportFilters


REPORTS = {
    kind.slug: kind
    for kind in (
        Kind(
            "volumes",
            "Cases over time",
            "How many cases are logged, referred and completed each month?",
            outcomes.volumes,
        ),
        Kind(
            "funnel",
            "Through the decision chain",
            "How many cases reach each step, from logged to completed?",
            outcomes.funnel,
        ),
        Kind(
            "rates",
            "Completion, escalation and prosecution",
            "What share of referrals complete, are flagged, end in prosecution?",
            outcomes.rates,
        ),
        Kind(
            "timeliness",
            "Time to first appointment and to completion",
            "How long from referral to the first appointment, and to completion?",
            outcomes.timeliness,
        ),
        Kind(
            "decisions",
            "Supervisors' decisions",
            "What do supervisors decide when a deadline is missed?",
            outcomes.decisions,
        ),
        Kind(
            "reoffending",
            "Re-offending",
            "How many have a new drug case within 6, 12 and 24 "
            "months of completing, prosecution or declining?",
            outcomes.reoffending,
        ),
        Kind(
            "forces",
            "Forces compared",
            "How do the forces' schemes compare at each step, side by side?",
            outcomes.forces,
        ),
        Kind(
            "fairness",
            "Fairness monitoring",
            "At each decision point, are groups of people treated alike?",
            None,
            FairnessFilters,
        ),
    )
}


def build(kind: Kind, form: ReportFilters) -> Report:
    """The report for a valid form's scope."""
    today = london_date(timezone.now())
    if isinstance(form, FairnessFilters):
        return fairness(
            form.scope(), dimension=form.dimension(), reference=form.reference_group(), today=today
        )
    return kind.build(form.scope(), today=today)


def report_read(*, user, kind: Kind, form: ReportFilters, action: str) -> Report | None:
    """The report for the filters, or None if they are refused; audited either way."""
    valid = form.is_valid()
    audit_record(
        user=user,
        action=action,
        object_type=f"reports.{kind.slug}",
        changes={"filters": dict(form.data.items()), "valid": valid},
    )
    if not valid:
        return None
    with reading_reports():
        return build(kind, form)


@analyst_required
def index(request: HttpRequest) -> HttpResponse:
    """The analyst's start page: every report, with the question it answers."""
    return render(request, "reports/index.html", {"reports": REPORTS.values()})


@analyst_required
def report_page(request: HttpRequest, slug: str) -> HttpResponse:
    """One report: filters, a one-line summary, the chart and its table, notes, a CSV link."""
    kind = REPORTS[slug]
    form = kind.filters(request.GET, user=request.user)
    report = report_read(user=request.user, kind=kind, form=form, action="view")
    return render(
        request,
        "reports/report.html",
        {
            "kind": kind,
            "form": form,
            "report": report,
            "scope_lines": form.described() if report else [],
            "query": request.GET.urlencode(),
            "reports": REPORTS.values(),
        },
        status=200 if report else 400,
    )


@analyst_required
def report_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The report as CSV: exactly the figures the page shows, markers included."""
    kind = REPORTS[slug]
    form = kind.filters(request.GET, user=request.user)
    report = report_read(user=request.user, kind=kind, form=form, action="export")
    if report is None:
        return render(
            request,
            "reports/report.html",
            {"kind": kind, "form": form, "report": None, "reports": REPORTS.values()},
            status=400,
        )
    response = HttpResponse(report.as_csv(form.described()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}.csv"'
    return response
