"""The backup and restore drill: seed, `manage.py backup`, restore into a fresh database with `manage.py
restore` (a separate process, as an operator runs it), and prove the restore: row counts and evidence files
match the backup, `verify_audit` passes, a gate token signed before the backup still verifies, and the audit
key still signs and verifies (an export of the restored trail passes the stand-alone verifier with the
public key taken before the backup).

One variant per database: PostgreSQL (pg_dump -Fc / pg_restore into a new database next to the test
database) and SQLite (the online backup API into a new file under tmp_path).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection

from governance.audit import bundle_verifier as bv
from governance.audit import checkpoints
from governance.signoff import tokens
from projects.inventory import services
from tests.commands import manage_py
from tests.factories import make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_keys_and_files(settings, tmp_path):
    """The evidence files and the demo's key files under tmp_path, never the shared var/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.KEEL_GATE_SIGNING_KEY = ""
    settings.KEEL_AUDIT_SIGNING_KEY = ""
    settings.KEEL_GATE_SIGNING_KEY_FILE = str(tmp_path / "keys" / "gate.pem")
    settings.KEEL_AUDIT_SIGNING_KEY_FILE = str(tmp_path / "keys" / "audit.pem")
    tokens._private_key.cache_clear()
    yield
    tokens._private_key.cache_clear()


def seed() -> tuple[str, str]:
    """A team, a project and its changes (audited), an evidence file, a checkpoint; a gate token and the
    audit public key as a pipeline and an auditor would have kept them before the backup."""
    owner = make_user("owner")
    team = services.team_create(by=None, name="Claims", lead=owner)
    project = services.project_create(by=None, name="Fraud scoring", purpose="Flags claims.", team=team, owner=owner)
    services.project_update(by=None, project=project, horizon_months=24)
    default_storage.save("evidence/2026/12/dpia.pdf", ContentFile(b"%PDF-1.4 the DPIA\n"))
    default_storage.save("evidence/2026/12/legal-basis.txt", ContentFile("Art. 6(1)(f) — légitime".encode()))
    assert checkpoints.checkpoint_sign() is not None
    token = tokens.sign({"allowed": True, "model": "fraud", "version": "7", "env": "production"})
    return token, checkpoints.public_key_pem()


def restored_env(tmp_path: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "KEEL_MEDIA_ROOT")}
    var = tmp_path / "restored-var"
    env |= {
        "KEEL_EMBEDDED": "true",
        "KEEL_VAR_DIR": str(var),
        "KEEL_MEDIA_ROOT": str(var / "media"),
        "KEEL_GATE_SIGNING_KEY": "",
        "KEEL_AUDIT_SIGNING_KEY": "",
        "KEEL_GATE_SIGNING_KEY_FILE": str(var / "gate.pem"),
        "KEEL_AUDIT_SIGNING_KEY_FILE": str(var / "audit.pem"),
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def drill(tmp_path: Path, database_url: str | None) -> None:
    token, audit_public_pem = seed()
    backup = tmp_path / "backup"
    call_command("backup", "--output", str(backup))
    env = restored_env(tmp_path, database_url)

    restored = manage_py("restore", str(backup), env=env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "OK: audit chain intact, 3 events verified." in restored.stdout
    assert "OK: rows, files and the audit chain match the backup." in restored.stdout
    assert "MISMATCH" not in restored.stderr
    media = Path(env["KEEL_MEDIA_ROOT"])
    assert (media / "evidence/2026/12/dpia.pdf").read_bytes() == b"%PDF-1.4 the DPIA\n"
    assert (media / "evidence/2026/12/legal-basis.txt").read_text() == "Art. 6(1)(f) — légitime"

    gate = manage_py("verify_gate_token", token, env=env)
    assert gate.returncode == 0, gate.stderr
    assert "VALID signature" in gate.stdout

    bundle = tmp_path / "bundle"
    exported = manage_py("export_audit", "--output", str(bundle), env=env)
    assert exported.returncode == 0, exported.stderr
    key = tmp_path / "audit-key-before-backup.pem"
    key.write_text(audit_public_pem)
    verified = subprocess.run(
        [sys.executable, str(bundle / bv.VERIFIER_FILE), str(bundle), "--public-key", str(key)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK: 3 events (seq 1-3) intact; 1 checkpoints")

    # Never over live data: the seeded test database (in-process, sparing a process start) is refused.
    with pytest.raises(CommandError, match="Refusing to restore into a database that already has tables"):
        call_command("restore", str(backup))


@pytest.mark.postgres_only
@pytest.mark.usefixtures("own_keys_and_files")
def test_the_drill_passes_on_postgresql(tmp_path):
    db = connection.settings_dict
    fresh = f"{db['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{fresh}"')
    try:
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        drill(tmp_path, f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{fresh}")
    finally:
        with connection.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')


@pytest.mark.sqlite_only
@pytest.mark.usefixtures("own_keys_and_files")
def test_the_drill_passes_on_sqlite(tmp_path):
    drill(tmp_path, None)


@pytest.mark.sqlite_only
@pytest.mark.usefixtures("own_keys_and_files")
def test_a_restore_that_differs_from_its_backup_fails_naming_what_differs(tmp_path):
    """The checks can fail: an evidence file altered in the backup and a row count the restore cannot match.
    (Vendor-independent code after the database step; run on SQLite only, which needs no second database.)"""
    seed()
    backup = tmp_path / "backup"
    call_command("backup", "--output", str(backup))
    (backup / "files/media/evidence/2026/12/dpia.pdf").write_bytes(b"%PDF-1.4 another DPIA\n")
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["row_counts"]["governance_auditevent"] += 1
    (backup / "manifest.json").write_text(json.dumps(manifest))
    restored = manage_py("restore", str(backup), env=restored_env(tmp_path, None))
    assert restored.returncode == 1
    assert "MISMATCH: files/media/evidence/2026/12/dpia.pdf: missing from the backup or altered" in restored.stderr
    assert "MISMATCH: table governance_auditevent: 3 rows restored, 4 backed up" in restored.stderr
    assert "FAILED: the restore does not match the backup." in restored.stderr
