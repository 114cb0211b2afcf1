"""The outbox: reminders, the supervisors' digest, sending with retries, the broker down."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.db import connections, transaction
from django.utils import timezone

from accounts.models import Role, User
from base.clock import LONDON, end_of_day
from cases.models import Force
from diversion.celery import app as diversion_app
from escalations.models import Escalation
from escalations.notifications import notifications_queue_digest, notifications_queue_reminders
from escalations.sweep import sweep_deadlines
from programmes.models import Notification, Provider, Referral
from programmes.notifications import MAX_ATTEMPTS, SendSummary, notifications_send_pending
from tests import factories

FIRST_DUE = end_of_day(date(2026, 11, 16))  # a Monday
DAY_BEFORE = datetime(2026, 11, 15, 10, 0, tzinfo=LONDON)


def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_referral(
    *,
    first_due: datetime = FIRST_DUE,
    completion_due: datetime | None = None,
    force: str = "TVP",
    status: str = "accepted",
    **person: object,
) -> Referral:
    """An open referral with the given deadlines, for a person with the given contact details."""
    the_force = factories.force(force)
    officer = User.objects.filter(role=Role.CUSTODY_OFFICER, force=the_force).first()
    return factories.ReferralFactory(
        case__force=the_force,
        case__created_by=officer or factories.UserFactory(force=the_force),
        case__status="in_programme",
        **{f"case__person__{name}": value for name, value in person.items()},
        status=status,
        first_appointment_due=first_due,
        completion_due=completion_due or first_due + timedelta(days=70),
    )


def supervisor(force: Force, **fields: object) -> User:
    """A supervisor of `force`."""
    return factories.UserFactory(role=Role.SUPERVISOR, force=force, **fields)


@pytest.fixture
def file_backends(settings, tmp_path: Path) -> Path:
    """Email and SMS written to files under a temporary directory, which is returned."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "email"
    settings.NOTIFICATION_SMS_BACKEND = "file"
    settings.NOTIFICATION_FILE_DIR = tmp_path
    return tmp_path


# --- Reminders ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_reminder_is_queued_once_per_deadline_by_the_persons_preferred_channel() -> None:
    by_sms = make_referral(contact_preference="sms", phone="07700 900111", email="a@example.org")
    by_email = make_referral(contact_preference="email", email="b@example.org", phone="0770")

    assert notifications_queue_reminders(now=DAY_BEFORE) == 2
    assert notifications_queue_reminders(now=DAY_BEFORE + timedelta(hours=1)) == 0

    sms = Notification.objects.get(referral=by_sms)
    email = Notification.objects.get(referral=by_email)
    assert (sms.channel, sms.recipient, sms.subject) == ("sms", "07700 900111", "")
    assert (email.channel, email.recipient) == ("email", "b@example.org")
    assert email.subject == "Reminder: your first appointment"
    assert email.kind == sms.kind == "reminder_first_appointment"
    assert sms.status == "pending"
    provider = by_sms.programme.provider.name
    assert sms.body == (
        f"Reminder: please attend your first appointment with {provider} by 16 November 2026. "
        f"Your reference is {by_sms.reference}. If you cannot, contact them as soon as you can."
    )


@pytest.mark.django_db
def test_reminder_is_skipped_when_the_person_gave_no_contact_for_their_preferred_channel() -> None:
    make_referral(contact_preference="email", email="", phone="07700 900222")
    make_referral(contact_preference="sms", phone="", email="c@example.org")

    assert notifications_queue_reminders(now=DAY_BEFORE) == 0


@pytest.mark.django_db
def test_reminder_is_in_welsh_then_english_when_the_person_prefers_welsh() -> None:
    referral = make_referral(preferred_language="cy", contact_preference="email", email="d@e.org")

    notifications_queue_reminders(now=DAY_BEFORE)

    reminder = Notification.objects.get(referral=referral)
    assert (
        reminder.subject
        == "Nodyn atgoffa: eich apwyntiad cyntaf / Reminder: your first appointment"
    )
    welsh, english = reminder.body.split("\n\n")
    assert welsh.startswith("Nodyn atgoffa: mynychwch eich apwyntiad cyntaf")
    assert "erbyn 16 Tachwedd 2026" in welsh and referral.reference in welsh
    assert english.startswith("Reminder: please attend your first appointment")
    assert "by 16 November 2026" in english


@pytest.mark.django_db
def test_reminder_is_due_from_9am_london_on_the_policys_lead_day_until_the_deadline() -> None:
    policy = factories.PolicyFactory(force=factories.force("TVP"), reminder_lead_days=2)
    referral = factories.ReferralFactory(
        case__status="in_programme",
        policy=policy,
        status="accepted",
        first_appointment_due=FIRST_DUE,
        completion_due=FIRST_DUE + timedelta(days=70),
    )
    starts = datetime(2026, 11, 14, 9, 0, tzinfo=LONDON)  # Saturday: calendar days before

    assert notifications_queue_reminders(now=starts - timedelta(seconds=1)) == 0
    assert notifications_queue_reminders(now=starts) == 1
    assert Notification.objects.get().referral == referral

    late = factories.ReferralFactory(
        case__status="in_programme", policy=policy, status="accepted",
        first_appointment_due=FIRST_DUE, completion_due=FIRST_DUE + timedelta(days=70),
    )  # fmt: skip
    assert notifications_queue_reminders(now=FIRST_DUE + timedelta(seconds=1)) == 0
    assert not Notification.objects.filter(referral=late).exists()


@pytest.mark.django_db
def test_policy_with_no_lead_time_sends_no_reminders() -> None:
    policy = factories.PolicyFactory(force=factories.force("TVP"), reminder_lead_days=0)
    factories.ReferralFactory(
        case__status="in_programme", policy=policy, status="accepted",
        first_appointment_due=FIRST_DUE, completion_due=FIRST_DUE + timedelta(days=70),
    )  # fmt: skip

    assert notifications_queue_reminders(now=FIRST_DUE - timedelta(hours=1)) == 0


@pytest.mark.django_db
def test_first_appointment_reminder_is_not_sent_once_an_appointment_was_attended() -> None:
    referral = make_referral()
    appointment = referral.appointments.create(
        starts_at=DAY_BEFORE - timedelta(days=3), booked_by=referral.referred_by
    )
    appointment.attendance.create(outcome="attended", recorded_by=referral.referred_by)

    assert notifications_queue_reminders(now=DAY_BEFORE) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("late_counts", "reminded"), [(True, 0), (False, 1)])
def test_arriving_late_stops_the_first_appointment_reminder_only_where_late_is_attending(
    late_counts: bool, reminded: int
) -> None:
    policy = factories.PolicyFactory(
        force=factories.force("TVP"), late_counts_as_attended=late_counts
    )
    referral = factories.ReferralFactory(
        case__status="in_programme", policy=policy, status="accepted",
        first_appointment_due=FIRST_DUE, completion_due=FIRST_DUE + timedelta(days=70),
    )  # fmt: skip
    appointment = referral.appointments.create(
        starts_at=DAY_BEFORE - timedelta(days=3), booked_by=referral.referred_by
    )
    appointment.attendance.create(outcome="late", recorded_by=referral.referred_by)

    assert notifications_queue_reminders(now=DAY_BEFORE) == reminded


@pytest.mark.django_db
def test_welsh_reminder_names_the_month_in_welsh_and_the_provider_as_written() -> None:
    july = end_of_day(date(2026, 7, 16))
    referral = make_referral(first_due=july, preferred_language="cy", phone="07700 900888")
    Provider.objects.filter(pk=referral.programme.provider_id).update(name="Smith & Jones <CIC>")

    notifications_queue_reminders(now=datetime(2026, 7, 15, 10, 0, tzinfo=LONDON))

    welsh, english = Notification.objects.get(referral=referral).body.split("\n\n")
    assert "gyda Smith & Jones <CIC> erbyn 16 Gorffennaf 2026." in welsh
    assert "with Smith & Jones <CIC> by 16 July 2026." in english


@pytest.mark.django_db
def test_completion_deadline_gets_its_own_reminder() -> None:
    referral = make_referral(completion_due=FIRST_DUE + timedelta(days=1))

    assert notifications_queue_reminders(now=DAY_BEFORE) == 2
    kinds = set(Notification.objects.filter(referral=referral).values_list("kind", flat=True))
    assert kinds == {"reminder_first_appointment", "reminder_completion"}


@pytest.mark.django_db
def test_extended_deadline_gets_a_new_reminder() -> None:
    referral = make_referral()
    notifications_queue_reminders(now=DAY_BEFORE)
    new_due = end_of_day(date(2026, 11, 30))
    Referral.objects.filter(pk=referral.pk).update(first_appointment_due=new_due)

    assert notifications_queue_reminders(now=new_due - timedelta(hours=20)) == 1
    assert Notification.objects.filter(referral=referral).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["flagged", "completed", "withdrawn", "declined"])
def test_referral_that_is_not_open_gets_no_reminder(status: str) -> None:
    make_referral(status=status)

    assert notifications_queue_reminders(now=DAY_BEFORE) == 0


# --- The supervisors' digest --------------------------------------------------------------


@pytest.mark.django_db
def test_digest_goes_to_each_forces_active_supervisors_with_only_their_forces_escalations(
    settings,
) -> None:
    settings.SITE_URL = "https://diversion.example/"
    tvp, dur = factories.force("TVP"), factories.force("DUR")
    tvp_supervisor = supervisor(tvp, email="sup.tvp@example.org")
    supervisor(tvp, email="gone@example.org", is_active=False)
    factories.UserFactory(role=Role.CUSTODY_OFFICER, force=tvp, email="officer@example.org")
    dur_supervisor = supervisor(dur, email="sup.dur@example.org")
    in_tvp = [make_referral(force="TVP") for _ in range(2)]
    in_dur = make_referral(force="DUR")
    flagged_at = FIRST_DUE + timedelta(seconds=1)
    sweep_deadlines(now=flagged_at)

    assert notifications_queue_digest(now=flagged_at + timedelta(hours=7)) == 2

    digests = {n.recipient: n for n in Notification.objects.filter(kind="escalation_digest")}
    assert set(digests) == {tvp_supervisor.email, dur_supervisor.email}
    tvp_digest, dur_digest = digests[tvp_supervisor.email], digests[dur_supervisor.email]
    assert tvp_digest.channel == "email"
    assert tvp_digest.subject == "2 new escalations to review: Thames Valley Police"
    assert dur_digest.subject.startswith("1 new escalation to review: ")
    for referral in in_tvp:
        case = referral.case.reference
        assert (
            f"{referral.reference} (case {case}): No first appointment attended by the deadline\n"
            f"https://diversion.example/cases/{case}/"
        ) in tvp_digest.body
        assert referral.reference not in dur_digest.body
    assert in_dur.reference in dur_digest.body and in_dur.reference not in tvp_digest.body
    for referral in [*in_tvp, in_dur]:
        person = referral.case.person
        for digest in digests.values():
            assert person.family_name not in digest.body + digest.subject
            assert person.given_name not in digest.body + digest.subject


@pytest.mark.django_db
def test_digest_lists_only_escalations_flagged_since_the_last_digest() -> None:
    supervisor(factories.force("TVP"), email="sup@example.org")
    first = make_referral(first_due=FIRST_DUE)
    second = make_referral(first_due=FIRST_DUE + timedelta(days=1))
    sweep_deadlines(now=FIRST_DUE + timedelta(seconds=1))
    morning = datetime(2026, 11, 17, 7, 0, tzinfo=LONDON)

    assert notifications_queue_digest(now=morning) == 1
    assert notifications_queue_digest(now=morning + timedelta(hours=1)) == 0  # same day
    sweep_deadlines(now=morning + timedelta(days=1) - timedelta(hours=6))
    assert notifications_queue_digest(now=morning + timedelta(days=1)) == 1
    assert notifications_queue_digest(now=morning + timedelta(days=2)) == 0  # nothing new

    day_one, day_two = Notification.objects.filter(kind="escalation_digest").order_by("id")
    assert first.reference in day_one.body and second.reference not in day_one.body
    assert second.reference in day_two.body and first.reference not in day_two.body


@pytest.mark.django_db
def test_escalation_flagged_moments_before_a_digest_waits_for_the_next_one() -> None:
    # A sweep that began before the digest may commit after it; the digest leaves the last
    # few minutes to the next one, so such an escalation is never skipped.
    supervisor(factories.force("TVP"), email="sup@example.org")
    early = make_referral(first_due=FIRST_DUE)
    recent = make_referral(first_due=FIRST_DUE + timedelta(days=1))
    morning = datetime(2026, 11, 18, 7, 0, tzinfo=LONDON)
    sweep_deadlines(now=morning - timedelta(hours=3))
    sweep_deadlines(now=FIRST_DUE + timedelta(days=1, seconds=1))  # nothing new: both flagged
    Escalation.objects.filter(referral=recent).update(flagged_at=morning - timedelta(minutes=1))

    notifications_queue_digest(now=morning)
    notifications_queue_digest(now=morning + timedelta(days=1))

    day_one, day_two = Notification.objects.filter(kind="escalation_digest").order_by("id")
    assert early.reference in day_one.body and recent.reference not in day_one.body
    assert recent.reference in day_two.body and early.reference not in day_two.body


@pytest.mark.django_db
def test_decided_escalations_are_left_out_of_the_digest() -> None:
    supervisor(factories.force("TVP"), email="sup@example.org")
    referral = make_referral()
    sweep_deadlines(now=FIRST_DUE + timedelta(seconds=1))
    Escalation.objects.filter(referral=referral).update(
        decision="no_further_action",
        rationale="Test",
        decided_by=factories.UserFactory(role=Role.SUPERVISOR),
        decided_at=FIRST_DUE + timedelta(hours=1),
    )

    assert notifications_queue_digest(now=FIRST_DUE + timedelta(hours=8)) == 0


# --- Sending ------------------------------------------------------------------------------


def outbox(channel: str, recipient: str, key: str, **fields: object) -> Notification:
    """A pending message in the outbox."""
    return Notification.objects.create(
        kind="test", channel=channel, recipient=recipient, subject=fields.pop("subject", ""),
        body=fields.pop("body", "Your appointment is on Monday."), dedupe_key=key, **fields,
    )  # fmt: skip


@pytest.mark.django_db
def test_send_pending_sends_email_and_sms_through_the_file_backends_and_marks_them_sent(
    file_backends: Path,
) -> None:
    email = outbox("email", "e@example.org", "t:1", subject="Reminder")
    sms = outbox("sms", "07700 900333", "t:2")

    assert notifications_send_pending() == SendSummary(sent=2)
    assert notifications_send_pending() == SendSummary()

    [email_file] = (file_backends / "email").iterdir()
    assert "To: e@example.org" in email_file.read_text()
    [sms_file] = (file_backends / "sms").iterdir()
    assert sms_file.read_text().startswith("To: 07700 900333\n\nYour appointment is on Monday.")
    for row in (email, sms):
        row.refresh_from_db()
        assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
        assert row.sent_at is not None


class BrokenSmsBackend:
    """An SMS gateway that refuses every message, naming the number as real ones do."""

    def send(self, *, to: str, body: str) -> None:
        """Refuse the message."""
        raise ConnectionRefusedError(111, f"gateway refused message to {to}")


@pytest.mark.django_db
def test_failing_backend_counts_the_attempt_keeps_the_row_pending_and_logs_no_personal_data(
    file_backends: Path, settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.NOTIFICATION_SMS_BACKEND = "tests.test_notifications.BrokenSmsBackend"
    failing = outbox("sms", "07700 900444", "t:1")
    fine = outbox("email", "f@example.org", "t:2")

    with caplog.at_level(logging.INFO):
        summary = notifications_send_pending()

    assert summary == SendSummary(sent=1, retrying=1)
    failing.refresh_from_db()
    assert (failing.status, failing.attempts) == ("pending", 1)
    assert failing.last_error == "ConnectionRefusedError (errno 111)"
    assert "07700" not in caplog.text and "Monday" not in caplog.text
    assert f"Notification {failing.pk}" in caplog.text
    fine.refresh_from_db()
    assert fine.status == "sent"


@pytest.mark.django_db
def test_failing_message_waits_longer_each_time_and_is_marked_failed_after_the_last_attempt(
    settings,
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    message = outbox("email", "g@example.org", "t:1")
    now = timezone.now()

    waits = []
    for _ in range(MAX_ATTEMPTS - 1):
        assert notifications_send_pending(now=now) == SendSummary(retrying=1)
        assert notifications_send_pending(now=now) == SendSummary()  # not yet: it waits
        message.refresh_from_db()
        waits.append(message.next_attempt_at - now)
        now = message.next_attempt_at
    assert notifications_send_pending(now=now) == SendSummary(failed=1)
    assert notifications_send_pending(now=now + timedelta(days=1)) == SendSummary()

    assert [wait.total_seconds() / 60 for wait in waits] == [1, 2, 4, 8, 16, 32, 60]
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)
    assert message.last_error == "ConnectionRefusedError (errno 111)"
    assert message.failure == "gave_up"
    assert message.sent_at is None


@pytest.mark.django_db(transaction=True)
def test_message_claimed_by_another_worker_is_skipped_not_sent_twice(file_backends: Path) -> None:
    claimed = outbox("sms", "07700 900555", "t:1")
    free = outbox("sms", "07700 900666", "t:2")
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                Notification.objects.select_for_update().get(pk=claimed.pk)
                locked.set()
                release.wait(20)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker, daemon=True)
    thread.start()
    assert locked.wait(20)
    try:
        assert notifications_send_pending() == SendSummary(sent=1)
    finally:
        release.set()
        thread.join(20)

    claimed.refresh_from_db()
    free.refresh_from_db()
    assert (claimed.status, free.status) == ("pending", "sent")


# --- The broker down ----------------------------------------------------------------------


@pytest.fixture
def broker_down() -> Iterator[Celery]:
    """Make the current Celery app one whose broker (Redis) cannot be reached."""
    app = Celery("broker-down", broker=f"redis://127.0.0.1:{closed_port()}/0", set_as_current=True)
    try:
        yield app
    finally:
        diversion_app.set_current()


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_sweep_commits_and_the_outbox_waits_to_be_sent(
    broker_down: Celery, file_backends: Path, caplog: pytest.LogCaptureFixture
) -> None:
    overdue = make_referral(first_due=FIRST_DUE)
    upcoming = make_referral(first_due=FIRST_DUE + timedelta(days=2), phone="07700 900777")
    now = FIRST_DUE + timedelta(days=1, hours=10)

    flagged = sweep_deadlines(now=now)
    queued = notifications_queue_reminders(now=now)

    assert [f.referral_reference for f in flagged] == [overdue.reference]
    assert Escalation.objects.filter(referral=overdue).exists()  # committed, not rolled back
    assert queued == 1
    assert Notification.objects.get().status == "pending"
    assert "Connection refused" in caplog.text  # the after-commit kick failed, and was logged

    diversion_app.set_current()  # the broker is back: the periodic send task runs
    assert notifications_send_pending() == SendSummary(sent=1)
    assert Notification.objects.get(referral=upcoming).status == "sent"
