"""PostgreSQL's `timestamptz` values read with `datetime.fromisoformat` for reads of many rows.

Django registers its own loader for the type (a subclass of psycopg's pure-Python loader, which parses the
text with a regular expression and builds the value field by field) so that the value comes back in the
connection's zone; psycopg's compiled loader is not used. A registry sync's read of 2,000 stored versions
spent most of its CPU there on PostgreSQL (three times a row). The session speaks UTC (Django sets it), so
the server writes `2026-12-05 14:49:47.123456+00`, which `fromisoformat` (C, Python 3.11+) turns into the
same datetime with `datetime.timezone.utc`, the zone Django's loader gives. Anything else (another zone, a
year past 9999, BC dates, infinity) goes to Django's loader as before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

_LOADERS: dict = {}


def _iso_loader(base):
    """A subclass of the connection's own timestamptz loader (Django's, with its `timezone`: Django's cursor
    checks that attribute) that reads the UTC text directly."""
    if base not in _LOADERS:

        class IsoTzLoader(base):
            def load(self, data):
                try:
                    moment = dt.datetime.fromisoformat(str(data, "ascii"))
                except (ValueError, UnicodeDecodeError):
                    return super().load(data)
                if moment.tzinfo is not self.timezone:  # not UTC on both sides: Django's loader decides
                    return super().load(data)
                return moment

        _LOADERS[base] = IsoTzLoader
    return _LOADERS[base]


@contextlib.contextmanager
def iso_times(db) -> Iterator[None]:
    """Cursors created on `db` (a Django connection) inside the block read timestamptz with fromisoformat.

    psycopg copies the connection's loaders into each cursor when it is created, so a cursor made here keeps
    the fast loader while its rows are fetched after the block; the connection gets its own loader back."""
    if db.vendor != "postgresql" or db.connection is None or dt.UTC is not getattr(db, "timezone", None):
        yield
        return
    from psycopg.postgres import types
    from psycopg.pq import Format

    adapters = db.connection.adapters
    oid = types["timestamptz"].oid
    own = adapters.get_loader(oid, Format.TEXT)
    if own in _LOADERS.values():  # a lean read inside another's block (a prefetch): already fast
        yield
        return
    adapters.register_loader(oid, _iso_loader(own))
    try:
        yield
    finally:
        adapters.register_loader(oid, own)
