"""Backup and restore of a whole Keel: the database, the evidence files, the embedded demo's signing keys.

A backup is a folder (mode 0700: it holds personal data and, in the embedded mode, private keys):
  database.dump     PostgreSQL: `pg_dump -Fc`, taken in the same snapshot the row counts were read in
  database.sqlite3  SQLite: a copy by the online backup API (never a raw copy of a live WAL database)
  files/media/...   the uploaded evidence files (MEDIA_ROOT)
  files/keys/...    the signing-key files under var/ (the demo's; production keys come from the environment)
  manifest.json     format, vendor, when, the row count of every table, the SHA-256 of every file

A restore goes into a fresh, empty database (the one DATABASE_URL names, created beforehand, or a SQLite
file that does not exist yet) and an empty MEDIA_ROOT, then checks what it restored against the manifest:
row counts and file digests. The management commands add `verify_audit` on top (core cannot import it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

FORMAT = "keel-backup-v1"
MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
MEDIA = "files/media"
KEYS = "files/keys"
# The key files Keel makes under var/ in the embedded mode (a production key is an environment variable).
KEY_FILE_SETTINGS = ("KEEL_GATE_SIGNING_KEY_FILE", "KEEL_AUDIT_SIGNING_KEY_FILE")

NOT_EMPTY = "Refusing to restore into a database that already has tables ({tables}): restore into a fresh one."
WRONG_VENDOR = "This backup is of a {backup} database; the configured database is {configured}."
NOT_A_BACKUP = "{path} is not a Keel backup (no {manifest} of format {format})."
FILE_CLASH = "Refusing to overwrite {path}: it exists and differs from the backup's copy."


class BackupError(Exception):
    """A backup or restore that cannot be done as asked; the message says why."""


@dataclass
class RestoreReport:
    tables: int = 0
    rows: int = 0
    files: int = 0
    mismatches: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tables() -> list[str]:
    return sorted(connection.introspection.table_names())


def _count_rows(cursor, tables: list[str]) -> dict[str, int]:
    quote = connection.ops.quote_name
    counts = {}
    for table in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608 - names from introspection
        counts[table] = cursor.fetchone()[0]
    return counts


def _pg_env_args() -> tuple[dict[str, str], list[str]]:
    """pg_dump/pg_restore's connection arguments for the configured database (password through the env)."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    args = []
    if db.get("HOST"):
        args += ["-h", str(db["HOST"])]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    if db.get("USER"):
        args += ["-U", str(db["USER"])]
    return env, args


def _tool(name: str) -> str:
    """A PostgreSQL client program (same major version as the server or newer), from PATH."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client tools.")
    return path


def _dump_postgresql(out: Path) -> dict[str, int]:
    """pg_dump in the snapshot the row counts are read in, so the manifest describes exactly the dump. The
    snapshot is taken on a connection of its own: never inside a transaction the caller has open."""
    import psycopg  # only on PostgreSQL

    env, args = _pg_env_args()
    own = connection.get_new_connection(connection.get_connection_params())
    try:
        own.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with own.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            counts = _count_rows(cur, _tables())
            subprocess.run(  # noqa: S603 - fixed program, arguments from settings
                [_tool("pg_dump"), "-Fc", f"--snapshot={snapshot}", "-f", str(out), *args,
                 settings.DATABASES["default"]["NAME"]],
                env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
        own.rollback()
    finally:
        own.close()
    return counts


def _dump_sqlite(out: Path) -> dict[str, int]:
    """The online backup API copies a consistent image even while web and worker write (WAL). It reads
    through a connection of its own: SQLite cannot back up from a connection with a write open (Django's,
    inside a transaction) and would retry for ever."""
    name = str(settings.DATABASES["default"]["NAME"])
    if name == ":memory:" or name.startswith("file::memory:"):
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    source = sqlite3.connect(f"{Path(name).resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(out)
    try:
        source.backup(target)
        tables = [
            row[0]
            for row in target.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        counts = {t: target.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in sorted(tables)}  # noqa: S608
    finally:
        source.close()
        target.close()
    return counts


def _key_files() -> dict[str, Path]:
    return {name: Path(getattr(settings, name)) for name in KEY_FILE_SETTINGS if getattr(settings, name, "")}


def backup_create(*, output: Path) -> dict:
    """Write a backup to the folder `output` (which must not exist yet); its manifest."""
    output = Path(output)
    if output.exists():
        raise BackupError(f"{output} already exists: give a new folder for the backup.")
    output.mkdir(parents=True, mode=0o700)
    vendor = connection.vendor
    if vendor == "postgresql":
        counts = _dump_postgresql(output / PG_DUMP)
    elif vendor == "sqlite":
        counts = _dump_sqlite(output / SQLITE_COPY)
    else:  # pragma: no cover - Keel runs on these two
        raise BackupError(f"No backup for a {vendor} database.")
    media = Path(settings.MEDIA_ROOT)
    if media.is_dir():
        shutil.copytree(media, output / MEDIA)
    keys = {}
    for name, path in _key_files().items():
        if path.is_file():
            (output / KEYS).mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copy2(path, output / KEYS / name)
            keys[name] = f"{KEYS}/{name}"
    files = {
        str(p.relative_to(output)): _sha256(p)
        for p in sorted((output / "files").rglob("*"))
        if p.is_file()
    }  # fmt: skip
    manifest = {
        "format": FORMAT,
        "vendor": vendor,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "database": {"file": PG_DUMP if vendor == "postgresql" else SQLITE_COPY},
        "row_counts": counts,
        "files": files,
        "keys": keys,
    }
    manifest["database"]["sha256"] = _sha256(output / manifest["database"]["file"])
    (output / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(source: Path) -> dict:
    path = Path(source) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(NOT_A_BACKUP.format(path=source, manifest=MANIFEST, format=FORMAT)) from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(NOT_A_BACKUP.format(path=source, manifest=MANIFEST, format=FORMAT))
    return manifest


def _restore_postgresql(dump: Path) -> None:
    env, args = _pg_env_args()
    connection.close()
    result = subprocess.run(  # noqa: S603 - fixed program, arguments from settings
        [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "-d",
         settings.DATABASES["default"]["NAME"], *args, str(dump)],
        env=env, check=False, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[-2000:]}")


def _restore_sqlite(copy: Path) -> None:
    connection.close()
    target = sqlite3.connect(settings.DATABASES["default"]["NAME"])
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _place(src: Path, dest: Path) -> bool:
    """Copy src to dest unless an identical file is there; refuse to overwrite a different one."""
    if dest.exists():
        if _sha256(dest) != _sha256(src):
            raise BackupError(FILE_CLASH.format(path=dest))
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)
    return True


def backup_restore(*, source: Path) -> RestoreReport:
    """Restore the backup in `source` into the configured (fresh) database and MEDIA_ROOT, then compare the
    restored rows and files with the manifest; the report lists every difference."""
    source = Path(source)
    manifest = read_manifest(source)
    if manifest["vendor"] != connection.vendor:
        raise BackupError(WRONG_VENDOR.format(backup=manifest["vendor"], configured=connection.vendor))
    if existing := _tables():
        raise BackupError(NOT_EMPTY.format(tables=", ".join(existing[:5]) + (", …" if len(existing) > 5 else "")))
    report = RestoreReport()
    database = source / manifest["database"]["file"]
    if _sha256(database) != manifest["database"]["sha256"]:
        report.mismatches.append(f"{database.name}: its SHA-256 differs from the manifest's")
        return report
    if connection.vendor == "postgresql":
        _restore_postgresql(database)
    else:
        _restore_sqlite(database)
    media = Path(settings.MEDIA_ROOT)
    keys = {f"{KEYS}/{name}": path for name, path in _key_files().items()}
    for relative, digest in manifest["files"].items():
        src = source / relative
        if not src.is_file() or _sha256(src) != digest:
            report.mismatches.append(f"{relative}: missing from the backup or altered")
            continue
        dest = keys.get(relative) or media / Path(relative).relative_to(MEDIA)
        _place(src, dest)
        if _sha256(dest) != digest:
            report.mismatches.append(f"{relative}: the restored copy differs")
        report.files += 1
    with connection.cursor() as cur:
        counts = _count_rows(cur, _tables())
    for table, expected in manifest["row_counts"].items():
        if counts.get(table) != expected:
            report.mismatches.append(f"table {table}: {counts.get(table)} rows restored, {expected} backed up")
    report.tables, report.rows = len(counts), sum(counts.values())
    return report
