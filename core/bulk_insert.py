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
cost more there than the INSERT itself; json.dumps writes the one document in C, and it is bound on the
server (core.queries.prepared_cursor): quoted into the statement, it was half a megabyte of literal per 500
versions for the server to scan (a registry sync's 500-version INSERT: 13.5-21 ms so, 11.5-15 bound). Times
go in as ISO-8601 with their microseconds (the audit trail hashes them), JSON columns as their JSON (None as
SQL NULL, as JSONField stores it).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import operator
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import connections, router
from django.db.backends.base.operations import BaseDatabaseOperations

from core.jsontext import dumps
from core.queries import instance_builder, prepared_cursor

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
    fields = [f for f in meta.concrete_fields if not (pk is meta.auto_field and f is pk)]
    for obj in objs:
        # A foreign key to an object saved after it was assigned (a new model's new versions) takes
        # that object's id now, as bulk_create does.
        obj._prepare_related_fields_for_save(operation_name="insert_many")
    rows = [tuple(f.pre_save(obj, True) for f in fields) for obj in objs]
    keys = insert_rows(model, [f.attname for f in fields], rows, batch_size=batch_size)
    for obj, value in zip(objs, [obj.pk for obj in objs] if keys is None else keys, strict=True):
        setattr(obj, pk.attname, value)
        obj._state.adding = False
        obj._state.db = db


def insert_values(model, rows: list[dict], *, batch_size: int = BATCH) -> list:
    """INSERT rows given as {attname: value} (the other columns take their field's default) and return them
    as saved instances, primary keys set. The instances are built after the INSERT from positional values
    (Model.from_db), a fraction of what building each from keyword arguments and preparing it field by
    field costs: a registry sync inserts thousands of versions. No field's pre_save runs, so a model with
    auto_now or auto_now_add fields goes through insert_many instead, as does a backend without
    INSERT … RETURNING."""
    if not rows:
        return []
    db = router.db_for_write(model)
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f is not meta.auto_field]
    if not connections[db].features.can_return_rows_from_bulk_insert or any(
        getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) for f in fields
    ):
        objs = [model(**row) for row in rows]
        insert_many(model, objs, batch_size=batch_size)
        return objs
    names = [f.attname for f in fields]
    # Each row on top of the defaults: the constant ones computed once, the callable ones (dict, now) per row.
    constant = {f.attname: f.get_default() for f in fields if not (f.has_default() and callable(f.default))}
    fresh = [(f.attname, f.default) for f in fields if f.has_default() and callable(f.default)]
    as_tuple = operator.itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    values = [as_tuple({**constant, **{n: make() for n, make in fresh if n not in row}, **row}) for row in rows]
    keys = insert_rows(model, names, values, batch_size=batch_size)
    if keys is None:  # the rows carry their own primary key
        build = instance_builder(model, names).from_db
        return [build(db, names, row) for row in values]
    at = meta.concrete_fields.index(meta.pk)
    columns = [*names[:at], meta.pk.attname, *names[at:]]
    build = instance_builder(model, columns).from_db  # without Model.__init__ where that is the same instance
    return [build(db, columns, (*row[:at], key, *row[at:])) for key, row in zip(keys, values, strict=True)]


def insert_rows(model, attnames: list[str], rows: list[tuple], *, batch_size: int = BATCH) -> list | None:
    """INSERT rows given as tuples of values in the order of `attnames` (`model`'s concrete fields by
    attname, its generated primary key left out), each value prepared by its field as the ORM prepares it
    for a save; no instance is built. Returns the generated primary keys in the rows' order (None when
    the rows carry their own). Needs INSERT … RETURNING (PostgreSQL, SQLite ≥ 3.35), as insert_many's own
    path does: the caller builds its rows only where it is available."""
    if not rows:
        return None if model._meta.pk is not model._meta.auto_field else []
    db = router.db_for_write(model)
    connection = connections[db]
    meta = model._meta
    pk = meta.pk
    generated = pk is meta.auto_field and pk.attname not in attnames
    fields = [meta.get_field(name) for name in attnames]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) "
    tail = f" RETURNING {quote(pk.column)}" if generated else ""
    as_json = connection.vendor == "postgresql" and not any(getattr(f, "encoder", None) for f in fields)
    if as_json:
        # Types without their length (varchar, not varchar(50)): the INSERT checks lengths as any other.
        record = ", ".join(f"{quote(f.column)} {f.db_type(connection).split('(')[0]}" for f in fields)
        # JSON columns go into the document as their value; the others as their field prepares them.
        prepares = [_AS_IS if f.get_internal_type() == "JSONField" else _preparer(f, connection) for f in fields]
        size = max(batch_size, JSON_BATCH)
    else:
        row_sql = f"({', '.join(['%s'] * len(fields))})"
        prepares = [_preparer(f, connection) for f in fields]
        size = max(1, min(batch_size, connection.ops.bulk_batch_size(fields, rows) or batch_size))
    names = [f.column for f in fields]
    keys: list = []
    # The document is bound on the server (prepared_cursor), not quoted into the statement's text.
    with prepared_cursor(db) if as_json else connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            if as_json:
                # Names from the model, quoted; the rows are one bound parameter.
                sql = f"{head}SELECT {columns} FROM jsonb_to_recordset(%s::jsonb) AS r({record}){tail}"  # noqa: S608
                document = [
                    {
                        name: v if v.__class__ in as_is else prep(v)
                        for name, (as_is, prep), v in zip(names, prepares, row, strict=True)
                    }
                    for row in batch
                ]
                params = [json.dumps(document, default=json_default, separators=(",", ":"))]
            else:
                sql = f"{head}VALUES {', '.join([row_sql] * len(batch))}{tail}"
                params = [
                    v if v.__class__ in as_is else prep(v)
                    for row in batch
                    for (as_is, prep), v in zip(prepares, row, strict=True)
                ]
            cursor.execute(sql, params)
            if generated:
                keys.extend(pk.to_python(value) for (value,) in cursor.fetchall())
    return keys if generated else None


_TEXT = {"CharField", "TextField", "SlugField", "EmailField", "URLField"}
_INTEGER = {
    "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
    "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField",
}  # fmt: skip


# A JSON column in PostgreSQL's document: the value itself, whatever it is (json.dumps writes it).
_AS_IS = (frozenset({dict, list, str, int, float, bool, type(None)}), lambda v: v)
_STR, _INT_OR_NONE, _NOTHING = frozenset({str}), frozenset({int, type(None)}), frozenset()


def _preparer(field, connection) -> tuple[frozenset, Callable]:
    """field.get_db_prep_save for this connection, as (the value classes it hands back unchanged, a function
    for the others): a str for a text column, an int or None for an integer one go as they are, without a
    call; an aware datetime is only adapted. Tens of thousands of values a sync, where Django's generic
    path costs the most."""
    prep = field.get_db_prep_save
    target = field.target_field if field.is_relation else field
    internal = target.get_internal_type()
    if internal in _TEXT:
        return _STR, lambda v: prep(v, connection)
    if internal in _INTEGER:
        return _INT_OR_NONE, lambda v: prep(v, connection)
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
            return (
                _NOTHING,
                lambda v: (
                    str(v.replace(tzinfo=None))
                    if v.__class__ is dt.datetime and v.tzinfo is dt.UTC
                    else prepare_time(v)
                ),
            )
        return _NOTHING, prepare_time
    if internal == "JSONField" and field.encoder is None and _plain_json_adapter(connection):
        # JSONField's prep comes down to json.dumps(value) here; dicts, lists and strings go straight to it.
        return _NOTHING, lambda v: dumps(v) if v.__class__ in _JSON_CONTAINERS else prep(v, connection)
    return _NOTHING, lambda v: prep(v, connection)


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
