"""Escalation now belongs to the escalations app (escalations/migrations/0001_initial.py): this
forgets it here without touching the table."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("programmes", "0003_beat_schedule"),
        ("escalations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Escalation")],
            database_operations=[],
        ),
    ]
