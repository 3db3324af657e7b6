"""A project's monitoring tab: each signal over time with its plan's bounds, the plan, its open findings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView

from core.errors import DomainError
from core.forms import apply_service_errors
from core.permissions import RoleRequiredMixin
from core.roles import ALL_ROLES, has_role

from ..incidents.permissions import can_open_incident_on
from ..models import MonitoringPlanItem
from ..monitoring import charts, selectors, services
from ..monitoring.forms import MonitoringPlanItemForm
from ..monitoring.permissions import SIGNAL_POST_ROLES, can_monitor
from .risks import project_in_scope


class ProjectMonitoringView(RoleRequiredMixin, TemplateView):
    """GET: the tab. POST: add or change a plan item (admins and the project's team leads)."""

    template_name = "governance/monitoring_project.html"
    allowed_roles = ALL_ROLES
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        # Role first (anonymous → login, no role → 403), then scope (404), as every project tab.
        if has_role(request.user, *self.allowed_roles):
            self.project = project_in_scope(request.user, kwargs["slug"])
        return super().dispatch(request, *args, **kwargs)

    def _may_edit(self) -> bool:
        return can_monitor(self.request.user, self.project)

    def get_context_data(self, form=None, **kwargs):
        ctx = super().get_context_data(**kwargs)
        plan = list(selectors.plan_for_project(project=self.project))
        series = selectors.signal_series(project=self.project)
        planned = {item.name: item for item in plan}
        names = [item.name for item in plan] + sorted(n for n in series if n not in planned)
        panels = []
        for n, name in enumerate(names):
            item = planned.get(name)
            points = series.get(name, [])
            panels.append({
                "name": name, "item": item, "count": len(points), "chart_id": f"signal-chart-{n}",
                "data_id": f"signal-chart-{n}-data",
                "latest": points[-1] if points else None,
                "figure": charts.signal_chart(name, points, lower=item.lower if item else None,
                                              upper=item.upper if item else None) if points else None,
            })  # fmt: skip
        may_edit = self._may_edit()
        ctx.update(
            project=self.project,
            panels=panels,
            plan=plan,
            findings=selectors.open_monitoring_findings(project=self.project),
            can_open_incident=can_open_incident_on(self.request.user, [self.project]),
            may_edit=may_edit,
            form=(form or MonitoringPlanItemForm()) if may_edit else None,
        )
        return ctx

    def post(self, request, *args, **kwargs):
        if not self._may_edit():
            raise PermissionDenied(services.NOT_YOURS)
        form = MonitoringPlanItemForm(request.POST)
        if form.is_valid():
            try:
                item = services.monitoring_plan_item_save(
                    project=self.project, by=request.user, data=form.service_data()
                )
            except (ValidationError, DomainError) as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"{item.name} is on the monitoring plan ({item.bounds_text}).")
                return redirect(reverse("governance:project-monitoring", kwargs={"slug": self.project.slug}))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class MonitoringPlanItemDeleteView(RoleRequiredMixin, TemplateView):
    """POST: take a signal off the plan."""

    allowed_roles = SIGNAL_POST_ROLES
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        item = get_object_or_404(MonitoringPlanItem.objects.select_related("project"), pk=kwargs["pk"])
        project = project_in_scope(request.user, item.project.slug)
        try:
            services.monitoring_plan_item_delete(item=item, by=request.user)
        except DomainError as exc:
            raise PermissionDenied(exc.message) from None
        messages.success(request, f"{item.name} was taken off the monitoring plan.")
        return redirect(reverse("governance:project-monitoring", kwargs={"slug": project.slug}))
