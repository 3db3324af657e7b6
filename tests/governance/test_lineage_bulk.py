"""The applier's set-based reads and writes (governance/lineage/bulk.py), on each database's own path:
chunked IN lists and executemany on SQLite; one array, COPY and one JSON document on PostgreSQL. Whatever
the path, the rows written and read are the same, and a row that breaks a constraint fails the batch as
Django's IntegrityError (what the applier's isolation of a bad event relies on)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from governance.lineage.bulk import CHUNK, in_lists, insert_rows, select_in, touch, update_rows
from governance.models import Job

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 3, 2, 8, 0, 0, 654321, tzinfo=dt.UTC)
MANY = CHUNK * 2 + 7  # more than one chunk of an IN list


def _jobs(n: int) -> list[tuple]:
    return [("ns", f"job-{i:04d}", {"i": i, "name": f'é "{i}" \\ \t'}, WHEN, WHEN) for i in range(n)]


def test_insert_rows_writes_every_row_and_value():
    insert_rows(Job, ["namespace", "name", "facets", "first_seen_at", "updated_at"], _jobs(MANY))
    jobs = {j.name: j for j in Job.objects.all()}
    assert len(jobs) == MANY
    last = jobs[f"job-{MANY - 1:04d}"]
    assert last.facets == {"i": MANY - 1, "name": f'é "{MANY - 1}" \\ \t'}
    assert (last.first_seen_at, last.updated_at) == (WHEN, WHEN)


def test_insert_rows_refuses_a_duplicate_as_integrity_error_and_writes_nothing():
    insert_rows(Job, ["namespace", "name", "facets", "first_seen_at", "updated_at"], _jobs(2))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Job, ["namespace", "name", "facets", "first_seen_at", "updated_at"], _jobs(3))
    assert Job.objects.count() == 2


def test_select_in_and_in_lists_cover_every_value():
    insert_rows(Job, ["namespace", "name", "facets", "first_seen_at", "updated_at"], _jobs(MANY))
    ids = list(Job.objects.values_list("pk", flat=True))
    # One array on PostgreSQL; on SQLite as many IN lists as chunks.
    assert len(list(in_lists(ids))) == (1 if connection.vendor == "postgresql" else -(-MANY // CHUNK))
    assert list(in_lists([])) == []
    rows = select_in(Job, ["id", "name"], "id", ids, " AND namespace = %s", ("ns",))
    assert sorted(pk for pk, _ in rows) == sorted(ids)
    assert select_in(Job, ["id"], "id", ids, " AND namespace = %s", ("other",)) == []
    assert select_in(Job, ["id"], "id", []) == []


def test_update_rows_and_touch_change_exactly_the_rows_named():
    insert_rows(Job, ["namespace", "name", "facets", "first_seen_at", "updated_at"], _jobs(MANY))
    ids = sorted(Job.objects.values_list("pk", flat=True))
    changed, untouched = ids[:-1], ids[-1]
    update_rows(Job, ["facets", "updated_at"], [(pk, {"new": [1, None, "ü"]}, LATER) for pk in changed[:5]])
    assert Job.objects.get(pk=changed[0]).facets == {"new": [1, None, "ü"]}
    assert Job.objects.get(pk=changed[0]).updated_at == LATER
    assert Job.objects.get(pk=changed[5]).updated_at == WHEN
    touch(Job, "updated_at", LATER, changed)
    assert Job.objects.filter(updated_at=LATER).count() == len(changed)
    assert Job.objects.get(pk=untouched).updated_at == WHEN
    touch(Job, "updated_at", WHEN, [])  # nothing named, nothing changed
    assert Job.objects.filter(updated_at=LATER).count() == len(changed)
