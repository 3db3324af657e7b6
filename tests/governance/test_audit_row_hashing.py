"""The verifier's row form of the hash rule gives compute_hash's bytes exactly: for awkward payloads
written through the real append path, for times its fast readers do not recognise, and for JSON
column text as Django's JSONField would read it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection, transaction

from core import context
from governance.audit.chain import ROW_ALTERED, VerifyResult, append_event, verify_chain
from governance.audit.hashing import (
    HASH_PREFIX,
    ROW_COLUMNS,
    _json_column,
    canonical_json,
    compute_hash,
    event_fields,
    raw_rows,
    row_message,
)
from governance.models import GENESIS_HASH, AuditEvent
from tests.factories import make_user

from .conftest import TABLE, raw_insert

AWKWARD = [
    {
        "quote": 'say "hi"',
        "backslash": "C:\\temp\\new",
        "controls": "tab\tnew\nline\x01\x1f",
    },  # no \x00: PostgreSQL refuses it
    {"ü": "Zürich", "東京": ["渋谷", "新宿"], "emoji": "🙂", "separators": "\u2028\u2029", "bom": "\ufeff"},
    {"z": 1, "a": {"y": [3, 2, 1], "b": {"d": None, "c": True}}, "m": [], "n": {}},
    # No float that repr()s with a positive exponent, nor -0.0: see the xfail test at the end.
    {"float": 0.1, "tiny": 1e-300, "big": 12345678901234567890, "neg": -7, "half": 2.5e-8, "f": False},
    {"looks like json": '{"a": 1}', "empty": "", "spaces": "  padded  ", "number string": "007"},
    [1, "two", None, [3.5, {"k": "v"}]],
    "a bare string",
    42,
    None,
]


def reference_message(event: AuditEvent) -> bytes:
    """compute_hash's input, from the model instance the ORM reads."""
    return HASH_PREFIX + event.prev_hash.encode() + b"\x00" + canonical_json(event_fields(event))


def assert_rows_match_the_reference() -> int:
    events = {e.seq: e for e in AuditEvent.objects.all()}
    rows = list(raw_rows(3))
    assert [r[ROW_COLUMNS.index("seq")] for r in rows] == sorted(events)
    for row in rows:
        event = events[row[ROW_COLUMNS.index("seq")]]
        assert row_message(event.prev_hash, row) == reference_message(event), event.seq
    return len(rows)


def test_the_row_columns_are_the_hashed_fields_in_canonical_key_order():
    assert ROW_COLUMNS == (
        "prev_hash", "hash", "action", "actor_id", "actor_repr", "after", "before", "hash_alg",
        "object_id", "object_type", "occurred_at", "request_id", "seq", "task_id",
    )  # fmt: skip


def test_awkward_payloads_appended_for_real_hash_the_same_in_row_form(db):
    user = make_user('zoë "the admin"')
    request = context.request_id.set('req-\u00e9"1')
    task = context.task_id.set("task\\2")
    try:
        with transaction.atomic():
            for i, payload in enumerate(AWKWARD):
                append_event(
                    actor=user if i % 2 else None, action=f"thing.ünusual_{i}", object_type='type "q"',
                    object_id=f"id\t{i}", before=AWKWARD[-1 - i], after=payload,
                )  # fmt: skip
    finally:
        context.request_id.reset(request)
        context.task_id.reset(task)

    assert assert_rows_match_the_reference() == len(AWKWARD)
    assert verify_chain(chunk_size=2) == VerifyResult(True, len(AWKWARD))


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(dt.datetime(2026, 12, 5, 0, 28, 24, tzinfo=dt.UTC), id="whole second"),
        pytest.param(dt.datetime(999, 3, 1, 12, 0, 0, 5, tzinfo=dt.UTC), id="year 999"),
        pytest.param(dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), id="year 9999"),
        pytest.param(dt.datetime(2026, 6, 1, 2, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))), id="+02:00"),
    ],
)
def test_times_the_fast_readers_do_not_recognise_hash_the_same_through_the_orm(db, when):
    event = AuditEvent(
        seq=1, occurred_at=when, actor_id=None, actor_repr="system", action="x.y", object_type="t",
        object_id="1", before=None, after={"a": 1}, request_id="", task_id="", hash_alg=1,
        prev_hash=GENESIS_HASH,
    )  # fmt: skip
    event.hash = compute_hash(GENESIS_HASH, event_fields(event))
    raw_insert(event)

    assert assert_rows_match_the_reference() == 1


def orm_reading(text):
    """What the ORM hands the reference hash for a JSON column holding `text`."""
    return AuditEvent._meta.get_field("after").from_db_value(text, None, connection)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (None, "null"),
        ("null", "null"),
        ('{"b": 1, "a": [1.5, null]}', '{"a":[1.5,null],"b":1}'),
        (' \n{"a": 1}  ', '{"a":1}'),
        ('{"a": "\\u00fc\\ud83d\\ude42"}', '{"a":"ü🙂"}'),
        ("not json", '"not json"'),
        ('{"a": 1} trailing', '"{\\"a\\": 1} trailing"'),
        ("NaN", "NaN"),
        ('"just a string"', '"just a string"'),
        ("\ufeff{}", '"\ufeff{}"'),
    ],
)
def test_a_json_columns_text_reads_as_django_reads_it_then_canonically(db, text, canonical):
    expected = json.dumps(orm_reading(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert expected == canonical
    assert _json_column(text) == canonical


@pytest.mark.sqlite_only  # PostgreSQL's timestamptz refuses a value that is not a time
@pytest.mark.usefixtures("triggers_lifted")
def test_a_time_tampered_into_text_that_is_no_time_reads_as_an_altered_row(five_events):
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {TABLE} SET occurred_at = %s WHERE seq = %s", ["yesterday-ish", 2])  # noqa: S608
    before = AuditEvent.objects.count()

    assert verify_chain() == VerifyResult(False, 1, 2, ROW_ALTERED)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("value", [1e16, 1.5e300, -0.0, 123.0, 1.5e-7, 1.2345e20])
def test_a_float_jsonb_writes_back_differently_leaves_the_chain_intact(db, value):
    """jsonb gives 1e16 back as the integer 10000000000000000 and -0.0 as 0.0: the append path stores and
    hashes that form, so an intact chain verifies (on PostgreSQL it read as altered), on both databases."""
    with transaction.atomic():
        append_event(actor=None, action="x.y", object_type="t", object_id="1", after={"metric": value})

    assert verify_chain() == VerifyResult(True, 1)
    assert float(AuditEvent.objects.get().after["metric"]) == value  # the same number, in the stored form


def test_the_append_paths_round_trip_skips_the_float_walk_only_where_it_would_change_nothing():
    """_round_trip walks a value with _as_stored only when its JSON text holds a float; seeded random values
    (floats of every form, nested, and strings that look like numbers) come out as the full walk gives
    them, down to the sign of zero."""
    import json
    import random

    from governance.audit.chain import _as_stored, _round_trip

    rng = random.Random(15)
    floats = [0.0, -0.0, 1e16, 1.5e300, 3e-7, -2.5e-5, 1.25, -1e22, 123.0, float(10**20)]
    texts = ["1e5", "-0.0", ": 2e3", "x", ""]

    def value(depth=0):
        r = rng.random()
        if depth < 3 and r < 0.2:
            return {str(i): value(depth + 1) for i in range(rng.randint(0, 4))}
        if depth < 3 and r < 0.35:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        if r < 0.6:
            return rng.choice([*floats, rng.uniform(-1e30, 1e30)])
        if r < 0.8:
            return rng.randint(-5, 5)
        return rng.choice(texts)

    for _ in range(20_000):
        v = value()
        assert json.dumps(_round_trip(v)) == json.dumps(_as_stored(json.loads(json.dumps(v))))
