"""What the monitoring page reads: a project's plan, and each planned (or received) signal's series."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from projects.models import AIProject
from projects.permissions import scope_to_user

from ..models import Finding, FindingKind, MonitoringPlanItem, MonitoringSignal

SERIES_DAYS = 90  # the page draws the last 90 days
SERIES_POINTS = 2000  # and at most this many values per project, newest first


def plan_for_project(*, project: AIProject) -> QuerySet[MonitoringPlanItem]:
    return MonitoringPlanItem.objects.filter(project=project).order_by("name")


def signal_series(*, project: AIProject, now: dt.datetime | None = None) -> dict[str, list[dict]]:
    """{signal name: [{"version", "value", "measured_at", "breached"}, ...] oldest first} of the project's
    recent values (one query; the chart splits each name's values by version)."""
    since = (now or timezone.now()) - dt.timedelta(days=SERIES_DAYS)
    rows = list(
        MonitoringSignal.objects.filter(project=project, measured_at__gte=since)
        .order_by("-measured_at", "-pk")
        .values("name", "value", "measured_at", "breached", "model_version__version",
                "model_version__registered_model__name")[:SERIES_POINTS]
    )  # fmt: skip
    series: dict[str, list[dict]] = {}
    for row in reversed(rows):
        label = f"{row['model_version__registered_model__name']} v{row['model_version__version']}"
        series.setdefault(row["name"], []).append(
            {"version": label, "value": row["value"], "measured_at": row["measured_at"], "breached": row["breached"]}
        )
    return series


def open_monitoring_findings(*, project: AIProject) -> QuerySet[Finding]:
    return Finding.objects.filter(
        project=project, kind__in=[FindingKind.SIGNAL_BREACHED, FindingKind.SIGNAL_STALE], resolved_at=None
    ).order_by("-opened_at")


def signals_for_user(*, user) -> QuerySet[MonitoringSignal]:
    """Every signal of the projects the user may see (the one visibility ladder, by the signal's project)."""
    return scope_to_user(
        MonitoringSignal.objects.select_related("model_version__registered_model__registry", "project"),
        user=user,
        team_id="project__team_id",
    )
