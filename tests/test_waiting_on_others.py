"""The supervisor's home shows, besides escalations, offers the person has not answered and
new referrals a provider has not taken on within ACCEPT_WITHIN_WORKING_DAYS."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from base.clock import LONDON, working_days_before
from cases.models import CaseStatus, Offer
from programmes.models import ReferralStatus
from programmes.rules import ACCEPT_WITHIN_WORKING_DAYS, acceptance_overdue
from tests import factories

pytestmark = pytest.mark.django_db

QUEUE = "/escalations/"


def test_a_provider_has_three_working_days_to_take_a_referral_on():
    assert ACCEPT_WITHIN_WORKING_DAYS == 3
    monday = date(2026, 11, 30)
    assert not acceptance_overdue(monday, date(2026, 12, 3))  # Thursday: the third day
    assert acceptance_overdue(monday, date(2026, 12, 4))  # Friday: one day over
    assert not acceptance_overdue(date(2026, 12, 4), date(2026, 12, 4))


def test_weekends_and_bank_holidays_do_not_count():
    # Christmas Day (Friday) and the Boxing Day holiday (Monday 28 December) are not counted.
    assert working_days_before(date(2026, 12, 29), 3) == date(2026, 12, 22)
    assert not acceptance_overdue(date(2026, 12, 23), date(2026, 12, 29))
    assert acceptance_overdue(date(2026, 12, 21), date(2026, 12, 29))
    assert working_days_before(date(2026, 12, 7), 1) == date(2026, 12, 4)  # over a weekend


@pytest.fixture
def supervisor(db):
    return factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))


def test_the_supervisor_sees_offers_and_referrals_waiting_on_others(client, supervisor):
    offered = factories.CaseFactory(status=CaseStatus.OFFERED)
    Offer.objects.create(
        case=offered,
        offered_at=timezone.now() - timedelta(days=4),
        offered_by=offered.created_by,
        response=Offer.Response.PENDING,
    )
    long_ago = datetime.combine(
        working_days_before(timezone.localdate(timezone.now(), LONDON), 5),
        datetime.min.time(),
        tzinfo=LONDON,
    )
    slow = factories.ReferralFactory(status=ReferralStatus.NEW)
    type(slow).objects.filter(pk=slow.pk).update(referred_at=long_ago)
    fresh = factories.ReferralFactory(status=ReferralStatus.NEW)
    other_force = factories.ReferralFactory(
        status=ReferralStatus.NEW, case__force=factories.force("DUR")
    )
    type(other_force).objects.filter(pk=other_force.pk).update(referred_at=long_ago)
    client.force_login(supervisor)

    queue = client.get(QUEUE).content.decode()
    assert "1 offer waiting for the person’s answer" in queue
    assert "1 referral not taken on by the provider within 3 working days" in queue
    assert 'href="/escalations/waiting/"' in queue

    page = client.get("/escalations/waiting/").content.decode()
    assert f'href="/cases/{offered.reference}/"' in page and "offered 4 days ago" in page
    audited = set(
        AuditEvent.objects.filter(user=supervisor, action="view").values_list(
            "object_id", "person_id"
        )
    )
    assert {
        (offered.reference, offered.person_id),
        (slow.case.reference, slow.case.person_id),
    } <= audited
    assert f'href="/cases/{slow.case.reference}/"' in page
    assert slow.programme.provider.name in page
    assert f"/cases/{fresh.case.reference}/" not in page
    assert f"/cases/{other_force.case.reference}/" not in page


def test_nothing_waiting_shows_no_section(client, supervisor):
    client.force_login(supervisor)
    assert "data-waiting" not in client.get(QUEUE).content.decode()
