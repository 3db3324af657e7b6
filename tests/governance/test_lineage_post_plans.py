"""Every read a lineage POST makes is an index lookup, whatever the size of the graph.

A POST runs for every event a producer sends, so a table scan there grows with the graph: the
model-link check once looked datasets up by name alone and read the whole dataset table on every POST
(in the end-to-end benchmark, 6.85 ms of web CPU per event, against 2.98 ms once it used the
(namespace, name) index). The database's own plan of each query is the judge here: SQLite's EXPLAIN
QUERY PLAN, or PostgreSQL's EXPLAIN with sequential scans priced out (so a small table still shows
whether an index *could* answer).
"""

from __future__ import annotations

import pytest
from django.db import connection

from governance.lineage import queue
from governance.lineage.apply import lineage_apply_pending
from tests.lineage_events import PG, event, post
from tests.query_counts import capture_queries

pytestmark = pytest.mark.django_db

# The tables that grow with the graph or the producers: a scan of any of them is a bug.
GROWING = (
    "governance_dataset", "governance_lineageevent", "governance_datasetfield", "governance_run",
    "governance_job", "governance_lineageedge", "governance_columnedge", "core_apitoken", "auth_user",
    "auth_user_groups",
)  # fmt: skip


@pytest.fixture
def queued(settings, monkeypatch):
    settings.KEEL_LINEAGE_APPLY_INLINE = False
    monkeypatch.setattr(queue, "schedule_apply", lambda: None)
    monkeypatch.setitem(queue._recent, "status", None)


def run_event(n: int, output: str) -> dict:
    return event(
        run={"runId": f"0196a1f0-0000-7000-8000-{n:012d}"},
        job={"namespace": "etl", "name": f"job_{n}"},
        outputs=[{"namespace": PG, "name": output, "facets": {}}],
    )


def scans(sql: str) -> list[str]:
    """The growing tables the database would read whole to answer this query."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            details = [row[-1] for row in cursor.fetchall()]
            # "SCAN t" reads the table; "SCAN t USING [COVERING] INDEX i" reads an index (e.g. the partial
            # index of waiting events); "SEARCH" is a lookup.
            return [d for d in details if d.startswith("SCAN ") and "USING" not in d and d.split()[1] in GROWING]
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        lines = [row[0] for row in cursor.fetchall()]
        return [line for line in lines if "Seq Scan on" in line and line.split("Seq Scan on ")[1].split()[0] in GROWING]


def test_every_read_of_a_lineage_post_is_an_index_lookup(client, team_lead, queued):
    client.force_login(team_lead)
    for n in range(40):
        assert post(client, run_event(n, f"mart.table_{n}")).status_code == 201
    assert lineage_apply_pending().applied == 40  # a graph of 41 datasets to look up in

    with capture_queries() as captured:
        response = post(client, run_event(99, "mart.table_3"))

    assert response.status_code == 201, response.content
    reads = [sql for sql in captured.count.sql if sql.lstrip().upper().startswith("SELECT")]
    assert reads, "the POST read nothing?"
    found = {sql: scans(sql) for sql in reads}
    assert not {sql: plan for sql, plan in found.items() if plan}, found
