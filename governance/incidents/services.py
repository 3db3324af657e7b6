"""Every write to the incident register, each in one transaction with its audit event.

The reporting deadline is derived here, and only here, from the seriousness and the moment of awareness
(reporting.py): whenever either changes, the deadline and the rule it came from are written with it.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import audit
from core.dates import date_window
from core.errors import ConflictError, PermissionDeniedError
from core.queue import enqueue_on_commit
from core.services import model_update

from ..models.incidents import CorrectiveAction, Incident, IncidentNote, IncidentStatus, Seriousness
from .permissions import can_manage_incidents, can_open_incident_on, can_work_on_incident
from .reporting import reporting_deadline

NOT_YOURS = "You may open incidents only on projects of your own teams."
NOT_YOUR_INCIDENT = (
    "Only risk officers, compliance officers, admins and the affected teams' leads may change this incident."
)
MANAGERS_ONLY = "Only risk officers, compliance officers and admins may do this."
NO_PROJECT = "Name at least one affected project."
VERSION_NOT_OF_PROJECTS = "Model version {version} is not a version of a model of the affected projects."
AWARE_IN_FUTURE = "The time you became aware of the incident cannot be in the future."
AWARE_OUT_OF_WINDOW = "The time you became aware of the incident must be between {first} and now."
DOWNGRADE_MANAGERS_ONLY = (
    "Only risk officers, compliance officers and admins may say an incident is not serious or undo an assessment."
)
CLOSED = "This incident is closed."
CLOSE_NOT_ASSESSED = "Assess whether the incident is serious before closing it."
CLOSE_NOT_REPORTED = "A serious incident must be reported to the authority before it is closed."
CLOSE_NO_ROOT_CAUSE = "Record the root cause before closing the incident."
CLOSE_OPEN_ACTIONS = "{n} corrective action(s) are still open; complete them before closing the incident."
NO_REPORT_DUE = "No report is due for an incident that is not serious."
ALREADY_REPORTED = "The report to the authority is already recorded."
REPORTED_IN_FUTURE = "The report cannot have been made in the future."
REPORTED_BEFORE_AWARE = "The report cannot predate the moment the incident became known."
ACTION_DONE = "This corrective action is already done."
DUE_OUT_OF_WINDOW = "Choose a due date between {first} and {last}."
TEXT_REQUIRED = "This field is required."
CLOCK_SKEW = dt.timedelta(minutes=5)  # a browser clock a little ahead is not "the future"

MANAGER_FIELDS = ("title", "description", "severity", "seriousness", "aware_at", "root_cause", "projects",
                  "model_versions")  # fmt: skip
OPENED_FIELDS = ("title", "severity", "seriousness", "aware_at", "report_due_at", "report_rule")
LEAD_FIELDS = ("title", "description", "severity", "seriousness", "root_cause", "model_versions")


def _check_aware_at(aware_at: dt.datetime) -> None:
    first, _ = date_window()
    if aware_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"aware_at": [AWARE_IN_FUTURE]})
    if aware_at.date() < first:
        raise ValidationError({"aware_at": [AWARE_OUT_OF_WINDOW.format(first=first)]})


def _check_versions(versions, projects) -> None:
    project_ids = {p.pk for p in projects}
    for version in versions:
        if version.registered_model.project_id not in project_ids:
            raise ValidationError({"model_versions": [VERSION_NOT_OF_PROJECTS.format(version=version)]})


def _deadline_fields(seriousness: str, aware_at: dt.datetime) -> dict:
    deadline = reporting_deadline(seriousness, aware_at)
    return {"report_due_at": deadline.due_at, "report_rule": deadline.rule, "report_provisional": deadline.provisional}


def _is_downgrade(old: str, new: str) -> bool:
    """Saying "not serious", or going back to "not assessed", is a manager's call; escalating is anyone's."""
    return new != old and new in (Seriousness.NOT_SERIOUS, Seriousness.NOT_ASSESSED)


@transaction.atomic
def incident_open(
    *, by, title: str, description: str, severity: str, aware_at: dt.datetime, projects, model_versions=(),
    seriousness: str = Seriousness.NOT_ASSESSED, finding=None, root_cause: str = "",
) -> Incident:  # fmt: skip
    projects, model_versions = list(projects), list(model_versions)
    if not projects:
        raise ValidationError({"projects": [NO_PROJECT]})
    if not can_open_incident_on(by, projects):
        raise PermissionDeniedError(NOT_YOURS)
    if seriousness == Seriousness.NOT_SERIOUS and not can_manage_incidents(by):
        raise PermissionDeniedError(DOWNGRADE_MANAGERS_ONLY)
    _check_aware_at(aware_at)
    _check_versions(model_versions, projects)
    incident = Incident(
        title=title, description=description, severity=severity, seriousness=seriousness, aware_at=aware_at,
        opened_by=by, finding=finding, root_cause=root_cause, **_deadline_fields(seriousness, aware_at),
    )  # fmt: skip
    incident.full_clean()
    incident.save()
    incident.projects.set(projects)
    incident.model_versions.set(model_versions)
    audit.record(
        actor=by, action="incident.opened", obj=incident,
        after={
            **audit.snapshot(incident, OPENED_FIELDS),
            "projects": sorted(p.pk for p in projects), "model_versions": sorted(v.pk for v in model_versions),
            "finding": finding.pk if finding else None,
        },
    )  # fmt: skip
    enqueue_on_commit("governance.tasks.notify_event", "incident_opened", incident.pk)
    return incident


def _locked(incident: Incident) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status == IncidentStatus.CLOSED:
        raise ConflictError(CLOSED)
    return incident


@transaction.atomic
def incident_update(*, by, incident: Incident, data: dict) -> Incident:
    """Change what is known about the incident; the reporting deadline follows seriousness and awareness."""
    incident = _locked(incident)
    manager = can_manage_incidents(by)
    if not can_work_on_incident(by, incident):
        raise PermissionDeniedError(NOT_YOUR_INCIDENT)
    allowed = MANAGER_FIELDS if manager else LEAD_FIELDS
    if not manager and _is_downgrade(incident.seriousness, data.get("seriousness", incident.seriousness)):
        raise PermissionDeniedError(DOWNGRADE_MANAGERS_ONLY)
    if "aware_at" in data:
        _check_aware_at(data["aware_at"])
    projects = data.get("projects", list(incident.projects.all()))
    if "projects" in data and not projects:
        raise ValidationError({"projects": [NO_PROJECT]})
    _check_versions(data.get("model_versions", incident.model_versions.select_related("registered_model")), projects)
    data = dict(data)
    fields = list(allowed)
    if {"seriousness", "aware_at"} & set(data):
        data |= _deadline_fields(data.get("seriousness", incident.seriousness), data.get("aware_at", incident.aware_at))
        fields += ["report_due_at", "report_rule", "report_provisional"]
    was_serious = incident.is_serious
    incident, _ = model_update(instance=incident, fields=fields, data=data, by=by, action="incident.updated")
    if incident.is_serious and not was_serious:
        enqueue_on_commit("governance.tasks.notify_event", "incident_opened", incident.pk)
    return incident


@transaction.atomic
def incident_note_add(*, by, incident: Incident, text: str) -> IncidentNote:
    incident = _locked(incident)
    if not can_work_on_incident(by, incident):
        raise PermissionDeniedError(NOT_YOUR_INCIDENT)
    if not text.strip():
        raise ValidationError({"text": [TEXT_REQUIRED]})
    note = IncidentNote.objects.create(incident=incident, author=by, text=text.strip())
    audit.record(actor=by, action="incident.note_added", obj=incident, after={"note": note.pk, "text": note.text})
    return note


@transaction.atomic
def corrective_action_add(*, by, incident: Incident, description: str, owner, due_on: dt.date) -> CorrectiveAction:
    incident = _locked(incident)
    if not can_work_on_incident(by, incident):
        raise PermissionDeniedError(NOT_YOUR_INCIDENT)
    first, last = date_window()
    if not first <= due_on <= last:
        raise ValidationError({"due_on": [DUE_OUT_OF_WINDOW.format(first=first, last=last)]})
    action = CorrectiveAction(incident=incident, description=description.strip(), owner=owner, due_on=due_on)
    action.full_clean()
    action.save()
    audit.record(
        actor=by, action="incident.action_added", obj=incident,
        after={"action": action.pk, "description": action.description, "owner": owner.username, "due_on": str(due_on)},
    )  # fmt: skip
    return action


@transaction.atomic
def corrective_action_complete(*, by, action: CorrectiveAction) -> CorrectiveAction:
    incident = _locked(action.incident)
    if not (can_work_on_incident(by, incident) or action.owner_id == by.pk):
        raise PermissionDeniedError(NOT_YOUR_INCIDENT)
    action = CorrectiveAction.objects.select_for_update().get(pk=action.pk)
    if action.done_at is not None:
        raise ConflictError(ACTION_DONE)
    action.done_at = timezone.now()
    action.save(update_fields=["done_at"])
    audit.record(actor=by, action="incident.action_completed", obj=incident, after={"action": action.pk})
    return action


@transaction.atomic
def incident_report_record(*, by, incident: Incident, reported_at: dt.datetime, reference: str) -> Incident:
    """Record that the incident was reported to the market surveillance authority."""
    if not can_manage_incidents(by):
        raise PermissionDeniedError(MANAGERS_ONLY)
    incident = _locked(incident)
    if incident.seriousness == Seriousness.NOT_SERIOUS:
        raise ConflictError(NO_REPORT_DUE)
    if incident.reported_at is not None:
        raise ConflictError(ALREADY_REPORTED)
    if reported_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"reported_at": [REPORTED_IN_FUTURE]})
    if reported_at < incident.aware_at:
        raise ValidationError({"reported_at": [REPORTED_BEFORE_AWARE]})
    incident, _ = model_update(
        instance=incident, fields=("reported_at", "report_reference"),
        data={"reported_at": reported_at, "report_reference": reference.strip()}, by=by, action="incident.reported",
    )  # fmt: skip
    return incident


@transaction.atomic
def incident_close(*, by, incident: Incident) -> Incident:
    if not can_manage_incidents(by):
        raise PermissionDeniedError(MANAGERS_ONLY)
    incident = _locked(incident)
    if incident.seriousness == Seriousness.NOT_ASSESSED:
        raise ConflictError(CLOSE_NOT_ASSESSED)
    if incident.is_serious and incident.reported_at is None:
        raise ConflictError(CLOSE_NOT_REPORTED)
    if not incident.root_cause.strip():
        raise ConflictError(CLOSE_NO_ROOT_CAUSE)
    still_open = incident.actions.filter(done_at__isnull=True).count()
    if still_open:
        raise ConflictError(CLOSE_OPEN_ACTIONS.format(n=still_open))
    incident, _ = model_update(
        instance=incident, fields=("status", "closed_at"),
        data={"status": IncidentStatus.CLOSED, "closed_at": timezone.now()}, by=by, action="incident.closed",
    )  # fmt: skip
    return incident
