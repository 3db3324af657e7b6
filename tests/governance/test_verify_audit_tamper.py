"""`manage.py verify_audit` against a database owner who drops the append-only triggers and edits rows.

Each tampering must make the command exit 1 and name the first seq where the chain breaks; the signed
chain head catches what the chain alone cannot (cut-off newest rows, appended or re-hashed rows).
"""

from __future__ import annotations

import io
import os
import subprocess
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from governance.audit import triggers as db_triggers
from governance.audit.chain import compute_hash, event_fields, head_mac
from governance.models import AuditChainHead, AuditEvent
from projects.inventory import services
from projects.models import AIProject
from tests.commands import manage_py

from .conftest import chain, forged_event, raw_delete, raw_insert, raw_update

pytestmark = pytest.mark.usefixtures("five_events", "triggers_lifted")


def verify_audit() -> tuple[int, str, str]:
    """Run the command in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def assert_fails_at(seq: int, problem: str) -> None:
    code, out, err = verify_audit()
    assert code == 1
    assert out == ""
    assert err.startswith(f"FAILED at seq {seq}: ")
    assert problem in err


def test_an_intact_chain_exits_zero_and_says_ok():
    code, out, err = verify_audit()
    assert code == 0
    assert out.strip() == "OK: audit chain intact, 5 events verified."
    assert err == ""


def test_an_altered_after_payload_is_caught_at_its_seq():
    raw_update(3, after={"horizon_months": 240})
    assert_fails_at(3, "hash does not match the row's content (row altered)")


def test_an_altered_action_is_caught_at_its_seq():
    raw_update(2, action="project.deleted")
    assert_fails_at(2, "row altered")


def test_an_altered_actor_is_caught_at_its_seq():
    raw_update(4, actor_repr="someone-else")
    assert_fails_at(4, "row altered")


def test_an_altered_timestamp_is_caught_at_its_seq(five_events):
    raw_update(1, occurred_at=five_events[0].occurred_at.replace(year=2020))
    assert_fails_at(1, "row altered")


def test_a_deleted_middle_row_is_caught_at_the_missing_seq():
    raw_delete(3)
    assert_fails_at(3, "seq 3 is missing (row deleted)")


def test_a_deleted_first_row_is_caught_at_seq_one():
    raw_delete(1)
    assert_fails_at(1, "seq 1 is missing")


def test_a_deleted_newest_row_is_caught_by_the_signed_head():
    raw_delete(5)
    assert_fails_at(5, "seq 5 is missing (newest rows deleted)")


def test_the_two_newest_rows_deleted_are_caught_at_the_first_missing_seq():
    raw_delete(5)
    raw_delete(4)
    assert_fails_at(4, "newest rows deleted")


def test_a_row_appended_with_a_made_up_hash_is_caught_at_its_seq(five_events):
    raw_insert(forged_event(seq=6, prev_hash=five_events[-1].hash, recompute=False))
    assert_fails_at(6, "row altered")


def test_a_row_appended_with_a_made_up_link_is_caught_at_its_seq():
    raw_insert(forged_event(seq=6, prev_hash="a" * 64))
    assert_fails_at(6, "prev_hash does not match")


def test_a_row_appended_with_a_correctly_recomputed_hash_is_caught_by_the_signed_head(five_events):
    forged = forged_event(seq=6, prev_hash=five_events[-1].hash)
    assert forged.hash == compute_hash(five_events[-1].hash, event_fields(forged))
    raw_insert(forged)
    assert_fails_at(6, "rows after the signed head (rows inserted)")


def test_a_row_inserted_mid_chain_with_every_later_hash_recomputed_is_caught_by_the_signed_head(five_events):
    """The privileged attacker: insert at seq 3, renumber and re-hash everything after it."""
    for event in reversed(five_events[2:]):
        raw_delete(event.seq)
    prev = five_events[1].hash
    inserted = forged_event(seq=3, prev_hash=prev)
    rewritten = [inserted]
    for old in five_events[2:]:
        prev = rewritten[-1].hash
        moved = AuditEvent(**{f.attname: getattr(old, f.attname) for f in AuditEvent._meta.concrete_fields})
        moved.seq, moved.prev_hash = old.seq + 1, prev
        moved.hash = compute_hash(prev, event_fields(moved))
        rewritten.append(moved)
    for event in rewritten:
        raw_insert(event)
    assert [e.seq for e in chain()] == [1, 2, 3, 4, 5, 6]
    # Every link and hash is right, so only the signed head (seq 5) shows that seq 6 is not genuine.
    assert_fails_at(6, "rows after the signed head")


def test_an_altered_row_with_every_later_hash_recomputed_is_caught_at_the_newest_seq(five_events):
    """Same length, every link valid: the newest hash no longer matches the signed head."""
    prev = five_events[1].hash
    for old in five_events[2:]:
        raw_delete(old.seq)
    for old in five_events[2:]:
        event = AuditEvent(**{f.attname: getattr(old, f.attname) for f in AuditEvent._meta.concrete_fields})
        if event.seq == 3:
            event.after = {"horizon_months": 240}
        event.prev_hash = prev
        event.hash = compute_hash(prev, event_fields(event))
        raw_insert(event)
        prev = event.hash
    assert_fails_at(5, "the newest row differs from the signed head")


def test_two_rows_with_swapped_seq_are_caught_at_the_lower_seq():
    raw_update(2, seq=1000)
    raw_update(4, seq=2)
    raw_update(1000, seq=4)
    assert [e.action for e in chain()][:4] == [
        "team.created",
        "project.stage_changed",
        "project.updated",
        "project.created",
    ]
    assert_fails_at(2, "prev_hash does not match the previous row (row inserted or reordered)")


def test_two_adjacent_rows_with_swapped_content_are_caught_at_the_first_of_them(five_events):
    third, fourth = five_events[2], five_events[3]
    raw_delete(3)
    raw_delete(4)
    for event, seq in ((fourth, 3), (third, 4)):
        event.seq = seq
        raw_insert(event)
    assert_fails_at(3, "prev_hash does not match")


def test_a_forged_chain_head_without_a_valid_mac_is_caught(five_events):
    """Cut off the newest row and move the head back to seq 4: the attacker cannot sign it."""
    raw_delete(5)
    AuditChainHead.objects.filter(pk=1).update(seq=4, hash=five_events[3].hash, mac="0" * 64)
    assert_fails_at(4, "the chain head's signature is invalid (head forged)")


def test_a_chain_head_signed_with_another_key_is_caught(five_events):
    raw_delete(5)
    forged_mac = head_mac(4, five_events[3].hash, secret="not-the-server-key")
    AuditChainHead.objects.filter(pk=1).update(seq=4, hash=five_events[3].hash, mac=forged_mac)
    assert_fails_at(4, "head forged")


def test_a_chain_head_with_an_edited_seq_but_the_old_mac_is_caught():
    AuditChainHead.objects.filter(pk=1).update(seq=6)
    assert_fails_at(6, "head forged")


def test_a_deleted_chain_head_is_caught_at_the_newest_seq():
    AuditChainHead.objects.all().delete()
    assert_fails_at(5, "the signed chain head is missing")


def test_a_chain_head_signed_with_a_rotated_out_fallback_key_is_still_accepted(settings, five_events):
    """Rotating SECRET_KEY (old key kept in SECRET_KEY_FALLBACKS) must not make an honest trail fail."""
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "n" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert verify_audit()[0] == 0
    settings.SECRET_KEY_FALLBACKS = []
    assert verify_audit()[0] == 1


def test_the_first_of_several_tamperings_is_the_one_named():
    raw_update(4, action="project.deleted")
    raw_update(2, after={"name": "changed"})
    assert_fails_at(2, "row altered")


# --- the real command, as an operator runs it ---------------------------------------------------------


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


def run_manage_py_verify_audit() -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SECRET_KEY": settings.SECRET_KEY}
    return manage_py("verify_audit", env=env)


@pytest.mark.django_db(transaction=True)
def test_manage_py_verify_audit_as_a_subprocess_exits_0_then_1_after_tampering(five_events):
    intact = run_manage_py_verify_audit()
    assert intact.returncode == 0, intact.stderr
    assert "OK: audit chain intact, 5 events verified." in intact.stdout

    services.project_update(by=None, project=AIProject.objects.get(), horizon_months=12)
    assert "6 events verified" in run_manage_py_verify_audit().stdout

    raw_update(3, action="project.deleted")  # committed: this test runs outside a transaction
    tampered = run_manage_py_verify_audit()
    assert tampered.returncode == 1
    assert "FAILED at seq 3: hash does not match the row's content (row altered)" in tampered.stderr


def test_the_triggers_fixture_really_lifts_the_triggers():
    """Sanity check of the tamper set-up: with the triggers dropped a raw UPDATE goes through."""
    raw_update(1, actor_repr="x")
    assert AuditEvent.objects.get(seq=1).actor_repr == "x"
    db_triggers.install(connection)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw_update(1, actor_repr="y")
