from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework import pagination

from core import queries


class _Paginator(Paginator):
    """Django's Paginator, a queryset counted by core.queries.count (a list's count compiled once per state)."""

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            return queries.count(self.object_list)
        return Paginator.count.func(self)


class PageNumberPagination(pagination.PageNumberPagination):
    """Default 50 a page, callers may ask for up to 200 with ?page_size=."""

    django_paginator_class = _Paginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class SeqCursorPagination(pagination.CursorPagination):
    """For append-only tables: stable pages while rows keep arriving, no COUNT(*) over the table."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-seq"
