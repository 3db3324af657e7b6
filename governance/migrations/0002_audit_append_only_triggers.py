from django.db import migrations


def install(apps, schema_editor):
    from governance.audit import triggers as db_triggers

    db_triggers.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from governance.audit import triggers as db_triggers

    db_triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
