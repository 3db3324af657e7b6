from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Value, When

from core.roles import Role, has_role
from projects.permissions import scope_to_user

from .models import AuditEvent, Finding, Mitigation, MitigationStatus, Risk, RiskTierAssessment, Severity
from .risk_scoring import SCALE

AUDIT_READERS = (Role.RISK_OFFICER, Role.COMPLIANCE, Role.ADMIN)


def audit_events_for_user(*, user) -> QuerySet[AuditEvent]:
    """Risk officers and admins read the whole trail; nobody else reads any of it."""
    if has_role(user, *AUDIT_READERS):
        return AuditEvent.objects.all()
    return AuditEvent.objects.none()


def risks_for_user(*, user) -> QuerySet[Risk]:
    """Executives, risk officers and admins see every risk; team leads their teams' projects'; others none."""
    qs = Risk.objects.select_related("project__team", "owner", "accepted_by")
    return scope_to_user(qs, user=user, team_id="project__team_id")


def mitigations_for_user(*, user) -> QuerySet[Mitigation]:
    """The mitigations of the risks the user may see."""
    return Mitigation.objects.select_related("risk__project", "owner").filter(
        risk__in=risks_for_user(user=user).values("pk")
    )


def finding_assignees() -> QuerySet:
    """Who a finding can be assigned to: active users holding a role."""
    return get_user_model().objects.filter(is_active=True, groups__name__in=Role.values).distinct().order_by("username")


# Worst first; the order findings are worked in.
SEVERITY_RANK = Case(
    *(When(severity=s, then=Value(rank)) for rank, s in enumerate(reversed(Severity.values))),
    default=Value(len(Severity.values)),
    output_field=IntegerField(),
)


def findings_for_user(*, user) -> QuerySet[Finding]:
    """Scoped like risks (a finding without a project only for readers of everything); open ones first,
    worst first, newest first. Explicit, because NULLs sort last on PostgreSQL and first on SQLite."""
    qs = Finding.objects.select_related("project__team", "assignee").order_by(
        F("resolved_at").desc(nulls_first=True), SEVERITY_RANK, "-opened_at", "-id"
    )
    return scope_to_user(qs, user=user, team_id="project__team_id")


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


# --- sign-off pages ---------------------------------------------------------------------------------
# Scoping and the review queue live with the workflow (governance.signoff.selectors); these shape
# what the sign-off pages show, each in a fixed number of queries however many rows.


def signoff_for_page(*, user, pk: int):
    """One visible sign-off request with its decisions; SignOffRequest.DoesNotExist when out of scope."""
    from .signoff.selectors import signoffs_for_user

    return signoffs_for_user(user=user).select_related("project__owner", "policy__created_by").get(pk=pk)


def signoff_requests_for_project(*, user, project):
    """A project's sign-off history, newest first."""
    from .signoff.selectors import signoffs_for_user

    return signoffs_for_user(user=user).filter(project=project).order_by("-requested_at", "-id")


def signoff_requestable_versions(*, project):
    """The versions of a project's linked models that a sign-off may cover (the registry still lists
    them), newest first, each with `holding_now` (its open alias/stage/approval rows) and
    `pending_signoff` (the id of its pending request, if any)."""
    from projects.models import DeploymentObservation, ModelVersion

    from .models import SignOffRequest, SignOffStatus

    pending = SignOffRequest.objects.filter(model_version=OuterRef("pk"), status=SignOffStatus.PENDING)
    holding = DeploymentObservation.objects.filter(observed_until__isnull=True).order_by("signal", "name")
    return (
        ModelVersion.objects.filter(registered_model__project=project, deleted_at__isnull=True)
        .select_related("registered_model__registry")
        .annotate(pending_signoff=pending.values("pk")[:1])
        .prefetch_related(Prefetch("deployments", queryset=holding, to_attr="holding_now"))
        .order_by("registered_model__registry__name", "registered_model__name", "-version_number", "-id")
    )


def signoff_evidence(*, signoff) -> dict:
    """The evidence pack of one request, each part in one query: where its version is deployed now,
    the project's current tier assessment, and its risk register (live risks first, worst first)."""
    from projects.models import DeploymentObservation

    from .models import RiskStatus

    live = [RiskStatus.OPEN, RiskStatus.MITIGATING, RiskStatus.ACCEPTED]
    risks = risk_register(
        risks=Risk.objects.filter(project_id=signoff.project_id)
        .select_related("owner", "project__team")
        .annotate(is_live=Case(When(status__in=live, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("is_live", "-residual_score", "title", "id")
    )
    deployments = DeploymentObservation.objects.filter(
        version_id=signoff.model_version_id, observed_until__isnull=True
    ).order_by("signal", "name")
    return {
        "deployments": list(deployments),
        "assessment": tier_assessment_current(project=signoff.project),
        "risks": list(risks),
    }
