"""In Chromium: the demo provider moves an appointment and the officer sees its earlier time;
the referral misses its deadline, the supervisor refers it for prosecution, and the provider
finds it under "Ended" with its future booking cancelled and nothing more to do."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from base.clock import london_date
from escalations.models import Escalation
from programmes import services
from programmes.models import Appointment, Notification, Referral, ReferralStatus
from tests.browser.conftest import sign_in
from tests.browser.test_provider_journey import fill_date
from tests.browser.test_provider_phone import PHONE, keep_screenshot, overflow


def test_a_prosecution_reaches_the_provider_and_a_move_reaches_the_officer(page, demo):
    referral = (
        Referral.objects.filter(
            programme__provider__users__username="provider",
            case__force__code="TVP",
            status__in=[ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS],
        )
        .select_related("case", "programme__provider")
        .order_by("reference")
        .first()
    )
    assert referral is not None, "seed_demo should leave accepted Thames Valley referrals"
    staff = referral.programme.provider.users.get(username="provider")
    ahead = services.appointment_book(
        referral=referral, by=staff, starts_at=timezone.now() + timedelta(days=2)
    )
    new_day = london_date(timezone.now()) + timedelta(days=6)

    # The provider moves the appointment, saying why.
    sign_in(page, "provider")
    page.goto(f"/provider/referrals/{referral.reference}/")
    card = page.locator(f"[data-appointment='{ahead.pk}']")
    card.get_by_role("link", name=re.compile(r"^Reschedule")).click()
    fill_date(page, "date", new_day)
    page.get_by_label("New start time").fill("11:30")
    page.get_by_label("Why is it moving?").fill("The person starts a new job that day")
    page.get_by_role("button", name="Move the appointment").click()
    expect(page.get_by_text("Appointment moved to")).to_be_visible()
    expect(card.locator("[data-moves='1']")).to_contain_text("The person starts a new job")
    page.get_by_role("button", name="Sign out").click()

    # The officer sees the earlier time on the case page.
    sign_in(page, "officer")
    page.goto(f"/cases/{referral.case.reference}/")
    expect(page.locator("[data-moves='1']")).to_contain_text("Moved once")
    expect(page.get_by_text("The person starts a new job that day")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    # The deadline passes and the sweep flags the referral; the supervisor prosecutes.
    past = timezone.now() - timedelta(days=1)
    Referral.objects.filter(pk=referral.pk).update(first_appointment_due=past, completion_due=past)
    call_command("sweep_deadlines", stdout=StringIO())
    escalation = Escalation.objects.get(referral=referral, decided_at__isnull=True)
    sign_in(page, "supervisor")
    page.goto(f"/escalations/{escalation.pk}/")
    page.get_by_label("Refer for prosecution").check()
    page.get_by_label("Rationale", exact=True).fill("Arrested again for supply last week.")
    page.get_by_role("button", name="Continue").click()  # to the check step
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Decision recorded")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    assert Appointment.objects.get(pk=ahead.pk).status == "cancelled"
    message = Notification.objects.get(dedupe_key=f"referral_ended:{referral.pk}")
    assert "supply" not in message.body

    # The provider finds it under "Ended", with the booking cancelled and no actions left.
    sign_in(page, "provider")
    page.locator("[data-tab=ended]").click()
    row = page.locator(f"tr[data-referral='{referral.reference}']")
    expect(row).to_contain_text("Withdrawn by the force: the person leaves the scheme")
    row.get_by_role("link", name=referral.reference).click()
    expect(page.locator(".govuk-inset-text[data-ended]")).to_contain_text("Withdrawn by the force")
    card = page.locator(f"[data-appointment='{ahead.pk}']")
    expect(card.locator("[data-cancelled]")).to_contain_text(
        "Referral withdrawn: the person leaves the scheme"
    )
    expect(card.locator("[data-moves='1']")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^(Reschedule|Cancel|Record)"))).to_have_count(
        0
    )
    expect(page.get_by_role("button", name="Book an appointment")).to_have_count(0)

    # On a phone, the ended referral with its moved and cancelled appointment, and the tab.
    page.set_viewport_size({"width": PHONE, "height": 640})
    for name, path in (
        ("ended-referral", page.url),
        ("ended-tab", "/provider/?tab=ended"),
    ):
        page.goto(path)
        keep_screenshot(page, name, PHONE)
        assert overflow(page) == 0, name
