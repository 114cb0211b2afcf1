"""A referral's ending (when, and what the provider is told when the force withdrew it), the
inbox's "Ended" tab as one index range, and appointments' moves and cancellations.

Referrals that had already ended take the time of their last move to an ended status, so the
"Ended" tab lists them in order too. The index is built
concurrently, as 0006's: a national database keeps taking writes while it is made.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

BACKFILL = """
UPDATE programmes_referral r
SET ended_at = h.changed_at
FROM (
    SELECT referral_id, max(changed_at) AS changed_at
    FROM programmes_referralstatuschange
    WHERE to_status IN ('declined', 'completed', 'withdrawn')
    GROUP BY referral_id
) h
WHERE r.id = h.referral_id AND r.status IN ('declined', 'completed', 'withdrawn') AND r.ended_at IS NULL
"""

UNDO_BACKFILL = "UPDATE programmes_referral SET ended_at = NULL, end_reason = ''"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("programmes", "0008_delivery_check_schedule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="referral",
            name="ended_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="referral",
            name="end_reason",
            field=models.CharField(blank=True, db_default="", max_length=200),
        ),
        migrations.RunSQL(BACKFILL, UNDO_BACKFILL, elidable=False),
        AddIndexConcurrently(
            model_name="referral",
            index=models.Index(fields=["provider", "status", "ended_at", "reference"], name="referral_inbox_ended"),
        ),
        migrations.CreateModel(
            name="AppointmentChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("moved", "Moved"), ("cancelled", "Cancelled")], max_length=10)),
                ("starts_at_before", models.DateTimeField()),
                ("starts_at_after", models.DateTimeField(blank=True, null=True)),
                ("reason", models.TextField(blank=True)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("appointment", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="changes", to="programmes.appointment")),
                ("changed_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["changed_at", "id"],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("kind", "cancelled"), ("starts_at_after__isnull", False), _connector="OR"), name="appointment_move_has_new_time"),
                ],
            },
        ),
    ]
