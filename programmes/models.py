"""Providers, programmes, referrals, appointments with attendance, and the outbox of messages."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cases.models import Assignment, Case, Force, SchemePolicy, StatusChange


class Provider(models.Model):
    """An organisation that runs programmes: a charity, a treatment service, a council team."""

    name = models.CharField(max_length=150, unique=True)
    contact_email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Programme(models.Model):
    """An education or treatment programme a provider runs for the forces it serves."""

    class Kind(models.TextChoices):
        EDUCATION = "education", "Education"
        TREATMENT = "treatment", "Treatment"

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="programmes")
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    description = models.TextField(blank=True)
    sessions_required = models.PositiveSmallIntegerField(default=1)
    forces_served = models.ManyToManyField(Force, related_name="programmes")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "name"], name="programme_name_per_provider"
            ),
            models.CheckConstraint(
                condition=Q(sessions_required__gte=1), name="programme_needs_a_session"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider.name})"


class ReferralStatus(models.TextChoices):
    NEW = "new", "New"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined by provider"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FLAGGED = "flagged", "Flagged for escalation"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_REFERRAL_STATUSES = [
    ReferralStatus.NEW,
    ReferralStatus.ACCEPTED,
    ReferralStatus.IN_PROGRESS,
    ReferralStatus.FLAGGED,
]


class Referral(models.Model):
    """A case sent to a programme, with the deadlines computed from the force's policy."""

    reference = models.CharField(max_length=30, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="referrals")
    # The programme's provider, kept by the database (trigger referral_provider, migration
    # 0006) so a provider's inbox is one index range at national scale. Never set it by hand.
    provider = models.ForeignKey(
        Provider,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        blank=True,
        db_index=False,  # the inbox indexes start with it
    )
    policy = models.ForeignKey(SchemePolicy, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=20, choices=ReferralStatus.choices, default=ReferralStatus.NEW
    )
    first_appointment_due = models.DateTimeField()
    completion_due = models.DateTimeField()
    extensions = models.PositiveSmallIntegerField(default=0)
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    referred_at = models.DateTimeField(auto_now_add=True)
    decline_reason = models.TextField(blank=True)
    completed_on = models.DateField(null=True, blank=True)
    # The provider's caseworker for the referral (services.referral_assign); its history is
    # in ReferralAssignment.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # the inbox index referral_inbox_assigned starts with the provider
    )
    # When the referral was declined, completed or withdrawn, and, when the force withdrew it,
    # what the provider is told (never the supervisor's rationale).
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True, db_default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-referred_at"]
        constraints = [
            # A case is with at most one programme at a time.
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status__in=OPEN_REFERRAL_STATUSES),
                name="one_open_referral_per_case",
            ),
            models.CheckConstraint(
                condition=Q(completion_due__gte=models.F("first_appointment_due")),
                name="referral_completion_after_first_appointment",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "first_appointment_due"], name="referral_due_first"),
            models.Index(fields=["status", "completion_due"], name="referral_due_completion"),
            models.Index(fields=["updated_at"], name="referral_updated"),
            # A provider's inbox tab, the nearest deadline first (see selectors.provider_inbox).
            models.Index(
                fields=["provider", "status", "first_appointment_due", "reference"],
                name="referral_inbox_first",
            ),
            models.Index(
                fields=["provider", "status", "completion_due", "reference"],
                name="referral_inbox_completion",
            ),
            # The inbox's "My referrals" and "Unassigned" views: open referrals by caseworker.
            models.Index(
                fields=["provider", "assigned_to", "completion_due", "reference"],
                condition=Q(status__in=OPEN_REFERRAL_STATUSES),
                name="referral_inbox_assigned",
            ),
            # The inbox's "Ended" tab, the latest ending first.
            models.Index(
                fields=["provider", "status", "ended_at", "reference"],
                name="referral_inbox_ended",
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class ReferralStatusChange(StatusChange):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="status_changes")

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.from_status or '-'} -> {self.to_status}"


class GroupSession(models.Model):
    """One sitting of a programme that several people are booked on."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="sessions")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    online = models.BooleanField(default=False)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme_id} at {self.starts_at:%Y-%m-%d %H:%M}"


class Appointment(models.Model):
    """A booked appointment for one referral; attendance is recorded against it."""

    class Kind(models.TextChoices):
        ASSESSMENT = "assessment", "Assessment"
        SESSION = "session", "Session"

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        ONLINE = "online", "Online"

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="appointments")
    group_session = models.ForeignKey(
        GroupSession, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    starts_at = models.DateTimeField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SESSION)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)
    location = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "group_session"],
                condition=Q(group_session__isnull=False),
                name="one_booking_per_group_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.starts_at:%Y-%m-%d %H:%M}"

    def moves(self) -> list[AppointmentChange]:
        """The times this appointment was moved, oldest first (reads `changes`, prefetched)."""
        return [change for change in self.changes.all() if change.kind == "moved"]

    def cancellation(self) -> AppointmentChange | None:
        """Who cancelled it, when and why, if it is cancelled and that was recorded."""
        return next((c for c in self.changes.all() if c.kind == "cancelled"), None)


class AppointmentChange(models.Model):
    """A move or a cancellation of an appointment: the time it had before, who, when and why.

    The appointment keeps only its current time; its earlier times live here, for both the
    force and the provider to see.
    """

    class Kind(models.TextChoices):
        MOVED = "moved", "Moved"
        CANCELLED = "cancelled", "Cancelled"

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    starts_at_before = models.DateTimeField()
    starts_at_after = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["changed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="cancelled") | Q(starts_at_after__isnull=False),
                name="appointment_move_has_new_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Appointment {self.appointment_id}: {self.kind}"


class Attendance(models.Model):
    """An attendance outcome. Corrections add a row; the earlier one is kept, not current."""

    class Outcome(models.TextChoices):
        ATTENDED = "attended", "Attended"
        LATE = "late", "Attended late"
        DID_NOT_ATTEND = "did_not_attend", "Did not attend"
        CANCELLED_BY_PROVIDER = "cancelled_by_provider", "Cancelled by provider"
        EXCUSED = "excused", "Excused absence"

    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="attendance"
    )
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    reason = models.TextField(blank=True, help_text="Why the absence is excused")
    correction_reason = models.TextField(
        blank=True, help_text="Why an earlier outcome was corrected (kept, not current)"
    )
    is_current = models.BooleanField(default=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment"], condition=Q(is_current=True), name="one_current_attendance"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="excused") | ~Q(reason=""), name="excused_absence_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"Appointment {self.appointment_id}: {self.outcome}"


class Notification(models.Model):
    """The outbox: a message waits here until a Celery task has sent it.

    Sent through GOV.UK Notify, a row also holds Notify's id for it and the delivery status
    Notify last gave (programmes/notify.py); a message Notify could not deliver is marked
    failed with the reason, which the officer sees on the case page and in the case list.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class Failure(models.TextChoices):
        """Why a failed message failed, in words an officer can act on."""

        INVALID = "invalid", "not a valid number or address"
        PERMANENT = "permanent", "the number or address does not exist"
        TEMPORARY = "temporary", "not delivered for 3 days (phone off or inbox full)"
        TECHNICAL = "technical", "GOV.UK Notify could not send it"
        REJECTED = "rejected", "refused by GOV.UK Notify (the service's settings)"
        GAVE_UP = "gave_up", "could not be sent after repeated attempts"

    # Notify's statuses that may still change; the others are final.
    DELIVERY_PENDING = ("created", "sending", "pending")

    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=5, choices=Channel.choices)
    recipient = models.CharField(max_length=200)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    language = models.CharField(
        max_length=5, default="en", help_text="The recipient's language: en or cy"
    )
    personalisation = models.JSONField(
        default=dict,
        blank=True,
        help_text="The Notify template's values by language (no name): {language: {key: text}}",
    )
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    dedupe_key = models.CharField(max_length=100, unique=True, help_text="One message per purpose")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="A pending message waits until then (retry backoff)"
    )
    last_error = models.TextField(blank=True)
    failure = models.CharField(max_length=10, choices=Failure.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    notify_id = models.UUIDField(null=True, blank=True, help_text="GOV.UK Notify's id for it")
    delivery_status = models.CharField(
        max_length=20, blank=True, help_text="GOV.UK Notify's status, as last fetched"
    )
    delivery_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "created_at"], name="notification_pending"),
            # The delivery check's queue: only messages whose receipt may still change.
            models.Index(
                fields=["delivery_checked_at", "id"],
                name="notification_awaiting_receipt",
                condition=Q(status="sent", delivery_status__in=("created", "sending", "pending")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel} ({self.status})"

    KIND_LABELS = {
        "reminder_first_appointment": "Reminder of the first appointment",
        "reminder_completion": "Reminder to finish the programme",
    }

    def kind_label(self) -> str:
        """What the message was, for the case page: "Reminder to finish the programme"."""
        return self.KIND_LABELS.get(self.kind) or self.kind.replace("_", " ").capitalize()

    def delivery_text(self) -> str:
        """Where the message is, for the case page: "Delivered", "Not delivered", ..."""
        if self.status == self.Status.PENDING:
            return "Waiting to send, trying again" if self.attempts else "Waiting to send"
        if self.status == self.Status.FAILED:
            return "Not delivered"
        if self.delivery_status == "delivered":
            return "Delivered"
        if self.delivery_status in self.DELIVERY_PENDING:
            return "Sent, not delivered yet"
        if self.delivery_status:
            return "Sent (no delivery receipt)"
        return "Sent"

    def failure_text(self) -> str:
        """Why it was not delivered, for the officer: "not a valid mobile number"."""
        what = "mobile number" if self.channel == self.Channel.SMS else "email address"
        if self.failure == self.Failure.INVALID:
            return f"not a valid {what}"
        if self.failure == self.Failure.PERMANENT:
            return f"the {what} does not exist"
        if self.failure == self.Failure.TEMPORARY:
            why = "the phone was off" if self.channel == self.Channel.SMS else "the inbox was full"
            return f"not delivered for 3 days ({why})"
        return self.get_failure_display() or "not sent"


NOTE_MAX_LENGTH = 2000


class ReferralNote(models.Model):
    """A note on a referral by force or provider staff, read by the force only or by both.

    A provider's note may be a concern (with a category), which the referring officer and the
    force's supervisors are told of and which sits beside the breach on an escalation.
    """

    class Visibility(models.TextChoices):
        FORCE = "force", "Force only"
        SHARED = "shared", "Force and provider"

    class Category(models.TextChoices):
        SAFEGUARDING = "safeguarding", "Safeguarding"
        BEHAVIOUR = "behaviour", "Behaviour in a session"
        CIRCUMSTANCES = "circumstances", "Change of circumstances"
        HEALTH = "health", "Health or wellbeing"
        ENGAGEMENT = "engagement", "Not engaging"
        OTHER = "other", "Other"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="notes")
    body = models.TextField(max_length=NOTE_MAX_LENGTH)
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    concern_category = models.CharField(
        max_length=20, choices=Category.choices, blank=True, help_text="Set: a concern"
    )
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The provider the author worked for, if any: a provider reads only its own side's notes.
    written_for_provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    written_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["written_at", "id"]
        indexes = [
            models.Index(fields=["referral", "written_at"], name="note_referral"),
            models.Index(
                fields=["referral"], condition=~Q(concern_category=""), name="note_concern"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(visibility__in=["force", "shared"]), name="note_visibility_known"
            ),
            # A concern is the provider's account, for the force: always readable by both.
            models.CheckConstraint(
                condition=Q(concern_category="") | Q(visibility="shared"),
                name="note_concern_is_shared",
            ),
        ]

    def __str__(self) -> str:
        return f"Note {self.pk} on {self.referral_id}"

    @property
    def is_concern(self) -> bool:
        return bool(self.concern_category)


class ReferralAssignment(Assignment):
    """One assignment of a referral to a caseworker (or back to nobody): the history."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="assignments")

    class Meta(Assignment.Meta):
        indexes = [models.Index(fields=["referral", "assigned_at"], name="assignment_referral")]

    def __str__(self) -> str:
        return f"{self.referral_id} -> {self.assigned_to_id or '-'}"


class ProgrammeReport(models.Model):
    """The provider's end-of-programme report on a referral that completed or ended early."""

    class Outcome(models.TextChoices):
        COMPLETED = "completed", "Completed the programme"
        PARTLY = "partly", "Took part, did not finish"
        DID_NOT_ENGAGE = "did_not_engage", "Did not engage"

    class Onward(models.TextChoices):
        NONE = "none", "No onward referral"
        TREATMENT = "treatment", "Drug or alcohol treatment"
        MENTAL_HEALTH = "mental_health", "Mental health service"
        HOUSING = "housing", "Housing or welfare support"
        OTHER = "other", "Other service"

    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="report")
    sessions_attended = models.PositiveSmallIntegerField()
    sessions_required = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    summary = models.TextField(max_length=NOTE_MAX_LENGTH)
    onward_referral = models.CharField(max_length=20, choices=Onward.choices, default="none")
    onward_detail = models.CharField(max_length=200, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Report on {self.referral_id}"
