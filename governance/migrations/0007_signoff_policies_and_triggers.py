"""The default sign-off policies (version 1 of each tier) and the decision triggers.

Defaults (issue #5): minimal and limited → one risk officer; high → a risk officer and a distinct
compliance officer / DPO, re-certified yearly; prohibited → never approvable. Admins publish new
versions; these rows are never edited.
"""

from django.db import migrations

DEFAULTS = [
    ("minimal", ["Risk Officer"], 1, None, True, "Default: one risk officer."),
    ("limited", ["Risk Officer"], 1, None, True, "Default: one risk officer."),
    ("high", ["Risk Officer", "Compliance Officer"], 2, 365, True,
     "Default: a risk officer and a distinct compliance officer / DPO; re-certified yearly."),
    ("prohibited", [], 1, None, False, "A prohibited system can never be approved (EU AI Act Art. 5)."),
]  # fmt: skip


def create_policies(apps, schema_editor):
    Policy = apps.get_model("governance", "SignOffPolicy")
    for tier, roles, approvers, recertify, approvable, note in DEFAULTS:
        if not Policy.objects.filter(tier=tier).exists():
            Policy.objects.create(
                tier=tier, version=1, required_roles=roles, min_approvers=approvers, recertify_days=recertify,
                approvable=approvable, note=note,
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
