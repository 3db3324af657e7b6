"""Give every existing finding its due date: opened_at + KEEL_FINDING_DUE_DAYS[severity]."""

import datetime as dt

from django.conf import settings
from django.db import migrations

# The defaults of config/settings.py, should the setting be missing when this runs.
DEFAULT_DUE_DAYS = {"critical": 7, "high": 14, "medium": 30, "low": 90}


def fill_due_at(apps, schema_editor):
    Finding = apps.get_model("governance", "Finding")
    days = getattr(settings, "KEEL_FINDING_DUE_DAYS", DEFAULT_DUE_DAYS)
    longest = max(days.values())
    for severity in Finding.objects.filter(due_at__isnull=True).values_list("severity", flat=True).distinct():
        delay = dt.timedelta(days=days.get(severity, longest))
        # One UPDATE per row would be slow on a large table, but opened_at differs per row; batch by pk.
        rows = Finding.objects.filter(due_at__isnull=True, severity=severity).only("pk", "opened_at")
        batch = []
        for finding in rows.iterator(chunk_size=1000):
            finding.due_at = finding.opened_at + delay
            batch.append(finding)
            if len(batch) >= 1000:
                Finding.objects.bulk_update(batch, ["due_at"])
                batch = []
        if batch:
            Finding.objects.bulk_update(batch, ["due_at"])


class Migration(migrations.Migration):
    dependencies = [("governance", "0011_finding_due_at_risk_acceptance_expiry")]

    operations = [migrations.RunPython(fill_due_at, migrations.RunPython.noop)]
