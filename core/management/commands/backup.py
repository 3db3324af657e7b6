"""Back up Keel: the database (pg_dump -Fc, or SQLite's online backup API), the evidence files and the
embedded demo's signing keys, with a manifest of row counts and file digests (core/backup.py).

    manage.py backup --output /backups/keel-2026-12-05
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database, the evidence files and the demo's key files into a new folder."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="a new folder (default: var/backups/keel-<UTC time>)")

    def handle(self, *args, output=None, **options):
        if not output:
            output = Path(settings.VAR_DIR) / "backups" / f"keel-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
        try:
            manifest = backup_create(output=Path(output))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        except subprocess.CalledProcessError as exc:
            raise CommandError(f"pg_dump failed: {exc.stderr.strip()[-2000:]}") from exc
        rows = sum(manifest["row_counts"].values())
        self.stdout.write(
            f"Backed up {manifest['vendor']}: {len(manifest['row_counts'])} tables, {rows} rows, "
            f"{len(manifest['files'])} files to {output}."
        )
