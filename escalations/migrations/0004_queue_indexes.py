"""A force's open escalations oldest first and its decided ones latest first, each one index
range (built concurrently)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("escalations", "0003_escalation_force")]

    operations = [
        AddIndexConcurrently(
            model_name="escalation",
            index=models.Index(condition=models.Q(("decided_at__isnull", True)), fields=["force", "flagged_at", "id"], name="escalation_force_open"),
        ),
        AddIndexConcurrently(
            model_name="escalation",
            index=models.Index(condition=models.Q(("decided_at__isnull", False)), fields=["force", "-decided_at", "-id"], name="escalation_force_decided"),
        ),
    ]
