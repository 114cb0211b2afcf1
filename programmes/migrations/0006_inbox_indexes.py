"""A provider's inbox tab, nearest deadline first, as one index range (built concurrently: a
national database keeps taking writes while they are made)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("programmes", "0005_referral_provider")]

    operations = [
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(fields=["provider", "status", "first_appointment_due", "reference"], name="referral_inbox_first"),
        ),
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(fields=["provider", "status", "completion_due", "reference"], name="referral_inbox_completion"),
        ),
    ]
