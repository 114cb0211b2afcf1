"""Forms for the provider's pages. They parse and check input; services decide."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from django import forms
from django.db.models import QuerySet

from base.clock import LONDON
from base.limits import MAX_FREE_TEXT
from base.widgets import GovUKDateInput
from programmes.models import Appointment, Attendance, GroupSession, Programme
from programmes.services import GroupOutcome

TIME_PATTERN = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$", re.IGNORECASE)
TIME_FORMAT_ERROR = "Enter the time like 14:30 or 2:30pm"
CLOCKS_GO_FORWARD = "That time does not exist in London: the clocks go forward an hour then"


def parse_time(text: str) -> time | None:
    """A time of day from "14:30", "9.05", "2:30pm" or "10am"; None if it is not one."""
    match = TIME_PATTERN.match(text.strip())
    if match is None:
        return None
    hour, minute, meridiem = int(match[1]), int(match[2] or 0), (match[3] or "").lower()
    if match[2] is None and not meridiem:
        return None  # "14" alone is ambiguous: ask for the minutes
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def london_datetime(day: date, at: time) -> datetime | None:
    """`day` at `at` on a London clock, as an aware datetime; None if the clocks skip that time."""
    moment = datetime.combine(day, at, tzinfo=LONDON)
    if moment.astimezone(UTC).astimezone(LONDON).time() != at:
        return None  # the hour the clocks go forward in March
    return moment


class TimeOfDayField(forms.Field):
    """A time of day typed as text ("14:30" or "2:30pm"), cleaned to a datetime.time."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "class": "govuk-input--width-5",
                    "autocomplete": "off",
                    "spellcheck": "false",
                    "maxlength": "8",
                }
            ),
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> time | None:
        """Parse the text; an empty box is None (required fields say so)."""
        text = str(value or "").strip()
        if not text:
            return None
        parsed = parse_time(text) if len(text) <= 8 else None
        if parsed is None:
            raise forms.ValidationError(TIME_FORMAT_ERROR, code="invalid")
        return parsed


def date_field(label: str, *, noun: str, hint: str = "For example, 27 3 2027") -> forms.DateField:
    """A GOV.UK date input with errors that name what the date is for."""
    return forms.DateField(
        label=label,
        help_text=hint,
        widget=GovUKDateInput(),
        error_messages={
            "required": f"Enter the date of the {noun}",
            "invalid": f"The date of the {noun} must be a real date",
        },
    )


class WhenMixin:
    """Combine a `date` field and a `time` field into `starts_at`, on a London clock."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        day, at = cleaned.get("date"), cleaned.get("time")
        if day and at:
            starts_at = london_datetime(day, at)
            if starts_at is None:
                self.add_error("time", CLOCKS_GO_FORWARD)  # type: ignore[attr-defined]
            else:
                cleaned["starts_at"] = starts_at
        return cleaned


class DeclineForm(forms.Form):
    """Why the provider cannot take the referral; the force sees it."""

    reason = forms.CharField(
        max_length=MAX_FREE_TEXT,
        label="Why can you not take this referral?",
        help_text="The force sees this and can refer the person to another programme.",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Give the reason for declining, so the force can act on it"},
    )


class AppointmentForm(WhenMixin, forms.Form):
    """A one-to-one appointment: when (London time), what kind, in person or online, where."""

    date = date_field("Date", noun="appointment")
    time = TimeOfDayField(
        label="Start time",
        help_text="For example, 10:00 or 2:30pm",
        error_messages={"required": "Enter the start time of the appointment"},
    )
    kind = forms.ChoiceField(
        label="What kind of appointment?",
        choices=Appointment.Kind.choices,
        widget=forms.RadioSelect(attrs={"class": "govuk-radios--inline"}),
        error_messages={"required": "Choose assessment or session"},
    )
    mode = forms.ChoiceField(
        label="In person or online?",
        choices=Appointment.Mode.choices,
        widget=forms.RadioSelect(attrs={"class": "govuk-radios--inline"}),
        initial=Appointment.Mode.IN_PERSON,
        error_messages={"required": "Choose in person or online"},
    )
    location = forms.CharField(
        label="Where",
        help_text="The address or room, or the link for an online appointment.",
        required=False,
        max_length=200,
    )


class SessionBookingForm(forms.Form):
    """Book the person on one of the programme's upcoming group sessions."""

    group_session = forms.ModelChoiceField(
        label="Which session?",
        queryset=GroupSession.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={
            "required": "Choose a group session",
            "invalid_choice": "Choose one of the sessions listed",
        },
    )

    def __init__(self, *args: Any, sessions: QuerySet[GroupSession], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["group_session"]
        field.queryset = sessions
        field.label_from_instance = session_label


def session_label(session: GroupSession) -> str:
    """ "Tuesday 1 December 2026, 10:00am to 1:30pm, Oxford (3 booked)" in London time."""
    start, end = session.starts_at.astimezone(LONDON), session.ends_at.astimezone(LONDON)
    where = "online" if session.online else (session.location or "place to be confirmed")
    booked = getattr(session, "booked", None)
    count = f" ({booked} booked)" if booked is not None else ""
    return f"{start:%A} {start.day} {start:%B %Y}, {_clock(start)} to {_clock(end)}, {where}{count}"


def _clock(moment: datetime) -> str:
    """2:05pm style, as the templates show times."""
    return f"{moment.hour % 12 or 12}:{moment:%M}{'am' if moment.hour < 12 else 'pm'}"


class RescheduleForm(WhenMixin, forms.Form):
    """A new time for a booked appointment."""

    date = date_field("New date", noun="appointment")
    time = TimeOfDayField(
        label="New start time",
        help_text="For example, 10:00 or 2:30pm",
        error_messages={"required": "Enter the new start time"},
    )
    reason = forms.CharField(
        max_length=MAX_FREE_TEXT,
        label="Why is it moving?",
        help_text="The earlier time is kept in the appointment's history with this reason, "
        "for the force and your colleagues to see.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Give the reason the appointment is moving"},
    )


class CancelForm(forms.Form):
    """Why a booked appointment is cancelled."""

    reason = forms.CharField(
        max_length=MAX_FREE_TEXT,
        label="Why is the appointment cancelled?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Give the reason for cancelling the appointment"},
    )


OUTCOME_ERROR = "Choose one of: " + ", ".join(label.lower() for label in Attendance.Outcome.labels)


def outcome_field(label: str = "What happened?", required: bool = True) -> forms.ChoiceField:
    """The five attendance outcomes as radios."""
    return forms.ChoiceField(
        label=label,
        choices=Attendance.Outcome.choices,
        widget=forms.RadioSelect,
        required=required,
        error_messages={"required": "Choose what happened", "invalid_choice": OUTCOME_ERROR},
    )


class AttendanceForm(forms.Form):
    """The outcome of one appointment; a correction of an earlier outcome needs a reason."""

    outcome = outcome_field()
    reason = forms.CharField(
        max_length=MAX_FREE_TEXT,
        label="Why is the absence excused?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    correction_reason = forms.CharField(
        max_length=MAX_FREE_TEXT,
        label="Why are you correcting the outcome?",
        help_text="The earlier outcome is kept in the history with this reason.",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, correcting: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not correcting:
            del self.fields["correction_reason"]


class CompletionForm(forms.Form):
    """The date the person completed the programme."""

    completed_on = date_field(
        "When did they complete the programme?", noun="completion", hint="For example, 27 3 2027"
    )


class GroupSessionForm(forms.Form):
    """A new sitting of one of the provider's programmes."""

    programme = forms.ModelChoiceField(
        label="Programme",
        queryset=Programme.objects.none(),
        empty_label="Choose a programme",
        error_messages={
            "required": "Choose a programme",
            "invalid_choice": "Choose one of your programmes",
        },
    )
    date = date_field("Date", noun="session")
    start_time = TimeOfDayField(
        label="Start time",
        help_text="For example, 10:00 or 2:30pm",
        error_messages={"required": "Enter the start time of the session"},
    )
    end_time = TimeOfDayField(
        label="End time",
        help_text="For example, 1:30pm",
        error_messages={"required": "Enter the end time of the session"},
    )
    location = forms.CharField(label="Where", required=False, max_length=200)
    online = forms.BooleanField(label="The session is online", required=False)

    def __init__(self, *args: Any, programmes: QuerySet[Programme], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = programmes
        self.fields["programme"].label_from_instance = lambda p: p.name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        day = cleaned.get("date")
        for name, key in (("start_time", "starts_at"), ("end_time", "ends_at")):
            at = cleaned.get(name)
            if day and at:
                moment = london_datetime(day, at)
                if moment is None:
                    self.add_error(name, CLOCKS_GO_FORWARD)
                else:
                    cleaned[key] = moment
        return cleaned


class GroupAttendanceForm(forms.Form):
    """One row per person booked on a session: outcome, reason, and a correction reason.

    Fields are named outcome_<appointment id>, reason_<id> and correction_reason_<id>; a row
    left without an outcome is not recorded.
    """

    def __init__(
        self,
        *args: Any,
        bookings: list[Appointment],
        everyone_attended: bool = False,
        **kwargs: Any,
    ) -> None:
        """`everyone_attended`: start every row with nothing recorded yet at "attended", for the
        provider to change the exceptions before saving (nothing is saved until they do)."""
        super().__init__(*args, **kwargs)
        self.rows = []
        for booking in bookings:
            current = next(iter(booking.attendance.all()), None)
            pk = booking.pk
            self.fields[f"outcome_{pk}"] = outcome_field(
                label=booking.referral.case.person.full_name, required=False
            )
            if current is None and everyone_attended:
                self.initial.setdefault(f"outcome_{pk}", Attendance.Outcome.ATTENDED)
            self.fields[f"reason_{pk}"] = forms.CharField(
                max_length=MAX_FREE_TEXT,
                label="Why is the absence excused?",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            if current is not None:
                self.initial.setdefault(f"outcome_{pk}", current.outcome)
                self.initial.setdefault(f"reason_{pk}", current.reason)
                self.fields[f"correction_reason_{pk}"] = forms.CharField(
                    max_length=MAX_FREE_TEXT,
                    label="Why are you correcting the outcome?",
                    help_text="Needed only if you change the outcome.",
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 2}),
                )
            self.rows.append((booking, current))

    def outcomes(self) -> dict[int, GroupOutcome]:
        """The rows with an outcome chosen, by appointment id, for group_attendance_record."""
        chosen = {}
        for booking, _current in self.rows:
            pk = booking.pk
            outcome = self.cleaned_data.get(f"outcome_{pk}")
            if outcome:
                chosen[pk] = GroupOutcome(
                    outcome=outcome,
                    reason=self.cleaned_data.get(f"reason_{pk}", ""),
                    correction_reason=self.cleaned_data.get(f"correction_reason_{pk}", ""),
                )
        return chosen


class ReferralForm(forms.Form):
    """Choose a programme that serves the force."""

    programme = forms.ModelChoiceField(
        label="Programme",
        queryset=None,
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={
            "required": "Choose a programme",
            "invalid_choice": "Choose one of the programmes listed",
        },
    )

    def __init__(self, *args, programmes, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = programmes
        self.fields["programme"].label_from_instance = lambda p: (
            f"{p.name}, {p.provider.name} ({p.get_kind_display().lower()}, "
            f"{p.sessions_required} session{'s' if p.sessions_required != 1 else ''})"
        )
