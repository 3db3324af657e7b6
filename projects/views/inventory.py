"""Pages of the project inventory: the list (with CSV export), a project's page, create, edit, stage."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import FormView, TemplateView

from core.errors import DomainError, PermissionDeniedError
from core.exports import csv_safe
from core.forms import apply_service_errors
from core.permissions import RoleRequiredMixin

from ..inventory import services
from ..inventory.filters import AIProjectFilterSet
from ..inventory.forms import ProjectForm, StageChangeForm
from ..inventory.selectors import project_models, projects_for_user
from ..models import AIProject, Stage
from ..permissions import can_change_project
from ..registries.forms import ModelLinkForm
from .mixins import ALL_ROLES, WRITER_ROLES, ProjectMixin, ProjectWriteMixin


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
