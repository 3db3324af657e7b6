"""The default sign-off policies (version 1 of each tier) and the decision triggers.

The defaults (issue #5) are read from governance/signoff/policies.py: minimal and limited → one
risk officer; high → a risk officer and a distinct compliance officer / DPO, re-certified yearly;
prohibited → never approvable. Admins publish new versions; these rows are never edited.
"""

from django.db import migrations

from governance.signoff.policies import DEFAULT_POLICIES


def create_policies(apps, schema_editor):
    Policy = apps.get_model("governance", "SignOffPolicy")
    for default in DEFAULT_POLICIES.values():
        if not Policy.objects.filter(tier=default.tier).exists():
            Policy.objects.create(
                tier=default.tier, version=1, required_roles=list(default.required_roles),
                min_approvers=default.min_approvers, recertify_days=default.recertify_days,
                approvable=default.approvable, note=default.note,
            )  # fmt: skip


def remove_policies(apps, schema_editor):
    apps.get_model("governance", "SignOffPolicy").objects.filter(version=1, created_by=None).delete()


def install_triggers(apps, schema_editor):
    from governance.audit import triggers as db_triggers

    db_triggers.install_signoff(schema_editor.connection)


def uninstall_triggers(apps, schema_editor):
    from governance.audit import triggers as db_triggers

    db_triggers.uninstall_signoff(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("governance", "0006_signoff"), ("core", "0003_compliance_role")]
    operations = [
        migrations.RunPython(create_policies, remove_policies),
        migrations.RunPython(install_triggers, uninstall_triggers),
    ]
