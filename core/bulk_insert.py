"""INSERT many rows of one model in a few statements, with their primary keys set on the objects.

What `QuerySet.bulk_create` does for plain rows, at a fraction of its cost in Python: each value is still
prepared by its field (`Field.get_db_prep_save`, so times and the rest are stored as the ORM stores them),
but the SQL is built once per batch instead of compiled field by field, row by row. A registry sync
inserts thousands of versions and audit events at a time; this is where its time went. No signals are
sent, as with bulk_create. Needs INSERT … RETURNING (PostgreSQL, SQLite ≥ 3.35); elsewhere it is
bulk_create.

On PostgreSQL the rows go in as one JSON document (INSERT … SELECT … FROM jsonb_to_recordset(%s)): one
parameter whatever the row count. Django's client-side binding quotes every parameter into the SQL text
in Python, and a VALUES list (or an UNNEST array per column, as bulk_create sends) of thousands of values
cost more there than the INSERT itself; json.dumps writes the one document in C. Times go in as ISO-8601
with their microseconds (the audit trail hashes them), JSON columns as their JSON (None as SQL NULL, as
JSONField stores it).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

from django.conf import settings
from django.db import connections, router
from django.db.backends.base.operations import BaseDatabaseOperations

BATCH = 500
JSON_BATCH = 5000  # rows per statement on PostgreSQL (one parameter each)


def insert_many(model, objs: list, *, batch_size: int = BATCH) -> None:
    """INSERT `objs` (unsaved instances of `model`) and set their primary keys: read back from the
    database when it generates them, as given otherwise (e.g. the audit trail's seq)."""
    if not objs:
        return
    db = router.db_for_write(model)
    connection = connections[db]
    if not connection.features.can_return_rows_from_bulk_insert:
        model.objects.using(db).bulk_create(objs, batch_size=batch_size)
        return
    meta = model._meta
    pk = meta.pk
    generated = pk is meta.auto_field
    fields = [f for f in meta.concrete_fields if not (generated and f is pk)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) "
    tail = f" RETURNING {quote(pk.column)}" if generated else ""
    as_json = connection.vendor == "postgresql" and not any(getattr(f, "encoder", None) for f in fields)
    if as_json:
        # Types without their length (varchar, not varchar(50)): the INSERT checks lengths as any other.
        record = ", ".join(f"{quote(f.column)} {f.db_type(connection).split('(')[0]}" for f in fields)
        json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
        size = max(batch_size, JSON_BATCH)
    else:
        row_sql = f"({', '.join(['%s'] * len(fields))})"
        size = max(1, min(batch_size, connection.ops.bulk_batch_size(fields, objs) or batch_size))
    prepares = [(f, _preparer(f, connection)) for f in fields]
    with connection.cursor() as cursor:
        for start in range(0, len(objs), size):
            batch = objs[start : start + size]
            for obj in batch:
                # A foreign key to an object saved after it was assigned (a new model's new versions)
                # takes that object's id now, as bulk_create does.
                obj._prepare_related_fields_for_save(operation_name="insert_many")
            if as_json:
                # Names from the model, quoted; the rows are one bound parameter.
                sql = f"{head}SELECT {columns} FROM jsonb_to_recordset(%s::jsonb) AS r({record}){tail}"  # noqa: S608
                rows = [
                    {
                        f.column: f.pre_save(obj, True) if f.attname in json_fields else prep(f.pre_save(obj, True))
                        for f, prep in prepares
                    }
                    for obj in batch
                ]
                params = [json.dumps(rows, default=json_default, separators=(",", ":"))]
            else:
                sql = f"{head}VALUES {', '.join([row_sql] * len(batch))}{tail}"
                params = [prep(f.pre_save(obj, True)) for obj in batch for f, prep in prepares]
            cursor.execute(sql, params)
            keys = cursor.fetchall() if generated else [(obj.pk,) for obj in batch]
            for obj, (value,) in zip(batch, keys, strict=True):
                setattr(obj, pk.attname, pk.to_python(value))
                obj._state.adding = False
                obj._state.db = db


_TEXT = {"CharField", "TextField", "SlugField", "EmailField", "URLField"}
_INTEGER = {
    "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
    "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField",
}  # fmt: skip


def _preparer(field, connection):
    """field.get_db_prep_save for this connection, with a shortcut for the values it would hand back
    unchanged (a str for a text column, an int or None for an integer one) or only adapt (an aware
    datetime): tens of thousands of values a sync, where Django's generic path costs the most."""
    prep = field.get_db_prep_save
    target = field.target_field if field.is_relation else field
    internal = target.get_internal_type()
    if internal in _TEXT:
        return lambda v: v if v.__class__ is str else prep(v, connection)
    if internal in _INTEGER:
        return lambda v: v if v is None or v.__class__ is int else prep(v, connection)
    if internal == "DateTimeField":
        adapt = connection.ops.adapt_datetimefield_value

        def prepare_time(v):
            return (
                (adapt(v) if v.__class__ is dt.datetime and v.tzinfo is not None else prep(v, connection))
                if v is not None
                else None
            )

        if connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone_name == "UTC":
            # A UTC time as SQLite's adapt writes it (made naive in UTC, then str), without its checks.
            return lambda v: (
                str(v.replace(tzinfo=None)) if v.__class__ is dt.datetime and v.tzinfo is dt.UTC else prepare_time(v)
            )
        return prepare_time
    if internal == "JSONField" and field.encoder is None and _plain_json_adapter(connection):
        # JSONField's prep comes down to json.dumps(value) here; dicts, lists and strings go straight to it.
        return lambda v: json.dumps(v) if v.__class__ in _JSON_CONTAINERS else prep(v, connection)
    return lambda v: prep(v, connection)


_JSON_CONTAINERS = (dict, list, str)


def _plain_json_adapter(connection) -> bool:
    """Whether the backend sends a JSON value as json.dumps of it (SQLite, MySQL; not PostgreSQL's Jsonb)."""
    return type(connection.ops).adapt_json_value is BaseDatabaseOperations.adapt_json_value


def json_default(value):
    """What the database drivers would send for a value JSON has no type for; times keep their microseconds."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"cannot send a {type(value).__name__} to the database as JSON")
