"""The outcome reports: each a function from a scope to a Report of published figures.

Each takes its raw counts from reports/queries.py and passes every one through
reports/disclosure.py before it goes into a table; summaries are written from the published
figures only.
"""

from __future__ import annotations

from datetime import date

from cases.models import Force
from reports import disclosure as dc
from reports import queries
from reports.queries import Scope
from reports.tables import Report, Row, Table

STEP_LABELS = {
    "logged": "Logged",
    "eligible": "Eligible",
    "offered": "Offered diversion",
    "accepted": "Accepted the offer",
    "referred": "Referred to a programme",
    "started": "Started (first appointment attended)",
    "completed": "Completed",
    "flagged": "Flagged for a missed deadline",
    "prosecute": "Referred for prosecution",
    "extend": "Deadline extended",
    "re_refer": "Re-referred",
    "no_further_action": "No further action",
}
# Each step after the first, with the step that feeds it: the rate is taken over that one.
FEEDS = {
    "eligible": "logged",
    "offered": "eligible",
    "accepted": "offered",
    "referred": "accepted",
    "started": "referred",
    "completed": "started",
    "flagged": "referred",
    "prosecute": "flagged",
    "extend": "flagged",
    "re_refer": "flagged",
    "no_further_action": "flagged",
}
FUNNEL = ("logged", "eligible", "offered", "accepted", "referred", "started", "completed")


def volumes(scope: Scope, *, today: date) -> Report:
    """Cases logged, referred and completed in each month."""
    months = queries.monthly_volumes(scope)
    totals = queries.step_totals(scope)
    rows = [
        Row(
            m["month"].strftime("%B %Y"),
            (dc.count(m["logged"]), dc.count(m["referred"]), dc.count(m["completed"])),
        )
        for m in months
    ]
    total = dc.count(totals["logged"])
    rows.append(
        Row(
            "All months",
            (total, dc.count(totals["referred"]), dc.count(totals["completed"])),
        )
    )
    busiest = max(rows[:-1], key=lambda row: row.cells[0].value or 0, default=None)
    summary = f"{total.text} cases were logged in these {len(months)} months"
    if busiest is not None and busiest.cells[0].shown and busiest.cells[0].value:
        summary += f"; the most in {busiest.label} ({busiest.cells[0].text})."
    else:
        summary += "."
    table = Table(
        caption="Cases by the month they were logged",
        row_heading="Month",
        columns=("Logged", "Referred", "Completed"),
        rows=rows,
        chart="Logged",
    )
    return Report("volumes", "Cases over time", summary, [table])


def _funnel_rows(totals: dict[str, int], steps: tuple[str, ...]) -> list[Row]:
    figures = {step: dc.count(totals[step]) for step in totals}
    rows = []
    for step in steps:
        feeder = FEEDS.get(step)
        rows.append(
            Row(
                STEP_LABELS[step],
                (
                    figures[step],
                    dc.rate(figures[step], figures[feeder]) if feeder else dc.Figure(None, "–"),
                    dc.rate(figures[step], figures["logged"]),
                ),
            )
        )
    return rows


def funnel(scope: Scope, *, today: date) -> Report:
    """The decision chain: how many cases reached each step, and the share of the step
    before (and of all cases logged)."""
    totals = queries.step_totals(scope)
    figures = {step: dc.count(totals[step]) for step in totals}
    completed = dc.rate(figures["completed"], figures["logged"])
    summary = (
        f"Of {figures['logged'].text} cases logged, {figures['referred'].text} were referred "
        f"to a programme and {figures['completed'].text} completed it"
        + (f" ({completed.text} of those logged)." if completed.shown else ".")
    )
    table = Table(
        caption="Cases at each step of the decision chain",
        row_heading="Step",
        columns=("Cases", "Share of the step before", "Share of cases logged"),
        rows=_funnel_rows(totals, FUNNEL),
        chart="Cases",
    )
    return Report(
        "funnel",
        "Through the decision chain",
        summary,
        [table],
        notes=[
            "A case counts at a step if it ever reached it: a case re-referred after a missed "
            "deadline counts once as referred.",
        ],
    )


def rates(scope: Scope, *, today: date) -> Report:
    """Completion, escalation and prosecution rates, each over the cases that could reach it."""
    totals = queries.step_totals(scope)
    f = {step: dc.count(totals[step]) for step in totals}
    rows = [
        Row(
            "Completed, of those referred",
            (f["completed"], f["referred"], dc.rate(f["completed"], f["referred"])),
        ),
        Row(
            "Flagged for a missed deadline, of those referred",
            (f["flagged"], f["referred"], dc.rate(f["flagged"], f["referred"])),
        ),
        Row(
            "Referred for prosecution, of those flagged",
            (f["prosecute"], f["flagged"], dc.rate(f["prosecute"], f["flagged"])),
        ),
        Row(
            "Referred for prosecution, of those referred",
            (f["prosecute"], f["referred"], dc.rate(f["prosecute"], f["referred"])),
        ),
    ]
    completion = rows[0].cells[2]
    summary = (
        f"{completion.text} of cases referred to a programme completed it."
        if completion.shown
        else "Too few cases were referred to give a completion rate."
    )
    table = Table(
        caption="Completion, escalation and prosecution rates",
        row_heading="Rate",
        columns=("Cases", "Out of", "Rate"),
        rows=rows,
        chart="Rate",
        percent=True,
    )
    return Report("rates", "Completion, escalation and prosecution", summary, [table])


def timeliness(scope: Scope, *, today: date) -> Report:
    """Days from referral to the first attended appointment and to completion."""
    spans = queries.durations(scope)
    labels = {
        "first_appointment": "Referral to first appointment attended",
        "completion": "Referral to completion",
    }
    rows = []
    for measure, label in labels.items():
        span = spans[measure]
        people = span["people"]
        rows.append(
            Row(
                label,
                (
                    dc.count(people),
                    dc.days(span["median"], people=people),
                    dc.days(span["q1"], people=people),
                    dc.days(span["q3"], people=people),
                ),
            )
        )
    first = rows[0].cells[1]
    summary = (
        f"Half of those who started attended their first appointment within {first.text} "
        "of being referred."
        if first.shown
        else "Too few people have started a programme to say how long it takes."
    )
    table = Table(
        caption="Time from referral, in days",
        row_heading="Measure",
        columns=("People", "Median", "Quarter within", "Three quarters within"),
        rows=rows,
        chart="Median",
    )
    return Report(
        "timeliness",
        "Time to first appointment and to completion",
        summary,
        [table],
        notes=[
            "The spread: a quarter of people took no longer than the first figure, three "
            "quarters no longer than the second."
        ],
    )


def decisions(scope: Scope, *, today: date) -> Report:
    """Supervisors' decisions on flagged cases, by kind."""
    totals = queries.step_totals(scope)
    f = {step: dc.count(totals[step]) for step in totals}
    rows = [Row(STEP_LABELS[d], (f[d], dc.rate(f[d], f["flagged"]))) for d in queries.DECISIONS]
    shown = [row for row in rows if row.cells[0].shown and row.cells[0].value]
    top = max(shown, key=lambda row: row.cells[0].value, default=None)
    summary = f"{f['flagged'].text} cases were flagged for a supervisor" + (
        f"; the most common decision was “{top.label.lower()}” ({top.cells[0].text})."
        if top
        else "."
    )
    table = Table(
        caption="Supervisors' decisions on flagged cases",
        row_heading="Decision",
        columns=("Cases", "Share of those flagged"),
        rows=rows,
        chart="Cases",
    )
    return Report(
        "decisions",
        "Supervisors' decisions",
        summary,
        [table],
        notes=[
            "A case can have more than one decision (an extension, then a prosecution), so "
            "the shares may add up to more than 100%; flagged cases still waiting for a "
            "decision have none."
        ],
    )


COHORT_LABELS = {
    "completed": "After completing the programme",
    "prosecuted": "After referral for prosecution",
    "declined": "After declining the offer",
}


def reoffending(scope: Scope, *, today: date) -> Report:
    """The share of cases followed by a new drug case for the same person within 6, 12 and
    24 months of completing, of prosecution and of declining (Durham's Checkpoint measure)."""
    found = queries.reoffending(scope, today=today)
    rows = []
    for row in found:
        cases, again = dc.count(row["cases"]), dc.count(row["reoffended"])
        rows.append(
            Row(
                f"{COHORT_LABELS[row['cohort']]}, within {row['months']} months",
                (cases, again, dc.rate(again, cases)),
            )
        )
    completed_12 = rows[1].cells[2]
    summary = (
        f"{completed_12.text} of those who completed had a new drug case within 12 months."
        if completed_12.shown
        else "Too few people have been followed for 12 months after completing to say."
    )
    table = Table(
        caption="New drug cases after each outcome",
        row_heading="Outcome and follow-up",
        columns=("Cases followed up", "With a new case", "Rate"),
        rows=rows,
        chart="Rate",
        percent=True,
    )
    return Report(
        "reoffending",
        "Re-offending",
        summary,
        [table],
        notes=[
            "A new case is a later drug case for the same person in this system (matched by "
            "PNC ID, or by name and date of birth), with an offence within "
            "the follow-up after the outcome. Offences recorded elsewhere (another force not "
            "using this system, or a prosecution outside it) are not seen, so these rates are "
            "lower bounds.",
            "Only cases whose whole follow-up has passed are counted, so the 24-month figures "
            "cover older cases than the 6-month ones.",
        ],
    )


def forces(scope: Scope, *, today: date) -> Report:
    """Each force side by side (for national analysts): cases logged, and the rate at each
    main step of the decision chain over the step that feeds it."""
    names = dict(Force.objects.filter(pk__in=scope.force_ids).values_list("pk", "name"))
    by_force = queries.step_counts_by(scope, "force_id")
    steps = ("eligible", "offered", "accepted", "started", "completed", "flagged")
    rows = []
    for force_id, counts in sorted(by_force.items(), key=lambda item: names[item[0]]):
        f = {step: dc.count(n) for step, n in counts.items()}
        rows.append(
            Row(
                names[force_id],
                (f["logged"], *(dc.rate(f[step], f[FEEDS[step]]) for step in steps)),
            )
        )
    summary = (
        f"{len(rows)} forces have cases in these months."
        if len(rows) != 1
        else "One force has cases in these months."
    )
    table = Table(
        caption="Each force's cases and rates at each step",
        row_heading="Force",
        columns=(
            "Logged",
            "Eligible, of those logged",
            "Offered, of those eligible",
            "Accepted, of those offered",
            "Started, of those referred",
            "Completed, of those started",
            "Flagged, of those referred",
        ),
        rows=rows,
        chart="Completed, of those started",
        percent=True,
    )
    return Report(
        "forces",
        "Forces compared",
        summary,
        [table],
        notes=[
            "Schemes differ between forces (who is eligible, the programme, the deadlines), so a "
            "difference in a rate may come from the scheme's rules rather than how it is run.",
            "Only forces with cases in the months chosen are listed.",
        ],
    )
