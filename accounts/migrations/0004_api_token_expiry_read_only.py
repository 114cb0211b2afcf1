"""API tokens expire and may be read-only. Tokens made before this had no expiry: each gets
the default lifetime counted from this migration, so no system's token stops without notice."""

from django.conf import settings
from django.db import migrations, models


def give_existing_tokens_an_expiry(apps, schema_editor):
    days = int(getattr(settings, "API_TOKEN_LIFETIME_DAYS", 90))
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_apitoken SET expires_at = now() + make_interval(days => %s)"
            " WHERE expires_at IS NULL",
            [days],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_api_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="read_only",
            field=models.BooleanField(default=False, help_text="May only read, never change"),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(help_text="It stops working at this time", null=True),
        ),
        migrations.RunPython(give_existing_tokens_an_expiry, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(help_text="It stops working at this time"),
        ),
    ]
