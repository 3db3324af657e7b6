"""The ROI pages: a project's ROI tab (figures, ledger, log form, upload), the import template, and the
quick-log form of the team lead's home page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.generic import TemplateView

from core.errors import DomainError
from core.forms import apply_service_errors
from core.ids import parse_id
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin

from ..permissions import can_change_project
from ..roi import import_service as roi_import_service
from ..roi import importer
from ..roi import services as roi_services
from ..roi.charts import roi_charts
from ..roi.filters import ROIEntryFilterSet
from ..roi.forms import RoiEntryForm, RoiQuickLogForm, RoiUploadForm, this_month
from ..roi.import_service import RoiImportError
from ..roi.importer import RoiFileError
from ..roi.selectors import ledger_order, roi_deletions_recent, roi_project_figures
from ..roi.services import NOT_YOUR_PROJECT, money_text, month_text, taken_label
from .mixins import WRITER_ROLES, ProjectMixin, ProjectWriteMixin

LEDGER_PAGE_SIZE = 25
UNDO = "undo"  # ?undo=<deletion id>: the ledger offers to undo the deletion just made


class ProjectRoiView(ProjectMixin, FilteredListMixin, TemplateView):
    """The ROI tab: everyone in scope reads it; the team lead of the project's team and admins also log
    amounts here (POST, the log form). The ledger is a filtered list of the project's entries, exported
    with `?export=csv|xlsx`."""

    template_name = "projects/roi.html"
    http_method_names = ["get", "post"]
    filterset_class = ROIEntryFilterSet
    paginate_by = LEDGER_PAGE_SIZE
    context_object_name = "entries"
    export_title = "ROI ledger"
    export_header = (*importer.COLUMNS, "amount_reporting", "reporting_currency", "logged_by", "updated_at")

    @property
    def export_stem(self) -> str:
        return f"roi-{self.project.slug}"

    def get(self, request, *args, **kwargs):
        self.project = self.get_project()
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return ledger_order(self.project.roi_entries.select_related("logged_by"), this_month())

    def get_filterset(self):
        """The shared ROI FilterSet without its project filter: this page's project is the filter."""
        params = self.request.GET.copy()
        for name in ("page", "export", "project", UNDO):
            params.pop(name, None)
        filterset = self.filterset_class(params or None, queryset=self.get_queryset(), request=self.request)
        filterset.form.fields.pop("project")
        return filterset

    def export_rows(self, qs):
        reporting = roi_services.reporting_currency()
        for e in qs.order_by("month", "basis", "kind", "category").iterator(chunk_size=500):
            yield (
                self.project.slug, f"{e.month:%Y-%m}", e.kind, e.category, e.basis, e.amount, e.currency,
                e.evidence_url, e.note, e.amount_reporting, reporting, e.logged_by.username, e.updated_at,
            )  # fmt: skip

    def post(self, request, *args, **kwargs):
        self.project = self.get_project()
        if not can_change_project(request.user, self.project):
            raise PermissionDenied(NOT_YOUR_PROJECT)
        form = RoiEntryForm(request.POST, project=self.project)
        if form.is_valid():
            try:
                entry = roi_services.roi_entry_log(by=request.user, project=self.project, **form.service_values())
            except (ValidationError, DomainError) as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, logged_message(entry))
                return redirect(reverse("projects:roi", kwargs={"slug": self.project.slug}) + "#ledger")
        return self.render_to_response(self.get_context_data(log_form=form))

    def get_context_data(self, **kwargs):
        if not hasattr(self, "filterset"):  # a POST (the log form, the upload) shows the ledger too
            self.filterset = self.get_filterset()
        ctx = super().get_context_data(**kwargs)
        project = self.project
        can_change = can_change_project(self.request.user, project)
        figures = roi_project_figures(project=project, as_of=this_month())
        undo = self._undo(can_change)
        reporting = roi_services.reporting_currency()
        ctx.update(
            charts=roi_charts(figures, currency=reporting),
            current_month=this_month(),
            undo=undo,
            undo_label=taken_label(undo.as_entry) if undo else "",
            deleted=roi_deletions_recent(project=project) if can_change else [],
            # The ledger's own filters (the page's project is not one of them), for its page and export links.
            querystring=self.filterset.data.urlencode() if self.filterset.is_bound else "",
            project=project,
            can_change=can_change,
            figures=figures,
            reporting_currency=reporting,
            decay_share_pct=settings.KEEL_VALUE_DECAY_SHARE * 100,
            decay_months=settings.KEEL_VALUE_DECAY_MONTHS,
            discount_rate_pct=settings.KEEL_ROI_DISCOUNT_RATE * 100,
            max_upload_mb=round(importer.max_bytes() / (1024 * 1024), 1),
        )
        if can_change:
            ctx.setdefault("log_form", RoiEntryForm(project=project))
            ctx.setdefault("upload_form", RoiUploadForm())
        return ctx

    def _undo(self, can_change: bool):
        """The deletion just made (?undo=<id>, set by the delete view), while it can still be undone."""
        wanted = parse_id(self.request.GET.get(UNDO))
        if not can_change or wanted is None:
            return None
        return self.project.roi_deletions.filter(pk=wanted, restored_at=None).first()


@method_decorator(csrf_exempt, name="dispatch")  # checked in post(), once the size limit is in place
class ProjectRoiImportView(ProjectWriteMixin, View):
    """Upload a CSV/XLSX of entries: all rows valid or nothing saved, each bad line named.

    The size limit is an upload handler, which must be installed before anything reads the body;
    the CSRF check reads it, so it runs here, after the handler, rather than in the middleware."""

    http_method_names = ["post"]
    refusal = NOT_YOUR_PROJECT

    def post(self, request, *args, **kwargs):
        request.upload_handlers.insert(0, importer.SizeLimitedUploadHandler(request))
        return csrf_protect(self.upload)(request, *args, **kwargs)

    def upload(self, request, *args, **kwargs):
        form = RoiUploadForm(request.POST, request.FILES)
        import_errors: list[dict] = []
        if getattr(request, "roi_upload_too_large", False):
            form.is_valid()
            form.errors.pop("file", None)
            form.add_error("file", importer.FILE_TOO_LARGE.format(limit=importer.max_bytes()))
        elif form.is_valid():
            try:
                rows = importer.read_upload(form.cleaned_data["file"])
                result = roi_import_service.roi_entries_import(project_or_none=self.project, rows=rows, by=request.user)
            except RoiFileError as exc:
                form.add_error("file", exc.message)
            except RoiImportError as exc:
                form.add_error(None, exc.message)
                import_errors = exc.rows
            except (ValidationError, DomainError) as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"Imported {result.total} row(s): {result.created} new, {result.updated} changed, "
                    f"{result.unchanged} unchanged.",
                )
                return redirect(reverse("projects:roi", kwargs={"slug": self.project.slug}) + "#ledger")
        view = ProjectRoiView(request=request, kwargs=self.kwargs, args=self.args)
        view.project = self.project
        ctx = view.get_context_data(upload_form=form, import_errors=import_errors)
        return view.render_to_response(ctx)


class ProjectRoiTemplateView(ProjectMixin, View):
    """The import template, prefilled with the project's slug (CSV or XLSX)."""

    http_method_names = ["get"]

    def get(self, request, *args, fmt: str, **kwargs):
        project = self.get_project()
        if fmt == "xlsx":
            body = importer.template_xlsx(project.slug)
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            body, content_type = importer.template_csv(project.slug), "text/csv; charset=utf-8"
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="keel-roi-template-{project.slug}.{fmt}"'
        return response


class ProjectRoiDeleteView(ProjectWriteMixin, TemplateView):
    """Delete one ledger entry (logged by mistake): GET asks for confirmation (a page, so it works without
    JavaScript), POST deletes it and returns to the ledger with an Undo button."""

    http_method_names = ["get", "post"]
    refusal = NOT_YOUR_PROJECT
    template_name = "projects/roi_confirm_delete.html"

    def get_context_data(self, **kwargs):
        entry = get_object_or_404(self.project.roi_entries.select_related("logged_by"), pk=self.kwargs["pk"])
        return {**super().get_context_data(**kwargs), "project": self.project, "entry": entry,
                "amount": money_text(entry.amount, entry.currency), "month": month_text(entry.month)}  # fmt: skip

    def post(self, request, *args, pk: int, **kwargs):
        entry = get_object_or_404(self.project.roi_entries, pk=pk)
        label = taken_label(entry)
        ledger = reverse("projects:roi", kwargs={"slug": self.project.slug})
        try:
            deletion = roi_services.roi_entry_delete(by=request.user, entry=entry)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(ledger + "#ledger")
        messages.success(request, f"Deleted {label}.")
        return redirect(f"{ledger}?{UNDO}={deletion.pk}#ledger")


class ProjectRoiRestoreView(ProjectWriteMixin, View):
    """Undo a deletion: the entry comes back as it was, unless its month, category and basis were logged
    again since (then nothing is overwritten and the message says so)."""

    http_method_names = ["post"]
    refusal = NOT_YOUR_PROJECT

    def post(self, request, *args, pk: int, **kwargs):
        deletion = get_object_or_404(self.project.roi_deletions, pk=pk)
        try:
            entry = roi_services.roi_entry_restore(by=request.user, deletion=deletion)
        except (ValidationError, DomainError) as exc:
            text = exc.message if isinstance(exc, DomainError) else " ".join(exc.messages)
            messages.error(request, text)
        else:
            messages.success(request, f"Restored {taken_label(entry)}.")
        return redirect(reverse("projects:roi", kwargs={"slug": self.project.slug}) + "#ledger")


def logged_message(entry) -> str:
    """ "Logged EUR 142,500 for Nov 2026 (actual, Claims savings)." """
    return (
        f"Logged {money_text(entry.amount, entry.currency)} for {month_text(entry.month)} "
        f"({entry.get_basis_display().lower()}, {entry.get_category_display()})."
    )


class RoiQuickLogView(RoleRequiredMixin, TemplateView):
    """The quick-log form of the team lead's home page: this month's actual for one of their projects.
    Saved: back to the home page. Refused: the form again, with the reasons next to the fields."""

    allowed_roles = WRITER_ROLES
    http_method_names = ["post"]
    template_name = "projects/roi_quick_log.html"

    def post(self, request):
        form = RoiQuickLogForm(request.POST, user=request.user)
        if form.is_valid():
            values = form.service_values()
            project = values.pop("project")
            try:
                entry = roi_services.roi_entry_log(by=request.user, project=project, **values)
            except (ValidationError, DomainError) as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"{logged_message(entry)[:-1]} on {project.name}.")
                return redirect("home")
        return self.render_to_response(self.get_context_data(roi_quick_log_form=form))
