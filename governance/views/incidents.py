"""The incident register's pages: the list (filters, export), opening one (also from a finding), and one
incident's page with its reporting deadline, timeline, corrective actions and the managers' decisions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView, FormView, TemplateView

from core import roles
from core.errors import DomainError
from core.ids import parse_id
from core.lists import FilteredListMixin
from core.permissions import RoleRequiredMixin

from ..audit.selectors import AUDIT_READERS
from ..findings.selectors import findings_for_user
from ..incidents import services
from ..incidents.filters import IncidentFilterSet
from ..incidents.forms import ActionForm, IncidentForm, NoteForm, ReportForm
from ..incidents.permissions import INCIDENT_MANAGERS, INCIDENT_OPENERS, can_manage_incidents, can_work_on_incident
from ..incidents.reporting import REPORTING_RULES
from ..incidents.selectors import incident_counts, incidents_for_user
from ..models import Seriousness

ALL_ROLES = roles.ALL_ROLES


class IncidentListView(RoleRequiredMixin, FilteredListMixin, TemplateView):
    allowed_roles = ALL_ROLES
    template_name = "governance/incident_list.html"
    filterset_class = IncidentFilterSet
    context_object_name = "incidents"
    export_stem = "incidents"
    export_title = "Incidents"
    export_header = (
        "id", "title", "severity", "seriousness", "status", "projects", "aware_at", "report_due_at", "report_rule",
        "report_provisional", "reported_at", "report_reference", "root_cause", "open_actions", "opened_by",
        "opened_at", "closed_at", "incident_url",
    )  # fmt: skip

    def get_queryset(self):
        return incidents_for_user(user=self.request.user).prefetch_related("actions")

    def export_rows(self, qs):
        absolute = self.request.build_absolute_uri
        for i in qs:
            yield [
                i.pk, i.title, i.severity, i.seriousness, i.status, ", ".join(p.name for p in i.projects.all()),
                i.aware_at, i.report_due_at, i.report_rule, "yes" if i.report_provisional else "no", i.reported_at,
                i.report_reference, i.root_cause, sum(1 for a in i.actions.all() if a.done_at is None),
                i.opened_by.username if i.opened_by else "", i.opened_at, i.closed_at,
                absolute(reverse("governance:incident", kwargs={"pk": i.pk})),
            ]  # fmt: skip

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            counts=incident_counts(self.get_queryset()),
            can_open=roles.has_role(self.request.user, *INCIDENT_OPENERS),
        )
        return ctx


class IncidentCreateView(RoleRequiredMixin, FormView):
    """Open an incident; `?finding=<id>` starts from a finding (its project, severity and title)."""

    allowed_roles = INCIDENT_OPENERS
    template_name = "governance/incident_form.html"
    form_class = IncidentForm

    def finding(self):
        finding_id = parse_id(self.request.GET.get("finding") or self.request.POST.get("finding") or "")
        if finding_id is None:
            return None
        return get_object_or_404(findings_for_user(user=self.request.user), pk=finding_id)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        finding = self.finding()
        if finding is None:
            return {}
        return {
            "title": finding.title, "severity": finding.severity, "description": finding.detail,
            "projects": [finding.project_id] if finding.project_id else [],
        }  # fmt: skip

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "finding": self.finding(), "rules": _rules()}

    def form_valid(self, form):
        try:
            incident = services.incident_open(by=self.request.user, finding=self.finding(), **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
            return self.form_invalid(form)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, f"Incident “{incident.title}” opened.")
        return redirect("governance:incident", pk=incident.pk)


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _rules() -> list[tuple[str, str]]:
    return [(Seriousness(k).label, rule.describe()) for k, rule in REPORTING_RULES.items()]


class IncidentDetailView(RoleRequiredMixin, DetailView):
    allowed_roles = ALL_ROLES
    template_name = "governance/incident_detail.html"
    context_object_name = "incident"

    def get_queryset(self):
        return incidents_for_user(user=self.request.user).prefetch_related(
            "notes__author", "actions__owner", "model_versions__registered_model"
        )

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        incident, user = self.object, self.request.user
        open_ = incident.is_open
        ctx.update(
            can_work=open_ and can_work_on_incident(user, incident),
            can_manage=open_ and can_manage_incidents(user),
            note_form=NoteForm(), action_form=ActionForm(), report_form=ReportForm(),
            edit_form=IncidentForm(user=user, initial=_current(incident), only=_editable(user)),
            can_read_audit_trail=roles.has_role(user, *AUDIT_READERS),
        )  # fmt: skip
        return ctx


def _editable(user) -> tuple[str, ...]:
    return services.MANAGER_FIELDS if can_manage_incidents(user) else services.LEAD_FIELDS


def _current(incident) -> dict:
    return {
        "title": incident.title, "description": incident.description, "severity": incident.severity,
        "seriousness": incident.seriousness, "aware_at": incident.aware_at, "root_cause": incident.root_cause,
        "projects": list(incident.projects.all()), "model_versions": list(incident.model_versions.all()),
    }  # fmt: skip


class IncidentActionView(RoleRequiredMixin, View):
    """The incident page's forms: call the service, say how it went, go back to the incident."""

    allowed_roles = INCIDENT_OPENERS
    http_method_names = ["post"]
    what = ""  # one of INCIDENT_ACTIONS, set by the URL

    def post(self, request, pk: int):
        incident = get_object_or_404(incidents_for_user(user=request.user), pk=pk)
        handler = getattr(self, f"do_{self.what}")
        try:
            message = handler(incident, request.POST)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, message)
        return redirect("governance:incident", pk=pk)

    @staticmethod
    def _clean(form) -> dict:
        if not form.is_valid():
            raise ValidationError([f"{form.fields[f].label or f}: {' '.join(e)}" if f in form.fields else " ".join(e)
                                   for f, e in form.errors.items()])  # fmt: skip
        return form.cleaned_data

    def do_edit(self, incident, data) -> str:
        cleaned = self._clean(IncidentForm(data, user=self.request.user, only=_editable(self.request.user)))
        services.incident_update(by=self.request.user, incident=incident, data=cleaned)
        return "Incident updated."

    def do_note(self, incident, data) -> str:
        services.incident_note_add(by=self.request.user, incident=incident, **self._clean(NoteForm(data)))
        return "Added to the timeline."

    def do_action(self, incident, data) -> str:
        services.corrective_action_add(by=self.request.user, incident=incident, **self._clean(ActionForm(data)))
        return "Corrective action added."

    def do_complete(self, incident, data) -> str:
        action = incident.actions.filter(pk=parse_id(data.get("action", "")) or 0).first()
        if action is None:
            raise DomainError("Choose one of this incident's corrective actions.")
        services.corrective_action_complete(by=self.request.user, action=action)
        return f"“{action.description}” done."

    def do_report(self, incident, data) -> str:
        services.incident_report_record(by=self.request.user, incident=incident, **self._clean(ReportForm(data)))
        return "Report to the authority recorded."

    def do_close(self, incident, data) -> str:
        services.incident_close(by=self.request.user, incident=incident)
        return "Incident closed."


# The incident page's forms and who may post each (the services check the incident itself).
INCIDENT_ACTIONS = {
    "edit": INCIDENT_OPENERS, "note": INCIDENT_OPENERS, "action": INCIDENT_OPENERS, "complete": INCIDENT_OPENERS,
    "report": INCIDENT_MANAGERS, "close": INCIDENT_MANAGERS,
}  # fmt: skip
