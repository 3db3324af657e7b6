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
    sql, names, converters = _plain_select(model, where, fields, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        values = list(row)
        for i, (expression, convert) in converters:
            for converter in convert:
                values[i] = converter(values[i], expression, connection)
        out.append(model.from_db(connection.alias, names, values))
    return out


_PLAIN_SELECTS: dict = {}


def _plain_select(model, where: str, fields, vendor: str):
    """The SQL, field names and per-column converters of fetch_instances, built once per query shape."""
    key = (model, where, fields, vendor)
    if key not in _PLAIN_SELECTS:
        concrete = [f for f in model._meta.concrete_fields if fields is None or f.attname in fields or f.primary_key]
        table = model._meta.db_table
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in concrete)
        converters = []
        for i, f in enumerate(concrete):
            expression = f.get_col(table)
            convert = connection.ops.get_db_converters(expression) + f.get_db_converters(connection)
            if convert:
                converters.append((i, (expression, convert)))
        sql = f"SELECT {columns} FROM {quote(table)} WHERE {where}"  # noqa: S608 - names from the model
        _PLAIN_SELECTS[key] = (sql, [f.attname for f in concrete], converters)
    return _PLAIN_SELECTS[key]
