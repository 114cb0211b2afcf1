"""Escalations move from programmes to their own app. The table keeps its name and every row:
only Django's idea of which app owns it changes (SeparateDatabaseAndState), and so does the
content type, so permissions and admin history keep pointing at it."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="programmes", model="escalation").update(
        app_label="escalations"
    )


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="escalations", model="escalation").update(
        app_label="programmes"
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("programmes", "0003_beat_schedule"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Escalation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('rule', models.CharField(choices=[('first_appointment_missed', 'No first appointment attended by the deadline'), ('completion_missed', 'Not completed by the deadline'), ('too_many_absences', 'More unexcused absences than the policy allows')], max_length=30)),
                        ('facts', models.JSONField(help_text='What the sweep saw when the rule fired')),
                        ('flagged_at', models.DateTimeField(auto_now_add=True)),
                        ('decision', models.CharField(blank=True, choices=[('prosecute', 'Refer for prosecution'), ('extend', 'Extend the deadline'), ('re_refer', 'Re-refer to another programme'), ('no_further_action', 'No further action')], max_length=20)),
                        ('rationale', models.TextField(blank=True)),
                        ('new_deadline', models.DateTimeField(blank=True, null=True)),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('new_programme', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='programmes.programme')),
                        ('referral', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='escalations', to='programmes.referral')),
                    ],
                    options={
                        'db_table': 'programmes_escalation',
                        'ordering': ['flagged_at', 'id'],
                        'constraints': [
                            models.UniqueConstraint(condition=models.Q(('decided_at__isnull', True)), fields=('referral',), name='one_open_escalation_per_referral'),
                            models.CheckConstraint(condition=models.Q(models.Q(('decided_at__isnull', True), ('decided_by__isnull', True), ('decision', '')), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False), models.Q(('decision', ''), _negated=True), models.Q(('rationale', ''), _negated=True)), _connector='OR'), name='escalation_decision_complete'),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
