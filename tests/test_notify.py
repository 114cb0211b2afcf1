"""GOV.UK Notify: the outbox sends through the real notifications-python-client to a stand-in
for Notify's API on loopback (scripts/notify_standin.py), and delivery receipts come back to
the officer's case page and case list."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import timezone

from diversion.settings import notify_api_key, notify_templates
from escalations.notifications import notifications_queue_digest, notifications_queue_reminders
from escalations.sweep import sweep_deadlines
from programmes.models import Notification, Referral
from programmes.notifications import SendSummary, claim_next, notifications_send_pending
from programmes.notify import DeliverySummary, NotifyGateway, notifications_check_delivery
from scripts.notify_standin import API_KEY, TEMPLATES, NotifyStandIn, settings_environment
from tests import factories
from tests.test_notifications import DAY_BEFORE, FIRST_DUE, make_referral, supervisor

pytestmark = pytest.mark.django_db

WELSH_SMS = TEMPLATES[("reminder_first_appointment", "sms", "cy")]
ENGLISH_SMS = TEMPLATES[("reminder_first_appointment", "sms", "en")]
MESSAGE_EMAIL = TEMPLATES[("message", "email", "en")]


@pytest.fixture
def notify(settings) -> Iterator[NotifyStandIn]:
    """A Notify stand-in on loopback, and the service's settings pointing at it."""
    standin = NotifyStandIn().start()
    environment = settings_environment(standin.base_url)
    settings.NOTIFY_API_KEY = notify_api_key(environment["NOTIFY_API_KEY"])
    settings.NOTIFY_BASE_URL = standin.base_url
    settings.NOTIFY_TEMPLATES = notify_templates(environment, required=True)
    try:
        yield standin
    finally:
        standin.stop()


def reminder_for(**person: object) -> tuple[Referral, Notification]:
    """A referral whose first-appointment reminder is queued for a person with `person`."""
    referral = make_referral(**person)
    assert notifications_queue_reminders(now=DAY_BEFORE) == 1
    return referral, Notification.objects.get(referral=referral)


def later(minutes: float) -> object:
    return timezone.now() + timedelta(minutes=minutes)


# --- Templates and languages --------------------------------------------------------------


def test_welsh_preferring_person_gets_the_welsh_template_with_the_date_in_welsh(notify) -> None:
    welsh_referral, welsh = reminder_for(preferred_language="cy", phone="07700 900111")
    english = make_referral(phone="07700 900222")
    notifications_queue_reminders(now=DAY_BEFORE)

    assert notifications_send_pending() == SendSummary(sent=2)

    by_reference = {sent.reference: sent for sent in notify.sent}
    to_welsh = by_reference[str(welsh.pk)]
    assert to_welsh.template == WELSH_SMS
    provider = welsh_referral.programme.provider.name
    assert to_welsh.body == (
        f"Nodyn atgoffa: mynychwch eich apwyntiad cyntaf gyda {provider} erbyn 16 Tachwedd "
        f"2026. Eich cyfeirnod yw {welsh_referral.reference}."
    )
    to_english = by_reference[str(Notification.objects.get(referral=english).pk)]
    assert to_english.template == ENGLISH_SMS
    assert "by 16 November 2026" in to_english.body
    welsh.refresh_from_db()
    assert (welsh.status, str(welsh.notify_id)) == ("sent", to_welsh.id)


def test_missing_welsh_template_falls_back_to_english_and_tells_the_administrator(
    notify, settings, caplog
) -> None:
    del settings.NOTIFY_TEMPLATES[("reminder_first_appointment", "sms", "cy")]
    referral, reminder = reminder_for(preferred_language="cy", phone="07700 900111")

    with caplog.at_level(logging.INFO):
        assert notifications_send_pending() == SendSummary(sent=1)

    [sent] = notify.sent
    assert sent.template == ENGLISH_SMS
    assert "by 16 November 2026" in sent.body
    assert "set NOTIFY_TEMPLATE_REMINDER_FIRST_APPOINTMENT_SMS_CY to send it in cy" in caplog.text
    assert f"Notification {reminder.pk}" in caplog.text
    assert "07700" not in caplog.text and referral.case.person.family_name not in caplog.text


def test_message_without_a_template_of_its_own_goes_by_the_message_template(notify) -> None:
    Notification.objects.create(
        kind="audit_chain_broken", channel="email", recipient="admin@example.org",
        subject="Action needed", body="The audit log's chain is broken.", dedupe_key="t:1",
    )  # fmt: skip

    assert notifications_send_pending() == SendSummary(sent=1)

    [sent] = notify.sent
    assert sent.template == MESSAGE_EMAIL
    assert (sent.subject, sent.body) == ("Action needed", "The audit log's chain is broken.")


def test_supervisors_digest_goes_by_its_own_template_with_a_line_per_escalation(
    notify, settings
) -> None:
    settings.SITE_URL = "https://diversion.example"
    supervisor(factories.force("TVP"), email="sup.tvp@example.org")
    referrals = [make_referral(first_due=FIRST_DUE) for _ in range(2)]
    sweep_deadlines(now=FIRST_DUE + timedelta(seconds=1))
    assert notifications_queue_digest(now=FIRST_DUE + timedelta(hours=7)) == 1

    assert notifications_send_pending() == SendSummary(sent=1)

    [sent] = notify.sent
    assert sent.template == TEMPLATES[("escalation_digest", "email", "en")]
    assert (sent.recipient, sent.subject) == (
        "sup.tvp@example.org",
        "2 new escalations to review: Thames Valley Police",
    )
    for referral in referrals:
        case = referral.case.reference
        assert (
            f"* {referral.reference} (case {case}): No first appointment attended by the "
            f"deadline https://diversion.example/cases/{case}/"
        ) in sent.body.splitlines()
        assert referral.case.person.family_name not in sent.body


# --- Failures back to the officer ---------------------------------------------------------


def test_permanent_failure_comes_back_to_the_case_page_and_the_case_list(
    notify, client, officer
) -> None:
    referral, reminder = reminder_for(phone="07700 900002")  # Notify: "does not exist"
    other = make_referral(phone="07700 900111")
    notifications_queue_reminders(now=DAY_BEFORE)
    client.force_login(officer)
    assert notifications_send_pending() == SendSummary(sent=2)
    page = client.get(f"/cases/{referral.case.reference}/").content.decode()
    assert "Sent, not delivered yet" in page and "Message not delivered" not in page

    assert notifications_check_delivery() == DeliverySummary(checked=2, delivered=1, failed=1)

    reminder.refresh_from_db()
    assert (reminder.status, reminder.failure, reminder.delivery_status) == (
        "failed",
        "permanent",
        "permanent-failure",
    )
    page = client.get(f"/cases/{referral.case.reference}/").content.decode()
    assert (
        "The text message of 15 November 2026 to 07700 900002 was not delivered: the mobile "
        "number does not exist. Check the person&#x27;s contact details with them." in page
    )
    assert 'data-status="failed">Not delivered</strong>' in page
    assert ">The mobile number does not exist</p>" in page
    other_page = client.get(f"/cases/{other.case.reference}/").content.decode()
    assert "Delivered" in other_page and "not delivered" not in other_page
    listing = client.get("/cases/").content.decode()
    [flagged_row] = [row for row in listing.split("<tr") if "Message not delivered" in row]
    assert referral.case.reference in flagged_row


def test_number_notify_calls_invalid_fails_at_once_and_the_officer_sees_why(
    notify, client, officer
) -> None:
    referral, reminder = reminder_for(phone="0118 496 0000")  # a landline: no texts

    assert notifications_send_pending() == SendSummary(failed=1)
    assert notifications_send_pending(now=later(24 * 60)) == SendSummary()

    assert notify.posts() == 1 and notify.sent == []
    reminder.refresh_from_db()
    assert (reminder.status, reminder.failure) == ("failed", "invalid")
    assert reminder.last_error == "Notify 400 ValidationError (phone_number)"
    client.force_login(officer)
    page = client.get(f"/cases/{referral.case.reference}/").content.decode()
    assert "was not delivered: not a valid mobile number" in page


def test_template_notify_cannot_fill_fails_the_message_and_tells_the_administrator(
    notify, caplog, client, officer
) -> None:
    referral, reminder = reminder_for(phone="07700 900111")
    Notification.objects.filter(pk=reminder.pk).update(
        personalisation={"en": {"provider": "P", "reference": "R"}}  # no due_date
    )

    with caplog.at_level(logging.INFO):
        assert notifications_send_pending() == SendSummary(failed=1)

    reminder.refresh_from_db()
    assert (reminder.status, reminder.failure) == ("failed", "rejected")
    assert reminder.last_error == "Notify 400 BadRequestError (Missing personalisation: due_date)"
    assert "refused a message for good, for an administrator" in caplog.text
    client.force_login(officer)
    page = client.get(f"/cases/{referral.case.reference}/").content.decode()
    assert "refused by GOV.UK Notify (the service&#x27;s settings)" in page


def test_receipts_are_asked_for_a_week_then_left_unknown(notify, client, officer) -> None:
    referral, reminder = reminder_for(phone="07700 900111")
    assert notifications_send_pending() == SendSummary(sent=1)

    assert notifications_check_delivery(now=later(8 * 24 * 60)) == DeliverySummary()

    assert [path for method, path in notify.requests if method == "GET"] == []
    reminder.refresh_from_db()
    assert (reminder.status, reminder.delivery_status) == ("sent", "unknown")
    client.force_login(officer)
    page = client.get(f"/cases/{referral.case.reference}/").content.decode()
    assert "Sent (no delivery receipt)" in page


# --- Retries, never twice -----------------------------------------------------------------


def test_answer_lost_after_notify_took_the_message_is_not_sent_again(notify) -> None:
    _, reminder = reminder_for(phone="07700 900111")
    notify.fail_next(500, "Exception", "Internal server error", after_accepting=True)

    assert notifications_send_pending() == SendSummary(retrying=1)
    assert notifications_send_pending() == SendSummary()  # waits before trying again
    assert notifications_send_pending(now=later(2)) == SendSummary(sent=1)

    [sent] = notify.sent
    assert notify.posts() == 1
    reminder.refresh_from_db()
    assert (reminder.status, str(reminder.notify_id), reminder.attempts) == ("sent", sent.id, 2)


def test_server_error_before_notify_took_the_message_is_retried_and_sent_once(notify) -> None:
    _, reminder = reminder_for(phone="07700 900111")
    notify.fail_next(503, "Exception", "Service unavailable")

    assert notifications_send_pending() == SendSummary(retrying=1)
    reminder.refresh_from_db()
    assert reminder.last_error == "Notify 503 Exception"
    assert notifications_send_pending(now=later(2)) == SendSummary(sent=1)
    assert notifications_send_pending(now=later(200)) == SendSummary()

    assert notify.posts() == 2 and len(notify.sent) == 1


def test_worker_killed_after_notify_took_the_message_does_not_send_it_again(notify) -> None:
    _, reminder = reminder_for(phone="07700 900111")
    # A worker claims the message and hands it to Notify, then dies before it records that.
    claimed = claim_next(now=timezone.now(), skip=[])
    NotifyGateway().send(claimed, earlier_attempts=claimed.attempts)

    assert notifications_send_pending() == SendSummary()  # still that worker's, for a while
    assert notifications_send_pending(now=later(6)) == SendSummary(sent=1)

    [sent] = notify.sent
    assert notify.posts() == 1
    reminder.refresh_from_db()
    assert (reminder.status, str(reminder.notify_id)) == ("sent", sent.id)


def test_rate_limit_pauses_sending_without_counting_an_attempt(notify) -> None:
    _, first = reminder_for(phone="07700 900111")
    second = make_referral(phone="07700 900222")
    notifications_queue_reminders(now=DAY_BEFORE)
    notify.fail_next(
        429,
        "RateLimitError",
        "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds",
    )

    assert notifications_send_pending() == SendSummary(paused=1)

    assert notify.posts() == 1  # the run stopped: the second was not tried
    first.refresh_from_db()
    assert (first.status, first.attempts, first.last_error) == (
        "pending",
        0,
        "Notify 429 RateLimitError",
    )
    assert notifications_send_pending(now=later(1.5)) == SendSummary(sent=2)
    assert Notification.objects.get(referral=second).status == "sent"


def test_key_notify_refuses_is_retried_not_failed_and_tells_the_administrator(
    notify, settings, caplog
) -> None:
    _, reminder = reminder_for(phone="07700 900111")
    settings.NOTIFY_API_KEY = API_KEY[:-36] + "00000000-0000-4000-8000-000000000000"

    with caplog.at_level(logging.INFO):
        assert notifications_send_pending() == SendSummary(retrying=1)

    assert "GOV.UK Notify refused the API key" in caplog.text
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == ("pending", 1)
    assert reminder.last_error == "Notify 403 AuthError (Invalid token: API key not found)"
    settings.NOTIFY_API_KEY = API_KEY  # put right: the message goes, once
    assert notifications_send_pending(now=later(2)) == SendSummary(sent=1)
    assert len(notify.sent) == 1


def test_send_messages_command_sends_the_reminders_due_and_fetches_their_receipts(
    notify,
) -> None:
    make_referral(phone="07700 900111", preferred_language="cy")
    make_referral(phone="07700 900003")  # Notify's simulated "phone off"
    output = StringIO()

    call_command("send_messages", "--now", "2026-11-15T10:00", stdout=output)

    assert output.getvalue().splitlines() == [
        "Reminders queued: 2. Sent: 2, to try again: 0, failed: 0, paused by a rate limit: 0.",
        "Receipts from GOV.UK Notify: 2. Delivered: 1, not delivered: 1.",
    ]
    assert {sent.template for sent in notify.sent} == {WELSH_SMS, ENGLISH_SMS}
    assert Notification.objects.get(failure="temporary").recipient == "07700 900003"


# --- Personal data ------------------------------------------------------------------------


def test_no_personal_data_in_logs_from_queueing_to_the_delivery_receipt(notify, caplog) -> None:
    referral, _ = reminder_for(
        given_name="Gwenllian", phone="07700 900002", email="gwen@example.org",
        preferred_language="cy",
    )  # fmt: skip
    bad_number, _ = reminder_for(given_name="Rhodri", phone="0118 496 0999")

    with caplog.at_level(logging.DEBUG):
        notify.fail_next(500, "Exception", "Internal server error", after_accepting=True)
        notifications_send_pending()
        notifications_send_pending(now=later(2))
        notifications_check_delivery()

    assert {n.status for n in Notification.objects.all()} == {"failed"}
    assert "Notification" in caplog.text  # the run was logged, by ids
    for person in (referral.case.person, bad_number.case.person):
        for value in (person.given_name, person.family_name, person.phone.replace(" ", "")):
            assert value not in caplog.text
    assert "07700 900002" not in caplog.text and "0118" not in caplog.text
    assert "Gorffennaf" not in caplog.text and "Tachwedd" not in caplog.text  # no message text


# --- Settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "not-a-key",
        API_KEY[:-1],  # one character short
        API_KEY.replace("-", "_"),
        API_KEY[-73:],  # without its name
        "name-" + "x" * 36 + "-" + "y" * 36,
    ],
)
def test_malformed_notify_key_is_refused_without_repeating_it(key: str) -> None:
    with pytest.raises(
        ImproperlyConfigured, match="NOTIFY_API_KEY is not a GOV.UK Notify API key"
    ) as error:
        notify_api_key(key)

    assert key not in str(error.value)


def test_notify_key_needs_the_message_templates_and_well_formed_template_ids() -> None:
    assert notify_templates({}, required=False) == {}
    with pytest.raises(ImproperlyConfigured, match="NOTIFY_TEMPLATE_MESSAGE_EMAIL_EN is not set"):
        notify_templates({}, required=True)
    with pytest.raises(ImproperlyConfigured, match="is not a Notify template id"):
        notify_templates({"NOTIFY_TEMPLATE_REMINDER_COMPLETION_SMS_CY": "123"}, required=False)
    with pytest.raises(ImproperlyConfigured, match="NOTIFY_TEMPLATE_<KIND>_<EMAIL or SMS>"):
        notify_templates({"NOTIFY_TEMPLATE_REMINDER_LETTER_EN": WELSH_SMS.id}, required=False)


def test_service_with_a_malformed_notify_key_does_not_start() -> None:
    environment = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "NOTIFY_API_KEY": "live-key-that-was-cut-short-1234",
    }
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    started = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode != 0
    assert "NOTIFY_API_KEY is not a GOV.UK Notify API key" in started.stderr
    assert "cut-short" not in started.stderr
