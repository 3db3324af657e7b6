"""Reads of the risk register and of tier assessments: scoped to what the caller may see, aggregated in
the database."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from projects.permissions import scope_to_user

from ..models import Mitigation, MitigationStatus, Risk, RiskStatus, RiskTierAssessment
from .scoring import SCALE


def risks_for_user(*, user) -> QuerySet[Risk]:
    """Executives, risk officers and admins see every risk; team leads their teams' projects'; others none."""
    qs = Risk.objects.select_related("project__team", "owner", "accepted_by")
    return scope_to_user(qs, user=user, team_id="project__team_id")


def mitigations_for_user(*, user) -> QuerySet[Mitigation]:
    """The mitigations of the risks the user may see."""
    return Mitigation.objects.select_related("risk__project", "owner").filter(
        risk__in=risks_for_user(user=user).values("pk")
    )


# --- risk register pages ----------------------------------------------------------------------------

# The fields each heat-map axis reads, (likelihood, impact): the names of RiskFilterSet's cell filters too.
RISK_AXES = {"inherent": ("likelihood", "impact"), "residual": ("residual_likelihood", "residual_impact")}


def risk_heatmap_counts(*, risks: QuerySet[Risk], axis: str) -> list[list[int]]:
    """Risks per likelihood × impact cell, counted in the database in one query.

    Returns the full 5×5 grid, `grid[likelihood - 1][impact - 1]`, empty cells as 0.
    """
    likelihood, impact = RISK_AXES[axis]
    rows = risks.order_by().values(likelihood, impact).annotate(n=Count("id"))
    counts = {(row[likelihood], row[impact]): row["n"] for row in rows}
    return [[counts.get((lk, im), 0) for im in SCALE] for lk in SCALE]


def risk_register(*, risks: QuerySet[Risk]) -> QuerySet[Risk]:
    """The register's rows: each risk with how many mitigations it has and how many are done."""
    return risks.annotate(
        mitigation_count=Count("mitigations"),
        mitigations_done=Count("mitigations", filter=Q(mitigations__status=MitigationStatus.DONE)),
    )


def risk_for_page(*, user, pk: int) -> Risk:
    """One visible risk with its mitigations (and their owners); Risk.DoesNotExist when out of scope."""
    mitigations = Mitigation.objects.select_related("owner").order_by("due_date", "id")
    return risks_for_user(user=user).prefetch_related(Prefetch("mitigations", queryset=mitigations)).get(pk=pk)


# --- tier assessments -------------------------------------------------------------------------------


def tier_assessments_for_user(*, user) -> QuerySet[RiskTierAssessment]:
    """Scoped like projects (readers of everything see all, team leads their teams'), newest first.

    `is_current` marks each project's latest version, decided in the database.
    """
    newer = RiskTierAssessment.objects.filter(project=OuterRef("project"), version__gt=OuterRef("version"))
    qs = (
        RiskTierAssessment.objects.select_related("project__team", "assessed_by")
        .annotate(is_current=~Exists(newer))
        .order_by("-assessed_at", "-id")
    )
    return scope_to_user(qs, user=user, team_id="project__team_id")


def tier_assessment_history(*, project) -> QuerySet[RiskTierAssessment]:
    """Every version of a project's questionnaire, newest (the current one) first."""
    return RiskTierAssessment.objects.filter(project=project).select_related("assessed_by").order_by("-version")


def tier_assessment_current(*, project) -> RiskTierAssessment | None:
    """The version that set the project's tier, or None before the first assessment."""
    return tier_assessment_history(project=project).first()


def risk_reviews_due(*, user, today, within_days: int = 7) -> QuerySet[Risk]:
    """Risks the user may see that are still reviewed (open, mitigating, accepted) and whose review is
    overdue or due within `within_days`: the most overdue first."""
    return (
        risks_for_user(user=user)
        .filter(
            status__in=[RiskStatus.OPEN, RiskStatus.MITIGATING, RiskStatus.ACCEPTED],
            next_review_date__lte=today + dt.timedelta(days=within_days),
        )
        .order_by("next_review_date", "-residual_score", "id")
    )
