"""Restore a backup into a fresh database, then prove it: row counts and file digests against the
backup's manifest, and `verify_audit` over the restored audit chain. Exit 1 on any difference.

    createdb keel_restored && DATABASE_URL=postgres://…/keel_restored manage.py restore /backups/keel-2026-12-05
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore a backup (manage.py backup) into the configured, empty database and check it."

    def add_arguments(self, parser):
        parser.add_argument("source", help="the backup's folder")

    def handle(self, *args, source, **options):
        try:
            report = backup_restore(source=Path(source))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        for problem in report.mismatches:
            self.stderr.write(f"MISMATCH: {problem}")
        self.stdout.write(f"Restored {report.tables} tables, {report.rows} rows, {report.files} files.")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            self.stdout.write(f"{len(pending)} migrations newer than the backup: run manage.py migrate.")
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("verify_audit", stdout=out, stderr=err)
            audit_ok = True
        except SystemExit:
            audit_ok = False
        self.stdout.write(out.getvalue().strip())
        if err.getvalue().strip():
            self.stderr.write(err.getvalue().strip())
        if report.mismatches or not audit_ok:
            self.stderr.write("FAILED: the restore does not match the backup.")
            sys.exit(1)
        self.stdout.write("OK: rows, files and the audit chain match the backup.")
