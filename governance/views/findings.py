"""The findings page: open findings first, worst first; risk officers and admins assign and resolve them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from core import roles
from core.errors import DomainError
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin

from ..findings import services
from ..findings.filters import FindingFilterSet
from ..findings.permissions import FINDING_MANAGERS, can_manage_findings
from ..findings.selectors import finding_assignees, findings_for_user

ALL_ROLES = roles.ALL_ROLES


class FindingListView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    allowed_roles = ALL_ROLES
    template_name = "governance/finding_list.html"
    filterset_class = FindingFilterSet
    context_object_name = "findings"
    export_stem = "findings"
    export_title = "Findings"
    export_header = (
        "id", "kind", "severity", "title", "detail", "project", "team", "opened_at", "assignee", "status",
        "resolved_at", "resolution",
    )  # fmt: skip

    def get_queryset(self):
        return findings_for_user(user=self.request.user)

    def export_rows(self, qs):
        for f in qs.iterator(chunk_size=500):
            yield [
                f.pk, f.kind, f.severity, f.title, f.detail, f.project.name if f.project else "",
                f.project.team.name if f.project else "", f.opened_at, f.assignee.username if f.assignee else "",
                "open" if f.is_open else "resolved", f.resolved_at, f.resolution,
            ]  # fmt: skip

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        can_manage = can_manage_findings(self.request.user)
        ctx.update(
            open_count=self.filterset.queryset.filter(resolved_at=None).count(),
            can_manage=can_manage,
            assignees=list(finding_assignees()) if can_manage else [],
        )
        return ctx


class FindingAssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=finding_assignees(), to_field_name="username", required=False, label="Assign to"
    )


class FindingResolveForm(forms.Form):
    resolution = forms.CharField(max_length=300, label="Resolution")


class FindingActionView(RoleRequiredMixin, View):
    """A row's assign or resolve form: call the service, say how it went, and go back to the same list."""

    allowed_roles = FINDING_MANAGERS
    http_method_names = ["post"]
    form_class: type[forms.Form]

    def post(self, request, pk: int):
        finding = get_object_or_404(findings_for_user(user=request.user), pk=pk)
        form = self.form_class(request.POST)
        if not form.is_valid():
            errors = [e for field_errors in form.errors.values() for e in field_errors]
            messages.error(request, f"“{finding.title}”: {' '.join(errors)}")
            return redirect(self.back())
        try:
            message = self.act(finding, form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, f"“{finding.title}”: {' '.join(exc.messages)}")
        except DomainError as exc:
            messages.error(request, f"“{finding.title}”: {exc.message}")
        else:
            messages.success(request, message)
        return redirect(self.back())

    def act(self, finding, data) -> str:
        raise NotImplementedError

    def back(self) -> str:
        """The list the form was on (filters and page kept), or the plain list for anything off-site."""
        target = self.request.POST.get("next", "")
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            return target
        return reverse("governance:findings")


class FindingAssignView(FindingActionView):
    form_class = FindingAssignForm

    def act(self, finding, data) -> str:
        assignee = data["assignee"]
        services.finding_assign(by=self.request.user, finding=finding, assignee=assignee)
        who = (assignee.get_full_name() or assignee.username) if assignee else "nobody"
        return f"“{finding.title}” assigned to {who}."


class FindingResolveView(FindingActionView):
    form_class = FindingResolveForm

    def act(self, finding, data) -> str:
        services.finding_resolve(by=self.request.user, finding=finding, resolution=data["resolution"])
        return f"“{finding.title}” resolved."
