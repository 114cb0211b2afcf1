"""Giving a referral to a caseworker of the provider: the page and the API, the inbox's "My
referrals" and "Unassigned" views with their counts, the history, and who may not be given
the work."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import Role, User
from audit.models import AuditEvent
from escalations.services import escalation_decide
from escalations.sweep import sweep_deadlines
from programmes.models import Referral, ReferralAssignment
from programmes.services import referral_assign
from tests import factories
from tests.test_case_pages import _referred_case
from tests.test_notes import LATER

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def referral(officer, policy, programme) -> Referral:
    return _referred_case(officer, programme)


def staff_of(referral: Referral, **names: str) -> User:
    return factories.UserFactory(
        role=Role.PROVIDER_STAFF, provider=referral.programme.provider, **names
    )


def tab_counts(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'data-tab="(\w+)">[^<]*<span class="moj-badge[^"]*" data-count>([^<]+)<', html)
    )


def test_a_caseworker_is_given_a_referral_and_the_inbox_views_follow(referral) -> None:
    lead = staff_of(referral, first_name="Lee", last_name="Ward")
    colleague = staff_of(referral, first_name="Ama", last_name="Boateng")
    assert tab_counts(signed_in(colleague).get("/provider/").content.decode())["unassigned"] == "1"

    response = signed_in(lead).post(
        f"/provider/referrals/{referral.reference}/caseworker/", {"assigned_to": colleague.pk}
    )

    assert response.status_code == 302
    inbox = signed_in(colleague).get("/provider/?tab=mine").content.decode()
    assert tab_counts(inbox)["mine"] == "1"
    assert tab_counts(inbox)["unassigned"] == "0"
    assert f'data-referral="{referral.reference}"' in inbox
    assert "Caseworker: Ama Boateng" in inbox
    assert (
        f'data-referral="{referral.reference}"'
        not in signed_in(lead).get("/provider/?tab=mine").content.decode()
    )
    page = signed_in(lead).get(f"/provider/referrals/{referral.reference}/").content.decode()
    assert re.search(r"data-caseworker>Ama Boateng<", page)


def test_reassigning_keeps_the_history(referral) -> None:
    lead = staff_of(referral, first_name="Lee", last_name="Ward")
    first = staff_of(referral, first_name="Ama", last_name="Boateng")
    second = staff_of(referral, first_name="Kit", last_name="Moss")

    referral_assign(referral=referral, by=lead, to=first)
    referral_assign(referral=referral, by=lead, to=second)
    referral_assign(referral=referral, by=lead, to=second)  # the same again: no new row
    referral_assign(referral=referral, by=lead, to=None)

    history = list(
        ReferralAssignment.objects.filter(referral=referral).values_list(
            "assigned_to", "assigned_by"
        )
    )
    assert history == [(first.pk, lead.pk), (second.pk, lead.pk), (None, lead.pk)]
    page = signed_in(lead).get(f"/provider/referrals/{referral.reference}/caseworker/")
    text = page.content.decode()
    assert "given to Ama Boateng by Lee Ward" in text
    assert "given to Kit Moss by Lee Ward" in text
    assert "unassigned by Lee Ward" in text
    assert AuditEvent.objects.filter(
        action="change", object_id=referral.reference, changes__after__assigned_to=second.pk
    ).exists()


def test_a_user_of_another_organisation_or_without_the_provider_role_cannot_be_given_it(
    referral, officer
) -> None:
    lead = staff_of(referral)
    elsewhere = factories.UserFactory(
        role=Role.PROVIDER_STAFF, provider=factories.ProviderFactory(), username="elsewhere"
    )
    client = signed_in(lead)

    page = client.post(
        f"/provider/referrals/{referral.reference}/caseworker/", {"assigned_to": elsewhere.pk}
    )
    for username in ("elsewhere", officer.username, "nobody-at-all"):
        api = client.post(
            f"/api/v1/referrals/{referral.reference}/assignment/",
            {"assigned_to": username},
            content_type="application/json",
        )
        assert api.status_code == 400
        assert api.json()["assigned_to"][0].startswith("Choose a caseworker of")

    assert page.status_code == 400
    assert "Choose one of your organisation’s caseworkers" in page.content.decode()
    referral.refresh_from_db()
    assert referral.assigned_to is None
    assert not ReferralAssignment.objects.exists()


def test_the_service_refuses_an_officer_as_caseworker(referral, officer) -> None:
    from base.errors import DomainError

    with pytest.raises(DomainError, match="Choose a caseworker of"):
        referral_assign(referral=referral, by=staff_of(referral), to=officer)


def test_another_providers_referral_is_404_and_nothing_changes(referral) -> None:
    outsider = factories.UserFactory(role=Role.PROVIDER_STAFF, provider=factories.ProviderFactory())
    client = signed_in(outsider)

    page = client.post(
        f"/provider/referrals/{referral.reference}/caseworker/", {"assigned_to": outsider.pk}
    )
    api = client.post(
        f"/api/v1/referrals/{referral.reference}/assignment/",
        {"assigned_to": outsider.username},
        content_type="application/json",
    )

    assert (page.status_code, api.status_code) == (404, 404)
    referral.refresh_from_db()
    assert referral.assigned_to is None
    assert not ReferralAssignment.objects.exists()


def test_the_api_assigns_and_the_referral_says_to_whom(referral) -> None:
    lead = staff_of(referral)
    colleague = staff_of(referral, username="ama.boateng")

    response = signed_in(lead).post(
        f"/api/v1/referrals/{referral.reference}/assignment/",
        {"assigned_to": "ama.boateng"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["assigned_to"] == "ama.boateng"
    mine = signed_in(colleague).get("/api/v1/referrals/").json()["results"]
    assert [row["assigned_to"] for row in mine] == ["ama.boateng"]


def test_an_ended_referral_is_not_given_to_anyone(referral, supervisor_tvp) -> None:
    lead = staff_of(referral)
    (flagged,) = sweep_deadlines(now=LATER)
    from escalations.models import Escalation

    escalation_decide(
        escalation=Escalation.objects.get(pk=flagged.escalation_id),
        by=supervisor_tvp,
        decision="prosecute",
        rationale="Never engaged",
    )

    response = signed_in(lead).post(
        f"/api/v1/referrals/{referral.reference}/assignment/",
        {"assigned_to": lead.username},
        content_type="application/json",
    )

    assert response.status_code == 409
    assert "only an open referral" in response.json()["detail"]


@pytest.fixture
def supervisor_tvp(db) -> User:
    return factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))


@pytest.mark.parametrize("tab", ["mine", "unassigned"])
def test_the_caseworker_views_cost_the_same_queries_however_many_referrals(
    policy, programme, django_assert_max_num_queries, tab: str
) -> None:
    lead = factories.UserFactory(role=Role.PROVIDER_STAFF, provider=programme.provider)
    client = signed_in(lead)

    def refer_one(number: int) -> None:
        referral = factories.ReferralFactory(programme=programme)
        if tab == "mine":
            referral_assign(referral=referral, by=lead, to=lead)

    refer_one(0)
    with django_assert_max_num_queries(14) as few:
        client.get(f"/provider/?tab={tab}")
    for number in range(1, 5):
        refer_one(number)

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(f"/provider/?tab={tab}").content.decode()

    assert page.count("data-referral=") == 5


# The force's side: the officer in charge of a case -------------------------------------------


def test_an_officer_gives_a_case_to_a_colleague_and_the_history_is_kept(referral, officer) -> None:
    from cases.models import CaseAssignment

    colleague = factories.UserFactory(
        role=Role.CUSTODY_OFFICER, force=factories.force("TVP"), first_name="Ravi", last_name="Shah"
    )
    client = signed_in(officer)
    url = f"/cases/{referral.case.reference}/officer/"

    assert client.post(url, {"assigned_to": colleague.pk}).status_code == 302
    assert client.post(url, {"assigned_to": ""}).status_code == 302

    page = client.get(f"/cases/{referral.case.reference}/").content.decode()
    assert re.search(r"data-officer>Unassigned<", page)
    history = client.get(url).content.decode()
    assert "given to Ravi Shah by" in history and "unassigned by" in history
    assert list(CaseAssignment.objects.values_list("assigned_to", flat=True)) == [
        colleague.pk,
        None,
    ]
    api = client.post(
        f"/api/v1/cases/{referral.case.reference}/assignment/",
        {"assigned_to": colleague.username},
        content_type="application/json",
    )
    assert api.status_code == 200
    assert api.json()["assigned_to"] == colleague.username
    detail = client.get(f"/api/v1/cases/{referral.case.reference}/").json()
    assert detail["assigned_to"] == colleague.username


def test_a_case_is_never_given_to_another_force_or_to_provider_staff(
    referral, officer, other_force_officer
) -> None:
    from cases.models import CaseAssignment

    staff = staff_of(referral, username="pathways.staff")
    client = signed_in(officer)

    page = client.post(
        f"/cases/{referral.case.reference}/officer/", {"assigned_to": other_force_officer.pk}
    )
    answers = [
        client.post(
            f"/api/v1/cases/{referral.case.reference}/assignment/",
            {"assigned_to": username},
            content_type="application/json",
        )
        for username in (other_force_officer.username, staff.username)
    ]

    assert page.status_code == 400
    assert "Choose one of your force’s officers" in page.content.decode()
    for answer in answers:
        assert answer.status_code == 400
        assert answer.json()["assigned_to"][0].startswith("Choose an officer of Thames Valley")
    assert not CaseAssignment.objects.exists()


def test_another_forces_case_is_404_and_nothing_changes(referral, other_force_officer) -> None:
    from cases.models import CaseAssignment

    client = signed_in(other_force_officer)
    url = f"/cases/{referral.case.reference}/officer/"

    assert client.post(url, {"assigned_to": other_force_officer.pk}).status_code == 404
    assert (
        client.post(
            f"/api/v1/cases/{referral.case.reference}/assignment/",
            {"assigned_to": other_force_officer.username},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert not CaseAssignment.objects.exists()
