"""The retention job moved from cases to the retention app: its beat schedule follows."""

from django.db import migrations

OLD, NEW = "cases.anonymise_expired", "retention.anonymise_expired"


def rename(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=OLD).update(task=NEW)


def rename_back(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=NEW).update(task=OLD)


class Migration(migrations.Migration):

    dependencies = [("cases", "0006_retention_schedule")]

    operations = [migrations.RunPython(rename, rename_back)]
