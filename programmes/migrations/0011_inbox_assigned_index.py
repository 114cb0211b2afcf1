"""The inbox's "My referrals" and "Unassigned" views as one index range (built concurrently: a
national database keeps taking writes while it is made)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("programmes", "0010_notes_assignment_reports")]

    operations = [
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("status__in", ["new", "accepted", "in_progress", "flagged"])),
                fields=["provider", "assigned_to", "completion_due", "reference"],
                name="referral_inbox_assigned",
            ),
        ),
    ]
