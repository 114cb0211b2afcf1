"""Eligibility decisions keep the version of the rules that made them, and the names of the
drugs they saw, so that each can be replayed (cases/replay.py).

Every row is kept. Rows decided before versions existed read as version 1. Their inputs
named each drug by code only; the name the reasons used is the drug's name in the reference
data, added beside the code.
"""

from django.db import migrations, models

DRUG_NAMES = """
UPDATE cases_eligibilitydecision d
SET inputs = jsonb_set(d.inputs, '{drugs}', (
    SELECT jsonb_agg(item || jsonb_build_object('name', coalesce(drug.name, item->>'code'))
                     ORDER BY position)
    FROM jsonb_array_elements(d.inputs->'drugs') WITH ORDINALITY AS listed(item, position)
    LEFT JOIN cases_drug drug ON drug.code = item->>'code'
))
WHERE jsonb_typeof(d.inputs->'drugs') = 'array' AND jsonb_array_length(d.inputs->'drugs') > 0
  AND NOT (d.inputs->'drugs'->0 ? 'name')
"""


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0012_case_assignment"),
    ]

    operations = [
        migrations.AddField(
            model_name="eligibilitydecision",
            name="rules_version",
            field=models.PositiveSmallIntegerField(
                db_default=1,
                help_text="The version of the eligibility rules that decided "
                "(cases.rules.RULES_VERSION)",
            ),
        ),
        migrations.RunSQL(DRUG_NAMES, reverse_sql=migrations.RunSQL.noop),
    ]
