"""Fold names from every alphabet, not only a-z.

The first version kept only a-z, so names in Cyrillic, Greek, Arabic or Chinese script all
folded to the same empty key and matched each other. Now only spaces, hyphens, apostrophes,
dots and commas are removed; stored keys are recomputed.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION diversion_name_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT regexp_replace(
    lower(public.unaccent('public.unaccent'::regdictionary, value)), '[[:space:]''’‘`.,-]+', '', 'g'
) $$;
"""

LATIN_ONLY = """
CREATE OR REPLACE FUNCTION diversion_name_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT regexp_replace(
    lower(public.unaccent('public.unaccent'::regdictionary, value)), '[^a-z]', '', 'g'
) $$;
"""

# A stored generated column is recomputed when its row is updated.
RECOMPUTE = "UPDATE cases_person SET given_name = given_name;"


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_reference_sequences")]

    operations = [
        migrations.RunSQL(FUNCTION + RECOMPUTE, LATIN_ONLY + RECOMPUTE),
    ]
