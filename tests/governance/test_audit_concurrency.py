"""Concurrent writers through the real services leave one linear chain: no fork, no gap, no duplicate.

Each thread has its own database connection (Django connections are per thread) and commits its
own transactions, so these tests run outside the test transaction (transaction=True).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter

import pytest
from django.db import connection

from governance.audit.chain import verify_chain
from governance.models import GENESIS_HASH, AuditChainHead, AuditEvent
from projects.inventory import services
from projects.models import AIProject, Team
from tests.factories import make_user

JOIN_TIMEOUT_SECONDS = 120


def run_writers(n_threads: int, writes_per_thread: int, write) -> list[BaseException]:
    """Start all threads together; each calls write(thread_no, i) writes_per_thread times."""
    barrier = threading.Barrier(n_threads)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(thread_no: int) -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait(timeout=30)
            for i in range(writes_per_thread):
                write(thread_no, i)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker, args=(n,), name=f"writer-{n}") for n in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_SECONDS)
    assert not any(t.is_alive() for t in threads), "a writer thread hung"
    return errors


def assert_one_linear_chain(expected_events: int) -> None:
    rows = list(AuditEvent.objects.order_by("seq").values_list("seq", "prev_hash", "hash"))
    assert [r[0] for r in rows] == list(range(1, expected_events + 1))
    prev_hashes = [r[1] for r in rows]
    assert len(set(prev_hashes)) == expected_events, "two events claim the same predecessor (a fork)"
    assert prev_hashes[0] == GENESIS_HASH
    for (_, _, before_hash), (_, prev_hash, _) in itertools.pairwise(rows):
        assert prev_hash == before_hash
    result = verify_chain()
    assert result.ok, result
    assert result.checked == expected_events
    head = AuditChainHead.objects.get()
    assert (head.seq, head.hash) == (expected_events, rows[-1][2])


def mixed_writes(n_threads: int, writes_per_thread: int):
    """Half the threads create teams, the other half edit one shared project (row lock + chain lock)."""
    owner = make_user("owner")
    team = services.team_create(by=None, name="Shared", lead=owner)
    project = services.project_create(by=None, name="Shared project", purpose="p", team=team, owner=owner)
    setup_events = AuditEvent.objects.count()
    assert setup_events == 2

    def write(thread_no: int, i: int) -> None:
        if thread_no % 2 == 0:
            services.team_create(by=None, name=f"Team {thread_no}-{i}")
        else:
            services.project_update(by=None, project=project, purpose=f"edit {thread_no}-{i}")

    return write, setup_events, project


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_eight_writer_threads_on_postgresql_leave_a_contiguous_verifiable_chain():
    n_threads, per_thread = 8, 25
    write, setup_events, project = mixed_writes(n_threads, per_thread)

    errors = run_writers(n_threads, per_thread, write)

    assert errors == []
    writes = n_threads * per_thread
    assert_one_linear_chain(setup_events + writes)
    actions = Counter(AuditEvent.objects.values_list("action", flat=True))
    assert actions == {"team.created": 1 + writes // 2, "project.created": 1, "project.updated": writes // 2}
    assert Team.objects.count() == 1 + writes // 2
    # The project's final purpose is the one named by the newest project.updated event.
    newest = AuditEvent.objects.filter(action="project.updated").order_by("-seq").first()
    assert AIProject.objects.get(pk=project.pk).purpose == newest.after["purpose"]


@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_four_writer_threads_on_file_sqlite_with_immediate_transactions_leave_a_contiguous_chain():
    options = connection.settings_dict["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert connection.settings_dict["NAME"] != ":memory:"
    assert "mode=memory" not in connection.settings_dict["NAME"]
    n_threads, per_thread = 4, 10
    write, setup_events, _ = mixed_writes(n_threads, per_thread)

    errors = run_writers(n_threads, per_thread, write)

    assert errors == [], f"database is locked under timeout={options['timeout']}s? {errors!r}"
    assert_one_linear_chain(setup_events + n_threads * per_thread)
