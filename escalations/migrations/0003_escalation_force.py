"""Each escalation carries its case's force, kept by the database, so a force's queue and its
open count are one index range at national scale (indexes in 0004). Every row is filled."""

import django.db.models.deletion
from django.db import migrations, models

FILL = """
UPDATE programmes_escalation e SET force_id = c.force_id
FROM programmes_referral r JOIN cases_case c ON c.id = r.case_id
WHERE r.id = e.referral_id
"""

TRIGGER = """
CREATE FUNCTION escalation_force() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.force_id INTO NEW.force_id
    FROM programmes_referral r JOIN cases_case c ON c.id = r.case_id
    WHERE r.id = NEW.referral_id;
    RETURN NEW;
END $$;
CREATE TRIGGER escalation_force BEFORE INSERT OR UPDATE OF referral_id, force_id
    ON programmes_escalation FOR EACH ROW EXECUTE FUNCTION escalation_force();
"""

DROP_TRIGGER = """
DROP TRIGGER escalation_force ON programmes_escalation;
DROP FUNCTION escalation_force();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("escalations", "0002_task_names"),
        ("cases", "0007_case_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="escalation",
            name="force",
            field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="cases.force"),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="escalation",
            name="force",
            field=models.ForeignKey(blank=True, db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="cases.force"),
        ),
        migrations.RunSQL(TRIGGER, DROP_TRIGGER),
    ]
