"""core.table_stats.analyze_grown: on PostgreSQL a table that has changed at least as often as it had rows is
analyzed (then not again until it doubles); elsewhere, and inside a transaction, nothing happens."""

from __future__ import annotations

import time

import pytest
from django.db import connection, transaction

from core import table_stats
from governance.models import DataSource

TABLE = DataSource._meta.db_table


def reltuples() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [TABLE])
        return cursor.fetchone()[0]


def add_sources(count: int, start: int = 0) -> None:
    DataSource.objects.bulk_create([DataSource(namespace=f"pg://h{start + i}", name="") for i in range(count)])


def analyzed_within(seconds: float) -> list[str]:
    """What analyze_grown analyzes once the server shows this backend's changes (its counters are flushed
    at the end of a transaction, at most once a second)."""
    deadline = time.monotonic() + seconds
    while True:
        done = table_stats.analyze_grown([DataSource])
        if done or time.monotonic() > deadline:
            return done
        time.sleep(0.2)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_table_grown_from_empty_is_analyzed_then_not_again_until_it_doubles(monkeypatch):
    monkeypatch.setattr(table_stats, "MINIMUM", 50)
    add_sources(60)
    assert analyzed_within(5) == [TABLE]
    assert reltuples() == 60
    add_sources(30, start=60)  # 30 changes after 60 rows: not yet
    time.sleep(1.2)
    assert table_stats.analyze_grown([DataSource]) == []
    add_sources(40, start=90)  # 70 changes after 60 rows: doubled
    assert analyzed_within(5) == [TABLE]
    assert reltuples() == 130


@pytest.mark.django_db(transaction=True)
def test_nothing_is_analyzed_inside_a_transaction_or_on_sqlite(monkeypatch):
    monkeypatch.setattr(table_stats, "MINIMUM", 1)
    add_sources(5)
    with transaction.atomic():
        assert table_stats.analyze_grown([DataSource]) == []
    if connection.vendor == "sqlite":
        assert table_stats.analyze_grown([DataSource]) == []
