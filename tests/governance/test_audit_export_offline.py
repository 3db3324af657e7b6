"""The offline-verifiable audit export: `manage.py export_audit` writes a bundle, and the stand-alone
verifier shipped in it accepts it intact and rejects, naming the event, an altered, deleted, inserted or
reordered event and a checkpoint signed by another key.

The verifier runs as a separate process (`python -S`, so no site-packages) whose path holds only the
bundle and the `cryptography` package: Django is not importable there, which the first test proves.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.urls import reverse

from core.roles import Role
from governance.audit import bundle_verifier as bv
from governance.audit import chain, checkpoints, hashing
from governance.models import GENESIS_HASH, AuditCheckpoint
from governance.tasks import sign_audit_checkpoint
from tests.factories import make_user

from .conftest import raw_update

pytestmark = pytest.mark.usefixtures("five_events")


@pytest.fixture(scope="module")
def crypto_only_path(tmp_path_factory) -> Path:
    """A folder holding only `cryptography` and the cffi backend it loads: the auditor's Python path."""
    site = tmp_path_factory.mktemp("crypto-only")
    for name in ("cryptography", "cffi", "_cffi_backend"):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if spec.submodule_search_locations else origin
        (site / source.name).symlink_to(source, target_is_directory=source.is_dir())
    return site


def run_isolated(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-S", *args],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def export(tmp_path: Path, *extra: str) -> Path:
    bundle = tmp_path / "bundle"
    call_command("export_audit", "--output", str(bundle), *extra, stdout=io.StringIO())
    return bundle


def verify(bundle: Path, site: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_isolated([str(bundle / bv.VERIFIER_FILE), str(bundle), *extra], site, bundle.parent)


def lines(bundle: Path, name: str = bv.EVENTS_FILE) -> list[str]:
    return (bundle / name).read_text().splitlines(keepends=True)


def rewrite(bundle: Path, new_lines: list[str], name: str = bv.EVENTS_FILE) -> None:
    (bundle / name).write_text("".join(new_lines))


def assert_rejected(result: subprocess.CompletedProcess, seq: int, problem: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAILED at seq {seq}: {problem}" in result.stderr


def test_the_verifier_imports_only_the_standard_library_and_cryptography():
    tree = ast.parse(Path(bv.__file__).read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported - sys.stdlib_module_names - {"__future__"} == {"cryptography"}


def test_keel_hashes_with_the_verifiers_code(five_events):
    """One home for the rule: Keel's append and verify paths use the very functions the verifier runs."""
    assert hashing.compute_hash is bv.compute_hash is chain.compute_hash
    assert hashing.canonical_json is bv.canonical_json
    assert GENESIS_HASH == bv.GENESIS_HASH
    prev = GENESIS_HASH
    for event in five_events:
        assert bv.compute_hash(prev, hashing.event_fields(event)) == event.hash
        prev = event.hash


def test_an_intact_export_verifies_in_a_process_without_django(tmp_path, crypto_only_path):
    bundle = export(tmp_path)
    no_django = run_isolated(["-c", "import django"], crypto_only_path, tmp_path)
    assert no_django.returncode == 1
    assert "No module named 'django'" in no_django.stderr
    with_key = tmp_path / "audit-key.pem"
    with_key.write_text(checkpoints.public_key_pem())
    result = verify(bundle, crypto_only_path, "--public-key", str(with_key))
    assert result.returncode == 0, result.stderr
    kid = checkpoints.key_id()
    assert result.stdout.strip() == f"OK: 5 events (seq 1-5) intact; 1 checkpoints signed by key {kid}."
    assert [json.loads(line)["seq"] for line in lines(bundle)] == [1, 2, 3, 4, 5]
    assert AuditCheckpoint.objects.get().seq == 5


def test_a_zip_export_verifies_and_the_bundle_carries_the_verifier_keel_hashes_with(tmp_path, crypto_only_path):
    target = tmp_path / "audit.zip"
    call_command("export_audit", "--output", str(target), "--zip", stdout=io.StringIO())
    with zipfile.ZipFile(target) as archive:
        assert archive.read(bv.VERIFIER_FILE) == Path(bv.__file__).read_bytes()
        (tmp_path / bv.VERIFIER_FILE).write_bytes(archive.read(bv.VERIFIER_FILE))
    result = run_isolated([bv.VERIFIER_FILE, str(target)], crypto_only_path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "used the bundle's own public key" in result.stderr


def test_an_altered_event_is_rejected_naming_it(tmp_path, crypto_only_path):
    bundle = export(tmp_path)
    events = lines(bundle)
    doc = json.loads(events[2])
    doc["after"] = {"horizon_months": 240}
    events[2] = json.dumps(doc) + "\n"
    rewrite(bundle, events)
    assert_rejected(verify(bundle, crypto_only_path), 3, bv.ALTERED.format(seq=3))


def test_a_deleted_event_is_rejected_naming_it(tmp_path, crypto_only_path):
    bundle = export(tmp_path)
    events = lines(bundle)
    rewrite(bundle, events[:3] + events[4:])
    assert_rejected(verify(bundle, crypto_only_path), 4, bv.DELETED.format(seq=4))


def test_an_inserted_event_is_rejected_naming_it(tmp_path, crypto_only_path):
    """A forged event with a correct hash for its place, and the later events renumbered after it."""
    bundle = export(tmp_path)
    events = [json.loads(line) for line in lines(bundle)]
    forged = dict(events[2], action="project.deleted", prev_hash=events[2]["hash"], seq=4)
    forged["hash"] = bv.compute_hash(forged["prev_hash"], {k: forged[k] for k in bv.HASHED_FIELDS})
    renumbered = [dict(e, seq=e["seq"] + 1) for e in events[3:]]
    rewrite(bundle, [json.dumps(e) + "\n" for e in [*events[:3], forged, *renumbered]])
    assert_rejected(verify(bundle, crypto_only_path), 5, bv.UNLINKED.format(seq=5))


def test_reordered_events_are_rejected_naming_them(tmp_path, crypto_only_path):
    bundle = export(tmp_path)
    events = lines(bundle)
    events[1], events[2] = events[2], events[1]
    rewrite(bundle, events)
    assert_rejected(verify(bundle, crypto_only_path), 3, bv.REORDERED.format(seq=3, expected=2))


def test_a_checkpoint_signed_by_another_key_is_rejected(tmp_path, crypto_only_path):
    bundle = export(tmp_path)
    other = Ed25519PrivateKey.generate()
    cp = json.loads(lines(bundle, bv.CHECKPOINTS_FILE)[0])
    cp["signature"] = base64.b64encode(other.sign(bv.checkpoint_message(cp["seq"], cp["hash"], cp["signed_at"])))
    cp["signature"] = cp["signature"].decode()
    rewrite(bundle, [json.dumps(cp) + "\n"], bv.CHECKPOINTS_FILE)
    assert_rejected(verify(bundle, crypto_only_path), 5, bv.OTHER_KEY.format(seq=5, kid=checkpoints.key_id()))


def test_a_bundle_re_signed_with_another_key_fails_against_keels_public_key(tmp_path, crypto_only_path):
    """The bundle's own key can be swapped with its checkpoints; the key the auditor got from Keel cannot."""
    bundle = export(tmp_path)
    keel_key = tmp_path / "keel-audit-key.pem"
    keel_key.write_text(checkpoints.public_key_pem())
    other = Ed25519PrivateKey.generate()
    (bundle / bv.PUBLIC_KEY_FILE).write_bytes(
        other.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    result = verify(bundle, crypto_only_path, "--public-key", str(keel_key))
    assert result.returncode == 1
    assert f"is not the given key {checkpoints.key_id()}" in result.stderr


@pytest.mark.usefixtures("triggers_lifted")
def test_a_row_altered_in_the_database_after_a_checkpoint_fails_in_the_export(tmp_path, crypto_only_path):
    """Someone with write access rewrites event 3 and re-hashes the chain after it: the checkpoint signed
    before still holds the old head, so no new checkpoint is signed and the export's verifier names it."""
    call_command("export_audit", "--output", str(tmp_path / "first"), stdout=io.StringIO())
    raw_update(3, after={"horizon_months": 240})
    prev = None
    for event in chain.AuditEvent.objects.order_by("seq"):
        if event.seq >= 3:
            new_hash = bv.compute_hash(prev, hashing.event_fields(event))
            raw_update(event.seq, prev_hash=prev, hash=new_hash)
            prev = new_hash
        else:
            prev = event.hash
    err = io.StringIO()
    call_command("export_audit", "--output", str(tmp_path / "bundle"), stdout=io.StringIO(), stderr=err)
    assert "No checkpoint signed: the audit chain breaks at seq 5" in err.getvalue()
    assert_rejected(verify(tmp_path / "bundle", crypto_only_path), 5, bv.REWRITTEN.format(seq=5))


def test_since_and_until_export_a_covered_slice(tmp_path, crypto_only_path, five_events):
    since = five_events[1].occurred_at.isoformat()
    until = five_events[3].occurred_at.isoformat()
    bundle = export(tmp_path, "--since", since, "--until", until)
    assert [json.loads(line)["seq"] for line in lines(bundle)] == [2, 3]
    result = verify(bundle, crypto_only_path)
    assert result.returncode == 0, result.stderr
    assert "OK: 2 events (seq 2-3) intact; 1 checkpoints" in result.stdout


def test_the_worker_signs_the_head_once_until_it_moves(five_events):
    assert sign_audit_checkpoint() == 5
    assert sign_audit_checkpoint() is None
    cp = AuditCheckpoint.objects.get()
    assert (cp.seq, cp.hash, cp.key_id) == (5, five_events[-1].hash, checkpoints.key_id())
    message = bv.checkpoint_message(cp.seq, cp.hash, cp.signed_at)
    checkpoints.public_key().verify(base64.b64decode(cp.signature), message)  # raises if it does not hold


def test_the_beat_schedule_signs_checkpoints_at_the_configured_interval(settings):
    from config.celery import app

    entry = app.conf.beat_schedule["keel-sign-audit-checkpoint"]
    assert entry["task"] == "governance.tasks.sign_audit_checkpoint"
    assert entry["schedule"] == float(settings.KEEL_AUDIT_CHECKPOINT_SECONDS)


def test_the_audit_page_offers_the_bundle_to_audit_readers_only(client, tmp_path):
    officer = make_user("officer", Role.RISK_OFFICER)
    client.force_login(officer)
    page = client.get(reverse("governance:audit"))
    assert reverse("governance:audit-bundle").encode() in page.content
    assert checkpoints.key_id().encode() in page.content
    response = client.get(reverse("governance:audit-bundle"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    target = tmp_path / "download.zip"
    target.write_bytes(b"".join(response.streaming_content))
    result = bv.verify_bundle(target, checkpoints.public_key_pem().encode())
    assert (result.ok, result.events, result.problem) == (True, 5, "")
    client.force_login(make_user("lead", Role.TEAM_LEAD))
    assert client.get(reverse("governance:audit-bundle")).status_code == 403


def test_the_worker_signs_nothing_without_a_key_and_says_why(settings, caplog):
    settings.EMBEDDED, settings.KEEL_AUDIT_SIGNING_KEY = False, ""
    assert sign_audit_checkpoint() is None
    assert checkpoints.NO_KEY in caplog.text
    assert not AuditCheckpoint.objects.exists()
