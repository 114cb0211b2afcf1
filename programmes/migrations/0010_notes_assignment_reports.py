"""Notes and concerns on a referral, its caseworker with the history of assignments, and the
provider's end-of-programme report. New tables, and a nullable column on the referral: every
existing row is kept as it is (unassigned, no notes, no report)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0009_policy_settings_explained'),
        ('programmes', '0009_referral_ending'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ProgrammeReport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sessions_attended', models.PositiveSmallIntegerField()),
                ('sessions_required', models.PositiveSmallIntegerField()),
                ('outcome', models.CharField(choices=[('completed', 'Completed the programme'), ('partly', 'Took part, did not finish'), ('did_not_engage', 'Did not engage')], max_length=20)),
                ('summary', models.TextField(max_length=2000)),
                ('onward_referral', models.CharField(choices=[('none', 'No onward referral'), ('treatment', 'Drug or alcohol treatment'), ('mental_health', 'Mental health service'), ('housing', 'Housing or welfare support'), ('other', 'Other service')], default='none', max_length=20)),
                ('onward_detail', models.CharField(blank=True, max_length=200)),
                ('filed_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.CreateModel(
            name='ReferralAssignment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('assigned_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['assigned_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ReferralNote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('body', models.TextField(max_length=2000)),
                ('visibility', models.CharField(choices=[('force', 'Force only'), ('shared', 'Force and provider')], max_length=10)),
                ('concern_category', models.CharField(blank=True, choices=[('safeguarding', 'Safeguarding'), ('behaviour', 'Behaviour in a session'), ('circumstances', 'Change of circumstances'), ('health', 'Health or wellbeing'), ('engagement', 'Not engaging'), ('other', 'Other')], help_text='Set: a concern', max_length=20)),
                ('written_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['written_at', 'id'],
            },
        ),
        migrations.AddField(
            model_name='referral',
            name='assigned_to',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='programmereport',
            name='filed_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='programmereport',
            name='referral',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='report', to='programmes.referral'),
        ),
        migrations.AddField(
            model_name='referralassignment',
            name='assigned_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='referralassignment',
            name='assigned_to',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='referralassignment',
            name='referral',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='assignments', to='programmes.referral'),
        ),
        migrations.AddField(
            model_name='referralnote',
            name='referral',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='notes', to='programmes.referral'),
        ),
        migrations.AddField(
            model_name='referralnote',
            name='written_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='referralnote',
            name='written_for_provider',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='programmes.provider'),
        ),
        migrations.AddIndex(
            model_name='referralassignment',
            index=models.Index(fields=['referral', 'assigned_at'], name='assignment_referral'),
        ),
        migrations.AddIndex(
            model_name='referralnote',
            index=models.Index(fields=['referral', 'written_at'], name='note_referral'),
        ),
        migrations.AddIndex(
            model_name='referralnote',
            index=models.Index(condition=models.Q(('concern_category', ''), _negated=True), fields=['referral'], name='note_concern'),
        ),
        migrations.AddConstraint(
            model_name='referralnote',
            constraint=models.CheckConstraint(condition=models.Q(('visibility__in', ['force', 'shared'])), name='note_visibility_known'),
        ),
        migrations.AddConstraint(
            model_name='referralnote',
            constraint=models.CheckConstraint(condition=models.Q(('concern_category', ''), ('visibility', 'shared'), _connector='OR'), name='note_concern_is_shared'),
        ),
    ]
