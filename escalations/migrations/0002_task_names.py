"""The sweep, reminders and digest tasks are escalations' now: their beat schedules follow."""

from django.db import migrations

RENAMED = {
    "programmes.sweep_deadlines": "escalations.sweep_deadlines",
    "programmes.queue_reminders": "escalations.queue_reminders",
    "programmes.queue_digest": "escalations.queue_digest",
}


def rename(apps, schema_editor, names=RENAMED):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for old, new in names.items():
        PeriodicTask.objects.filter(task=old).update(task=new)


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):

    dependencies = [
        ("escalations", "0001_initial"),
        ("programmes", "0003_beat_schedule"),
    ]

    operations = [migrations.RunPython(rename, rename_back)]
