"""Query-building helpers that every app's selectors use."""

from __future__ import annotations

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
