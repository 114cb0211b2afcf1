"""When a provider declines a referral, the officer who referred is told: by email through the
outbox, and by a flag beside the case in the list and on the case page, until they refer
again."""

from __future__ import annotations

import pytest

from programmes.models import Notification
from programmes.services import referral_create, referral_decline
from tests import factories
from tests.test_case_pages import _referred_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def declined(officer, policy, programme):
    officer.email = "sam.tester@tvp.example"
    officer.save()
    referral = _referred_case(officer, programme)
    staff = factories.provider_staff(programme.provider)
    return referral_decline(referral=referral, by=staff, reason="No places until March")


def test_the_officer_is_emailed_once_without_the_persons_name(declined):
    message = Notification.objects.get(kind="referral_declined")
    assert message.recipient == "sam.tester@tvp.example"
    assert declined.reference in message.subject and declined.case.reference in message.subject
    assert "No places until March" in message.body
    assert f"/cases/{declined.case.reference}/" in message.body
    assert declined.case.person.family_name not in message.body + message.subject


def test_the_case_is_flagged_in_the_list_and_on_its_page_until_referred_again(
    client, officer, declined, programme
):
    client.force_login(officer)
    listing = client.get("/cases/").content.decode()
    assert "Referral declined" in listing
    page = client.get(f"/cases/{declined.case.reference}/").content.decode()
    assert f"declined referral {declined.reference}" in page
    assert "No places until March. Refer the person to another programme." in page

    other = factories.ProgrammeFactory(forces_served=[declined.case.force])
    referral_create(case=declined.case, programme=other, by=officer)
    assert "Referral declined" not in client.get("/cases/").content.decode()


def test_an_officer_without_an_email_is_still_flagged(client, policy, programme):
    officer = factories.UserFactory(email="")
    referral = _referred_case(officer, programme)
    referral_decline(
        referral=referral, by=factories.provider_staff(programme.provider), reason="Full"
    )
    assert not Notification.objects.filter(kind="referral_declined").exists()
    client.force_login(officer)
    assert "Referral declined" in client.get("/cases/").content.decode()
