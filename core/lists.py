"""The filtered-list page: one FilterSet over a scoped queryset, one invalid-filter rule, pagination, export.

The rule every list page follows (it used to differ page by page): a filter that cannot be applied
shows the form's error and **no rows** — never everything — and an export asked with such a filter
answers 400 naming the errors, so a spreadsheet never silently holds more than the page would show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse

from .exports import EXPORT_FORMATS, table_response

UNKNOWN_EXPORT = "Unknown export format {fmt!r}; choose one of: {formats}."
INVALID_FILTER = "The filter cannot be applied, so nothing was exported: {errors}"


def filtered(filterset) -> QuerySet:
    """The rows a filterset selects: all of its queryset when unbound, none when its data is invalid."""
    if not filterset.is_bound:
        return filterset.qs
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def filter_errors_text(filterset) -> str:
    """The filter form's errors as one line of plain text, for a 400 answer to an export."""
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in filterset.errors.items())


def bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


class FilteredListMixin:
    """For a TemplateView: set `filterset_class`, implement `get_queryset()` (already scoped to the user),
    and, to offer `?export=csv|xlsx`, `export_stem`, `export_header` and `export_rows(qs)`.

    The context gets `filter`, `page_obj`, `querystring` (the filters without the page number, for page
    links) and the page's rows under `context_object_name`.
    """

    filterset_class = None
    paginate_by = 50
    context_object_name = "rows"
    export_stem = ""
    export_title = ""
    export_header: Sequence[str] = ()

    def get_queryset(self) -> QuerySet:
        raise NotImplementedError

    def get_filterset(self):
        return self.filterset_class(self.request.GET or None, queryset=self.get_queryset(), request=self.request)

    def export_rows(self, qs: QuerySet) -> Iterable[Sequence]:
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        self.filterset = self.get_filterset()
        fmt = request.GET.get("export")
        if fmt is not None and self.export_stem:
            return self.export(fmt)
        return super().get(request, *args, **kwargs)

    def export(self, fmt: str) -> HttpResponse:
        if fmt not in EXPORT_FORMATS:
            return bad_request(UNKNOWN_EXPORT.format(fmt=fmt, formats=", ".join(EXPORT_FORMATS)))
        if self.filterset.is_bound and not self.filterset.is_valid():
            return bad_request(INVALID_FILTER.format(errors=filter_errors_text(self.filterset)))
        rows = self.export_rows(filtered(self.filterset))
        return table_response(fmt, stem=self.export_stem, header=self.export_header, rows=rows, title=self.export_title)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        page = Paginator(filtered(self.filterset), self.paginate_by).get_page(self.request.GET.get("page"))
        params = self.request.GET.copy()
        params.pop("page", None)
        ctx.update(
            filter=self.filterset,
            page_obj=page,
            querystring=params.urlencode(),
            **{self.context_object_name: page.object_list},
        )
        return ctx
