"""Reads of sign-offs, scoped to what the user may see (team leads: their teams' projects)."""

from __future__ import annotations

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from core.roles import user_roles
from projects.inventory.selectors import projects_for_user
from projects.models import DeploymentObservation, ModelVersion, RiskTier

from ..models import (
    REVIEWER_ROLES,
    Risk,
    RiskStatus,
    SignOffDecision,
    SignOffPolicy,
    SignOffRequest,
    SignOffStatus,
    Verdict,
)
from ..risks.selectors import risk_register, tier_assessment_current


def signoffs_for_user(*, user) -> QuerySet[SignOffRequest]:
    return (
        SignOffRequest.objects.filter(project__in=projects_for_user(user=user).values("pk"))
        .select_related(
            "project__team", "policy", "requested_by", "version_author", "model_version__registered_model__registry"
        )
        .prefetch_related(
            Prefetch("decisions", queryset=SignOffDecision.objects.select_related("reviewer").order_by("decided_at")),
            "policy__metric_requirements",
        )
    )


def review_queue_for_user(*, user) -> QuerySet[SignOffRequest]:
    """Pending requests that wait for a role this user holds and may fill, oldest first.

    Not: requests they made or whose version they authored, requests they already approved or
    rejected, or requests whose every role they hold is already filled by someone else.
    """
    held = sorted(user_roles(user))
    if not held:
        return SignOffRequest.objects.none()
    decided = SignOffDecision.objects.filter(
        request=OuterRef("pk"), reviewer=user, verdict__in=[Verdict.APPROVE, Verdict.REJECT]
    )
    # Policies are a handful of rows, and JSON "contains" is not portable to SQLite: read them once.
    policies = list(SignOffPolicy.objects.values_list("pk", "required_roles", "min_approvers"))
    open_role = Q(pk__in=[])
    for role in held:
        asking = [pk for pk, roles, _ in policies if role in roles]
        filled = SignOffDecision.objects.filter(request=OuterRef("pk"), role=role, verdict=Verdict.APPROVE)
        open_role |= Q(policy__in=asking) & ~Exists(filled)
    if any(role in REVIEWER_ROLES for role in held):
        # A request that needs more approvers than it has required roles (a policy asking for more, or a
        # version whose author is unknown) waits for any reviewer until it has them (eligibility.py).
        extra_always = [pk for pk, roles, least in policies if least > len(roles)]
        extra_if_unknown = [pk for pk, roles, least in policies if least + 1 > len(roles)]
        needed = F("policy__min_approvers") + Case(When(author_unknown=True, then=Value(1)), default=Value(0))
        open_role |= (Q(policy__in=extra_always) | Q(author_unknown=True, policy__in=extra_if_unknown)) & Q(
            approvals_n__lt=needed
        )
    approvals = (
        SignOffDecision.objects.filter(request=OuterRef("pk"), verdict=Verdict.APPROVE)
        .values("request")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        signoffs_for_user(user=user)
        .annotate(approvals_n=Coalesce(Subquery(approvals), 0))
        .filter(status=SignOffStatus.PENDING)
        .exclude(requested_by=user)
        .exclude(version_author=user)
        .exclude(Exists(decided))
        .filter(open_role)
        .order_by("requested_at", "pk")
    )


# --- sign-off pages ---------------------------------------------------------------------------------
# Scoping and the review queue are above; these shape what the sign-off pages show, each in a fixed
# number of queries however many rows.


def signoff_for_page(*, user, pk: int):
    """One visible sign-off request with its decisions; SignOffRequest.DoesNotExist when out of scope."""
    return signoffs_for_user(user=user).select_related("project__owner", "policy__created_by").get(pk=pk)


def signoff_requests_for_project(*, user, project):
    """A project's sign-off history, newest first."""
    return signoffs_for_user(user=user).filter(project=project).order_by("-requested_at", "-id")


def signoff_requestable_versions(*, project):
    """The versions of a project's linked models that a sign-off may cover (the registry still lists
    them), newest first, each with `holding_now` (its open alias/stage/approval rows) and
    `pending_signoff` (the id of its pending request, if any)."""
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


# --- policies -----------------------------------------------------------------------------------------


def policies_current() -> list[SignOffPolicy]:
    """The version in force of each tier's policy (its highest), in the tiers' order, each with
    `versions_count` (how many were published); two queries however many versions."""
    latest = SignOffPolicy.objects.filter(tier=OuterRef("tier")).order_by("-version").values("version")[:1]
    counts = dict(SignOffPolicy.objects.order_by().values("tier").annotate(n=Count("pk")).values_list("tier", "n"))
    rows = {
        p.tier: p
        for p in SignOffPolicy.objects.filter(version=Subquery(latest))
        .select_related("created_by")
        .prefetch_related("metric_requirements")
    }
    for tier, policy in rows.items():
        policy.versions_count = counts.get(tier, 0)
    return [rows[tier] for tier in RiskTier.values if tier in rows]


def policy_history(*, tier: str = "") -> QuerySet[SignOffPolicy]:
    """Every published version, newest first (of one tier, when given), with who published it."""
    qs = SignOffPolicy.objects.select_related("created_by").order_by("tier", "-version")
    return qs.filter(tier=tier) if tier else qs
