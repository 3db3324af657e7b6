"""verify_chain on a chain long enough to cross many cursor chunks: 5,000 events through the real append
path, intact and tampered three ways, with progress reported, and a writer appending mid-walk."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.management import call_command
from django.db import transaction

from governance.audit.chain import (
    LINK_BROKEN,
    ROW_ALTERED,
    ROW_DELETED,
    VerifyResult,
    append_event,
    append_events,
    verify_chain,
)
from governance.models import AuditChainHead, AuditEvent, AuditVerification

from .conftest import raw_delete, raw_update

EVENTS = 5_000
CHUNK = 700  # not a divisor of the length: the walk crosses seven chunk boundaries and a short last chunk


def entry(n: int) -> dict:
    return {
        "actor": None,
        "action": ("project.updated", "risk.created", "signoff.approved")[n % 3],
        "object_type": "projects.aiproject",
        "object_id": str(n % 97),
        "before": {"name": f"Projekt {n}", "score": n / 7} if n % 2 else None,
        "after": {"name": f"Projekt {n} — ü", "members": [n, n + 1], "tags": {"b": 1, "a": None}},
    }


def build_chain(events: int = EVENTS) -> None:
    with transaction.atomic():
        append_events([entry(n) for n in range(events)])


def chain_state() -> tuple:
    head = AuditChainHead.objects.get()
    return AuditEvent.objects.count(), head.seq, head.hash


@pytest.fixture
def long_chain(db):
    build_chain()
    return chain_state()


def test_a_chain_of_5000_events_verifies_across_chunks_and_reports_progress(long_chain):
    seen = []

    result = verify_chain(chunk_size=CHUNK, progress=seen.append, progress_every=1_000)

    assert result == VerifyResult(True, EVENTS)
    assert seen == [1_000, 2_000, 3_000, 4_000, 5_000]
    assert chain_state() == long_chain  # verifying writes nothing


def swap_seqs(a: int, b: int) -> None:
    raw_update(a, seq=10**9)
    raw_update(b, seq=a)
    raw_update(10**9, seq=b)


@pytest.mark.usefixtures("triggers_lifted")
@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        pytest.param(lambda: raw_update(3_333, after={"name": "changed"}), (3_333, ROW_ALTERED, 3_332), id="content"),
        pytest.param(lambda: raw_delete(4_001), (4_001, ROW_DELETED.format(seq=4_001), 4_000), id="deleted row"),
        pytest.param(lambda: swap_seqs(2_500, 2_501), (2_500, LINK_BROKEN, 2_499), id="reordered seq"),
    ],
)
def test_a_tampered_row_deep_in_a_long_chain_is_named_at_its_seq(long_chain, tamper, expected):
    tamper()
    tampered = chain_state()
    bad_seq, problem, checked = expected

    result = verify_chain(chunk_size=CHUNK)

    assert result == VerifyResult(False, checked, bad_seq, problem)
    assert chain_state() == tampered


@pytest.mark.usefixtures("triggers_lifted")
def test_the_command_names_a_tampered_row_of_a_long_chain_and_records_the_run(long_chain):
    raw_update(4_999, actor_repr="someone-else")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(SystemExit) as exit_:
        call_command("verify_audit", "--progress-every", "2000", stdout=out, stderr=err)

    assert exit_.value.code == 1
    assert out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines[:2]] == ["verified 2,000 events", "verified 4,000 events"]
    assert lines[2] == f"FAILED at seq 4999: {ROW_ALTERED} (4998 events verified before it)."
    run = AuditVerification.objects.get()
    assert (run.ok, run.events_verified, run.first_bad_seq, run.problem) == (False, 4_998, 4_999, ROW_ALTERED)


def test_the_command_reports_progress_with_a_rate_on_stderr_and_only_the_verdict_on_stdout(long_chain):
    out, err = io.StringIO(), io.StringIO()

    call_command("verify_audit", "--progress-every", "2500", stdout=out, stderr=err)

    assert out.getvalue() == f"OK: audit chain intact, {EVENTS} events verified.\n"
    lines = err.getvalue().splitlines()
    assert len(lines) == 2
    for line, count in zip(lines, ("2,500", "5,000"), strict=True):
        assert line.startswith(f"verified {count} events (")
        assert line.endswith(" events/s)")
        assert int(line.split("(")[1].split(" ")[0].replace(",", "")) > 0
    call_command("verify_audit", "--progress-every", "0", stdout=out, stderr=(quiet := io.StringIO()))
    assert quiet.getvalue() == ""


@pytest.mark.django_db(transaction=True)
def test_a_writer_appending_during_the_walk_is_not_reported_as_tampering():
    """The head moves past the rows the walk reads; before #15 this read as 'newest rows deleted'."""
    build_chain()

    def append_from_another_connection(checked: int) -> None:
        def write():
            from django.db import connection as thread_connection

            try:
                with transaction.atomic():
                    append_event(actor=None, action="team.updated", object_type="projects.team", object_id="1")
            finally:
                thread_connection.close()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(30)

    result = verify_chain(chunk_size=CHUNK, progress=append_from_another_connection, progress_every=2_000)

    assert AuditChainHead.objects.get().seq == EVENTS + 2  # the writer appended twice, at 2,000 and 4,000
    assert result == VerifyResult(True, EVENTS)  # the rows as they were when the walk began, all intact
    assert verify_chain(chunk_size=CHUNK) == VerifyResult(True, EVENTS + 2)
