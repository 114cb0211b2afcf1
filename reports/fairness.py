"""Fairness monitoring: at each decision point, the rate for each group over the stage that
feeds it (offered over eligible, not over everyone logged), and the relative rate index
against a reference group the analyst chooses, said in plain words with the confidence the
numbers allow.

Groups: self-defined ethnicity (the ONS 2021 categories, or their five broad groups), sex and
age band on the date of the offence. Every count passes reports/disclosure.py first; rates,
indexes and their confidence intervals are worked out from the published counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from cases.models import Ethnicity, Sex
from reports import disclosure as dc
from reports import queries
from reports.outcomes import FEEDS, STEP_LABELS
from reports.queries import AGE_BANDS, Scope
from reports.tables import Report, Row, Table

NOT_STATED = "not_stated"

# The ONS 2021 broad groups, each the categories whose code starts with its prefix.
BROAD_GROUPS = {
    "asian": "Asian, Asian British or Asian Welsh",
    "black": "Black, Black British, Black Welsh, Caribbean or African",
    "mixed": "Mixed or multiple ethnic groups",
    "white": "White",
    "other": "Other ethnic group",
}
AGE_LABELS = {
    "under_18": "Under 18",
    "18_24": "18 to 24",
    "25_34": "25 to 34",
    "35_44": "35 to 44",
    "45_54": "45 to 54",
    "55_plus": "55 and over",
}


def _broad_group_sql() -> str:
    whens = " ".join(
        f"WHEN ethnicity LIKE '{prefix}\\_%%' THEN '{prefix}'" for prefix in BROAD_GROUPS
    )
    return f"CASE {whens} ELSE '{NOT_STATED}' END"


@dataclass(frozen=True)
class Dimension:
    """A way of grouping people: its groups (key -> label), the SQL that gives each case's
    group, and the reference group by default."""

    key: str
    label: str
    groups: dict[str, str]
    sql: str
    default_reference: str


DIMENSIONS = {
    "ethnic_group": Dimension(
        "ethnic_group", "Ethnicity (five broad groups)", BROAD_GROUPS, _broad_group_sql(), "white"
    ),
    "ethnicity": Dimension(
        "ethnicity",
        "Ethnicity (ONS 2021 categories)",
        {k: v for k, v in Ethnicity.choices if k != NOT_STATED},
        f"coalesce(nullif(ethnicity, ''), '{NOT_STATED}')",
        Ethnicity.WHITE_BRITISH.value,
    ),
    "sex": Dimension(
        "sex",
        "Sex",
        {k: v for k, v in Sex.choices if k != NOT_STATED},
        f"coalesce(nullif(sex, ''), '{NOT_STATED}')",
        Sex.MALE.value,
    ),
    "age_band": Dimension(
        "age_band",
        "Age on the date of the offence",
        {key: AGE_LABELS[key] for key, _, _ in AGE_BANDS},
        f"coalesce(age_band, '{NOT_STATED}')",
        "25_34",
    ),
}

# What each decision point means, to finish "... times as likely to be ___".
LIKELY_TO = {
    "eligible": "found eligible",
    "offered": "offered diversion",
    "accepted": "to accept the offer",
    "referred": "referred to a programme",
    "started": "to start the programme",
    "completed": "to complete it",
    "flagged": "flagged for a missed deadline",
    "prosecute": "referred for prosecution by a supervisor",
    "extend": "given an extension",
    "re_refer": "re-referred",
    "no_further_action": "given no further action",
}
Z95 = 1.96


def interval(num: dc.Figure, den: dc.Figure, ref_num: dc.Figure, ref_den: dc.Figure):
    """The 95% confidence interval of a relative rate index (Katz's log method), from the
    published counts, or None when a count is withheld or zero."""
    values = (num.value, den.value, ref_num.value, ref_den.value)
    if any(not v for v in values):
        return None
    a, n1, c, n2 = values
    index = (a / n1) / (c / n2)
    spread = math.sqrt(max(1 / a - 1 / n1 + 1 / c - 1 / n2, 0))
    return (
        round(math.exp(math.log(index) - Z95 * spread), 2),
        round(math.exp(math.log(index) + Z95 * spread), 2),
    )


def statement(group: str, reference: str, step: str, index: dc.Figure, ci) -> str:
    """The relative rate index in plain words, with the confidence the numbers allow."""
    if not index.shown:
        return (
            f"The {group} group: too few people at this stage to compare with the {reference} "
            "group."
        )
    words = (
        f"The {group} group was {index.text} times as likely to be {LIKELY_TO[step]} as the "
        f"{reference} group"
    )
    if ci is None:
        return f"{words}; the numbers are too small to say how sure this is."
    low, high = ci
    if low <= 1 <= high:
        return (
            f"{words} (95% confidence interval {low:.2f} to {high:.2f}): with these numbers "
            "this could be chance, so it is not evidence of a difference."
        )
    return (
        f"{words} (95% confidence interval {low:.2f} to {high:.2f}): a difference unlikely "
        "to be chance alone."
    )


def fairness(scope: Scope, *, dimension: Dimension, reference: str, today: date) -> Report:
    """At each decision point, each group's rate over the stage that feeds it, and its
    relative rate index against `reference`."""
    by_group = queries.step_counts_by(scope, dimension.sql)
    empty = dict.fromkeys(queries.STEPS, 0)
    groups = {**dimension.groups, NOT_STATED: "Not stated"}
    figures = {
        key: {step: dc.count(n) for step, n in by_group.get(key, empty).items()} for key in groups
    }
    totals = queries.step_totals(scope)
    reference_label = dimension.groups[reference]
    tables = []
    for step, feeder in FEEDS.items():
        ref = figures[reference]
        ref_rate = dc.rate(ref[step], ref[feeder])
        rows, statements = [], []
        for key, label in groups.items():
            f = figures[key]
            group_rate = dc.rate(f[step], f[feeder])
            if key == NOT_STATED:
                index = dc.Figure(None, "–")
            elif key == reference:
                index = dc.ratio(group_rate, ref_rate) if ref_rate.shown else dc.Figure(None, "–")
            else:
                index = dc.ratio(group_rate, ref_rate)
                ci = interval(f[step], f[feeder], ref[step], ref[feeder]) if index.shown else None
                if f[feeder].value != 0:
                    statements.append(statement(label, reference_label, step, index, ci))
            rows.append(Row(label, (f[feeder], f[step], group_rate, index)))
        tables.append(
            Table(
                caption=f"{STEP_LABELS[step]}, of those {STEP_LABELS[feeder].lower()}",
                row_heading=dimension.label,
                columns=(
                    f"{STEP_LABELS[feeder]}",
                    f"{STEP_LABELS[step]}",
                    "Rate",
                    f"Relative rate index (against {reference_label})",
                ),
                rows=rows,
                chart="Rate",
                percent=True,
                statements=statements,
                folded=bool(tables),
            )
        )
    logged = dc.count(totals["logged"])
    not_stated = dc.rate(figures[NOT_STATED]["logged"], logged)
    summary = (
        f"{not_stated.text} of {logged.text} cases logged have no {dimension.label.lower()} "
        f"stated; rates for each group are compared with {reference_label} at "
        f"{len(FEEDS)} decision points."
    )
    notes = [
        "Each rate is taken over the stage that feeds the decision (for example, offered "
        "diversion out of those found eligible), so a difference at one step is not carried "
        "into the next.",
        "A relative rate index above 1 means the group reached the step more often than the "
        "reference group; below 1, less often. The 95% confidence interval shows how sure the "
        "figure is: where it includes 1, the numbers are too small to tell the difference "
        "from chance.",
        "Ethnicity and sex are as the person defined them; cases where they were not stated "
        "are shown but not compared.",
    ]
    if len(scope.force_ids) != 1 and queries.forces_in_scope(scope) > 1:
        notes.append(
            "These figures cover more than one force. Groups are not spread evenly across force "
            "areas and schemes differ between forces, so part of a difference may come from "
            "where people were stopped rather than how they were treated: choose one force to "
            "compare within it."
        )
    return Report("fairness", "Fairness monitoring", summary, tables, notes=notes)
