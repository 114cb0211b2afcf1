"""Each referral carries its programme's provider, kept by the database, so a provider's inbox
is one index range at national scale (see the indexes in 0006). Every existing row is filled."""

import django.db.models.deletion
from django.db import migrations, models

FILL = """
UPDATE programmes_referral r SET provider_id = p.provider_id
FROM programmes_programme p WHERE p.id = r.programme_id
"""

TRIGGERS = """
CREATE FUNCTION referral_provider() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT provider_id INTO NEW.provider_id FROM programmes_programme WHERE id = NEW.programme_id;
    RETURN NEW;
END $$;
CREATE TRIGGER referral_provider BEFORE INSERT OR UPDATE OF programme_id, provider_id
    ON programmes_referral FOR EACH ROW EXECUTE FUNCTION referral_provider();

CREATE FUNCTION programme_provider_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE programmes_referral SET provider_id = NEW.provider_id WHERE programme_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER programme_provider_moves AFTER UPDATE OF provider_id ON programmes_programme
    FOR EACH ROW WHEN (OLD.provider_id IS DISTINCT FROM NEW.provider_id)
    EXECUTE FUNCTION programme_provider_moves();
"""

DROP_TRIGGERS = """
DROP TRIGGER programme_provider_moves ON programmes_programme;
DROP FUNCTION programme_provider_moves();
DROP TRIGGER referral_provider ON programmes_referral;
DROP FUNCTION referral_provider();
"""


class Migration(migrations.Migration):

    dependencies = [("programmes", "0004_escalation_moves_to_its_app")]

    operations = [
        migrations.AddField(
            model_name="referral",
            name="provider",
            field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="programmes.provider"),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="referral",
            name="provider",
            field=models.ForeignKey(blank=True, db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="programmes.provider"),
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
