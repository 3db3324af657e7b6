"""Query-building helpers that every app's selectors use."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection
from django.db.models import Count, QuerySet, Value


def count_subquery(qs: QuerySet) -> QuerySet:
    """A one-value subquery counting `qs` (which must be filtered on an OuterRef), for Subquery(...)."""
    return qs.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk")).values("n")


class PlainColumns:
    """For the few reads every API request makes (its token with its user): the ORM spends several times
    longer building such a query than the database spends answering it.

    The columns of a model as one plain SELECT reads them (qualified by `alias`), and how to turn the
    values of those columns, at `offset` in a row, back into an instance as the ORM would."""

    def __init__(self, model, alias: str, fields: tuple[str, ...] | None, offset: int = 0):
        concrete = [f for f in model._meta.concrete_fields if fields is None or f.attname in fields or f.primary_key]
        quote = connection.ops.quote_name
        self.model = model
        self.sql = ", ".join(f"{alias}.{quote(f.column)}" for f in concrete)
        self.names = [f.attname for f in concrete]
        self.span = (offset, offset + len(concrete))
        self.converters = []
        for i, f in enumerate(concrete):
            expression = f.get_col(model._meta.db_table)
            convert = connection.ops.get_db_converters(expression) + f.get_db_converters(connection)
            if convert:
                self.converters.append((i, expression, convert))

    def instance(self, row):
        values = list(row[self.span[0] : self.span[1]])
        for i, expression, convert in self.converters:
            for converter in convert:
                values[i] = converter(values[i], expression, connection)
        return self.model.from_db(connection.alias, self.names, values)


_PLAIN_COLUMNS: dict = {}


def plain_columns(model, alias: str, fields: tuple[str, ...] | None = None, offset: int = 0) -> PlainColumns:
    """PlainColumns, built once per shape and database vendor."""
    key = (model, alias, fields, offset, connection.vendor)
    if key not in _PLAIN_COLUMNS:
        _PLAIN_COLUMNS[key] = PlainColumns(model, alias, fields, offset)
    return _PLAIN_COLUMNS[key]


@contextlib.contextmanager
def prepared_cursor() -> Iterator:
    """Django's cursor for a statement every request runs (an API token's read, a lineage POST's insert).
    On PostgreSQL it binds values on the server, so psycopg prepares the statement from its fifth run on a
    connection (DATABASES OPTIONS prepare_threshold, config/settings.py) and the server plans it once:
    Django's cursors bind on the client, and planning the token's four-table read cost the server several
    times what executing it does (0.15-0.21 ms against 0.03, measured with psycopg on this machine).
    Elsewhere, and where queries are logged (DEBUG, a test counting them: Django's log reads the SQL off a
    client-binding cursor), it is the ordinary cursor."""
    if connection.vendor != "postgresql" or connection.queries_logged:
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    # What connection.cursor() does with the cursor it creates (thread and transaction checks, the
    # debug wrapper where queries are logged), around one that binds on the server.
    with connection.wrap_database_errors:
        cursor = connection._prepare_cursor(ServerBindingCursor(connection.connection))
    with cursor:
        yield cursor
