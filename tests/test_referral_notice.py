"""The notice handed to the person at referral: what they agreed to, the provider and how to
reach them, the deadlines and what happens if they do not take part; in Welsh first for someone
who prefers it; printed, or emailed once where they chose email."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from base.clock import LONDON
from programmes.models import Notification
from programmes.notice import notice_text
from tests import factories
from tests.test_case_pages import _referred_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral(officer, policy, programme):
    programme.provider.contact_email = "hello@pathways.example"
    programme.provider.save()
    return _referred_case(officer, programme)


def test_the_officer_prints_a_notice_with_the_provider_and_the_deadlines(client, officer, referral):
    case = referral.case
    client.force_login(officer)
    assert "Notice for the person" in client.get(f"/cases/{case.reference}/").content.decode()

    last = AuditEvent.objects.latest("id").id
    page = client.get(f"/cases/{case.reference}/notice/").content.decode()

    assert "Your drug diversion programme" in page
    assert f"you have agreed to take part in {referral.programme.name}" in page
    assert "hello@pathways.example" in page
    due = referral.first_appointment_due.astimezone(LONDON)
    assert f"Go to your first appointment by {due:%A} {due.day} {due:%B %Y}." in page
    assert "may decide that you should be prosecuted for the original offence" in page
    assert "Eich rhaglen" not in page  # English only for someone who prefers English
    assert AuditEvent.objects.filter(
        id__gt=last, user=officer, action="view", person_id=case.person_id
    ).exists()


def test_a_welsh_speaker_gets_the_notice_in_welsh_first_with_welsh_dates(client, officer, referral):
    person = referral.case.person
    person.preferred_language = "cy"
    person.save()
    client.force_login(officer)

    page = client.get(f"/cases/{referral.case.reference}/notice/").content.decode()

    welsh = page.index("Eich rhaglen dargyfeirio cyffuriau")
    english = page.index("Your drug diversion programme")
    assert welsh < english
    assert 'lang="cy"' in page
    months = (
        "Ionawr",
        "Chwefror",
        "Mawrth",
        "Ebrill",
        "Mai",
        "Mehefin",
        "Gorffennaf",
        "Awst",
        "Medi",
        "Hydref",
        "Tachwedd",
        "Rhagfyr",
    )
    assert any(month in page[welsh:english] for month in months)


def test_the_notice_is_emailed_once_where_the_person_chose_email(client, officer, referral):
    person = referral.case.person
    person.email = "dylan@example.com"
    person.contact_preference = "email"
    person.save()
    client.force_login(officer)
    url = f"/cases/{referral.case.reference}/notice/"
    assert "Email the notice" in client.get(url).content.decode()

    first = client.post(url, follow=True).content.decode()
    second = client.post(url, follow=True).content.decode()

    assert "The notice is on its way to dylan@example.com" in first
    assert "The notice was already sent to dylan@example.com" in second
    message = Notification.objects.get(kind="referral_notice")
    assert message.recipient == "dylan@example.com" and message.channel == "email"
    assert message.body == notice_text(referral, referral.case)
    assert "<" not in message.body and "hello@pathways.example" in message.body
    assert AuditEvent.objects.filter(action="disclose", person_id=person.pk).count() == 1


def test_no_email_is_offered_or_sent_to_someone_who_chose_text_messages(client, officer, referral):
    client.force_login(officer)
    url = f"/cases/{referral.case.reference}/notice/"
    assert "Email the notice" not in client.get(url).content.decode()
    page = client.post(url, follow=True).content.decode()
    assert "print the notice and hand it to them" in page
    assert not Notification.objects.filter(kind="referral_notice").exists()


def test_a_case_without_a_referral_has_no_notice(client, officer, policy):
    case = factories.CaseFactory(created_by=officer, status="eligible")
    client.force_login(officer)
    response = client.get(f"/cases/{case.reference}/notice/", follow=True)
    assert "There is no referral the person still has to act on" in response.content.decode()


def test_another_force_cannot_see_the_notice(client, other_force_officer, referral):
    client.force_login(other_force_officer)
    assert client.get(f"/cases/{referral.case.reference}/notice/").status_code == 404
