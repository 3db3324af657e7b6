"""Query-building helpers that every app's selectors use."""

from __future__ import annotations

from django.db.models import Count, QuerySet, Value


def count_subquery(qs: QuerySet) -> QuerySet:
    """A one-value subquery counting `qs` (which must be filtered on an OuterRef), for Subquery(...)."""
    return qs.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk")).values("n")
