from django.db import migrations


def install(apps, schema_editor):
    from governance.audit import triggers as db_triggers

    # Re-installing is idempotent (DROP IF EXISTS + CREATE); on PostgreSQL it adds the TRUNCATE trigger.
    db_triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("governance", "0002_audit_append_only_triggers")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
