"""The findings pages: a compact list (open first, worst first) with bulk assign/resolve, and one
finding's page with its subject and triage. Risk officers, compliance officers and admins triage."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import DetailView, TemplateView

from core import roles
from core.errors import DomainError
from core.ids import parse_id
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin

from ..audit.selectors import AUDIT_READERS
from ..findings import services
from ..findings.filters import FindingFilterSet
from ..findings.permissions import FINDING_MANAGERS, can_manage_findings
from ..findings.selectors import finding_assignees, findings_for_user
from ..findings.subjects import KIND_DESCRIPTIONS, finding_subject
from ..incidents.permissions import can_open_incident_on
from ..models import FindingKind

ALL_ROLES = roles.ALL_ROLES


class FindingListView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    allowed_roles = ALL_ROLES
    template_name = "governance/finding_list.html"
    filterset_class = FindingFilterSet
    context_object_name = "findings"
    export_stem = "findings"
    export_title = "Findings"
    export_header = (
        "id", "kind", "severity", "title", "detail", "project", "team", "opened_at", "due_at", "overdue",
        "assignee", "status", "resolved_at", "resolution", "subject", "subject_url", "finding_url",
    )  # fmt: skip

    def get_queryset(self):
        return findings_for_user(user=self.request.user)

    def export_rows(self, qs):
        absolute = self.request.build_absolute_uri
        for f in qs.iterator(chunk_size=500):
            subject = finding_subject(f)
            yield [
                f.pk, f.kind, f.severity, f.title, f.detail, f.project.name if f.project else "",
                f.project.team.name if f.project else "", f.opened_at, f.due_at,
                "yes" if f.is_overdue else "no", f.assignee.username if f.assignee else "",
                "open" if f.is_open else "resolved", f.resolved_at, f.resolution, subject.label,
                absolute(subject.url) if subject.url else "",
                absolute(reverse("governance:finding", kwargs={"pk": f.pk})),
            ]  # fmt: skip

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        can_manage = can_manage_findings(self.request.user)
        rows = [(f, finding_subject(f)) for f in ctx["findings"]]
        ctx.update(
            rows=rows,
            open_count=self.filterset.queryset.filter(resolved_at=None).count(),
            can_manage=can_manage,
            can_bulk=can_manage and any(f.is_open for f, _ in rows),
            assignees=list(finding_assignees()) if can_manage else [],
            kinds=[(FindingKind(k).label, KIND_DESCRIPTIONS[k]) for k in FindingKind.values],
            bulk_limit=services.BULK_LIMIT,
        )
        return ctx


class FindingDetailView(RoleRequiredMixin, DetailView):
    """One finding: what it is about (with a link to its subject), when it is due, and its triage."""

    allowed_roles = ALL_ROLES
    template_name = "governance/finding_detail.html"
    context_object_name = "finding"

    def get_queryset(self):
        return findings_for_user(user=self.request.user)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        finding = self.object
        can_manage = can_manage_findings(self.request.user)
        ctx.update(
            subject=finding_subject(finding),
            kind_description=KIND_DESCRIPTIONS.get(finding.kind, ""),
            can_manage=can_manage and finding.is_open,
            assignees=list(finding_assignees()) if can_manage else [],
            can_read_audit_trail=roles.has_role(self.request.user, *AUDIT_READERS),
            can_open_incident=finding.project is not None
            and can_open_incident_on(self.request.user, [finding.project]),
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


BULK_ACTIONS = [("assign", "Assign"), ("resolve", "Resolve")]
BULK_BAD_IDS = "Choose findings from the list."


class FindingBulkForm(forms.Form):
    """The list's bulk action: the ticked findings (repeated `findings` values), and what to do with them."""

    action = forms.ChoiceField(choices=BULK_ACTIONS)
    assignee = forms.ModelChoiceField(
        queryset=finding_assignees(), to_field_name="username", required=False, label="Assign to"
    )
    resolution = forms.CharField(max_length=300, required=False, label="Resolution")

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        self.ids = data.getlist("findings")

    def clean(self):
        data = super().clean()
        data["ids"] = [parse_id(i) for i in self.ids]
        if None in data["ids"]:
            raise ValidationError(BULK_BAD_IDS)
        if not data["ids"]:
            raise ValidationError(services.BULK_NONE_CHOSEN)
        return data


class FindingBulkView(FindingActionView):
    """Assign or resolve the ticked findings at once: all of them or, on any refusal, none."""

    def post(self, request):
        form = FindingBulkForm(request.POST)
        if not form.is_valid():
            errors = [e for field_errors in form.errors.values() for e in field_errors]
            messages.error(request, " ".join(errors))
            return redirect(self.back())
        data = form.cleaned_data
        try:
            if data["action"] == "assign":
                assignee = data["assignee"]
                changed = services.findings_assign(by=request.user, ids=data["ids"], assignee=assignee)
                who = (assignee.get_full_name() or assignee.username) if assignee else "nobody"
                message = f"{len(data['ids'])} finding(s) assigned to {who} ({len(changed)} changed)."
            else:
                done = services.findings_resolve(by=request.user, ids=data["ids"], resolution=data["resolution"])
                message = f"{len(done)} finding(s) resolved."
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, message)
        return redirect(self.back())
