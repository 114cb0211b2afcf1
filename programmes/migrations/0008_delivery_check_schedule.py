"""Fetching GOV.UK Notify's delivery receipts (programmes.check_notification_delivery) every 10
minutes, as a beat row. Safe to run again: a task that already exists keeps its schedule.
Without NOTIFY_API_KEY the task finds nothing to ask."""

from django.db import migrations
from django.db.models import Q
from django.utils import timezone

TASK = "programmes.check_notification_delivery"
NAME = "Fetch GOV.UK Notify delivery receipts (every 10 minutes)"
EVERY = {"every": 10, "period": "minutes"}


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")

    if PeriodicTask.objects.filter(Q(task=TASK) | Q(name=NAME)).exists():
        return
    interval = IntervalSchedule.objects.filter(**EVERY).order_by("id").first()
    interval = interval or IntervalSchedule.objects.create(**EVERY)
    PeriodicTask.objects.create(name=NAME, task=TASK, interval=interval, enabled=True)
    # A running beat reloads its schedule when this timestamp changes.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("programmes", "0007_notify_delivery"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(create_schedule, remove_schedule),
    ]
