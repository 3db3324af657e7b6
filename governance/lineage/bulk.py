"""Chunked set-based reads: every IN list stays below SQLite's 999 parameters (and PostgreSQL's 65,535)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .facets import Identity

CHUNK = 400  # values per IN list, with room for the rest of the query's parameters


def chunks(values: Iterable, size: int = CHUNK) -> Iterator[list]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def by_identity(queryset, identities: Iterable[Identity]) -> dict[Identity, object]:
    """Rows of a (namespace, name)-keyed model: IN lists on both columns use the unique index; the few
    extra pairs the cross product matches are dropped here."""
    wanted = set(identities)
    found = {}
    for names in chunks({name for _, name in wanted}):
        in_chunk = set(names)
        namespaces = {ns for ns, name in wanted if name in in_chunk}
        for row in queryset.filter(namespace__in=namespaces, name__in=names):
            key = (row.namespace, row.name)
            if key in wanted:
                found[key] = row
    return found
