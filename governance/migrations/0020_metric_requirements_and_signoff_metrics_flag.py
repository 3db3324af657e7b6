"""Metric requirements of sign-off policies, and the flag a request carries while its version misses one
(governance/signoff/thresholds.py).

SQLite rebuilds the request table to add the flag, and its separation-of-duties triggers name it: they are
dropped first and installed again after, as 0011 does."""

import django.db.models.deletion
from django.db import migrations, models


def install_triggers(apps, schema_editor):
    from governance.audit import triggers as db_triggers

    db_triggers.install_signoff(schema_editor.connection)


def uninstall_triggers(apps, schema_editor):
    from governance.audit import triggers as db_triggers

    db_triggers.uninstall_signoff(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0019_signoff_policy_bounds'),
    ]

    operations = [
        migrations.RunPython(uninstall_triggers, install_triggers),
        migrations.AddField(
            model_name='signoffrequest',
            name='metrics_flag',
            field=models.TextField(blank=True, help_text='The metric requirements the version does not meet.'),
        ),
        migrations.AddField(
            model_name='signoffrequest',
            name='metrics_flagged_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(install_triggers, uninstall_triggers),
        migrations.AlterField(
            model_name='finding',
            name='kind',
            field=models.CharField(choices=[('risk_review_overdue', 'Risk review overdue'), ('deployed_without_approval', 'In production without a valid sign-off'), ('signoff_invalidated', 'Sign-off invalidated'), ('signoff_expired', 'Sign-off expired'), ('value_decay', 'Value below plan'), ('obligation_unmet', 'Compliance obligation unmet'), ('evidence_stale', 'Compliance evidence stale'), ('unowned_production_model', 'Unowned model in production'), ('risk_acceptance_expired', 'Risk acceptance expired'), ('model_reference_unresolved', 'Lineage names an unknown model version'), ('metric_threshold_breached', 'Metric threshold breached')], max_length=40),
        ),
        migrations.CreateModel(
            name='MetricRequirement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('metric', models.CharField(help_text="The metric's name in the registry, e.g. auc.", max_length=250)),
                ('direction', models.CharField(choices=[('higher', 'Higher is better (≥)'), ('lower', 'Lower is better (≤)')], max_length=10)),
                ('threshold', models.FloatField()),
                ('dataset_name', models.CharField(blank=True, help_text='Only the value measured on this dataset (blank: every value must meet it).', max_length=250)),
                ('policy', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='metric_requirements', to='governance.signoffpolicy')),
            ],
            options={
                'ordering': ['policy_id', 'metric', 'dataset_name'],
                'constraints': [models.UniqueConstraint(fields=('policy', 'metric', 'dataset_name'), name='metricrequirement_once'), models.CheckConstraint(condition=models.Q(('direction__in', ['higher', 'lower'])), name='metricrequirement_dir')],
            },
        ),
    ]
