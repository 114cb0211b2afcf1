"""The national-scale benchmark (make bench) at a small N, so that it cannot rot.

Builds the benchmark's dataset in the test database with scripts/bench/build.py and runs every
measurement of scripts/bench/measure.py once on it: the builder's proportions, every measured
page as its user sees it, the eligibility check, the sweep against the honest statement and
the naive loop, retention, and the attendance API under gunicorn. Timings are not checked here
(that is `make bench`'s job); that everything answers, and answers the same, is.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import connection
from django.utils import timezone

from audit.roles import as_owner
from scripts.bench import api_load, build, measure

N = 1000

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def built(transactional_db) -> build.Built:
    """The benchmark's dataset of N cases in the (flushed) test database."""
    now = timezone.now().replace(second=0, microsecond=0)
    with as_owner():  # the bulk load drops indexes and switches triggers off: the owner's job
        return build.build(n=N, now=now, progress=lambda line: None)


def share(sql: str, params: list | None = None) -> float:
    [(value,)] = build.fetch(sql, params)
    return float(value)


def assert_national_proportions(built: build.Built) -> None:
    """The builder made what issue 11 asks for, in about the proportions asked."""
    counts = built.counts
    assert counts["cases_case"] == N
    # About 1.3 cases per person, half the cases referred, two audit rows a case or more.
    assert 1.15 < N / counts["cases_person"] < 1.45
    assert 0.42 < counts["programmes_referral"] / N < 0.58
    assert 1.9 < counts["audit_auditevent"] / N < 2.3
    # Thames Valley and West Midlands about a fifth each, Durham a tenth, every force a policy.
    for code, expected in (("TVP", 0.2), ("WMP", 0.2), ("DUR", 0.1)):
        got = share(
            "SELECT count(*)::float / (SELECT count(*) FROM cases_case) FROM cases_case c"
            " JOIN cases_force f ON f.id = c.force_id WHERE f.code = %s",
            [code],
        )
        assert abs(got - expected) < 0.05, code
    assert share("SELECT count(DISTINCT force_id) FROM cases_schemepolicy") == 43
    # 30% of referrals open, with about three appointments each; escalations about 5%.
    open_share = share(
        "SELECT avg((status IN ('new', 'accepted', 'in_progress', 'flagged'))::int)"
        " FROM programmes_referral"
    )
    assert 0.22 < open_share < 0.38
    appointments_per_open_referral = share(
        "SELECT count(a.id)::float / count(DISTINCT r.id) FROM programmes_referral r"
        " LEFT JOIN programmes_appointment a ON a.referral_id = r.id"
        " WHERE r.status IN ('new', 'accepted', 'in_progress', 'flagged')"
    )
    assert 2.3 < appointments_per_open_referral < 3.7
    assert 0.02 < counts["programmes_escalation"] / counts["programmes_referral"] < 0.09
    assert share("SELECT count(*) FROM programmes_escalation WHERE decided_at IS NULL") > 0
    assert share("SELECT count(*) FROM programmes_escalation WHERE decided_at IS NOT NULL") > 0
    # One big provider takes most referrals, completed ones included.
    big_provider_share = share(
        "SELECT avg((p.name = 'Pathways Drug Education')::int) FROM programmes_referral r"
        " JOIN programmes_programme g ON g.id = r.programme_id"
        " JOIN programmes_provider p ON p.id = g.provider_id WHERE r.status = 'completed'"
    )
    assert big_provider_share > 0.55
    # The demo users are where the pages are measured from.
    users = dict(
        build.fetch(
            "SELECT u.username, coalesce(f.code, p.name, '') FROM accounts_user u"
            " LEFT JOIN cases_force f ON f.id = u.force_id"
            " LEFT JOIN programmes_provider p ON p.id = u.provider_id"
        )
    )
    assert users["officer"] == users["supervisor"] == "TVP"
    assert users["provider"] == "Pathways Drug Education"
    assert "admin" in users and "analyst" in users


def test_builder_makes_the_national_shape_and_every_measured_page_answers_its_user(built):
    assert_national_proportions(built)

    facts = measure.discover()
    runner = measure.PageRunner(facts)
    for page in measure.PAGES:
        result = runner.measure(page.key)
        assert result.status == 200, page.label
        assert result.queries > 0, page.label
    assert facts["family_name_cases"] > 0
    assert facts["logged_case_id"] is not None

    check = measure.eligibility_check(facts["logged_case_id"])
    assert check["queries"] > 0
    # Rolled back: the case still waits for its check.
    assert build.fetch(
        "SELECT status FROM cases_case WHERE id = %s", [facts["logged_case_id"]]
    ) == [("logged",)]

    for people in (5, 50):
        clock = measure.retention_clock(people)
        result = measure.retention_rolled_back(clock, timeout_seconds=60)
        assert result["people"] == people and not result["timed_out"]
    assert share("SELECT count(*) FROM cases_person WHERE anonymised_at IS NOT NULL") == 0


def test_sweep_honest_statement_and_naive_loop_flag_the_same_referrals(built):
    now: datetime = built.now
    swept = measure.sweep_rolled_back(now)
    honest = measure.honest_rolled_back(now)
    naive = measure.naive_loop(now, limit=60)

    assert swept.referral_ids == honest.referral_ids
    assert len(swept.referral_ids) == built.planned_breaches > 0
    assert naive.examined and sorted(naive.flagged) == sorted(
        set(swept.referral_ids) & set(naive.examined)
    )
    # Rolled back: nothing was flagged for real, and a second run flags the same again.
    assert measure.sweep_rolled_back(now).referral_ids == swept.referral_ids
    memory = measure.sweep_peak_memory(now)
    assert memory["python_traced_mb"] > 0


def test_attendance_api_and_trivial_endpoints_answer_under_gunicorn(built):
    key = measure.api_token()
    appointments = measure.attendance_appointments(8)
    auth = {"Authorization": f"Token {key}"}
    with api_load.serve(connection.settings_dict["NAME"], workers="1") as port:
        for request, headers, expected in (
            (api_load.attendance_requests(appointments, 2), auth, {200, 201}),
            (api_load.trivial_requests("/bench/trivial/"), {}, {200}),
            (api_load.trivial_requests("/bench/trivial-token/"), auth, {200}),
        ):
            result = api_load.load(
                port,
                request=request,
                headers=headers,
                expected=expected,
                concurrency=2,
                seconds=0.5,
            )
            assert result.requests > 0 and result.errors == 0, result.statuses
