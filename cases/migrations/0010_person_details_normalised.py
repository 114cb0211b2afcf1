"""Put the phone numbers, postcodes, email addresses and PNC IDs already held into the forms
cases/person_details.py stores. Every row is kept, and every value: one that is not well
formed, or whose PNC ID in its stored form another person already has, stays as it was."""

from django.core.exceptions import ValidationError
from django.db import migrations


def normalise(apps, schema_editor):
    from cases.person_details import NORMALISERS

    Person = apps.get_model("cases", "Person")
    taken = set(Person.objects.exclude(pnc_id="").values_list("pnc_id", flat=True))
    for person in Person.objects.order_by("pk").iterator():
        changed = []
        for name, normaliser in NORMALISERS.items():
            value = getattr(person, name)
            if not value:
                continue
            try:
                stored = normaliser(value)
            except ValidationError:
                continue
            if stored == value:
                continue
            if name == "pnc_id":
                if stored in taken:
                    continue
                taken.add(stored)
            setattr(person, name, stored)
            changed.append(name)
        if changed:
            person.save(update_fields=changed)


class Migration(migrations.Migration):
    dependencies = [("cases", "0009_policy_settings_explained")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
