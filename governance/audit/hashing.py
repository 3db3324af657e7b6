"""How an audit event is hashed, in two forms that must agree byte for byte.

The rule itself lives in bundle_verifier.py, which imports nothing of Keel or Django, so the stand-alone
verifier shipped with every audit export is the same code Keel appends and verifies with.

hash = SHA-256("keel-audit-v1" 0x00 prev_hash 0x00 canonical-JSON(event fields)), where the canonical
JSON is UTF-8 with sorted keys and no spaces, and times are UTC ISO-8601 with microseconds.

`compute_hash(prev_hash, event_fields(event))` is the rule as written: a dict, json.dumps. Appending
uses it, and so can an auditor re-checking an export without Keel. `row_message` is the same bytes
from a raw database row, for the verifier: no model instance, no dict sorted per row, no datetime
parsed where the stored text already has the digits — 2–3× faster per row. Tests hold the two
together (tests/governance/test_audit_row_hashing.py), and every verification of a chain the append
path wrote checks them again.
"""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.db import DataError, connection

from ..models import AuditEvent
from .bundle_verifier import HASH_PREFIX, HASHED_FIELDS, canonical_json, canonical_text, compute_hash

__all__ = ["HASHED_FIELDS", "HASH_PREFIX", "canonical_json", "compute_hash", "event_fields", "raw_rows", "row_message"]


def utc_time(value: dt.datetime) -> str:
    """The time as the hash writes it: UTC, '2026-12-05T00:28:24.123456Z'."""
    utc = value.astimezone(dt.UTC)
    if utc.year >= 1000:
        # The same text as the strftime below, a few times faster (an append hashes thousands a sync).
        return f"{utc.isoformat(timespec='microseconds')[:-6]}Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # %Y unpadded below year 1000, as the rule always wrote it


def event_fields(event: AuditEvent) -> dict:
    out = {name: getattr(event, name) for name in HASHED_FIELDS}
    out["occurred_at"] = utc_time(event.occurred_at)
    return out


# --- the same rule on raw rows ---------------------------------------------------------------------

# The columns a raw row holds: the two hashes, then the hashed fields in the canonical JSON's (sorted)
# key order, so row_message fills them in positionally (a test pins the order).
ROW_COLUMNS = ("prev_hash", "hash", *sorted(HASHED_FIELDS))
SEQ_INDEX = ROW_COLUMNS.index("seq")
_PREFIX = HASH_PREFIX.decode()
_quote = json.encoder.encode_basestring  # how json.dumps(ensure_ascii=False) writes a str
_scan = json.scanner.make_scanner(json.JSONDecoder())  # what json.loads runs, minus its checks per call
_json = canonical_text


def _json_column(text) -> str:
    """A JSON column's stored text as the canonical JSON of its value. SQL NULL is None, and text that
    is not JSON stays text, as JSONField.from_db_value gives them back."""
    if text is None:
        return "null"
    try:
        value, end = _scan(text, 0)
        if end == len(text):
            return _json(value)
    except (StopIteration, TypeError, ValueError):
        pass  # leading whitespace, trailing data, not JSON: json.loads decides, as Django's field does
    try:
        return _json(json.loads(text))
    except (TypeError, ValueError):
        return _json(text)


_AT = ROW_COLUMNS.index("occurred_at")


def _orm_time(row: tuple) -> str:
    """occurred_at as the ORM reads it (its own converters), then utc_time: for any value the fast
    readers below do not recognise."""
    try:
        value = AuditEvent.objects.filter(seq=row[SEQ_INDEX]).values_list("occurred_at", flat=True).get()
        return utc_time(value)
    except (TypeError, ValueError, AttributeError, DataError, AuditEvent.DoesNotExist):
        # Not a time at all: no append ever hashed this, so the row reads as altered.
        return f"unreadable time {row[_AT]!r}"


def _stored_utc_time(row: tuple) -> str:
    """The time as the database wrote it out in UTC: SQLite's stored text, '2026-12-05 00:28:24.123456'
    (Django stores an aware time as str() of it in UTC), or PostgreSQL's to_char, '2026-12-05
    00:28:24.123456' too. Its digits are utc_time's, so re-punctuating them replaces parsing a datetime
    and formatting it again. Any other shape (a whole second on SQLite, a year before 1000, which
    strftime writes unpadded, or after 9999, an offset, a tampered value) goes through the ORM."""
    text = row[_AT]
    if type(text) is str and len(text) == 26 and text[10] == " " and text[0] != "0":
        return f"{text[:10]}T{text[11:]}Z"
    return _orm_time(row)


def _time_sql(quote) -> str:
    """The occurred_at column as row_message reads it: its UTC text, in the shape _stored_utc_time
    re-punctuates. Times stored in another zone (a SQLite DATABASES TIME_ZONE) take the ORM's path."""
    column = quote("occurred_at")
    if connection.vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    if connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone_name == "UTC":
        return f"CAST({column} AS TEXT)"  # the stored text, not sqlite3's parse of a "datetime" column
    return "NULL"


def row_message(prev_hash: str, r: tuple) -> bytes:
    """compute_hash's input for a raw row of ROW_COLUMNS, byte for byte: the canonical JSON written out
    in sorted key order. Ints are written as json writes them (int.__repr__); a time's digits need no
    escaping."""
    return (
        f'{_PREFIX}{prev_hash}\x00{{"action":{_quote(r[2])},"actor_id":{"null" if r[3] is None else r[3]},'
        f'"actor_repr":{_quote(r[4])},"after":{_json_column(r[5])},"before":{_json_column(r[6])},'
        f'"hash_alg":{r[7]},"object_id":{_quote(r[8])},"object_type":{_quote(r[9])},'
        f'"occurred_at":"{_stored_utc_time(r)}","request_id":{_quote(r[11])},"seq":{r[12]},'
        f'"task_id":{_quote(r[13])}}}'
    ).encode()


def raw_rows(chunk_size: int):
    """The chain in seq order as raw tuples of ROW_COLUMNS, fetched `chunk_size` at a time from a
    server-side cursor on PostgreSQL (Django's chunked cursor, the one .iterator() uses) and from one
    stepped statement on SQLite: the client holds one chunk at a time, whatever the chain's length."""
    quote = connection.ops.quote_name
    columns = [quote(AuditEvent._meta.get_field(name).column) for name in ROW_COLUMNS]
    columns[_AT] = _time_sql(quote)
    sql = f"SELECT {', '.join(columns)} FROM {quote(AuditEvent._meta.db_table)} ORDER BY {quote('seq')}"  # noqa: S608 - our own names
    with connection.chunked_cursor() as cur:
        cur.execute(sql)
        while chunk := cur.fetchmany(chunk_size):
            yield from chunk
