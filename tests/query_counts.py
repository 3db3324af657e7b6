"""Query-count tests: how many queries a block of code ran, and failures that show which.

Every query-count test captures with `capture_queries()` and asserts with `assert_queries()`; a
mismatch then lists the captured SQL, numbered, for each measurement — the N+1 is in that list.
The failure is raised here, outside pytest's assertion rewriting, so the listing is not truncated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext


class QueryCount(int):
    """A number of queries that remembers their SQL; compares, sorts and adds like the int it is."""

    sql: tuple[str, ...]

    def __new__(cls, sql: list[str] | tuple[str, ...]) -> QueryCount:
        count = super().__new__(cls, len(sql))
        count.sql = tuple(sql)
        return count

    def listing(self) -> str:
        return "\n".join(f"  {n:>3}. {statement}" for n, statement in enumerate(self.sql, start=1)) or "  (none)"


class _Capture:
    """Filled when the `capture_queries` block ends: `.count` is a QueryCount."""

    count: QueryCount

    def __int__(self) -> int:
        return int(self.count)


@contextmanager
def capture_queries(using: str = DEFAULT_DB_ALIAS) -> Iterator[_Capture]:
    """Capture the queries a block runs (Django's CaptureQueriesContext); read `.count` after the block."""
    capture = _Capture()
    with CaptureQueriesContext(connections[using]) as ctx:
        yield capture
    capture.count = QueryCount([q["sql"] for q in ctx.captured_queries])


def assert_queries(*counts: QueryCount, equal: int | None = None, at_most: int | None = None, what: str = "") -> None:
    """All `counts` (one per measurement, e.g. at a small and a large data size) are the same number,
    and that number is `equal` and/or at most `at_most` when given. On failure, the message lists
    every measurement's SQL, numbered."""
    problems = []
    if len(set(counts)) > 1:
        problems.append(f"the counts differ: {', '.join(map(str, map(int, counts)))}")
    if equal is not None and any(c != equal for c in counts):
        problems.append(f"expected {equal} queries")
    if at_most is not None and any(c > at_most for c in counts):
        problems.append(f"expected at most {at_most} queries")
    if problems:
        header = f"{what}: " if what else ""
        listings = "\n".join(
            f"measurement {i} ({int(c)} queries):\n{c.listing() if isinstance(c, QueryCount) else '  (no SQL kept)'}"
            for i, c in enumerate(counts, start=1)
        )
        raise AssertionError(f"{header}{'; '.join(problems)}\n{listings}")
