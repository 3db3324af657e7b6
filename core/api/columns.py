"""The columns a list endpoint loads: its rows' own, and only the related ones its shape shows."""

from __future__ import annotations

from django.db.models import Model


def list_columns(model: type[Model], *related: str, without: tuple[str, ...] = ()) -> list[str]:
    """`model`'s own columns (less `without`) and the `related` lookups, for `QuerySet.only()`.

    A page of 50 rows with three joined rows each built every column of every joined row (a user's
    password hash, a project's purpose, a version's raw registry answer) and parsed every date and JSON
    value in them: most of a list's time on SQLite. A column the shape needs and this list forgets
    costs a query per row, which the list's query-count test catches.
    """
    own = [f.name for f in model._meta.concrete_fields if f.name not in without]
    return [*own, *related]
