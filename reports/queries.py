"""The reports' SQL: one row of facts per case in scope, and the aggregates taken over it.

Everything here returns raw counts, which never leave this app: reports/outcomes.py and
reports/fairness.py pass each through reports/disclosure.py before anything is shown.

`facts` is the decision chain of each case as columns, in one place (a CTE every aggregate
starts from):

- logged: every case in scope, by the London date it was logged;
- eligible: its latest eligibility decision says eligible, after any supervisor override;
- offered, accepted, declined: from its offers;
- referred: it has a referral (the first one names the programme and provider);
- started: an appointment of one of its referrals was attended, as its policy counts
  attending (programmes.rules.counts_as_sql, the rule the deadline sweep uses);
- completed: one of its referrals was completed;
- flagged: one of its referrals was flagged by the sweep; prosecute, extend, re_refer,
  no_further_action: a supervisor's decision of that kind on one of its escalations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from programmes.rules import counts_as_sql
from reports.routers import reports_connection

# The decision chain, in order: each step's column in `facts`.
STEPS = (
    "logged",
    "eligible",
    "offered",
    "accepted",
    "referred",
    "started",
    "completed",
    "flagged",
    "prosecute",
    "extend",
    "re_refer",
    "no_further_action",
)
DECISIONS = ("prosecute", "extend", "re_refer", "no_further_action")

# Age on the date of the offence, in bands: (key, lowest age, highest age or None).
AGE_BANDS = (
    ("under_18", 0, 17),
    ("18_24", 18, 24),
    ("25_34", 25, 34),
    ("35_44", 35, 44),
    ("45_54", 45, 54),
    ("55_plus", 55, None),
)


@dataclass(frozen=True)
class Scope:
    """What a report covers: forces (already checked against the analyst's), the months from
    `start` (first day) up to `end` (first day after), and the optional filters."""

    force_ids: tuple[int, ...]
    start: date
    end: date
    programme_id: int | None = None
    provider_id: int | None = None
    drug_class: str = ""
    disposal: str = ""

    def params(self) -> dict[str, Any]:
        return {
            "forces": list(self.force_ids),
            "start": self.start,
            "end": self.end,
            "programme": self.programme_id,
            "provider": self.provider_id,
            "drug_class": self.drug_class or None,
            "disposal": self.disposal or None,
        }


def age_band_sql(age: str) -> str:
    """The age band of `age` as a SQL CASE, from AGE_BANDS."""
    whens = " ".join(
        f"WHEN {age} >= {low}"
        + (f" AND {age} <= {high}" if high is not None else "")
        + f" THEN '{key}'"
        for key, low, high in AGE_BANDS
    )
    return f"CASE {whens} END"


def _attended() -> str:
    return counts_as_sql(
        "attended", outcome="t.outcome", late_counts_as_attended="rp.late_counts_as_attended"
    )


def facts_sql() -> str:
    """The CTE `facts`: one row per case in scope (parameters from Scope.params)."""
    age = "date_part('year', age(c.offence_date, p.date_of_birth))::int"
    decisions = ",\n               ".join(
        f"coalesce(bool_or(e.decision = '{d}'), false) AS {d}" for d in DECISIONS
    )
    return f"""
    facts AS (
        SELECT * FROM (
        SELECT c.id, c.person_id, c.force_id,
               (c.created_at AT TIME ZONE 'Europe/London')::date AS logged_on,
               true AS logged,
               p.ethnicity, p.sex, {age_band_sql(age)} AS age_band,
               coalesce(d.eligible, false) AS eligible,
               o.offered, o.accepted, o.declined, o.declined_on,
               r.id IS NOT NULL AS referred, r.programme_id, r.provider_id, r.referred_at,
               s.first_attended_at, s.first_attended_at IS NOT NULL AS started,
               cmp.completed_on, cmp.completed_on IS NOT NULL AS completed,
               cmp.referred_at AS completed_referral_at,
               esc.flagged, esc.prosecute, esc.extend, esc.re_refer, esc.no_further_action,
               esc.prosecuted_on,
               dc.drug_class, pol.disposal
        FROM cases_case c
        JOIN cases_person p ON p.id = c.person_id
        LEFT JOIN LATERAL (
            SELECT ed.eligible <> (ed.overridden_at IS NOT NULL) AS eligible, ed.policy_id
            FROM cases_eligibilitydecision ed WHERE ed.case_id = c.id
            ORDER BY ed.decided_at DESC, ed.id DESC LIMIT 1
        ) d ON true
        LEFT JOIN cases_schemepolicy pol ON pol.id = coalesce(d.policy_id, (
            SELECT sp.id FROM cases_schemepolicy sp WHERE sp.force_id = c.force_id
            ORDER BY sp.version DESC LIMIT 1
        ))
        CROSS JOIN LATERAL (
            SELECT count(*) > 0 AS offered,
                   coalesce(bool_or(f.response = 'accepted'), false) AS accepted,
                   coalesce(bool_or(f.response = 'declined'), false) AS declined,
                   (max(f.responded_at) FILTER (WHERE f.response = 'declined')
                       AT TIME ZONE 'Europe/London')::date AS declined_on
            FROM cases_offer f WHERE f.case_id = c.id
        ) o
        LEFT JOIN LATERAL (
            SELECT rr.id, rr.programme_id, rr.provider_id, rr.referred_at
            FROM programmes_referral rr WHERE rr.case_id = c.id
            ORDER BY rr.referred_at, rr.id LIMIT 1
        ) r ON true
        CROSS JOIN LATERAL (
            SELECT min(a.starts_at) AS first_attended_at
            FROM programmes_referral rr
            JOIN cases_schemepolicy rp ON rp.id = rr.policy_id
            JOIN programmes_appointment a ON a.referral_id = rr.id
            JOIN programmes_attendance t ON t.appointment_id = a.id AND t.is_current
            WHERE rr.case_id = c.id AND {_attended()}
        ) s
        LEFT JOIN LATERAL (
            SELECT rr.completed_on, rr.referred_at FROM programmes_referral rr
            WHERE rr.case_id = c.id AND rr.status = 'completed' AND rr.completed_on IS NOT NULL
            ORDER BY rr.completed_on LIMIT 1
        ) cmp ON true
        CROSS JOIN LATERAL (
            SELECT count(*) > 0 AS flagged,
               {decisions},
               (max(e.decided_at) FILTER (WHERE e.decision = 'prosecute')
                   AT TIME ZONE 'Europe/London')::date AS prosecuted_on
            FROM programmes_escalation e
            JOIN programmes_referral rr ON rr.id = e.referral_id
            WHERE rr.case_id = c.id
        ) esc
        CROSS JOIN LATERAL (
            SELECT min(dr.drug_class) AS drug_class
            FROM cases_casedrug cd JOIN cases_drug dr ON dr.id = cd.drug_id
            WHERE cd.case_id = c.id
        ) dc
        WHERE c.force_id = ANY(%(forces)s)
          AND c.created_at >= (%(start)s::date::timestamp AT TIME ZONE 'Europe/London')
          AND c.created_at < (%(end)s::date::timestamp AT TIME ZONE 'Europe/London')
        ) all_facts
        WHERE (%(programme)s::bigint IS NULL OR programme_id = %(programme)s::bigint)
          AND (%(provider)s::bigint IS NULL OR provider_id = %(provider)s::bigint)
          AND (%(drug_class)s::text IS NULL OR drug_class = %(drug_class)s::text)
          AND (%(disposal)s::text IS NULL OR disposal = %(disposal)s::text)
    )
    """  # noqa: S608 (constants and SQL generated from code, no input)


def _rows(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with reports_connection().cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _step_counts() -> str:
    return ", ".join(f"count(*) FILTER (WHERE {step}) AS {step}" for step in STEPS)


def step_totals(scope: Scope) -> dict[str, int]:
    """How many cases in scope reached each step of the decision chain."""
    sql = f"WITH {facts_sql()} SELECT {_step_counts()} FROM facts"  # noqa: S608 (constants)
    return _rows(sql, scope.params())[0]


def monthly_volumes(scope: Scope) -> list[dict[str, Any]]:
    """Per month in scope (every month, none left out): cases logged, referred, completed."""
    sql = f"""
        WITH {facts_sql()},
        months AS (
            SELECT generate_series(%(start)s::date, %(end)s::date - 1, interval '1 month')::date
                AS month
        )
        SELECT m.month,
               count(f.id) AS logged,
               count(f.id) FILTER (WHERE f.referred) AS referred,
               count(f.id) FILTER (WHERE f.completed) AS completed
        FROM months m
        LEFT JOIN facts f ON date_trunc('month', f.logged_on)::date = m.month
        GROUP BY m.month ORDER BY m.month
    """  # noqa: S608 (constants)
    return _rows(sql, scope.params())


def durations(scope: Scope) -> dict[str, dict[str, Any]]:
    """Days from referral to the first attended appointment and to completion: how many
    people each is taken over, and the quartiles."""
    sql = f"""
        WITH {facts_sql()},
        spans AS (
            SELECT 'first_appointment' AS measure,
                   extract(epoch FROM first_attended_at - referred_at) / 86400 AS days
            FROM facts WHERE started AND first_attended_at >= referred_at
            UNION ALL
            SELECT 'completion',
                   completed_on - (completed_referral_at AT TIME ZONE 'Europe/London')::date
            FROM facts WHERE completed
        )
        SELECT measure, count(*) AS people,
               percentile_cont(0.25) WITHIN GROUP (ORDER BY days) AS q1,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median,
               percentile_cont(0.75) WITHIN GROUP (ORDER BY days) AS q3
        FROM spans GROUP BY measure
    """  # noqa: S608 (constants)
    found = {row["measure"]: row for row in _rows(sql, scope.params())}
    empty = {"people": 0, "q1": None, "median": None, "q3": None}
    return {m: found.get(m, empty) for m in ("first_appointment", "completion")}


REOFFENDING_COHORTS = ("completed", "prosecuted", "declined")
REOFFENDING_MONTHS = (6, 12, 24)


def reoffending(scope: Scope, *, today: date) -> list[dict[str, Any]]:
    """Per cohort (completed, prosecuted, declined) and follow-up (6, 12, 24 months): the
    cases whose follow-up has fully passed by `today`, and how many of their people have a new
    case in the system with an offence within it. Cases outside the system are not seen."""
    sql = f"""
        WITH {facts_sql()},
        ended AS (
            SELECT f.id, f.person_id, x.cohort, x.ended_on
            FROM facts f
            CROSS JOIN LATERAL (VALUES ('completed', f.completed_on),
                                       ('prosecuted', f.prosecuted_on),
                                       ('declined', f.declined_on)) AS x(cohort, ended_on)
            WHERE x.ended_on IS NOT NULL
        )
        SELECT e.cohort, w.months, count(*) AS cases,
               count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM cases_case later
                   WHERE later.person_id = e.person_id AND later.id <> e.id
                     AND later.offence_date > e.ended_on
                     AND later.offence_date <= e.ended_on + make_interval(months => w.months)
               )) AS reoffended
        FROM ended e CROSS JOIN (VALUES (6), (12), (24)) AS w(months)
        WHERE e.ended_on + make_interval(months => w.months) <= %(today)s
        GROUP BY e.cohort, w.months
    """  # noqa: S608 (constants)
    found = {(r["cohort"], r["months"]): r for r in _rows(sql, {**scope.params(), "today": today})}
    return [
        found.get(
            (cohort, months), {"cohort": cohort, "months": months, "cases": 0, "reoffended": 0}
        )
        for cohort in REOFFENDING_COHORTS
        for months in REOFFENDING_MONTHS
    ]


def step_counts_by(scope: Scope, group_sql: str) -> dict[str, dict[str, int]]:
    """Per group (`group_sql`, an expression over facts' columns): cases at each step."""
    sql = f"""
        WITH {facts_sql()}
        SELECT {group_sql} AS grp, {_step_counts()} FROM facts GROUP BY 1
    """  # noqa: S608 (constants and expressions from code)
    return {row.pop("grp"): row for row in _rows(sql, scope.params())}


def forces_in_scope(scope: Scope) -> int:
    """How many forces have cases in scope (geography may explain differences between groups
    when more than one has)."""
    sql = f"WITH {facts_sql()} SELECT count(DISTINCT force_id) AS n FROM facts"  # noqa: S608
    return _rows(sql, scope.params())[0]["n"]
