"""The check step before closing a case for the standard process (the GOV.UK check-answers
pattern): what closing does, nothing closed until confirmed, and a confirmation that is forged,
for another case, or made before the case changed refused loudly."""

from __future__ import annotations

import re

import pytest
from django.core import signing

from accounts.models import User
from cases.models import Case, CaseOutcome, CaseStatus, SchemePolicy
from cases.services import (
    case_close_ineligible,
    case_close_state,
    eligibility_check,
    eligibility_override,
)
from cases.views import CLOSE_SALT
from tests import factories

pytestmark = pytest.mark.django_db

CONFIRMATION = re.compile(r'name="confirmation" value="([^"]+)"')


@pytest.fixture
def ineligible(officer: User, policy: SchemePolicy) -> Case:
    """A case checked and found not eligible (an earlier drug caution on the PNC)."""
    case = factories.CaseFactory(
        created_by=officer, force=officer.force, previous_drug_conviction_or_caution=True
    )
    eligibility_check(case=case, by=officer)
    return Case.objects.get(pk=case.pk)


def close_url(case: Case) -> str:
    return f"/cases/{case.reference}/close/"


def check(client, case: Case, reason: str = "Charged with another offence."):
    response = client.post(close_url(case), {"reason": reason})
    assert "Check before closing the case for the standard process" in response.text
    return response


def token(response) -> str:
    return CONFIRMATION.search(response.text).group(1)


def status(case: Case) -> str:
    return Case.objects.get(pk=case.pk).status


def test_check_page_says_what_closing_does_and_closes_nothing(client, officer, ineligible):
    client.force_login(officer)

    html = check(client, ineligible).text

    assert "Charged with another offence." in html
    assert "The PNC check shows an earlier conviction or caution for a drug offence." in html
    assert f"Case {ineligible.reference} closes with the outcome “standard process”" in html
    assert "A closed case cannot be reopened." in html
    assert status(ineligible) == CaseStatus.INELIGIBLE


def test_confirming_closes_the_case_with_the_reason_checked(client, officer, ineligible):
    client.force_login(officer)
    confirmation = token(check(client, ineligible))

    response = client.post(
        close_url(ineligible), {"confirmation": confirmation, "reason": "Swapped"}, follow=True
    )

    assert "Case closed: standard process" in response.text
    case = Case.objects.get(pk=ineligible.pk)
    assert case.status == CaseStatus.CLOSED and case.outcome == CaseOutcome.STANDARD_PROCESS
    assert case.status_changes.last().reason == "Charged with another offence."


def test_change_returns_to_the_case_page_with_the_reason_kept(client, officer, ineligible):
    client.force_login(officer)
    check(client, ineligible, "Charged with another offence.")

    html = client.get(f"/cases/{ineligible.reference}/").text

    assert "Charged with another offence.</textarea>" in html


def test_closing_checked_before_a_new_eligibility_check_is_refused(client, officer, ineligible):
    client.force_login(officer)
    confirmation = token(check(client, ineligible))
    eligibility_check(case=ineligible, by=officer)

    response = client.post(close_url(ineligible), {"confirmation": confirmation}, follow=True)

    assert "The case changed since you checked the closing" in response.text
    assert status(ineligible) == CaseStatus.INELIGIBLE


def test_closing_checked_before_an_override_is_refused(client, officer, ineligible):
    supervisor = factories.UserFactory(role="supervisor", force=officer.force)
    client.force_login(supervisor)
    confirmation = token(check(client, ineligible))
    eligibility_override(case=ineligible, by=supervisor, reason="Caution was for another man.")

    response = client.post(close_url(ineligible), {"confirmation": confirmation}, follow=True)

    assert status(ineligible) == CaseStatus.ELIGIBLE
    assert "only a case found not eligible can be closed" in response.text


def test_a_case_closed_meanwhile_is_not_closed_twice(client, officer, ineligible):
    client.force_login(officer)
    confirmation = token(check(client, ineligible))
    case_close_ineligible(case=ineligible, by=officer, reason="By a colleague")
    client.post(f"/cases/{ineligible.reference}/", {"reason": "Checking"})  # the closed-case gate

    response = client.post(close_url(ineligible), {"confirmation": confirmation}, follow=True)

    assert "only a case found not eligible can be closed" in response.text
    case = Case.objects.get(pk=ineligible.pk)
    assert case.status_changes.last().reason == "By a colleague"


def test_a_forged_or_borrowed_confirmation_is_refused(client, officer, policy, ineligible):
    other = factories.CaseFactory(
        created_by=officer, force=officer.force, previous_drug_conviction_or_caution=True
    )
    eligibility_check(case=other, by=officer)
    client.force_login(officer)
    borrowed = token(check(client, other))
    forged = signing.dumps(
        {"case": ineligible.reference, "reason": "", "state": case_close_state(ineligible)},
        salt="not-the-salt",
    )

    for confirmation in (borrowed, forged, "nonsense"):
        response = client.post(close_url(ineligible), {"confirmation": confirmation}, follow=True)
        assert "This confirmation is not valid or has expired" in response.text

    assert status(ineligible) == status(other) == CaseStatus.INELIGIBLE
    assert signing.loads(borrowed, salt=CLOSE_SALT)["case"] == other.reference


def test_a_case_that_cannot_be_closed_gets_no_check_page(client, officer, policy):
    case = factories.CaseFactory(created_by=officer, force=officer.force)
    eligibility_check(case=case, by=officer)
    client.force_login(officer)

    response = client.post(close_url(case), {"reason": "Try"}, follow=True)

    assert "Check before closing" not in response.text
    assert "only a case found not eligible can be closed" in response.text
    assert status(case) == CaseStatus.ELIGIBLE


# --- A refused offer closes the case too: checked the same way -----------------------------


@pytest.fixture
def eligible(officer: User, policy: SchemePolicy) -> Case:
    case = factories.CaseFactory(created_by=officer, force=officer.force)
    eligibility_check(case=case, by=officer)
    return Case.objects.get(pk=case.pk)


def offer_url(case: Case) -> str:
    return f"/cases/{case.reference}/offer/"


def check_decline(client, case: Case):
    response = client.post(offer_url(case), {"response": "declined", "notes": "Wants court."})
    assert "Check before recording that the person declined the offer" in response.text
    return response


def test_a_declined_offer_is_checked_before_it_closes_the_case(client, officer, eligible):
    client.force_login(officer)

    html = check_decline(client, eligible).text

    assert "Wants court." in html
    assert f"Case {eligible.reference} closes with the outcome “standard process”" in html
    assert status(eligible) == CaseStatus.ELIGIBLE
    assert not eligible.offers.exists()


def test_confirming_a_declined_offer_closes_the_case(client, officer, eligible):
    client.force_login(officer)
    confirmation = token(check_decline(client, eligible))

    response = client.post(offer_url(eligible), {"confirmation": confirmation}, follow=True)

    assert "Offer declined: the case is closed for the standard process" in response.text
    case = Case.objects.get(pk=eligible.pk)
    assert (case.status, case.outcome) == (CaseStatus.CLOSED, CaseOutcome.STANDARD_PROCESS)
    offer = case.offers.get()
    assert (offer.response, offer.notes) == ("declined", "Wants court.")


def test_change_returns_to_the_offer_with_the_answers_kept(client, officer, eligible):
    client.force_login(officer)
    check_decline(client, eligible)

    html = client.get(offer_url(eligible) + "?change").text

    assert re.search(r'value="declined"[^>]*checked', html)
    assert "Wants court.</textarea>" in html


def test_a_decline_checked_before_a_new_eligibility_check_is_refused(client, officer, eligible):
    client.force_login(officer)
    confirmation = token(check_decline(client, eligible))
    eligibility_check(case=eligible, by=officer)

    response = client.post(offer_url(eligible), {"confirmation": confirmation})

    assert "There is a problem" in response.text
    assert "The case changed since you checked the answer" in response.text
    assert status(eligible) == CaseStatus.ELIGIBLE


def test_a_forged_decline_confirmation_is_refused(client, officer, eligible):
    client.force_login(officer)

    response = client.post(offer_url(eligible), {"confirmation": "nonsense"})

    assert "This confirmation is not valid or has expired" in response.text
    assert status(eligible) == CaseStatus.ELIGIBLE


def test_an_accepted_offer_needs_no_check(client, officer, eligible):
    client.force_login(officer)

    response = client.post(
        offer_url(eligible), {"response": "accepted", "consent_given": "on"}, follow=True
    )

    assert "Offer recorded" in response.text
    assert status(eligible) == CaseStatus.ACCEPTED


def test_an_over_long_reason_is_refused_not_dropped(client, officer, ineligible):
    client.force_login(officer)

    response = client.post(close_url(ineligible), {"reason": "x" * 100_000}, follow=True)

    assert "Check before closing" not in response.text
    assert "govuk-notification-banner" in response.text or "There is a problem" in response.text
    assert "at most" in response.text or "characters" in response.text
    assert status(ineligible) == CaseStatus.INELIGIBLE
