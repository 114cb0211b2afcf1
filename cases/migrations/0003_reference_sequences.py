"""Sequences behind case and referral references (TVP-000123, R-000123)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_reference_data")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE case_reference_seq; CREATE SEQUENCE referral_reference_seq;",
            "DROP SEQUENCE case_reference_seq; DROP SEQUENCE referral_reference_seq;",
        )
    ]
