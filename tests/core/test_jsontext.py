"""core.jsontext: dumps is json.dumps byte for byte; JSONTextField keeps a JSON value as its text in a text
column (jsonb on PostgreSQL parsed and re-serialized every event: core/jsontext.py), read back as the value."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from core.jsontext import JSONTextField, dumps
from governance.models import LineageEvent
from tests.lineage_events import event

VALUES = [{"b": 1, "a": [1, 2.5, None, True, "é"]}, [], "text", 3, {"nested": {"z": {}, "y": []}}]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_is_json_dumps(value):
    assert dumps(value) == json.dumps(value)


def test_the_field_is_a_text_column_on_every_database():
    field = LineageEvent._meta.get_field("payload")
    assert isinstance(field, JSONTextField)
    assert field.db_type(connection) == "text"
    assert field.db_check(connection) is None


@pytest.mark.django_db
def test_a_payload_is_stored_as_its_text_and_read_back_as_the_value(django_user_model):
    payload = {"z": 1, **event()}  # keys out of order: the text keeps them as written
    row = LineageEvent.objects.create(
        event_hash="0" * 64, kind="run", event_time="2025-06-01T10:00:00Z", producer="p", schema_url="s",
        spec_major=2, payload=payload,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT payload FROM {LineageEvent._meta.db_table} WHERE id = %s", [row.pk])  # noqa: S608
        stored = cursor.fetchone()[0]
    assert isinstance(stored, str)
    assert stored == json.dumps(payload)
    assert LineageEvent.objects.get(pk=row.pk).payload == payload
    assert list(LineageEvent.objects.values_list("payload", flat=True)) == [payload]
