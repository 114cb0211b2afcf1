"""The daily check of the audit log's hash chain (audit.verify_chain) at 03:15 London time,
as a beat row. Safe to run again: a task that already exists keeps its schedule."""

from django.db import migrations
from django.db.models import Q
from django.utils import timezone

TASK = "audit.verify_chain"
NAME = "Verify the audit log's hash chain (03:15 London)"
CRONTAB = {
    "minute": "15",
    "hour": "3",
    "day_of_week": "*",
    "day_of_month": "*",
    "month_of_year": "*",
    "timezone": "Europe/London",
}


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")

    if PeriodicTask.objects.filter(Q(task=TASK) | Q(name=NAME)).exists():
        return
    crontab = CrontabSchedule.objects.filter(**CRONTAB).order_by("id").first()
    crontab = crontab or CrontabSchedule.objects.create(**CRONTAB)
    PeriodicTask.objects.create(name=NAME, task=TASK, crontab=crontab, enabled=True)
    # A running beat reloads its schedule when this timestamp changes.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_hash_chain"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(create_schedule, remove_schedule),
    ]
