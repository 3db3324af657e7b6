"""The compliance officer / DPO persona: the second reviewer that high-risk sign-offs need."""

from django.db import migrations

NAME = "Compliance Officer"


def create_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=NAME)


def remove_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0002_roles")]
    operations = [migrations.RunPython(create_role, remove_role)]
