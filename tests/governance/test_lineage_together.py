"""SQLite: POSTs of one threaded web process that wait for the applier's write lock store their events in one
transaction (governance/lineage/together.py), each answered with its own row, an error kept with the
request that caused it, and a lock that never comes reported to every request that waited for it."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid

import pytest
from django.db import OperationalError, connection, connections

from core.roles import Role
from governance.lineage import receive as receiving
from governance.lineage import together
from governance.models import LineageEvent
from tests.factories import make_user
from tests.lineage_events import event

pytestmark = [pytest.mark.sqlite_only, pytest.mark.django_db(transaction=True)]


def run_event(i: int) -> dict:
    return event(run={"runId": str(uuid.UUID(int=i + 1))}, job={"namespace": "etl", "name": f"job-{i}"})


def in_threads(work, indexes, out: dict) -> list[threading.Thread]:
    """work(i) for each i, each in a thread of its own (its own database connection, closed at its end);
    out[i] its result or its error."""

    def run(i: int) -> None:
        try:
            out[i] = work(i)
        except Exception as exc:
            out[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in indexes]
    for thread in threads:
        thread.start()
    return threads


def first_then_queued(work, count: int, out: dict) -> list[threading.Thread]:
    """work(0) starts and takes the writer's turn (it waits for the lock), then the others queue behind it."""
    threads = in_threads(work, [0], out)
    wait_until(lambda: together._writer.locked() and not together._queued)
    threads += in_threads(work, range(1, count), out)
    wait_until(lambda: len(together._queued) == count - 1)
    return threads


def joined(threads: list[threading.Thread], out: dict) -> list:
    for thread in threads:
        thread.join(timeout=30)
    return [out[i] for i in sorted(out)]


def wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture
def poster():
    return make_user("etl-bot", Role.TEAM_LEAD)


@pytest.fixture
def write_lock(poster):
    """A second connection holding the database's write lock, as an applier's batch does, until released
    (taken once the poster exists)."""
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    if holder.in_transaction:
        holder.execute("ROLLBACK")
    holder.close()


@pytest.fixture
def groups(monkeypatch):
    """The size of every group written in one transaction."""
    sizes: list[int] = []
    real = together._in_one_transaction

    def recorded(group):
        sizes.append(len(group))
        return real(group)

    monkeypatch.setattr(together, "_in_one_transaction", recorded)
    return sizes


def test_posts_waiting_for_the_lock_are_stored_together_each_with_its_own_row(poster, write_lock, groups):
    out: dict = {}
    threads = first_then_queued(lambda i: receiving.receive(payload=run_event(i), by=poster), 5, out)
    write_lock.execute("COMMIT")
    out = joined(threads, out)
    assert len(out) == 5
    assert all(r.status == "accepted" for r in out), out
    pks = {r.event.pk for r in out}
    assert len(pks) == 5
    stored = dict(LineageEvent.objects.values_list("pk", "job_name"))
    assert {pk: stored[pk] for pk in pks} == {r.event.pk: r.event.job_name for r in out}
    assert groups == [4]  # the first alone (it took the lock first), then the four that waited, in one transaction
    assert together._queued == []


def test_a_write_that_fails_leaves_the_others_of_its_group_stored_and_fails_alone(
    poster, write_lock, groups, monkeypatch
):
    real = receiving._insert_statement

    def insert(row, text):
        if row.job_name == "job-2":
            raise ValueError("job-2 cannot be stored")
        return real(row, text)

    monkeypatch.setattr(receiving, "_insert_statement", insert)
    out: dict = {}
    threads = first_then_queued(lambda i: receiving.receive(payload=run_event(i), by=poster), 4, out)
    write_lock.execute("COMMIT")
    out = joined(threads, out)
    assert groups == [3]  # its group rolled back; then each of the three was written alone
    assert [type(r).__name__ for r in out] == ["Received", "Received", "ValueError", "Received"]
    assert sorted(LineageEvent.objects.values_list("job_name", flat=True)) == ["job-0", "job-1", "job-3"]
    assert {r.event.pk for r in out if not isinstance(r, Exception)} == set(
        LineageEvent.objects.values_list("pk", flat=True)
    )


def test_when_the_lock_never_comes_every_waiting_post_is_told_and_nothing_is_stored(poster, write_lock, monkeypatch):
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.3)

    out: dict = {}
    out = joined(in_threads(lambda i: receiving.receive(payload=run_event(i), by=poster), range(3), out), out)
    assert len(out) == 3
    assert all(isinstance(r, OperationalError) and "locked" in str(r) for r in out), out
    write_lock.execute("ROLLBACK")
    assert not LineageEvent.objects.exists()
