"""Escalations: a referral flagged by the deadline sweep, and the supervisor's decision on it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Escalation(models.Model):
    """A referral flagged by the deadline sweep, waiting for or holding a supervisor's decision."""

    class Rule(models.TextChoices):
        FIRST_APPOINTMENT_MISSED = (
            "first_appointment_missed",
            "No first appointment attended by the deadline",
        )
        COMPLETION_MISSED = "completion_missed", "Not completed by the deadline"
        TOO_MANY_ABSENCES = "too_many_absences", "More unexcused absences than the policy allows"

    class Decision(models.TextChoices):
        PROSECUTE = "prosecute", "Refer for prosecution"
        EXTEND = "extend", "Extend the deadline"
        RE_REFER = "re_refer", "Re-refer to another programme"
        NO_FURTHER_ACTION = "no_further_action", "No further action"

    referral = models.ForeignKey(
        "programmes.Referral", on_delete=models.PROTECT, related_name="escalations"
    )
    # The case's force, kept by the database (trigger escalation_force, migration 0003) so a
    # force's queue is one index range at national scale. Never set it by hand.
    force = models.ForeignKey(
        "cases.Force",
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        blank=True,
        db_index=False,  # the queue indexes start with it
    )
    rule = models.CharField(max_length=30, choices=Rule.choices)
    facts = models.JSONField(help_text="What the sweep saw when the rule fired")
    flagged_at = models.DateTimeField(auto_now_add=True)
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True)
    rationale = models.TextField(blank=True)
    new_deadline = models.DateTimeField(null=True, blank=True)
    new_programme = models.ForeignKey(
        "programmes.Programme", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when escalations were part of programmes.
        db_table = "programmes_escalation"
        ordering = ["flagged_at", "id"]
        indexes = [
            # A force's open escalations oldest first, and its decided ones latest first.
            models.Index(
                fields=["force", "flagged_at", "id"],
                condition=Q(decided_at__isnull=True),
                name="escalation_force_open",
            ),
            models.Index(
                fields=["force", "-decided_at", "-id"],
                condition=Q(decided_at__isnull=False),
                name="escalation_force_decided",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["referral"],
                condition=Q(decided_at__isnull=True),
                name="one_open_escalation_per_referral",
            ),
            models.CheckConstraint(
                name="escalation_decision_complete",
                condition=Q(decided_at__isnull=True, decision="", decided_by__isnull=True)
                | (
                    Q(decided_at__isnull=False, decided_by__isnull=False)
                    & ~Q(decision="")
                    & ~Q(rationale="")
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Referral {self.referral_id}: {self.rule}"
