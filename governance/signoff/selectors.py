"""Reads of sign-offs, scoped to what the user may see (team leads: their teams' projects)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from core.roles import user_roles
from projects.inventory.selectors import projects_for_user

from ..models import SignOffDecision, SignOffPolicy, SignOffRequest, SignOffStatus, Verdict


def signoffs_for_user(*, user) -> QuerySet[SignOffRequest]:
    return (
        SignOffRequest.objects.filter(project__in=projects_for_user(user=user).values("pk"))
        .select_related(
            "project__team", "policy", "requested_by", "version_author", "model_version__registered_model__registry"
        )
        .prefetch_related(
            Prefetch("decisions", queryset=SignOffDecision.objects.select_related("reviewer").order_by("decided_at"))
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
    policies = list(SignOffPolicy.objects.values_list("pk", "required_roles"))
    open_role = Q(pk__in=[])
    for role in held:
        asking = [pk for pk, roles in policies if role in roles]
        filled = SignOffDecision.objects.filter(request=OuterRef("pk"), role=role, verdict=Verdict.APPROVE)
        open_role |= Q(policy__in=asking) & ~Exists(filled)
    return (
        signoffs_for_user(user=user)
        .filter(status=SignOffStatus.PENDING)
        .exclude(requested_by=user)
        .exclude(version_author=user)
        .exclude(Exists(decided))
        .filter(open_role)
        .order_by("requested_at", "pk")
    )
