"""SQLite: the POSTs of one web process that wait for the database's one write lock store their rows together.

While the applier's batch holds the write lock (tens of milliseconds), a POST cannot store its event. With
a threaded server (gunicorn gthread, runserver) every waiting thread used to poll for the lock on its own,
and each that won it wrote one row and one commit while the others went on polling. Now a waiting write
is queued here and one thread at a time (the one holding `_writer`) takes every write queued so far, waits
for the lock, runs them in one transaction and hands each its result; meanwhile the other threads go on
with their own requests (parsing, validating, hashing) up to their write, which is the web process's real
work. Each POST is still answered only after the commit that stored its row.

A write that raises rolls back its group; each write of the group is then run again alone by the thread
that queued it, so an error stays with the request that caused it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import OperationalError, connection


class _Queued:
    __slots__ = ("alone", "done", "error", "result", "write")

    def __init__(self, write: Callable[[], Any]):
        self.write = write
        self.done = False  # written (result set), or failed (error set), by the thread that wrote its group
        self.result: Any = None
        self.error: BaseException | None = None
        self.alone = False  # its group failed for one of the group's writes: its own thread writes it again


_queued: list[_Queued] = []
_queue_lock = threading.Lock()  # guards _queued (held for a list operation only)
_writer = threading.Lock()  # held by the thread writing a group, for as long as it waits for the lock and writes


def write_together(write: Callable[[], Any], *, when_unlocked: Callable[[Callable[[], Any]], Any]) -> Any:
    """`write()`'s result, run in one transaction with whatever other threads of this process queued meanwhile.
    `when_unlocked(fn)` runs `fn` once the database's write lock can be had (receive._when_unlocked)."""
    mine = _Queued(write)
    with _queue_lock:
        _queued.append(mine)
    with _writer:
        if not mine.done and not mine.alone:
            with _queue_lock:
                group = _queued[:]
                _queued.clear()
            try:
                _write_group(group, when_unlocked)
            finally:  # whatever the group's transaction did not settle, each thread writes again, alone
                for queued in group:
                    queued.alone = not queued.done
    if mine.alone:
        return when_unlocked(write)
    if mine.error is not None:
        raise mine.error
    return mine.result


def _write_group(group: list[_Queued], when_unlocked) -> None:
    if len(group) == 1:  # the usual case without contention: the statement alone, in autocommit
        only = group[0]
        try:
            only.result = when_unlocked(only.write)
        except Exception as exc:
            only.error = exc
        only.done = True
        return
    try:
        when_unlocked(lambda: _in_one_transaction(group))
    except OperationalError as exc:
        if "locked" in str(exc):  # the lock never came (the busy timeout): every request of the group is told
            for queued in group:
                queued.error, queued.done = exc, True
        return  # otherwise (as for any other error) write_together has each write run again alone
    except Exception:
        return
    for queued in group:
        queued.done = True


def _in_one_transaction(group: list[_Queued]) -> None:
    # BEGIN IMMEDIATE takes the write lock or fails at once ("database is locked": the caller's busy
    # timeout is 0 while it waits), and when_unlocked asks again. Plain statements rather than
    # transaction.atomic(): this is the caller's own connection in autocommit, and a BEGIN that fails must
    # leave it exactly as it was.
    with connection.cursor() as cursor:
        cursor.execute("BEGIN IMMEDIATE")
        try:
            for queued in group:
                queued.result = queued.write()
            cursor.execute("COMMIT")
        except BaseException:
            if connection.connection.in_transaction:
                cursor.execute("ROLLBACK")
            raise
