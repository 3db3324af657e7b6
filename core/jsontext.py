"""json.dumps(value) with its default options, the C encoder built once instead of per call.

json.dumps builds a new encoder object every call; a registry sync writes tens of thousands of JSON
values (each version's columns, each audit event's before and after), where that was a tenth of the
store's time. The text is json.dumps' own, byte for byte. No circular-reference check: a value with a
cycle raises RecursionError instead of ValueError (JSON written from parsed or built data has none).
"""

from __future__ import annotations

import json

from django.db import models

if json.encoder.c_make_encoder is not None:
    _encode = json.encoder.c_make_encoder(
        None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
    )

    def dumps(value) -> str:
        """json.dumps(value)."""
        return "".join(_encode(value, 0))
else:  # pragma: no cover - a Python without the _json accelerator
    dumps = json.dumps


class JSONTextField(models.JSONField):
    """A JSON value stored as its text in a text column, on PostgreSQL too (where JSONField is jsonb): for a
    document Keel writes once and reads whole, never queried inside (no JSON lookups on it).

    jsonb parses the text on every INSERT and serializes it again on every read. For a raw OpenLineage event
    (7 KB on average in the ingest benchmark) that cost PostgreSQL 0.38 ms of CPU an INSERT against 0.23
    for text, and 0.045 against 0.005 ms to read it back (measured in one backend, 2,000 events; the
    Python side decodes either with json.loads). The text kept is what was written, key order included.
    """

    def get_internal_type(self) -> str:
        return "TextField"  # the column's type, on every database (and SQLite's JSON check with it gone)

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "as_sql"):
            return value
        return json.dumps(value, cls=self.encoder) if self.encoder else dumps(value)
