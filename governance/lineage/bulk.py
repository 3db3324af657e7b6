"""Set-based reads and writes of a batch: every IN list stays below SQLite's 999 parameters; on PostgreSQL
one statement whatever the row count (an array for an IN list, COPY for new rows, a JSON document for
changed ones), since Django's driver binds on the client and the server parses and plans each statement."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from django.db import connection, models

from core.bulk_insert import json_default

from .facets import Identity

CHUNK = 400  # values per IN list, with room for the rest of the query's parameters


def chunks(values: Iterable, size: int = CHUNK) -> Iterator[list]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def by_identity(queryset, identities: Iterable[Identity]) -> dict[Identity, object]:
    """Rows of a (namespace, name)-keyed model: IN lists on both columns use the unique index; the few
    extra pairs the cross product matches are dropped here. Unordered: the model's default ordering would
    make the database sort rows that go into a dict."""
    wanted = set(identities)
    found = {}
    for names in chunks({name for _, name in wanted}):
        in_chunk = set(names)
        namespaces = {ns for ns, name in wanted if name in in_chunk}
        for row in queryset.order_by().filter(namespace__in=namespaces, name__in=names):
            key = (row.namespace, row.name)
            if key in wanted:
                found[key] = row
    return found


def in_lists(values: Iterable) -> Iterator[tuple[str, list]]:
    """`IN (…)` conditions over `values` with their parameters: chunks under SQLite's limit there; on
    PostgreSQL one `= ANY(%s)` with the values as one array, however many, since the server parses and
    plans every IN list (Django's driver binds on the client: each chunk was a new statement to it)."""
    values = list(values)
    if not values:
        return
    if connection.vendor == "postgresql":
        yield "= ANY(%s)", [values]
        return
    for chunk in chunks(values):
        yield f"IN ({', '.join(['%s'] * len(chunk))})", chunk


def select_in(model, fields: list[str], key: str, values: Iterable, extra: str = "", params: tuple = ()) -> list[tuple]:
    """Rows (tuples of `fields`, attnames of keys, text, numbers and booleans) of `model` whose `key` column is
    in `values`, in chunked IN lists, as plain SQL: the ORM prepared every value of every IN list one by
    one and built a converter call per row, more work than the database's. `extra`: more of the WHERE
    (SQL with %s, its `params` after each chunk's values)."""
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    select = ", ".join(quote(f.column) for f in columns)
    where_key = quote(meta.get_field(key).column)
    booleans = [i for i, f in enumerate(columns) if isinstance(f, models.BooleanField)]
    head = f"SELECT {select} FROM {quote(meta.db_table)} WHERE {where_key}"  # noqa: S608 - names from the model
    out: list[tuple] = []
    with connection.cursor() as cursor:
        for where, args in in_lists(values):
            cursor.execute(f"{head} {where}{extra}", [*args, *params])
            rows = cursor.fetchall()
            for i in booleans:  # SQLite answers 0/1
                rows = [(*r[:i], None if r[i] is None else bool(r[i]), *r[i + 1 :]) for r in rows]
            out.extend(rows)
    return out


def insert_rows(model, fields: list[str], rows: list[tuple]) -> None:
    """INSERT many rows as one executemany (one COPY on PostgreSQL): no model instance per row (Django's
    bulk_create spends most of a large batch building them). `fields` are model field names; values are
    converted as save() would. Not core.bulk_insert.insert_rows (multi-row VALUES, a JSON document on
    PostgreSQL, and the keys read back): the applier needs no keys, and through it a batch cost 8-10 %
    more (3,000 events in batches of 500, measured on both databases)."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    # Every other column takes its model default, as save() would: a field added to the model later
    # (e.g. NOT NULL with a default) must not break the raw insert.
    others = [f for f in meta.concrete_fields if not f.primary_key and f not in columns]
    if others:
        defaults = tuple(f.get_default() for f in others)
        columns += others
        rows = [(*row, *defaults) for row in rows]
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in columns)
    converters = [_converter(f) for f in columns]
    if connection.vendor == "postgresql":
        _copy_rows(f"COPY {quote(meta.db_table)} ({names}) FROM STDIN", _prepared_rows(converters, rows))
        return
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608 - names from the model, values bound
    with connection.cursor() as cursor:
        cursor.executemany(sql, _prepared_rows(converters, rows))


def _copy_rows(statement: str, rows) -> None:
    """PostgreSQL: the rows through one COPY. Django's driver binds values on the client, so an executemany
    sent every row as its own statement for the server to parse and plan: a batch's ten thousand column
    edges cost the server more than everything else the batch does. COPY has no per-row statement. A row
    that breaks a constraint fails the COPY as it would the INSERT, raised as Django's IntegrityError."""
    # Django's cursor passes copy() through to the driver's (and logs it as a query where queries are logged).
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def update_rows(model, fields: list[str], rows: list[tuple]) -> None:
    """UPDATE many rows by primary key as one executemany; each row is (pk, *values of `fields`)."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        _update_rows_as_json(meta, columns, rows)
        return
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - names from the model, values bound
        quote(meta.db_table), ", ".join(f"{quote(f.column)} = %s" for f in columns), quote(meta.pk.column)
    )
    with connection.cursor() as cursor:
        converters = [_converter(f) for f in columns]
        cursor.executemany(sql, _prepared_rows([*converters, _same], [(*row[1:], row[0]) for row in rows]))


def _update_rows_as_json(meta, columns: list, rows: list[tuple]) -> None:
    """PostgreSQL: the rows as one JSON document joined to the table in one UPDATE, as core.bulk_insert
    inserts (an executemany is a statement per row for the server to parse and plan). Times go as
    ISO-8601, JSON columns as their JSON; the record's types are the columns' own, without their length."""
    quote = connection.ops.quote_name
    pk = meta.pk
    record = ", ".join(f"{quote(f.column)} {f.db_type(connection).split('(')[0]}" for f in [pk, *columns])
    assignments = ", ".join(f"{quote(f.column)} = r.{quote(f.column)}" for f in columns)
    names = [pk.column, *(f.column for f in columns)]
    document = json.dumps([dict(zip(names, row, strict=True)) for row in rows], default=json_default)
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} FROM jsonb_to_recordset(%s::jsonb) AS r({record})"  # noqa: S608
        f" WHERE t.{quote(pk.column)} = r.{quote(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [document])


def _prepared_rows(converters, rows: list[tuple]) -> list[tuple]:
    """Rows with each value as the driver takes it: only the columns whose converter does something are
    touched (most are keys, text and booleans, passed as they are: a batch writes tens of thousands)."""
    width = len(converters)
    if any(len(row) != width for row in rows):
        raise ValueError(f"every row must have {width} values")
    work = [(i, c) for i, c in enumerate(converters) if c is not _same]
    if not work:
        return rows
    out = []
    for row in rows:
        values = list(row)
        for i, convert in work:
            values[i] = convert(values[i])
        out.append(values)
    return out


PLAIN = (models.CharField, models.TextField, models.BooleanField, models.IntegerField)  # auto keys included


def _converter(field):
    """How a value of this field goes to the driver: numbers, text, booleans and keys as they are (what
    get_db_prep_save does for them), times and JSON through Django — a time once per distinct value (a
    batch writes the same `now` thousands of times)."""
    if isinstance(field, models.JSONField):
        return lambda v: field.get_db_prep_save(v, connection)
    if isinstance(field, models.DateTimeField):
        cache: dict = {}
        last = [object(), None]  # the value before: most rows of a batch carry the same `now`

        def time(v):
            if v is last[0]:
                return last[1]
            if v not in cache:
                cache[v] = field.get_db_prep_save(v, connection)
            last[0], last[1] = v, cache[v]
            return last[1]

        return time
    if isinstance(
        field, models.CharField | models.TextField | models.BooleanField | models.IntegerField | models.AutoField
    ):
        return _same
    if isinstance(field, models.ForeignKey) and isinstance(field.target_field, models.AutoField | models.IntegerField):
        return _same
    return lambda v: field.get_db_prep_save(v, connection)


def _same(value):
    return value


def touch(model, field: str, value, ids) -> None:
    """Set one field to one value on many rows by primary key (e.g. last_seen_at), one UPDATE per chunk."""
    column = model._meta.get_field(field)
    quote = connection.ops.quote_name
    prepared = column.get_db_prep_save(value, connection)
    table, name, pk = quote(model._meta.db_table), quote(column.column), quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        for where, args in in_lists(ids):
            cursor.execute(f"UPDATE {table} SET {name} = %s WHERE {pk} {where}", [prepared, *args])  # noqa: S608 - names from the model
