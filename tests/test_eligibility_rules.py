"""The eligibility rules as plain values: every boundary, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from cases.rules import (
    DrugFound,
    EarlierCase,
    EligibilityInputs,
    EligibilityResult,
    PolicyRules,
    Reason,
    age_on,
    can_transition,
    check_eligibility,
)

OFFENCE = date(2026, 11, 2)

CANNABIS = DrugFound(
    code="cannabis", name="Cannabis (herbal)", drug_class="B", quantity=Decimal("5"), unit="g"
)
COCAINE = DrugFound(
    code="cocaine", name="Cocaine", drug_class="A", quantity=Decimal("0.5"), unit="g"
)
KETAMINE = DrugFound(
    code="ketamine", name="Ketamine", drug_class="B", quantity=Decimal("1"), unit="g"
)

POLICY = PolicyRules(
    version=1,
    scheme_name="Test scheme",
    drug_classes=frozenset({"A", "B"}),
    thresholds={"cannabis": Decimal("28"), "cocaine": Decimal("1")},
)

INPUTS = EligibilityInputs(
    date_of_birth=date(1995, 6, 15),
    offence_date=OFFENCE,
    checked_on=OFFENCE,
    offence_type="simple_possession",
    setting="none",
    drugs=(CANNABIS,),
    admitted_offence=True,
    resides_in_force_area=True,
    previous_drug_conviction_or_caution=False,
)


def check(policy: PolicyRules = POLICY, **changes: object) -> EligibilityResult:
    """Check INPUTS with `changes` applied under `policy`."""
    return check_eligibility(replace(INPUTS, **changes), policy)


def reasons_for(result: EligibilityResult, rule: str) -> list[Reason]:
    """The reasons the result gave for one rule."""
    return [reason for reason in result.reasons if reason.rule == rule]


def only_reason(result: EligibilityResult, rule: str) -> Reason:
    """The single reason given for `rule`."""
    (reason,) = reasons_for(result, rule)
    return reason


def diversion(
    days_before: int, *, diverted: bool = True, offence_days_before: int | None = None
) -> EarlierCase:
    """An earlier diversion that ended `days_before` days before OFFENCE (None: not ended),
    for an offence `offence_days_before` days before OFFENCE (a year before it ended)."""
    ended_on = None if days_before is None else OFFENCE - timedelta(days=days_before)
    if offence_days_before is None:
        offence_days_before = (days_before or 0) + 365
    return EarlierCase(
        offence_date=OFFENCE - timedelta(days=offence_days_before),
        force_name="Durham Constabulary",
        diverted=diverted,
        matched_by="name and date of birth",
        ended_on=ended_on,
    )


def test_person_meeting_every_rule_is_eligible() -> None:
    result = check()

    assert result.eligible
    assert all(reason.passed for reason in result.reasons)


# --- Age -----------------------------------------------------------------------------------


def test_eighteenth_birthday_on_the_offence_date_is_eligible() -> None:
    result = check(date_of_birth=date(2008, 11, 2))

    assert result.eligible
    assert only_reason(result, "age").message.startswith("Aged 18 on the date of the offence")


def test_day_before_eighteenth_birthday_is_not_eligible() -> None:
    result = check(date_of_birth=date(2008, 11, 3))

    assert not result.eligible
    reason = only_reason(result, "age")
    assert not reason.passed
    assert "Aged 17" in reason.message
    assert "youth diversion scheme" in reason.message


def test_born_on_29_february_turns_18_on_1_march_in_a_common_year() -> None:
    born = date(2008, 2, 29)

    assert not check(date_of_birth=born, offence_date=date(2026, 2, 28)).eligible
    assert check(date_of_birth=born, offence_date=date(2026, 3, 1), checked_on=OFFENCE).eligible


def test_age_on_counts_29_february_birthday_in_a_leap_year() -> None:
    assert age_on(date(2004, 2, 29), date(2024, 2, 29)) == 20
    assert age_on(date(2004, 2, 29), date(2024, 2, 28)) == 19


def test_minimum_age_comes_from_the_policy() -> None:
    policy = replace(POLICY, minimum_age=21)

    result = check(policy, date_of_birth=date(2006, 1, 1))

    assert not result.eligible
    assert "aged 21 or over" in only_reason(result, "age").message


# --- Offence -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "offence_type", ["possession_with_intent", "supply", "production", "importation"]
)
def test_offence_other_than_simple_possession_is_not_eligible(offence_type: str) -> None:
    result = check(offence_type=offence_type)

    assert not result.eligible
    reason = only_reason(result, "offence_type")
    assert not reason.passed
    assert "Only simple possession can be diverted" in reason.message


@pytest.mark.parametrize(("setting", "place"), [("prison", "a prison"), ("school", "a school")])
def test_possession_in_a_prison_or_school_is_not_eligible(setting: str, place: str) -> None:
    result = check(setting=setting)

    assert not result.eligible
    reason = only_reason(result, "setting")
    assert not reason.passed
    assert f"in or near {place}" in reason.message


def test_offence_date_in_the_future_is_not_eligible() -> None:
    result = check(checked_on=OFFENCE - timedelta(days=1))

    assert not result.eligible
    assert not only_reason(result, "offence_date").passed


def test_offence_exactly_as_old_as_the_policy_allows_is_eligible() -> None:
    policy = replace(POLICY, max_offence_age_days=90)

    result = check(policy, checked_on=OFFENCE + timedelta(days=90))

    assert result.eligible
    assert (
        "90 days ago, within the scheme's limit of 90 days"
        in only_reason(result, "offence_age").message
    )


def test_offence_a_day_older_than_the_policy_allows_is_not_eligible() -> None:
    policy = replace(POLICY, max_offence_age_days=90)

    result = check(policy, checked_on=OFFENCE + timedelta(days=91))

    assert not result.eligible
    reason = only_reason(result, "offence_age")
    assert not reason.passed
    assert "91 days ago" in reason.message


def test_offence_age_is_not_checked_when_the_policy_sets_no_limit() -> None:
    result = check(checked_on=OFFENCE + timedelta(days=3650))

    assert result.eligible
    assert reasons_for(result, "offence_age") == []


# --- Drugs and quantities ------------------------------------------------------------------


def test_quantity_exactly_at_the_threshold_is_personal_use() -> None:
    result = check(drugs=(replace(CANNABIS, quantity=Decimal("28")),))

    assert result.eligible
    assert only_reason(result, "quantity").message == (
        "28 g of Cannabis (herbal) is within the personal-use amount of 28 g."
    )


def test_quantity_a_thousandth_over_the_threshold_is_not_personal_use() -> None:
    result = check(drugs=(replace(CANNABIS, quantity=Decimal("28.001")),))

    assert not result.eligible
    reason = only_reason(result, "quantity")
    assert not reason.passed
    assert reason.message == (
        "28.001 g of Cannabis (herbal) is more than the personal-use amount of 28 g."
    )


def test_drug_class_the_policy_does_not_cover_is_not_eligible() -> None:
    class_b_only = replace(POLICY, drug_classes=frozenset({"B"}))

    result = check(class_b_only, drugs=(COCAINE,))

    assert not result.eligible
    reason = only_reason(result, "drug_class")
    assert not reason.passed
    assert reason.message == "Cocaine is class A; Test scheme covers class B only."
    assert reasons_for(result, "quantity") == []


def test_drug_with_no_threshold_in_the_policy_is_not_eligible() -> None:
    result = check(drugs=(KETAMINE,))

    assert not result.eligible
    assert only_reason(result, "drug_class").passed
    reason = only_reason(result, "quantity")
    assert not reason.passed
    assert "sets no personal-use amount for Ketamine" in reason.message


def test_each_drug_gets_its_own_reasons() -> None:
    result = check(drugs=(CANNABIS, replace(COCAINE, quantity=Decimal("2"))))

    assert not result.eligible
    quantities = reasons_for(result, "quantity")
    assert [reason.passed for reason in quantities] == [True, False]
    assert "Cannabis (herbal)" in quantities[0].message
    assert "Cocaine" in quantities[1].message
    assert len(reasons_for(result, "drug_class")) == 2


def test_no_drugs_recorded_is_not_eligible() -> None:
    result = check(drugs=())

    assert not result.eligible
    assert not only_reason(result, "drugs").passed


# --- Previous record and earlier diversions ------------------------------------------------


def test_previous_drug_conviction_or_caution_is_not_eligible() -> None:
    result = check(previous_drug_conviction_or_caution=True)

    assert not result.eligible
    assert not only_reason(result, "previous_record").passed


def test_earlier_diversion_ended_on_the_last_day_of_the_lookback_counts() -> None:
    result = check(earlier_cases=(diversion(730),))

    assert not result.eligible
    reason = only_reason(result, "earlier_diversion")
    assert not reason.passed
    assert reason.message == (
        "Found 1 earlier diversion ended in the 730 days before this offence or not yet ended "
        "(none are allowed): a Durham Constabulary case for an offence on 3 November 2023, "
        "ended on 2 November 2024."
    )


def test_earlier_diversion_ended_one_day_inside_the_lookback_counts() -> None:
    assert not check(earlier_cases=(diversion(729),)).eligible


def test_earlier_diversion_ended_a_day_outside_the_lookback_does_not_count() -> None:
    result = check(earlier_cases=(diversion(731),))

    assert result.eligible
    reason = only_reason(result, "earlier_diversion")
    assert reason.passed
    assert reason.message == (
        "Found 1 earlier case for this person, with 0 diversions ended in the 730 days before "
        "this offence or not yet ended (0 allowed). Not counted: a Durham Constabulary case "
        "for an offence on 2 November 2023, ended on 1 November 2024, 731 days before this "
        "offence."
    )


def test_earlier_diversion_ended_on_the_day_of_the_new_offence_counts() -> None:
    result = check(earlier_cases=(diversion(0, offence_days_before=0),))

    assert not result.eligible
    assert "ended on 2 November 2026" in only_reason(result, "earlier_diversion").message


def test_earlier_diversion_ended_after_the_new_offence_counts() -> None:
    result = check(earlier_cases=(diversion(-3, offence_days_before=60),))

    assert not result.eligible
    assert "ended on 5 November 2026" in only_reason(result, "earlier_diversion").message


def test_earlier_diversion_still_in_progress_counts_however_old_its_offence() -> None:
    in_progress = diversion(None, offence_days_before=2000)

    result = check(earlier_cases=(in_progress,))

    assert not result.eligible
    reason = only_reason(result, "earlier_diversion")
    assert reason.message.endswith(
        "a Durham Constabulary case for an offence on 12 May 2021, still in progress."
    )


def test_old_offence_counts_when_its_diversion_ended_inside_the_lookback() -> None:
    # The offence was five years ago; the diversion ended a year ago: it counts.
    assert not check(earlier_cases=(diversion(365, offence_days_before=1825),)).eligible


def test_reason_names_the_earlier_case_of_the_same_force_by_reference() -> None:
    own = replace(diversion(10), reference="TVP-000012", force_name="Thames Valley Police")

    reason = only_reason(check(earlier_cases=(own,)), "earlier_diversion")

    assert "TVP-000012 (Thames Valley Police) for an offence on" in reason.message
    assert "ended on 23 October 2026" in reason.message


def test_reason_lists_every_counted_diversion_latest_ended_first() -> None:
    policy = replace(POLICY, max_previous_diversions=1)

    reason = only_reason(
        check(policy, earlier_cases=(diversion(400), diversion(None), diversion(100))),
        "earlier_diversion",
    )

    assert not reason.passed
    assert "Found 3 earlier diversions" in reason.message
    assert "(at most 1 allowed)" in reason.message
    in_progress = reason.message.index("still in progress")
    assert in_progress < reason.message.index("ended on 25 July 2026")
    assert reason.message.index("ended on 25 July 2026") < reason.message.index(
        "ended on 28 September 2025"
    )


def test_passing_reason_says_which_diversions_counted_when_some_are_allowed() -> None:
    policy = replace(POLICY, max_previous_diversions=1)

    reason = only_reason(check(policy, earlier_cases=(diversion(100),)), "earlier_diversion")

    assert reason.passed
    assert "with 1 diversion ended in the 730 days" in reason.message
    assert "(1 allowed): a Durham Constabulary case" in reason.message
    assert reason.message.endswith("ended on 25 July 2026.")


def test_not_counted_names_the_latest_diversion_outside_the_lookback() -> None:
    reason = only_reason(check(earlier_cases=(diversion(900), diversion(800))), "earlier_diversion")

    assert "Not counted: a Durham Constabulary case" in reason.message
    assert "800 days before this offence." in reason.message
    assert "900 days" not in reason.message


def test_earlier_case_that_was_not_diverted_does_not_count() -> None:
    result = check(earlier_cases=(diversion(30, diverted=False), diversion(None, diverted=False)))

    assert result.eligible
    reason = only_reason(result, "earlier_diversion")
    assert reason.passed
    assert "Not counted" not in reason.message


def test_case_whose_offence_came_after_this_one_does_not_count_as_earlier() -> None:
    later = check(
        earlier_cases=(
            diversion(None, offence_days_before=-1),
            diversion(-5, offence_days_before=-1),
        )
    )

    assert later.eligible
    assert "Not counted" not in only_reason(later, "earlier_diversion").message
    assert not check(earlier_cases=(diversion(None, offence_days_before=0),)).eligible


def test_once_only_policy_refuses_a_second_diversion() -> None:
    result = check(replace(POLICY, max_previous_diversions=0), earlier_cases=(diversion(100),))

    assert not result.eligible


def test_policy_allowing_one_earlier_diversion_accepts_one_and_refuses_two() -> None:
    policy = replace(POLICY, max_previous_diversions=1)

    one = check(policy, earlier_cases=(diversion(100),))
    two = check(policy, earlier_cases=(diversion(100), diversion(400)))

    assert one.eligible
    assert "(1 allowed)" in only_reason(one, "earlier_diversion").message
    assert not two.eligible
    assert "(at most 1 allowed)" in only_reason(two, "earlier_diversion").message


def test_lookback_comes_from_the_policy() -> None:
    three_years = replace(POLICY, lookback_days=1095)

    assert not check(three_years, earlier_cases=(diversion(1000),)).eligible
    assert check(POLICY, earlier_cases=(diversion(1000),)).eligible
    assert check(three_years, earlier_cases=(diversion(1096),)).eligible


def test_no_history_says_nothing_was_found() -> None:
    reason = only_reason(check(), "earlier_diversion")

    assert reason.passed
    assert reason.message == "No earlier cases or diversions found for this person."


# --- Exclusions, residence, admission ------------------------------------------------------


def test_excluded_circumstance_is_not_eligible() -> None:
    policy = replace(POLICY, excluded_circumstances=frozenset({"violence_at_arrest", "hate_crime"}))

    result = check(policy, circumstances=frozenset({"violence_at_arrest"}))

    assert not result.eligible
    reason = only_reason(result, "exclusion")
    assert not reason.passed
    assert "violence or threats at arrest" in reason.message


def test_circumstance_the_policy_does_not_exclude_is_ignored() -> None:
    policy = replace(POLICY, excluded_circumstances=frozenset({"hate_crime"}))

    result = check(policy, circumstances=frozenset({"co_accused"}))

    assert result.eligible
    assert only_reason(result, "exclusion").passed


def test_residence_is_checked_only_when_the_policy_requires_it() -> None:
    requires = replace(POLICY, requires_residence_in_area=True)

    assert check(resides_in_force_area=False).eligible
    assert reasons_for(check(resides_in_force_area=False), "residence") == []
    refused = check(requires, resides_in_force_area=False)
    assert not refused.eligible
    assert not only_reason(refused, "residence").passed
    assert only_reason(check(requires), "residence").passed


def test_admission_is_checked_only_when_the_policy_requires_it() -> None:
    requires = replace(POLICY, requires_admission=True)

    assert check(admitted_offence=False).eligible
    assert reasons_for(check(admitted_offence=False), "admission") == []
    refused = check(requires, admitted_offence=False)
    assert not refused.eligible
    assert "requires the person to admit the offence" in only_reason(refused, "admission").message
    assert only_reason(check(requires), "admission").passed


# --- Reasons -------------------------------------------------------------------------------

ALWAYS_GIVEN = {
    "age",
    "offence_type",
    "setting",
    "drug_class",
    "quantity",
    "previous_record",
    "earlier_diversion",
}


def strict_policy() -> PolicyRules:
    """A policy that checks every optional rule too."""
    return replace(
        POLICY,
        max_offence_age_days=90,
        requires_admission=True,
        requires_residence_in_area=True,
        excluded_circumstances=frozenset({"outstanding_warrant"}),
    )


def test_every_rule_gives_a_reason_when_all_pass() -> None:
    result = check(strict_policy())

    assert result.eligible
    given = {reason.rule for reason in result.reasons}
    assert given == ALWAYS_GIVEN | {"offence_age", "exclusion", "residence", "admission"}


def test_every_rule_gives_a_reason_when_all_fail() -> None:
    result = check(
        strict_policy(),
        date_of_birth=date(2010, 1, 1),
        checked_on=OFFENCE + timedelta(days=200),
        offence_type="supply",
        setting="school",
        drugs=(replace(CANNABIS, quantity=Decimal("100")),),
        admitted_offence=False,
        resides_in_force_area=False,
        previous_drug_conviction_or_caution=True,
        circumstances=frozenset({"outstanding_warrant"}),
        earlier_cases=(diversion(10),),
    )

    assert not result.eligible
    failed = {reason.rule for reason in result.reasons if not reason.passed}
    assert failed == ALWAYS_GIVEN - {"drug_class"} | {
        "offence_age",
        "exclusion",
        "residence",
        "admission",
    }


@pytest.mark.parametrize("eligible", [True, False])
def test_reasons_are_plain_english_sentences(eligible: bool) -> None:
    changes = {} if eligible else {"offence_type": "supply", "setting": "prison"}

    result = check(strict_policy(), **changes)

    assert result.eligible is eligible
    for reason in result.reasons:
        assert reason.message[0].isupper() or reason.message[0].isdigit(), reason
        assert reason.message.endswith("."), reason
        assert "_" not in reason.message, reason
        for leaked in (" None", "True", "False", "Decimal(", "frozenset", "{"):
            assert leaked not in reason.message, reason


def test_result_serialises_every_reason_for_storage() -> None:
    result = check()

    stored = result.as_json()

    assert len(stored) == len(result.reasons)
    assert stored[0] == {"rule": "age", "passed": True, "message": result.reasons[0].message}


# --- Transitions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_status", "to_status", "allowed"),
    [
        ("logged", "eligible", True),
        ("logged", "offered", False),
        ("eligible", "referred", False),
        ("accepted", "referred", True),
        ("referred", "eligible", False),
        ("closed", "logged", False),
    ],
)
def test_case_transitions_follow_the_life_of_a_case(
    from_status: str, to_status: str, allowed: bool
) -> None:
    assert can_transition(from_status, to_status) is allowed
