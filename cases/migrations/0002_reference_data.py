"""Reference data: the 43 territorial police forces of England and Wales, and common drugs."""

from django.db import migrations

from cases.reference_data import load_reference_data


def load(apps, schema_editor):
    load_reference_data(apps.get_model("cases", "Force"), apps.get_model("cases", "Drug"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
