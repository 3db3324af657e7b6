"""core.pg_types: on PostgreSQL a timestamp is read by datetime.fromisoformat where that gives what Django's
loader gives (the same instant, wall time and tzinfo object), and by Django's loader otherwise."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]

TEXTS = [
    "2026-12-05 14:44:04.755225+00",
    "2026-12-05 14:44:04.5+00",
    "2026-12-05 14:44:04.000001+00",
    "2026-12-05 14:44:04+00",
    "0099-01-01 00:00:00+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2026-06-01 12:00:00+05:30",
    "2026-06-01 12:00:00-03",
]


def _loaders():
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader
    from psycopg.postgres import types
    from psycopg.pq import Format

    oid = types["timestamptz"].oid
    with connection.cursor() as cursor:
        fast = cursor.cursor.adapters.get_loader(oid, Format.TEXT)
        django_loader = next(k for k in fast.__mro__[1:] if issubclass(k, BaseTzLoader))
        return oid, fast, django_loader, cursor.cursor.connection


def test_the_connection_reads_timestamps_with_the_iso_loader():
    _oid, fast, django_loader, _conn = _loaders()
    assert fast.__name__.startswith("Iso")
    assert fast.timezone is django_loader.timezone
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", ["2026-12-05 14:44:04.755225+00"])
        value = cursor.fetchone()[0]
    assert value == dt.datetime(2026, 12, 5, 14, 44, 4, 755225, tzinfo=dt.UTC)
    assert value.tzinfo is django_loader.timezone


@pytest.mark.parametrize("text", TEXTS)
def test_every_timestamp_reads_as_djangos_loader_reads_it(text):
    oid, fast, django_loader, conn = _loaders()
    with connection.cursor() as cursor:  # the text PostgreSQL sends for it in this session
        cursor.execute("SELECT %s::timestamptz::text", [text])
        wire = cursor.fetchone()[0].encode()
    ours, theirs = fast(oid, conn).load(wire), django_loader(oid, conn).load(wire)
    assert (ours, ours.tzinfo, ours.fold, ours.isoformat()) == (theirs, theirs.tzinfo, theirs.fold, theirs.isoformat())


@pytest.mark.parametrize("text", ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC"])
def test_what_python_cannot_hold_fails_as_before(text):
    oid, fast, django_loader, conn = _loaders()
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz::text", [text])
        wire = cursor.fetchone()[0].encode()
    from psycopg import DataError

    errors = []
    for loader in (fast, django_loader):
        with pytest.raises(DataError) as caught:
            loader(oid, conn).load(wire)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
