"""Racing real writers against each other, one way for every concurrency test.

Each call runs in its own thread with its own database connection (Django's connections are per
thread), all released together by a barrier so they really overlap; each thread closes its
connection when done, so the test database can be dropped afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

JOIN_TIMEOUT_SECONDS = 120


def run_at_once(calls: Sequence[Callable[[], object]], *, what: str = "a thread") -> list:
    """Run every call in its own thread, all started together. Returns, per call in order, what it
    returned or the exception it raised (every outcome is for the test to assert on); fails when a
    thread is still running after JOIN_TIMEOUT_SECONDS (`what` names it in the failure)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def worker(i: int) -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait(timeout=30)
            outcomes[i] = calls[i]()
        except BaseException as exc:  # handed back to the test, which asserts on every outcome
            outcomes[i] = exc
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_SECONDS)
    assert not any(t.is_alive() for t in threads), f"{what} hung"
    return outcomes
