from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, TemplateView

from core import roles
from core.errors import DomainError, PermissionDeniedError
from core.exports import csv_safe
from core.forms import apply_service_errors
from core.permissions import RoleRequiredMixin
from core.roles import Role, has_role, is_admin

from . import services
from .filters import AIProjectFilterSet, RegistryFilterSet
from .forms import ModelLinkForm, ProjectForm, StageChangeForm
from .models import AIProject, Stage
from .permissions import can_change_project
from .selectors import (
    project_models,
    project_stage_counts,
    projects_for_user,
    registries_for_user,
    registry_is_stale,
)

ALL_ROLES = roles.ALL_ROLES
WRITER_ROLES = (Role.TEAM_LEAD, Role.ADMIN)


class HomeView(TemplateView):
    """The landing page: the portfolio at a glance, scoped to what the user may see; a team lead also
    gets their team projects' ROI status for this month and the quick-log form.

    governance.views.HomeView extends this for the personas whose home shows governance's data (an
    executive's is the portfolio dashboard, a risk officer's adds the findings): "/" routes there."""

    template_name = "projects/home.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        user = self.request.user
        ctx["stage_counts"] = project_stage_counts(user=user)
        ctx["my_projects"] = projects_for_user(user=user).filter(owner=user).order_by("name")[:10]
        if has_role(user, Role.TEAM_LEAD):
            from .roi_views import roi_home_context  # roi_views imports this module

            ctx["team_lead_home"] = True
            ctx.update(roi_home_context(user=user))
        return ctx


class ProjectListView(RoleRequiredMixin, TemplateView):
    allowed_roles = ALL_ROLES
    template_name = "projects/project_list.html"
    paginate_by = 25

    def get(self, request, *args, **kwargs):
        self.filterset = AIProjectFilterSet(
            request.GET or None, queryset=projects_for_user(user=request.user), request=request
        )
        if request.GET.get("export") == "csv":
            return self.export_csv(self.filterset.qs if self.filterset.is_valid() else self.filterset.queryset.none())
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        qs = self.filterset.qs if self.filterset.is_bound and self.filterset.is_valid() else self.filterset.queryset
        if not self.filterset.is_bound:
            qs = qs.order_by("name", "id")
        page = Paginator(qs, self.paginate_by).get_page(self.request.GET.get("page"))
        params = self.request.GET.copy()
        params.pop("page", None)
        ctx.update(filter=self.filterset, page_obj=page, projects=page.object_list, querystring=params.urlencode())
        return ctx

    def export_csv(self, qs):
        class Echo:
            def write(self, value):
                return value

        writer = csv.writer(Echo())
        header = ["slug", "name", "team", "stage", "health", "owner", "executive_sponsor", "currency",
                  "expected_investment", "expected_annual_value", "horizon_months", "updated_at",
                  "risk_tier"]  # fmt: skip

        def rows():
            yield writer.writerow(header)
            for p in qs.iterator(chunk_size=500):
                yield writer.writerow([
                    csv_safe(p.slug), csv_safe(p.name), csv_safe(p.team.name), p.stage, p.health,
                    csv_safe(p.owner.username),
                    csv_safe(p.executive_sponsor.username) if p.executive_sponsor else "",
                    p.currency, p.expected_investment, p.expected_annual_value, p.horizon_months,
                    p.updated_at.isoformat(), p.risk_tier,
                ])  # fmt: skip

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="keel-projects.csv"'
        return response


class ProjectMixin(RoleRequiredMixin):
    allowed_roles = ALL_ROLES

    def get_project(self) -> AIProject:
        try:
            return projects_for_user(user=self.request.user).get(slug=self.kwargs["slug"])
        except AIProject.DoesNotExist:
            raise Http404("No such project, or you may not see it.") from None


class ProjectWriteMixin(ProjectMixin):
    """A form page that changes one project: team leads of its team and admins."""

    allowed_roles = WRITER_ROLES
    http_method_names = ["get", "post"]
    refusal = "You can only change projects of your own team."

    def dispatch(self, request, *args, **kwargs):
        # Role first (anonymous → login, no writer role → 403), then scope (404), then the object rule.
        if has_role(request.user, *self.allowed_roles):
            self.project = self.get_project()
            if not can_change_project(request.user, self.project):
                raise PermissionDenied(self.refusal)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(project=self.project, **kwargs)


class ProjectDetailView(ProjectMixin, TemplateView):
    template_name = "projects/project_detail.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        project = self.get_project()
        ctx["project"] = project
        ctx["can_change"] = can_change_project(self.request.user, project)
        ctx["stage_form"] = StageChangeForm(project=project) if ctx["can_change"] else None
        ctx["models"] = project_models(project=project)
        ctx["link_form"] = ModelLinkForm(user=self.request.user) if ctx["can_change"] else None
        return ctx


class ProjectCreateView(RoleRequiredMixin, FormView):
    allowed_roles = WRITER_ROLES
    template_name = "projects/project_form.html"
    form_class = ProjectForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        try:
            project = services.project_create(by=self.request.user, **form.cleaned_data)
        except (ValidationError, DomainError) as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Project “{project.name}” registered.")
        return redirect("projects:detail", slug=project.slug)


class ProjectUpdateView(ProjectWriteMixin, FormView):
    template_name = "projects/project_form.html"
    form_class = ProjectForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user, "instance": self.project}

    def form_valid(self, form):
        # Pass the original row to the service: the form has already written the posted values onto it.
        original = AIProject.objects.get(pk=self.project.pk)
        try:
            services.project_update(by=self.request.user, project=original, **form.cleaned_data)
        except (ValidationError, DomainError) as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, "Project updated.")
        return redirect("projects:detail", slug=self.project.slug)


class ProjectStageView(ProjectWriteMixin, FormView):
    template_name = "projects/project_stage.html"
    form_class = StageChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "project": self.project}

    def form_valid(self, form):
        try:
            services.project_change_stage(by=self.request.user, project=self.project, **form.cleaned_data)
        except (ValidationError, DomainError, PermissionDeniedError) as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Stage changed to {Stage(form.cleaned_data['stage']).label}.")
        return redirect(reverse("projects:detail", kwargs={"slug": self.project.slug}))


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


class RegistryListView(RoleRequiredMixin, TemplateView):
    """Every registry with its health: is Keel's copy of it current, and if not, why."""

    allowed_roles = ALL_ROLES
    template_name = "projects/registry_list.html"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        filterset = RegistryFilterSet(self.request.GET or None, queryset=registries_for_user(user=self.request.user))
        qs = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
        page = Paginator(qs, self.paginate_by).get_page(self.request.GET.get("page"))
        now = timezone.now()
        for registry in page.object_list:
            registry.stale = registry_is_stale(registry, now=now)
        params = self.request.GET.copy()
        params.pop("page", None)
        ctx.update(
            filter=filterset,
            page_obj=page,
            registries=page.object_list,
            querystring=params.urlencode(),
            can_sync=is_admin(self.request.user),
        )
        return ctx


class RegistrySyncView(RoleRequiredMixin, View):
    """The admin's "Sync now" button: queue a sync and come back to the list."""

    allowed_roles = (Role.ADMIN,)
    http_method_names = ["post"]

    def post(self, request, pk: int):
        registry = get_object_or_404(registries_for_user(user=request.user), pk=pk)
        try:
            services.registry_sync_request(by=request.user, registry=registry)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Sync of “{registry.name}” queued; its health updates when the worker is done.")
        return redirect("projects:registries")
