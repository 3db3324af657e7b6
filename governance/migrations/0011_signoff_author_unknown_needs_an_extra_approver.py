"""A request whose version's author is unknown needs one more distinct approver (governance/signoff/
eligibility.py), who may approve in a role someone already filled: the one-approval-per-role constraint
goes (the service keeps that rule for required roles, under the request's row lock).

SQLite rebuilds both tables to change them, and its separation-of-duties triggers name them: they are
dropped first and installed again after, as 0007 installed them."""

from django.db import migrations, models


def install_triggers(apps, schema_editor):
    from governance.audit import triggers as db_triggers

    db_triggers.install_signoff(schema_editor.connection)


def uninstall_triggers(apps, schema_editor):
    from governance.audit import triggers as db_triggers

    db_triggers.uninstall_signoff(schema_editor.connection)


def requests_of_versions_without_author(apps, schema_editor):
    """Requests made before Keel knew this: a version whose registry named nobody has an unknown author."""
    SignOffRequest = apps.get_model("governance", "SignOffRequest")
    SignOffRequest.objects.filter(version_author__isnull=True, model_version__created_by="").update(
        author_unknown=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0010_finding_kinds_unowned_model_acceptance_expired"),
    ]

    operations = [
        migrations.RunPython(uninstall_triggers, install_triggers),
        migrations.RemoveConstraint(
            model_name="signoffdecision",
            name="signoffdecision_one_approval_per_role",
        ),
        migrations.AddField(
            model_name="signoffrequest",
            name="author_unknown",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(requests_of_versions_without_author, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, uninstall_triggers),
    ]
