"""Pages about registries: the connections with their health, "sync now", a registry's models and versions,
linking a model to a project."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, TemplateView

from core.errors import DomainError
from core.forms import apply_service_errors
from core.ids import parse_id
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin
from core.roles import Role, is_admin, reads_everything

from ..registries import links, services
from ..registries.filters import RegistryFilterSet, RegistryModelFilterSet
from ..registries.forms import ModelLinkForm
from ..registries.selectors import (
    registered_models_for_user,
    registries_for_user,
    registry_is_stale,
    registry_models_for_user,
    registry_models_with_versions,
    registry_recent_syncs,
)
from .mixins import ALL_ROLES, ProjectWriteMixin, run_and_tell

# How long a queued "Sync now" row keeps asking whether a worker has started it, before it says none has.
QUEUED_POLL_LIMIT = dt.timedelta(minutes=10)
NO_WORKER_YET = "Queued, but no worker has started it yet; is the Celery worker running?"
SYNC_QUEUED = "Sync of “{name}” queued; this row updates when the worker is done."


class ProjectModelLinkView(ProjectWriteMixin, FormView):
    """Link a registry model to the project by hand (team lead of its team, or admin)."""

    refusal = "You can only link models to projects of your own team."
    template_name = "projects/model_link.html"
    form_class = ModelLinkForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        model = form.cleaned_data["model"]
        try:
            services.registered_model_link(by=self.request.user, model=model, project=self.project)
        except (ValidationError, DomainError) as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Model “{model.name}” linked to this project.")
        return redirect(reverse("projects:detail", kwargs={"slug": self.project.slug}) + "#models")


class RegistryListView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    """Every registry with its health: is Keel's copy of it current, and if not, why."""

    allowed_roles = ALL_ROLES
    template_name = "projects/registry_list.html"
    filterset_class = RegistryFilterSet
    paginate_by = 50
    context_object_name = "registries"
    export_stem = "registries"
    export_title = "Model registries"
    export_header = (
        "name", "kind", "base_url", "region", "enabled", "status", "last_success_at", "stale", "last_attempt_at",
        "latest_error", "models", "versions", "sync_interval_seconds",
    )  # fmt: skip

    def get_queryset(self):
        return registries_for_user(user=self.request.user)

    def export_rows(self, qs):
        now = timezone.now()
        for r in qs.iterator(chunk_size=500):
            yield (
                r.name, r.get_kind_display(), r.base_url, r.region, r.enabled, r.latest_status or "never synced",
                r.last_success_at, registry_is_stale(r, now=now), r.last_attempt_at, r.latest_error or "",
                r.model_count, r.version_count, r.sync_interval_seconds,
            )  # fmt: skip

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        now = timezone.now()
        for registry in ctx["registries"]:
            registry_row_state(registry, now=now)
        ctx["can_sync"] = is_admin(self.request.user)
        return ctx


def registry_row_state(registry, *, now, after_run: int | None = None, queued_at: dt.datetime | None = None):
    """Decide whether a registry's row polls for its sync's end: while a sync runs, or after "Sync now"
    until a run newer than `after_run` has started (for at most QUEUED_POLL_LIMIT); otherwise it stays still."""
    registry.stale = registry_is_stale(registry, now=now)
    registry.waiting = (
        after_run is not None
        and (registry.latest_run_id or 0) <= after_run
        and queued_at is not None
        and now - queued_at < QUEUED_POLL_LIMIT
    )
    registry.gave_up = after_run is not None and (registry.latest_run_id or 0) <= after_run and not registry.waiting
    registry.polls = registry.latest_status == "running" or registry.waiting
    params = {"after": after_run, "queued": int(queued_at.timestamp())} if registry.waiting else {}
    query = f"?{urlencode(params)}" if params else ""
    registry.poll_url = reverse("projects:registry-row", args=[registry.pk]) + query
    return registry


def _queued_at(request) -> dt.datetime | None:
    """The ?queued= timestamp the row's poll carries; one no clock can show (past year 9999) is ignored."""
    seconds = parse_id(request.GET.get("queued"))
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC) if seconds is not None else None
    except (OverflowError, ValueError, OSError):
        return None


def render_registry_row(request, registry, *, note: str = "", error: str = "", after_run=None, queued_at=None):
    """The registry's rows of the list (a <tbody>), as htmx swaps them in."""
    registry_row_state(registry, now=timezone.now(), after_run=after_run, queued_at=queued_at)
    ctx = {"r": registry, "can_sync": is_admin(request.user), "note": note, "error": error}
    return render(request, "projects/registry_row.html", ctx)


class RegistryRowView(RoleRequiredMixin, View):
    """One registry's rows of the list, for htmx to poll while a sync runs (or is queued)."""

    allowed_roles = ALL_ROLES
    http_method_names = ["get"]

    def get(self, request, pk: int):
        registry = get_object_or_404(registries_for_user(user=request.user), pk=pk)
        after_run = parse_id(request.GET.get("after"))
        return render_registry_row(request, registry, after_run=after_run, queued_at=_queued_at(request))


class RegistrySyncView(RoleRequiredMixin, View):
    """The admin's "Sync now" button: queue a sync. From htmx, answer with the registry's row, which then
    polls until the sync has ended; without JavaScript, come back to the list with a message."""

    allowed_roles = (Role.ADMIN,)
    http_method_names = ["post"]

    def post(self, request, pk: int):
        registry = get_object_or_404(registries_for_user(user=request.user), pk=pk)
        if request.htmx:
            return self._htmx(request, registry)
        run_and_tell(
            request,
            lambda: services.registry_sync_request(by=request.user, registry=registry),
            success=f"Sync of “{registry.name}” queued; its health updates when the worker is done.",
        )
        return redirect("projects:registries")

    def _htmx(self, request, registry):
        try:
            services.registry_sync_request(by=request.user, registry=registry)
        except DomainError as exc:
            return render_registry_row(request, registry, error=exc.message)
        return render_registry_row(
            request,
            registry,
            note=SYNC_QUEUED.format(name=registry.name),
            after_run=registry.latest_run_id or 0,
            queued_at=timezone.now(),
        )


class RegistryDetailView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    """A registry's configuration, its last syncs, and its models (linked or not) with their versions.

    Scope: readers of everything see every model; a team lead sees the models of their teams' projects
    and the models linked to no project (the ones they may link, and which nobody owns yet); other
    teams' models are left out, and the page says so.
    """

    allowed_roles = ALL_ROLES
    template_name = "projects/registry_detail.html"
    filterset_class = RegistryModelFilterSet
    paginate_by = 25
    context_object_name = "models"
    export_title = "Registry models and versions"
    export_header = (
        "registry", "model", "project", "link", "model_deleted_at", "version", "status", "holds_now", "author",
        "created_in_registry_at", "version_deleted_at", "run_id", "registry_version_url", "registry_run_url",
    )  # fmt: skip

    def get(self, request, *args, **kwargs):
        # After the role check (403 first, then 404 for a registry that does not exist).
        self.registry = get_object_or_404(registries_for_user(user=request.user), pk=kwargs["pk"])
        return super().get(request, *args, **kwargs)

    @property
    def export_stem(self) -> str:
        return f"registry-{self.registry.pk}-models"

    def get_queryset(self):
        return registry_models_for_user(user=self.request.user, registry=self.registry)

    def get_filterset(self):
        # Always bound: deleted models are left out by the filterset itself, which an unbound one skips.
        return self.filterset_class(self.request.GET, queryset=self.get_queryset(), request=self.request)

    def export_rows(self, qs):
        chunk = 200
        for start in range(0, qs.count(), chunk):
            for m in registry_models_with_versions(qs[start : start + chunk], versions_shown=None):
                model_cells = (
                    self.registry.name, m.name, m.project.name if m.project else "", m.get_link_source_display(),
                    m.deleted_at,
                )  # fmt: skip
                if not m.shown_versions:
                    yield (*model_cells, *[""] * 9)
                for v in m.shown_versions:
                    holds = ", ".join(f"{d.signal}:{d.name}" for d in v.holding_now)
                    yield (
                        *model_cells, v.version, v.status, holds, v.created_by or "unknown", v.registry_created_at,
                        v.deleted_at, v.run_id, links.version_url(v), links.run_url(v),
                    )  # fmt: skip

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        # The page's rows once, with their versions; the paginator's page holds the same list (its len()
        # would otherwise run the query again).
        ctx["models"] = ctx["page_obj"].object_list = registry_models_with_versions(ctx["models"])
        registry_row_state(self.registry, now=timezone.now())
        ctx.update(
            registry=self.registry,
            syncs=registry_recent_syncs(registry=self.registry),
            can_sync=is_admin(self.request.user),
            sees_everything=reads_everything(self.request.user),
            filtered=any(self.request.GET.get(name) for name in self.filterset.filters),
        )
        return ctx


class RegisteredModelView(RoleRequiredMixin, View):
    """A registered model's address (a finding's subject): its place on its registry's page."""

    allowed_roles = ALL_ROLES
    http_method_names = ["get"]

    def get(self, request, pk: int):
        model = get_object_or_404(registered_models_for_user(user=request.user), pk=pk)
        query = urlencode({"q": model.name, "deleted": "true"})
        return redirect(reverse("projects:registry", args=[model.registry_id]) + f"?{query}#model-{model.pk}")
