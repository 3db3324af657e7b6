"""PostgreSQL: timestamps read by `datetime.fromisoformat` rather than psycopg's pure-Python parser (issue #15).

Django's timestamptz loader (django.db.backends.postgresql.psycopg_any.BaseTzLoader) subclasses psycopg's
pure-Python TimestamptzLoader, so even with psycopg's C extension installed (psycopg[binary]) each timestamptz
of a result is parsed with a regular expression, built from seven int() calls, shifted by the parsed offset
and moved to the session's zone; Django's loader then swaps in its own tzinfo. That was ~6 µs a value,
0.5-1 ms of an API list page of 50 rows with two or three timestamps each (projects, findings, ROI entries:
more than their rows' own JSON). With the session in UTC, as Django sets it (USE_TZ), PostgreSQL writes every
timestamp as `YYYY-MM-DD HH:MM:SS[.ffffff]+00`, which `datetime.fromisoformat` reads in C: the same wall time, the same
tzinfo (Django's), ~1.4 µs. Anything else (another offset or session zone, BC, infinity, years past 9999)
goes to Django's loader, as before.
"""

from __future__ import annotations

import datetime as dt


def _fast_loader(django_loader: type) -> type:
    class IsoTzLoader(django_loader):
        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            # psycopg moves the value to the session's zone, then Django's loader replaces the tzinfo: for a
            # UTC session (Django's with USE_TZ) that keeps the wall time written with "+00".
            zone = self._timezone
            self._iso = zone is dt.UTC or getattr(zone, "key", None) in ("UTC", "Etc/UTC")

        def load(self, data):
            if self._iso and data[-3:] == b"+00":
                try:
                    return dt.datetime.fromisoformat(str(data[:-3], "ascii")).replace(tzinfo=self.timezone)
                except ValueError:
                    pass
            return super().load(data)

    IsoTzLoader.__qualname__ = IsoTzLoader.__name__ = f"Iso{django_loader.__name__}"
    return IsoTzLoader


_CLASSES: dict[type, type] = {}


def install_timestamp_loader(sender, connection, **kwargs) -> None:
    """connection_created receiver: on a new PostgreSQL connection, Django's timestamptz loader (a subclass
    of psycopg_any.BaseTzLoader carrying Django's zone) is replaced by its IsoTzLoader subclass. The zone
    stays the class's `timezone`, so Django's create_cursor still finds the connection agreeing with it."""
    if connection.vendor != "postgresql":
        return
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader
    from psycopg.postgres import types
    from psycopg.pq import Format

    adapters = connection.connection.adapters
    current = adapters.get_loader(types["timestamptz"].oid, Format.TEXT)
    if current is None or not issubclass(current, BaseTzLoader) or current in _CLASSES.values():
        return
    if current not in _CLASSES:
        _CLASSES[current] = _fast_loader(current)
    adapters.register_loader("timestamptz", _CLASSES[current])
