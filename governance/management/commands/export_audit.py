"""Export the audit trail as a bundle an auditor verifies offline (governance/audit/export.py).

    manage.py export_audit --output audit-2026-q4 [--since 2026-10-01] [--until 2027-01-01] [--zip]

Then, anywhere, with only Python and `cryptography`:

    python audit-2026-q4/verify_audit_bundle.py audit-2026-q4 --public-key audit-key.pem
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from governance.audit.checkpoints import AuditKeyMissing, public_key_pem
from governance.audit.export import NothingToExport, export_bundle


def _when(text: str) -> dt.datetime:
    """A date (midnight UTC) or an ISO-8601 time (UTC unless it names an offset)."""
    value = parse_datetime(text)
    if value is None:
        day = parse_date(text)
        if day is None:
            raise CommandError(f"{text!r} is neither a date (2026-10-01) nor an ISO-8601 time.")
        value = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = "Write the audit trail (events, signed checkpoints, public key, verifier) as an offline-verifiable bundle."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="the bundle's folder (or .zip file with --zip)")
        parser.add_argument(
            "--print-public-key", action="store_true", help="print the audit public key (PEM) for auditors, and stop"
        )
        parser.add_argument("--since", help="first time included (a date or ISO-8601 time, UTC)")
        parser.add_argument("--until", help="first time excluded (a date or ISO-8601 time, UTC)")
        parser.add_argument("--zip", action="store_true", help="write one .zip file instead of a folder")

    def handle(self, *args, output=None, since=None, until=None, zip=False, print_public_key=False, **options):
        if print_public_key:
            try:
                self.stdout.write(public_key_pem().strip())
            except AuditKeyMissing as exc:
                raise CommandError(str(exc)) from exc
            return
        if not output:
            raise CommandError("--output is required: the bundle's folder (or .zip file with --zip).")
        try:
            summary = export_bundle(
                target=output,
                since=_when(since) if since else None,
                until=_when(until) if until else None,
                as_zip=zip,
            )
        except (NothingToExport, AuditKeyMissing) as exc:
            raise CommandError(str(exc)) from exc
        if summary.warning:
            self.stderr.write(f"WARNING: {summary.warning}")
        self.stdout.write(
            f"Exported {summary.events} events (seq {summary.first_seq}-{summary.last_seq}) and "
            f"{summary.checkpoints} checkpoints signed by audit key {summary.key_id} to {output}."
        )
