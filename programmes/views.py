"""Pages for programme provider staff: the inbox, a referral, appointments, attendance,
completion and group sessions. Thin: each parses input, calls one selector or service, and
renders; DomainError becomes an error on the form or the page.

Every lookup goes through programmes/selectors.py, so another provider's referral, booking or
session is a 404. A provider sees only what the programme needs about the person: never the
offence, the drugs, custody or crime references, the PNC ID or the eligibility reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import User
from audit.services import audit_many, audit_record
from base.clock import london_date
from base.errors import DomainError
from base.pages import force_staff_required, provider_staff_required
from base.paging import LIST_CAP, list_page
from cases import rules as case_rules
from cases.selectors import ClosedCaseNeedsReason, case_shown
from programmes import forms, notice, rules, selectors, services
from programmes.models import (
    OPEN_REFERRAL_STATUSES,
    Appointment,
    Attendance,
    Referral,
    ReferralStatus,
)

INBOX_TAB_LABELS = {
    "new": "New",
    "accepted": "Accepted",
    "in_progress": "In progress",
    "flagged": "Flagged",
    "completed": "Completed",
    "ended": "Ended",
}
DUE_SOON = timedelta(days=3)


def _posted(request: HttpRequest) -> QueryDict | None:
    """The submitted data on a POST (even an empty one), else None for an unbound form."""
    return request.POST if request.method == "POST" else None


def _referral(request: HttpRequest, reference: str) -> Referral:
    """The provider's referral; reading it is audited as a disclosure (referral_shown)."""
    return selectors.referral_shown(user=request.user, reference=reference)


def _appointment(request: HttpRequest, referral: Referral, pk: int) -> Appointment:
    """One of the referral's appointments, with its attendance history, or 404."""
    for appointment in selectors.appointments_for(referral):
        if appointment.pk == pk:
            return _with_history(appointment, request.user, timezone.now())
    raise Http404("No appointment found")


def _detail_url(referral: Referral, anchor: str = "") -> str:
    return reverse("programmes:referral", args=[referral.reference]) + anchor


ACTION_NAMES = {
    rules.DECLINE: "Declining the referral",
    rules.BOOK: "Booking an appointment",
    rules.COMPLETE: "Recording completion",
    rules.RESCHEDULE: "Moving the appointment",
    rules.CANCEL: "Cancelling the appointment",
    rules.RECORD: "Recording attendance",
}


def _unless_offered(
    request: HttpRequest,
    referral: Referral,
    action: str,
    offered: frozenset[str],
    *,
    appointment: bool = False,
) -> HttpResponse | None:
    """On opening an action's form that the referral's page does not offer now (rules.py), go
    back to the referral and say why: an old tab or a bookmark never shows a form that cannot
    be used. A POST goes on to the service, which refuses it with its own reason."""
    if request.method == "POST" or action in offered:
        return None
    if appointment and referral.status not in rules.ENDED:
        why = "not for this appointment now"
    else:
        why = f"referral {referral.reference} is {referral.get_status_display().lower()}"
    messages.info(request, f"{ACTION_NAMES[action]} is not available: {why}")
    return redirect(_detail_url(referral, "#appointments" if appointment else ""))


def _due_state(due: datetime, now: datetime) -> str:
    """ "overdue", "soon" (within three days) or "" for a deadline."""
    if due < now:
        return "overdue"
    return "soon" if due - now <= DUE_SOON else ""


@dataclass(frozen=True)
class Correction:
    """An earlier outcome that a later row replaced, and who replaced it, when and why."""

    earlier: Attendance
    by: Attendance


def _with_history(appointment: Appointment, user: User, now: datetime) -> Appointment:
    """Attach the current outcome, the corrections and what may be done to an appointment."""
    rows = list(appointment.attendance.all())
    appointment.current = next((row for row in rows if row.is_current), None)
    appointment.corrections = [
        Correction(earlier=earlier, by=later)
        for earlier, later in zip(rows, rows[1:], strict=False)
    ]
    appointment.started = appointment.starts_at <= now
    appointment.actions = rules.appointment_actions_for(
        appointment, user, attendance_recorded=bool(rows), now=now
    )
    return appointment


@provider_staff_required
def inbox(request: HttpRequest) -> HttpResponse:
    """The provider's referrals by tab, the nearest deadline first, searchable."""
    tab = request.GET.get("tab", "new")
    if tab not in INBOX_TAB_LABELS:
        tab = "new"
    query = request.GET.get("q", "").strip()[:100]
    counts = selectors.provider_inbox_counts(request.user)
    referrals = selectors.provider_inbox(user=request.user, tab=tab, query=query)
    page = list_page(referrals, request.GET.get("page"), per_page=25, noun="referrals")
    if query:
        audit_record(
            user=request.user,
            action="search",
            object_type="programmes.referral",
            changes={"results": page.paginator.count},  # not the words typed: often a name
        )
    # Showing a person's details to a provider is a disclosure, as in the API.
    audit_many(
        user=request.user,
        action="disclose",
        object_type="programmes.referral",
        rows=[(referral.reference, referral.case.person_id) for referral in page],
    )
    now = timezone.now()
    for referral in page:
        deadline = getattr(referral, "next_due", None)
        referral.due_state = "" if tab == "completed" or not deadline else _due_state(deadline, now)
    tabs = [
        {
            "key": key,
            "label": label,
            "count": counts[key] if counts[key] <= LIST_CAP else f"{LIST_CAP:,}+",
            "href": "?" + urlencode({"tab": key, **({"q": query} if query else {})}),
            "current": key == tab,
        }
        for key, label in INBOX_TAB_LABELS.items()
    ]
    return render(
        request,
        "programmes/inbox.html",
        {"page_obj": page, "query": query, "tab": tab, "tabs": tabs},
    )


def _render_referral(
    request: HttpRequest, referral: Referral, errors: list[str] | None = None
) -> HttpResponse:
    now = timezone.now()
    appointments = [
        _with_history(a, request.user, now) for a in selectors.appointments_for(referral)
    ]
    context = {
        "referral": referral,
        "person": referral.case.person,
        "appointments": appointments,
        "attended": services.attended_sessions(referral),
        "required": referral.programme.sessions_required,
        "first_due_state": _due_state(referral.first_appointment_due, now)
        if referral.status in (ReferralStatus.NEW, ReferralStatus.ACCEPTED)
        else "",
        "completion_due_state": _due_state(referral.completion_due, now)
        if referral.status in OPEN_REFERRAL_STATUSES
        else "",
        "actions": rules.referral_actions_for(referral, request.user),
        "page_errors": errors or [],
    }
    return render(
        request, "programmes/referral_detail.html", context, status=400 if errors else 200
    )


@provider_staff_required
def referral_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The referral: the person (only what the programme needs), deadlines, appointments."""
    return _render_referral(request, _referral(request, reference))


@require_POST
@provider_staff_required
def referral_accept(request: HttpRequest, reference: str) -> HttpResponse:
    """Take the referral on; the force sees the case is now in the programme."""
    referral = _referral(request, reference)
    try:
        services.referral_accept(referral=referral, by=request.user)
    except DomainError as error:
        referral.refresh_from_db()
        return _render_referral(request, referral, [error.message])
    messages.success(request, "Referral accepted: book the first appointment")
    return redirect(_detail_url(referral))


@provider_staff_required
def referral_decline(request: HttpRequest, reference: str) -> HttpResponse:
    """Decline the referral with a reason; the force is told and can refer again."""
    referral = _referral(request, reference)
    offered = rules.referral_actions_for(referral, request.user)
    if back := _unless_offered(request, referral, rules.DECLINE, offered):
        return back
    form = forms.DeclineForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.referral_decline(
                referral=referral, by=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            error.show_on(form)
        else:
            messages.success(request, "Referral declined: the force has been told why")
            return redirect(_detail_url(referral))
    return render(request, "programmes/decline_form.html", {"referral": referral, "form": form})


@provider_staff_required
def appointment_book(request: HttpRequest, reference: str) -> HttpResponse:
    """Book a one-to-one appointment, or a place on one of the programme's group sessions."""
    referral = _referral(request, reference)
    offered = rules.referral_actions_for(referral, request.user)
    if back := _unless_offered(request, referral, rules.BOOK, offered):
        return back
    sessions = selectors.group_sessions_for_provider(request.user).filter(
        programme=referral.programme, starts_at__gt=timezone.now()
    )
    chose_session = request.method == "POST" and "group_session" in request.POST
    session_form = forms.SessionBookingForm(
        request.POST if chose_session else None, sessions=sessions
    )
    form = forms.AppointmentForm(
        request.POST if request.method == "POST" and not chose_session else None,
        initial={"mode": "in_person", "kind": "session"},
    )
    bound = session_form if chose_session else form
    if request.method == "POST" and bound.is_valid():
        data = bound.cleaned_data
        try:
            if chose_session:
                appointment = services.appointment_book(
                    referral=referral, by=request.user, group_session=data["group_session"]
                )
            else:
                appointment = services.appointment_book(
                    referral=referral,
                    by=request.user,
                    starts_at=data["starts_at"],
                    kind=data["kind"],
                    mode=data["mode"],
                    location=data["location"],
                )
        except DomainError as error:
            error.show_on(bound, {"starts_at": "date"})
        else:
            messages.success(request, f"Appointment booked for {_when(appointment.starts_at)}")
            return redirect(_detail_url(referral, "#appointments"))
    return render(
        request,
        "programmes/appointment_form.html",
        {
            "referral": referral,
            "form": form,
            "session_form": session_form,
            "has_sessions": sessions.exists(),
        },
    )


def _when(moment: datetime) -> str:
    """ "Tuesday 1 December 2026 at 2:05pm", in London time."""
    local = timezone.localtime(moment)
    clock = f"{local.hour % 12 or 12}:{local:%M}{'am' if local.hour < 12 else 'pm'}"
    return f"{local:%A} {local.day} {local:%B %Y} at {clock}"


@provider_staff_required
def appointment_reschedule(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """Move a booked appointment with no attendance to a new, future time."""
    referral = _referral(request, reference)
    appointment = _appointment(request, referral, pk)
    offered = appointment.actions
    if back := _unless_offered(request, referral, rules.RESCHEDULE, offered, appointment=True):
        return back
    form = forms.RescheduleForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_reschedule(
                appointment=appointment,
                by=request.user,
                starts_at=form.cleaned_data["starts_at"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            error.show_on(form, {"starts_at": "date"})
        else:
            messages.success(
                request, f"Appointment moved to {_when(form.cleaned_data['starts_at'])}"
            )
            return redirect(_detail_url(referral, "#appointments"))
    return render(
        request,
        "programmes/reschedule_form.html",
        {"referral": referral, "appointment": appointment, "form": form},
    )


@provider_staff_required
def appointment_cancel(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """Cancel a booked appointment before any attendance is recorded."""
    referral = _referral(request, reference)
    appointment = _appointment(request, referral, pk)
    offered = appointment.actions
    if back := _unless_offered(request, referral, rules.CANCEL, offered, appointment=True):
        return back
    form = forms.CancelForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_cancel(
                appointment=appointment, by=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            error.show_on(form)
        else:
            messages.success(request, "Appointment cancelled")
            return redirect(_detail_url(referral, "#appointments"))
    return render(
        request,
        "programmes/cancel_form.html",
        {"referral": referral, "appointment": appointment, "form": form},
    )


@provider_staff_required
def attendance_record(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """Record what happened at an appointment, or correct it with a reason."""
    referral = _referral(request, reference)
    appointment = _appointment(request, referral, pk)
    offered = appointment.actions
    if back := _unless_offered(request, referral, rules.RECORD, offered, appointment=True):
        return back
    correcting = appointment.current is not None
    form = forms.AttendanceForm(
        _posted(request),
        correcting=correcting,
        initial={"outcome": appointment.current.outcome} if correcting else None,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.attendance_record(
                appointment=appointment,
                by=request.user,
                outcome=data["outcome"],
                reason=data["reason"],
                correction_reason=data.get("correction_reason", ""),
            )
        except DomainError as error:
            error.show_on(form)
        else:
            label = result.attendance.get_outcome_display().lower()
            if not result.created:
                messages.info(request, f"Attendance was already recorded as “{label}”")
            elif correcting:
                messages.success(request, f"Attendance corrected to “{label}”")
            else:
                messages.success(request, f"Attendance recorded: {label}")
            return redirect(_detail_url(referral, "#appointments"))
    return render(
        request,
        "programmes/attendance_form.html",
        {"referral": referral, "appointment": appointment, "form": form},
    )


@provider_staff_required
def referral_complete(request: HttpRequest, reference: str) -> HttpResponse:
    """Record that the person completed the programme; the force's case closes as diverted."""
    referral = _referral(request, reference)
    offered = rules.referral_actions_for(referral, request.user)
    if back := _unless_offered(request, referral, rules.COMPLETE, offered):
        return back
    form = forms.CompletionForm(
        _posted(request), initial={"completed_on": london_date(timezone.now())}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.referral_complete(
                referral=referral, by=request.user, completed_on=form.cleaned_data["completed_on"]
            )
        except DomainError as error:
            error.show_on(form)
        else:
            messages.success(request, "Completion recorded: the force’s case is closed as diverted")
            return redirect(_detail_url(referral))
    return render(
        request,
        "programmes/completion_form.html",
        {
            "referral": referral,
            "form": form,
            "attended": services.attended_sessions(referral),
            "required": referral.programme.sessions_required,
        },
    )


@provider_staff_required
def session_list(request: HttpRequest) -> HttpResponse:
    """The provider's group sessions: upcoming soonest first, then recent ones."""
    now = timezone.now()
    sessions = selectors.group_sessions_for_provider(request.user)
    return render(
        request,
        "programmes/session_list.html",
        {
            "sections": [
                ("Upcoming", list(sessions.filter(ends_at__gte=now))),
                ("Recent", list(sessions.filter(ends_at__lt=now).order_by("-starts_at")[:25])),
            ]
        },
    )


@provider_staff_required
def session_create(request: HttpRequest) -> HttpResponse:
    """Schedule a sitting of one of the provider's programmes."""
    programmes = selectors.programmes_visible_to(request.user).filter(is_active=True)
    form = forms.GroupSessionForm(_posted(request), programmes=programmes)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = services.group_session_create(
                programme=data["programme"],
                by=request.user,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                location=data["location"],
                online=data["online"],
            )
        except DomainError as error:
            error.show_on(form, {"starts_at": "date", "ends_at": "end_time"})
        else:
            messages.success(request, f"Session scheduled for {_when(session.starts_at)}")
            return redirect("programmes:session", pk=session.pk)
    return render(request, "programmes/session_form.html", {"form": form})


@provider_staff_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Everyone booked on one session, with their attendance recorded in one form."""
    session = selectors.group_session_get(user=request.user, pk=pk)
    bookings = selectors.group_session_bookings(session)
    audit_many(
        user=request.user,
        action="disclose",
        object_type="programmes.referral",
        rows=[(b.referral.reference, b.referral.case.person_id) for b in bookings],
    )
    now = timezone.now()
    started = session.starts_at <= now
    # Only bookings whose attendance may be recorded get a row; a referral that has ended since
    # it was booked takes no more attendance (programmes/rules.py appointment_actions).
    recordable = [
        booking
        for booking in bookings
        if rules.RECORD
        in rules.appointment_actions_for(
            booking, request.user, attendance_recorded=bool(booking.attendance.all()), now=now
        )
    ]
    everyone_attended = request.GET.get("mark") == "attended"
    form = forms.GroupAttendanceForm(
        _posted(request), bookings=recordable, everyone_attended=everyone_attended
    )
    if request.method == "POST" and form.is_valid():
        outcomes = form.outcomes()
        if not outcomes:
            form.add_error(None, "Choose what happened for at least one person")
        else:
            try:
                results = services.group_attendance_record(
                    session=session, by=request.user, outcomes=outcomes
                )
            except DomainError as error:
                row = (error.field or "").removeprefix("appointment_")
                error.show_on(form, {error.field or "": f"outcome_{row}"})
            else:
                changed = sum(result.created for result in results)
                messages.success(
                    request, f"Attendance saved: {changed} change{'s' if changed != 1 else ''}"
                )
                return redirect("programmes:session", pk=session.pk)
    rows = [
        {
            "booking": booking,
            "current": current,
            "outcome": form[f"outcome_{booking.pk}"],
            "reason": form[f"reason_{booking.pk}"],
            "correction_reason": form[f"correction_reason_{booking.pk}"]
            if current is not None
            else None,
        }
        for booking, current in form.rows
    ]
    closed = [booking for booking in bookings if booking not in recordable] if started else []
    return render(
        request,
        "programmes/session_detail.html",
        {
            "session": session,
            "form": form,
            "rows": rows,
            "bookings": bookings,
            "closed": closed,
            "started": started,
            "everyone_attended": everyone_attended,
            "unrecorded": sum(current is None for _booking, current in form.rows),
        },
    )


# --- The officer's referral, from the case page -----------------------------------------


@force_staff_required
def refer(request: HttpRequest, reference: str) -> HttpResponse:
    """Choose a programme serving the force and create the referral with its deadlines."""
    try:
        case = case_shown(user=request.user, reference=reference)
    except ClosedCaseNeedsReason:
        return redirect("cases:detail", reference=reference)  # which asks for the reason
    if case_rules.REFER not in case_rules.case_actions_for(case, request.user):
        messages.info(request, "Only a case whose offer was accepted can be referred")
        return redirect("cases:detail", reference=case.reference)
    programmes = selectors.programmes_serving(case.force_id)
    form = forms.ReferralForm(request.POST or None, programmes=programmes)
    if request.method == "POST" and form.is_valid():
        try:
            referral = services.referral_create(
                case=case, programme=form.cleaned_data["programme"], by=request.user
            )
        except DomainError as error:
            error.show_on(form)
        else:
            messages.success(request, f"Referred to {referral.programme.name}")
            return redirect(reverse("cases:detail", args=[case.reference]) + "#referral")
    return render(request, "programmes/referral_form.html", {"case": case, "form": form})


@force_staff_required
def referral_notice(request: HttpRequest, reference: str) -> HttpResponse:
    """The notice for the person about their referral: printed, or emailed where they chose
    email."""
    try:
        case = case_shown(user=request.user, reference=reference)
    except ClosedCaseNeedsReason:
        return redirect("cases:detail", reference=reference)  # which asks for the reason
    referral = notice.notice_referral(case)
    if referral is None:
        messages.info(request, "There is no referral the person still has to act on")
        return redirect("cases:detail", reference=case.reference)
    person = case.person
    if request.method == "POST":
        try:
            sent = notice.notice_send(referral=referral, case=case, by=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            if sent:
                messages.success(request, f"The notice is on its way to {person.email}")
            else:
                messages.info(request, f"The notice was already sent to {person.email}")
        return redirect("referrals:notice", reference=case.reference)
    context = notice.notice_context(referral, case)
    context["can_email"] = person.contact_preference == "email" and bool(person.email)
    return render(request, "programmes/notice/page.html", context)
