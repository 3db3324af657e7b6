"""PostgreSQL: a table that has doubled since its statistics were taken is analyzed now, not when autovacuum
next looks at it.

A new database has no statistics. Until autovacuum's first ANALYZE of a table (it looks once a minute, and
only after 10 % of the rows changed), the planner takes the table for a few hundred rows: a lookup of 500
ids became a sequential scan, and so did every foreign-key check of an INSERT (the referential triggers
keep the plan they made first). A fresh Keel taking a lineage backfill then spent more time per batch the
more rows it had written: measured in-process, 8,000 fan-out events in batches of 500 on PostgreSQL 15, the
fields read of a batch went from 9 to 49 ms and its classifications' INSERT took 47-86 ms, until
autovacuum's ANALYZE came after the 12th batch (0.2 and 0.5 ms from then on).

`analyze_grown(models)` is cheap to call after every batch of a bulk writer: one read of the tables'
counters, and an ANALYZE only of a table whose rows changed since its last one at least as many times as
it then held (at least MINIMUM), so a table growing from empty is analyzed a handful of times (at 500,
1,000, 2,000… rows), each in milliseconds. SKIP_LOCKED: a table autovacuum is processing is skipped, not
waited for. A role that does not own the table gets PostgreSQL's warning and no statistics: nothing fails.
"""

from __future__ import annotations

from django.db import connection

MINIMUM = 500  # rows changed before a table never analyzed (or tiny when it was) is analyzed

_COUNTERS_SQL = (
    "SELECT s.relname, s.n_mod_since_analyze, c.reltuples FROM pg_stat_user_tables s"
    " JOIN pg_class c ON c.oid = s.relid WHERE s.schemaname = current_schema() AND s.relname = ANY(%s)"
)


def analyze_grown(models) -> list[str]:
    """ANALYZE the tables of `models` that changed at least as often as they had rows when last analyzed; the
    names of those analyzed. Outside a transaction (ANALYZE in one would hold its locks until the end).
    Does nothing on other databases: SQLite's planner does not plan from row counts it has not got."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return []
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(_COUNTERS_SQL, [tables])
        grown = sorted(name for name, changed, rows in cursor.fetchall() if changed >= max(MINIMUM, rows))
        for name in grown:
            cursor.execute(f"ANALYZE (SKIP_LOCKED) {connection.ops.quote_name(name)}")
    return grown
