"""Reads of incidents, scoped like findings: a team lead sees incidents touching their teams' projects."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from core.roles import Role, has_role, reads_everything
from projects.permissions import user_team_ids

from ..models.incidents import Incident, IncidentStatus, Seriousness

NOT_SERIOUS = (Seriousness.NOT_ASSESSED, Seriousness.NOT_SERIOUS)


def incidents_for_user(*, user) -> QuerySet[Incident]:
    qs = Incident.objects.select_related("opened_by", "finding").prefetch_related("projects__team")
    if reads_everything(user):
        return qs
    if has_role(user, Role.TEAM_LEAD):
        touching = Incident.projects.through.objects.filter(aiproject__team_id__in=user_team_ids(user))
        return qs.filter(pk__in=touching.values("incident_id"))
    return qs.none()


def open_serious_incidents(qs: QuerySet[Incident]) -> QuerySet[Incident]:
    return qs.filter(status=IncidentStatus.OPEN).exclude(seriousness__in=NOT_SERIOUS)


def incident_counts(qs: QuerySet[Incident]) -> dict[str, int]:
    """The figures the dashboard and the list's head show, from one query."""
    now = timezone.now()
    outstanding = Q(report_due_at__isnull=False, reported_at__isnull=True)
    return qs.order_by().aggregate(
        open=Count("pk", filter=Q(status=IncidentStatus.OPEN)),
        open_serious=Count("pk", filter=Q(status=IncidentStatus.OPEN) & ~Q(seriousness__in=NOT_SERIOUS)),
        not_assessed=Count("pk", filter=Q(status=IncidentStatus.OPEN, seriousness=Seriousness.NOT_ASSESSED)),
        report_overdue=Count("pk", filter=outstanding & Q(report_due_at__lt=now)),
    )


def incidents_of_projects(projects: QuerySet) -> QuerySet[Incident]:
    """Incidents touching any of `projects` (the dashboard's projects, already scoped and filtered)."""
    touching = Incident.projects.through.objects.filter(aiproject__in=projects.order_by().values("pk"))
    return Incident.objects.filter(pk__in=touching.values("incident_id"))
