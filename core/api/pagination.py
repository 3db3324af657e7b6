from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """Default 50 a page, callers may ask for up to 200 with ?page_size=."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class SeqCursorPagination(pagination.CursorPagination):
    """For append-only tables: stable pages while rows keep arriving, no COUNT(*) over the table."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-seq"
