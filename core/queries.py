"""Query-building helpers that every app's selectors use."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, QuerySet, Value


def count_subquery(qs: QuerySet) -> QuerySet:
    """A one-value subquery counting `qs` (which must be filtered on an OuterRef), for Subquery(...)."""
    return qs.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk")).values("n")


def fetch_instances(model, where: str, params: list, fields: tuple[str, ...] | None = None) -> list:
    """Instances of `model` read with one plain SQL query (`SELECT <columns> FROM <table> WHERE <where>`),
    each column converted as the ORM converts it; fields not named are deferred (loaded if touched).

    For the few reads every API request makes (its token, its user): the ORM spends several times longer
    building such a query than the database spends answering it."""
    concrete = [f for f in model._meta.concrete_fields if fields is None or f.attname in fields or f.primary_key]
    table = model._meta.db_table
    quote = connection.ops.quote_name
    sql = f"SELECT {', '.join(quote(f.column) for f in concrete)} FROM {quote(table)} WHERE {where}"  # noqa: S608
    converters = []
    for f in concrete:
        col = f.get_col(table)
        converters.append(connection.ops.get_db_converters(col) + f.get_db_converters(connection))
    names = [f.attname for f in concrete]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        values = []
        for value, field, convert in zip(row, concrete, converters, strict=True):
            for converter in convert:
                value = converter(value, field.get_col(table), connection)
            values.append(value)
        out.append(model.from_db(connection.alias, names, values))
    return out
