"""Pages of the project inventory: the list (with CSV/XLSX export), a project's page, create, edit, stage."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import FormView, TemplateView

from core.errors import DomainError, PermissionDeniedError
from core.forms import apply_service_errors
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin

from ..inventory import services
from ..inventory.filters import AIProjectFilterSet
from ..inventory.forms import ProjectForm, StageChangeForm
from ..inventory.selectors import project_models, projects_for_user
from ..models import AIProject, Stage
from ..permissions import can_change_project
from ..registries.forms import ModelLinkForm
from .mixins import ALL_ROLES, WRITER_ROLES, ProjectMixin, ProjectWriteMixin


class ProjectListView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    """The projects the user may see, through the shared FilterSet; `?export=csv|xlsx` exports what it shows."""

    allowed_roles = ALL_ROLES
    template_name = "projects/project_list.html"
    filterset_class = AIProjectFilterSet
    paginate_by = 25
    context_object_name = "projects"
    export_stem = "projects"
    export_title = "AI projects"
    export_header = (
        "slug", "name", "team", "stage", "health", "owner", "executive_sponsor", "currency",
        "expected_investment", "expected_annual_value", "horizon_months", "updated_at", "risk_tier",
    )  # fmt: skip

    def get_queryset(self):
        return projects_for_user(user=self.request.user)

    def export_rows(self, qs):
        for p in qs.iterator(chunk_size=500):
            yield (
                p.slug, p.name, p.team.name, p.stage, p.health, p.owner.username,
                p.executive_sponsor.username if p.executive_sponsor else "", p.currency, p.expected_investment,
                p.expected_annual_value, p.horizon_months, p.updated_at, p.risk_tier,
            )  # fmt: skip


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
