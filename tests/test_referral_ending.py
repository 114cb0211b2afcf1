"""A referral that ends reaches its provider: the force's withdrawal (a supervisor's decision)
cancels the person's future bookings with the reason, takes them off every group session's
list, shows under the inbox's "Ended" tab, tells the provider through the outbox and is
returned by the API to provider systems that follow changes; pages offer nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role, User
from audit.models import AuditEvent
from base.errors import IllegalTransition
from base.sql import Statement
from cases.models import CaseStatus, SchemePolicy
from escalations.models import Escalation
from escalations.services import escalation_decide
from programmes import services
from programmes.models import (
    Appointment,
    AppointmentChange,
    GroupSession,
    Notification,
    Programme,
    Provider,
    Referral,
    ReferralStatus,
)
from tests import factories
from tests.test_provider_pages import TODAY, book_in_past, refer

pytestmark = pytest.mark.django_db

PROVIDER_EMAIL = "referrals@pathways.example"


@pytest.fixture
def thames_policy(db) -> SchemePolicy:
    return factories.PolicyFactory(
        force=factories.force("TVP"),
        personal_use_thresholds={"ketamine": "1", "cocaine": "1", "cannabis": "28"},
    )


@pytest.fixture
def provider(db) -> Provider:
    return factories.ProviderFactory(name="Pathways", contact_email=PROVIDER_EMAIL)


@pytest.fixture
def programme(provider: Provider) -> Programme:
    return factories.ProgrammeFactory(provider=provider, name="Drug awareness", sessions_required=2)


@pytest.fixture
def staff(provider: Provider) -> User:
    return factories.provider_staff(provider)


@pytest.fixture
def supervisor(db) -> User:
    return factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


class Bookings:
    """An accepted referral with an attended appointment, one ahead and a group-session place."""

    def __init__(self, referral: Referral, staff: User) -> None:
        self.referral = referral
        services.referral_accept(referral=referral, by=staff)
        self.attended = book_in_past(referral, staff)
        services.attendance_record(appointment=self.attended, by=staff, outcome="attended")
        self.ahead = services.appointment_book(
            referral=referral, by=staff, starts_at=timezone.now() + timedelta(days=3)
        )
        start = timezone.now() + timedelta(days=5)
        self.session = services.group_session_create(
            programme=referral.programme,
            by=staff,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
        )
        self.place = services.appointment_book(
            referral=referral, by=staff, group_session=self.session
        )


@pytest.fixture
def bookings(programme: Programme, officer: User, thames_policy: SchemePolicy, staff: User):
    return Bookings(refer(programme, officer, given_name="Ffion", family_name="Pritchard"), staff)


def flag(referral: Referral) -> Escalation:
    """Flag the referral as the sweep does: it waits for a supervisor's decision."""
    Referral.objects.filter(pk=referral.pk).update(status=ReferralStatus.FLAGGED)
    referral.case.__class__.objects.filter(pk=referral.case_id).update(
        status=CaseStatus.AWAITING_SUPERVISOR
    )
    return Escalation.objects.create(
        referral=referral,
        rule=Escalation.Rule.TOO_MANY_ABSENCES,
        facts={"rules_fired": ["too_many_absences"], "referral_status": "in_progress"},
    )


def prosecute(referral: Referral, supervisor: User) -> None:
    escalation_decide(
        escalation=flag(referral),
        by=supervisor,
        decision="prosecute",
        rationale="Second arrest for supply while on the scheme",
    )


def test_prosecution_cancels_future_bookings_with_the_reason_and_keeps_the_past(
    bookings: Bookings, supervisor: User
) -> None:
    prosecute(bookings.referral, supervisor)

    status = dict(Appointment.objects.values_list("pk", "status"))
    assert status[bookings.attended.pk] == "booked"
    assert status[bookings.ahead.pk] == status[bookings.place.pk] == "cancelled"
    changes = AppointmentChange.objects.filter(kind="cancelled").order_by("starts_at_before")
    assert [c.appointment_id for c in changes] == [bookings.ahead.pk, bookings.place.pk]
    for change in changes:
        assert change.reason == "Referral withdrawn: the person leaves the scheme"
        assert change.changed_by == supervisor
    # The supervisor's rationale is the force's: the provider is never told it.
    assert all("supply" not in c.reason for c in changes)
    audited = AuditEvent.objects.filter(
        object_type="programmes.appointment", action="change", user=supervisor
    )
    assert sorted(int(e.object_id) for e in audited) == [bookings.ahead.pk, bookings.place.pk]
    assert {e.person_id for e in audited} == {bookings.referral.case.person_id}


def test_the_provider_is_told_once_by_email_without_the_persons_name(
    bookings: Bookings, supervisor: User
) -> None:
    prosecute(bookings.referral, supervisor)

    (message,) = Notification.objects.filter(kind="referral_ended")
    assert message.recipient == PROVIDER_EMAIL and message.channel == "email"
    assert message.dedupe_key == f"referral_ended:{bookings.referral.pk}"
    assert message.referral_id is None  # not a message to the person, on the case page
    assert bookings.referral.reference in message.subject
    assert "withdrawn by the force: the person leaves the scheme" in message.body
    assert "cancelled (2)" in message.body
    assert f"/provider/referrals/{bookings.referral.reference}/" in message.body
    for secret in ("Ffion", "Pritchard", "supply", "prosecut"):
        assert secret not in message.body and secret not in message.subject


def test_a_provider_without_a_contact_email_still_sees_it_under_ended(
    bookings: Bookings, supervisor: User, provider: Provider, staff: User
) -> None:
    Provider.objects.filter(pk=provider.pk).update(contact_email="")

    prosecute(bookings.referral, supervisor)

    assert not Notification.objects.filter(kind="referral_ended").exists()
    page = signed_in(staff).get("/provider/", {"tab": "ended"}).content.decode()
    assert f'data-referral="{bookings.referral.reference}"' in page


def test_the_person_leaves_every_group_session_list(
    bookings: Bookings, supervisor: User, staff: User
) -> None:
    client = signed_in(staff)
    url = f"/provider/sessions/{bookings.session.pk}/"
    assert "Ffion Pritchard" in client.get(url).content.decode()

    prosecute(bookings.referral, supervisor)

    assert "Ffion Pritchard" not in client.get(url).content.decode()
    listing = client.get("/provider/sessions/").content.decode()
    row = listing[listing.index(f'data-session="{bookings.session.pk}"') :]
    assert "0 booked" in row[: row.index("</tr>")]


def test_a_past_session_lists_only_people_whose_referral_is_open(
    bookings: Bookings, supervisor: User, staff: User, programme: Programme, officer: User
) -> None:
    other = Bookings(refer(programme, officer, given_name="Gethin"), staff)
    started = timezone.now() - timedelta(hours=1)
    GroupSession.objects.filter(pk=bookings.session.pk).update(
        starts_at=started, ends_at=started + timedelta(hours=2)
    )
    Appointment.objects.filter(group_session=bookings.session).update(starts_at=started)
    services.appointment_book(referral=other.referral, by=staff, group_session=bookings.session)
    Appointment.objects.filter(group_session=bookings.session).update(starts_at=started)

    prosecute(bookings.referral, supervisor)

    page = signed_in(staff).get(f"/provider/sessions/{bookings.session.pk}/").content.decode()
    assert "Gethin" in page and "Ffion" not in page
    assert "Attendance cannot be recorded for" not in page


def test_the_provider_sees_it_under_ended_with_why_and_in_no_other_tab(
    bookings: Bookings, supervisor: User, staff: User
) -> None:
    prosecute(bookings.referral, supervisor)
    client = signed_in(staff)

    ended = client.get("/provider/", {"tab": "ended"}).content.decode()

    assert f'data-referral="{bookings.referral.reference}"' in ended
    assert "Withdrawn by the force: the person leaves the scheme" in ended
    assert f"{TODAY:%-d %b %Y}" in ended
    tab = ended[ended.index('data-tab="ended"') :]
    assert "data-count>1</span>" in tab[:200]
    for other in ("new", "accepted", "in_progress", "flagged", "completed"):
        page = client.get("/provider/", {"tab": other}).content.decode()
        assert bookings.referral.reference not in page, other


def test_the_ended_tab_lists_the_latest_ending_first_in_few_queries(
    programme: Programme,
    officer: User,
    thames_policy: SchemePolicy,
    staff: User,
    supervisor: User,
    django_assert_max_num_queries,
) -> None:
    earlier = refer(programme, officer, given_name="Earlier")
    prosecute(earlier, supervisor)
    client = signed_in(staff)
    with django_assert_max_num_queries(12) as few:
        client.get("/provider/", {"tab": "ended"})
    later = [refer(programme, officer, given_name=f"Later{n}") for n in range(3)]
    for referral in later:
        prosecute(referral, supervisor)

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/provider/", {"tab": "ended"}).content.decode()

    order = [page.index(f'data-referral="{r.reference}"') for r in [*reversed(later), earlier]]
    assert order == sorted(order)


def test_the_referral_page_says_it_ended_and_offers_nothing(
    bookings: Bookings, supervisor: User, staff: User
) -> None:
    prosecute(bookings.referral, supervisor)
    base = f"/provider/referrals/{bookings.referral.reference}/"

    page = signed_in(staff).get(base).content.decode()

    assert "Withdrawn by the force" in page and "the person leaves the scheme" in page
    for action in ("appointments/new/", "complete/", "reschedule/", "cancel/", "attendance/"):
        assert action not in page, action
    assert page.count("data-cancelled") == 2
    assert "Referral withdrawn: the person leaves the scheme" in page


def test_an_ended_referrals_appointments_can_no_longer_change(
    bookings: Bookings, supervisor: User, staff: User
) -> None:
    prosecute(bookings.referral, supervisor)
    client = signed_in(staff)
    base = f"/provider/referrals/{bookings.referral.reference}/appointments/{bookings.attended.pk}"

    with pytest.raises(IllegalTransition, match="withdrawn: its appointments can no longer"):
        services.appointment_cancel(appointment=bookings.attended, by=staff)
    with pytest.raises(IllegalTransition, match="no longer change"):
        services.attendance_record(
            appointment=bookings.attended,
            by=staff,
            outcome="did_not_attend",
            correction_reason="Wrong person",
        )
    response = client.post(f"{base}/cancel/", {"reason": "Tidying up"})
    assert response.status_code == 200
    assert "its appointments can no longer change" in response.content.decode()
    assert Appointment.objects.get(pk=bookings.attended.pk).status == "booked"


def test_re_referral_tells_the_first_provider_and_cancels_its_bookings(
    bookings: Bookings, supervisor: User
) -> None:
    elsewhere = factories.ProgrammeFactory(name="Treatment elsewhere")

    escalation_decide(
        escalation=flag(bookings.referral),
        by=supervisor,
        decision="re_refer",
        rationale="Needs treatment, not education",
        new_programme=elsewhere,
    )

    bookings.referral.refresh_from_db()
    assert bookings.referral.status == ReferralStatus.WITHDRAWN
    assert bookings.referral.end_reason == "the person is referred to another programme"
    assert Appointment.objects.get(pk=bookings.ahead.pk).status == "cancelled"
    (message,) = Notification.objects.filter(kind="referral_ended")
    assert message.recipient == PROVIDER_EMAIL
    assert "referred to another programme" in message.body
    assert Referral.objects.get(programme=elsewhere).status == ReferralStatus.NEW


def test_an_extension_cancels_nothing_and_tells_nobody(
    bookings: Bookings, supervisor: User
) -> None:
    escalation_decide(
        escalation=flag(bookings.referral),
        by=supervisor,
        decision="extend",
        rationale="In hospital for a week",
        new_deadline=TODAY + timedelta(days=200),
    )

    assert Appointment.objects.filter(status="cancelled").count() == 0
    assert not Notification.objects.exists()


def test_completion_cancels_bookings_left_without_telling_the_provider(
    bookings: Bookings, staff: User
) -> None:
    second = book_in_past(bookings.referral, staff, hours_ago=1)
    services.attendance_record(appointment=second, by=staff, outcome="attended")

    services.referral_complete(referral=bookings.referral, by=staff, completed_on=TODAY)

    assert Appointment.objects.get(pk=bookings.place.pk).status == "cancelled"
    change = AppointmentChange.objects.get(appointment=bookings.place)
    assert change.reason == "Referral completed" and change.changed_by == staff
    assert not Notification.objects.filter(kind="referral_ended").exists()


def test_provider_systems_following_changes_get_the_withdrawal(
    bookings: Bookings, supervisor: User, staff: User
) -> None:
    since = timezone.now()
    api = APIClient()
    api.force_authenticate(staff)
    assert (
        api.get("/api/v1/referrals/", {"updated_since": since.isoformat()}).json()["results"] == []
    )

    prosecute(bookings.referral, supervisor)

    response = api.get("/api/v1/referrals/", {"updated_since": since.isoformat()})
    [row] = response.json()["results"]
    assert row["reference"] == bookings.referral.reference
    assert row["status"] == "withdrawn"
    assert row["end_reason"] == "the person leaves the scheme" and row["ended_at"]
    by_id = {a["id"]: a for a in row["appointments"]}
    ahead = by_id[bookings.ahead.pk]
    assert ahead["status"] == "cancelled"
    [change] = ahead["changes"]
    assert change["kind"] == "cancelled"
    assert change["reason"] == "Referral withdrawn: the person leaves the scheme"
    assert by_id[bookings.attended.pk]["status"] == "booked"


def test_the_set_based_transition_refuses_to_end_referrals() -> None:
    with pytest.raises(ValueError, match="one at a time"):
        services.referral_transition_many(
            Statement(), moves="m", to="withdrawn", by=None, at=timezone.now()
        )


def test_an_old_tab_of_an_action_page_goes_back_to_the_ended_referral_and_says_why(
    bookings: Bookings, supervisor: User, staff: User
) -> None:
    prosecute(bookings.referral, supervisor)
    client = signed_in(staff)
    base = f"/provider/referrals/{bookings.referral.reference}/"
    pages = {
        "appointments/new/": "Booking an appointment",
        "complete/": "Recording completion",
        "decline/": "Declining the referral",
        f"appointments/{bookings.ahead.pk}/reschedule/": "Moving the appointment",
        f"appointments/{bookings.ahead.pk}/cancel/": "Cancelling the appointment",
        f"appointments/{bookings.attended.pk}/attendance/": "Recording attendance",
    }

    for path, action in pages.items():
        response = client.get(base + path, follow=True)
        assert response.redirect_chain[0][0].startswith(base), path
        assert (
            f"{action} is not available: referral {bookings.referral.reference} is withdrawn"
            in (response.content.decode())
        ), path
