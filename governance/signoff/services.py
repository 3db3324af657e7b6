"""The writes of the sign-off workflow: publish a policy, request, withdraw, decide. Each is one
transaction with its audit events; mail and registry write-back run after commit. Invalidation and
expiry live in invalidation.py, production findings in deployments.py, the registry tag in
writeback.py; who may decide is eligibility.py's one rule.

    pending ──approve (all required roles)──▶ approved ──fingerprint moved──▶ invalidated
       │  ├─reject──▶ rejected                   └──re-certification due──▶ expired
       │  ├─withdraw──▶ withdrawn
       └──fingerprint moved──▶ invalidated

A refused decision (self-approval, a second role for one person, a closed request) changes nothing
but is itself recorded in the audit trail, in its own transaction, before the error goes back.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core import audit
from core.errors import ConflictError, DomainError, PermissionDeniedError
from core.roles import has_role, user_roles
from core.services import model_create
from projects.models import ModelVersion, RiskTier
from projects.permissions import can_change_project
from projects.registries.authors import is_version_author, version_author

from ..models import (
    REVIEWER_ROLES,
    MetricRequirement,
    SignOffDecision,
    SignOffPolicy,
    SignOffRequest,
    SignOffStatus,
    Verdict,
)
from . import fingerprint as fp
from . import notifications, thresholds
from .eligibility import Eligibility, Refusal, approvers_needed, decision_eligibility, missing_roles
from .invalidation import (
    approvals_invalidate_after_rejection,
    current_fingerprint,
    invalidate,
    request_close,
    version_findings_resolve,
)
from .permissions import POLICY_PUBLISHERS
from .writeback import write_back_enqueue

NOT_LINKED = "This model is not linked to an AI project; link it on the project page before asking for sign-off."
NOT_YOUR_PROJECT = "Only the project's team lead (or an admin) can request sign-off for its model versions."
VERSION_DELETED = "The registry no longer lists this version; it cannot be signed off."
NOT_ASSESSED = "Assess the project's EU AI Act risk tier first: the tier decides who must approve."
NO_POLICY = "No sign-off policy is published for the {tier} tier; ask an admin to publish one."
NEVER_APPROVABLE = (
    "A system in the prohibited tier can never be approved for deployment (EU AI Act Art. 5); change the "
    "system or its tier assessment first."
)
ALREADY_PENDING = "Sign-off request #{pk} for this version is already waiting for review."
NOT_PENDING = "This sign-off request is already {status}; it takes no more decisions."
SELF_REVIEW = "You requested this sign-off, so someone else must review it (separation of duties)."
AUTHOR_REVIEW = "You created this model version in the registry, so someone else must review it (separation of duties)."
NOT_A_REVIEWER = "This sign-off needs a {roles}; your roles do not include one."
ONE_ROLE_EACH = (
    "You already {verdict} this request as {role}; one person fills one role, so the {missing} approval must "
    "come from someone else."
)
ROLE_FILLED = "The {role} approval was already given by {who}; this request now waits for: {missing}."
ROLE_NOT_REQUIRED = "This request does not ask for a {role}; it needs: {roles}."
ROLE_NOT_HELD = "You do not hold the {role} role."
EVIDENCE_MOVED = "The evidence changed since the request was made, so it was invalidated: {reasons}"
COMMENT_NEEDED = "Say why: a rejection or a request for changes needs a comment."
CANNOT_PUBLISH = "Only risk officers and admins can publish sign-off policies."
CANNOT_WITHDRAW = "Only the requester, the project's team lead or an admin can withdraw this request."


# --- policies ------------------------------------------------------------------------------------


def current_policy(tier: str) -> SignOffPolicy | None:
    return SignOffPolicy.objects.filter(tier=tier).order_by("-version").first()


@transaction.atomic
def signoff_policy_publish(
    *, by, tier: str, required_roles: list[str], min_approvers: int, recertify_days: int | None,
    approvable: bool = True, note: str = "", metric_requirements: list[dict] | None = None,
) -> SignOffPolicy:  # fmt: skip
    """Publish the next version of a tier's policy (risk officers, admins); requests made earlier keep theirs,
    but its metric requirements apply at once to every open request of the tier (thresholds.py)."""
    if by is not None and not has_role(by, *POLICY_PUBLISHERS):
        raise PermissionDeniedError(CANNOT_PUBLISH)
    if tier not in RiskTier.values:
        raise ValidationError({"tier": [f"Unknown tier {tier!r}."]})
    unknown = [r for r in required_roles if r not in REVIEWER_ROLES]
    if unknown:
        raise ValidationError(
            {"required_roles": [f"Not reviewer roles: {', '.join(unknown)}. Use: {', '.join(REVIEWER_ROLES)}."]}
        )
    if len(set(required_roles)) != len(required_roles):
        raise ValidationError({"required_roles": ["Name each role once."]})
    if approvable and not required_roles:
        raise ValidationError({"required_roles": ["An approvable policy needs at least one reviewer role."]})
    if min_approvers < max(1, len(required_roles)):
        raise ValidationError(
            {"min_approvers": [f"At least {max(1, len(required_roles))}: each required role needs its own person."]}
        )
    if tier == RiskTier.PROHIBITED and approvable:
        raise ValidationError({"approvable": [NEVER_APPROVABLE]})
    version = (SignOffPolicy.objects.filter(tier=tier).aggregate(v=Max("version"))["v"] or 0) + 1
    policy = SignOffPolicy(
        tier=tier, version=version, required_roles=list(required_roles), min_approvers=min_approvers,
        recertify_days=recertify_days, approvable=approvable, note=note, created_by=by,
    )  # fmt: skip
    requirements = thresholds.requirements_clean(metric_requirements or [])
    fields = ["tier", "version", "required_roles", "min_approvers", "recertify_days", "approvable", "note"]
    policy = model_create(instance=policy, by=by, action="signoff_policy.published", fields=fields)
    rows = [MetricRequirement(policy=policy, **r) for r in requirements]
    MetricRequirement.objects.bulk_create(rows)
    if rows:
        audit.record(
            actor=by, action="signoff_policy.metric_requirements", obj=policy,
            after={"metric_requirements": [str(r) for r in rows]},
        )  # fmt: skip
    thresholds.policy_thresholds_reevaluate(tier=tier)
    return policy


# --- requests ------------------------------------------------------------------------------------


def _snapshot(request: SignOffRequest) -> dict:
    return {
        "project": request.project.slug,
        "model_version": request.model_version_id,
        "policy": {"tier": request.policy.tier, "version": request.policy.version},
        "fingerprint_hash": request.fingerprint_hash,
        "status": request.status,
    }


@transaction.atomic
def signoff_request(*, by, version: ModelVersion, justification: str = "") -> SignOffRequest:
    """Ask for sign-off of one model version of a linked project, recording its fingerprint."""
    version = (
        ModelVersion.objects.select_for_update(of=("self",))
        .select_related("registered_model__registry", "registered_model__project")
        .get(pk=version.pk)
    )
    project = version.registered_model.project
    if project is None:
        raise DomainError(NOT_LINKED)
    if by is not None and not can_change_project(by, project):
        raise PermissionDeniedError(NOT_YOUR_PROJECT)
    if version.deleted_at is not None:
        raise DomainError(VERSION_DELETED)
    state = fp.project_state(project)
    if not state["tier"]:
        raise DomainError(NOT_ASSESSED)
    policy = current_policy(state["tier"])
    if policy is None or not policy.approvable:
        raise DomainError(
            NEVER_APPROVABLE if state["tier"] == RiskTier.PROHIBITED else NO_POLICY.format(tier=state["tier"])
        )
    pending = SignOffRequest.objects.filter(model_version=version, status=SignOffStatus.PENDING).first()
    if pending is not None:
        raise ConflictError(ALREADY_PENDING.format(pk=pending.pk))
    fingerprint = fp.compute(version=version, project=project, policy=policy)
    request = SignOffRequest(
        project=project,
        model_version=version,
        policy=policy,
        requested_by=by,
        version_author=version_author(version),
        author_unknown=not (version.created_by or "").strip(),
        justification=justification.strip(),
        fingerprint=fingerprint,
        fingerprint_hash=fp.digest_of(fingerprint),
    )
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as exc:  # a concurrent request for the same version won
        raise ConflictError(ALREADY_PENDING.format(pk="?")) from exc
    audit.record(actor=by, action="signoff.requested", obj=request, after={**_snapshot(request),
                 "fingerprint": fingerprint, "justification": request.justification})  # fmt: skip
    # Flagged from the start when the version already misses a metric requirement of the policy.
    thresholds.versions_thresholds_check(version_ids=[version.pk])
    request.refresh_from_db(fields=["metrics_flag", "metrics_flagged_at"])
    transaction.on_commit(lambda: notifications.requested(request.pk))
    return request


@transaction.atomic
def signoff_withdraw(*, by, request: SignOffRequest, reason: str = "") -> SignOffRequest:
    request = SignOffRequest.objects.select_for_update().select_related("project", "policy").get(pk=request.pk)
    if by is not None and not (by.pk == request.requested_by_id or can_change_project(by, request.project)):
        raise PermissionDeniedError(CANNOT_WITHDRAW)
    if request.status != SignOffStatus.PENDING:
        raise ConflictError(NOT_PENDING.format(status=request.get_status_display().lower()))
    request.status = SignOffStatus.WITHDRAWN
    request.status_reason = reason.strip()
    request.closed_at = timezone.now()
    request.save(update_fields=["status", "status_reason", "closed_at"])
    audit.record(actor=by, action="signoff.withdrawn", obj=request, before={"status": SignOffStatus.PENDING},
                 after={"status": request.status, "reason": request.status_reason})  # fmt: skip
    return request


# --- decisions -----------------------------------------------------------------------------------


def signoff_decide(*, by, request: SignOffRequest, verdict: str, comment: str = "", role: str | None = None):
    """Record one reviewer's decision; the last required approval approves the request.

    Refusals (separation of duties, closed request) raise after the attempt is audited.
    """
    try:
        with transaction.atomic():
            try:
                return _decide(by=by, request=request, verdict=verdict, comment=comment, role=role)
            except _EvidenceMoved as moved:
                # Leave the block normally so that the invalidation _decide wrote commits.
                refusal = moved.error
    except IntegrityError as exc:
        # The database refused what the checks above let through: a race the row lock did not
        # cover, or a write that went around the service. Treat it as the conflict it is.
        error = ConflictError(f"The decision conflicts with another one recorded at the same time ({exc}).")
        _record_refusal(by, request, verdict, role, error)
        raise error from exc
    except (PermissionDeniedError, ConflictError) as exc:
        _record_refusal(by, request, verdict, role, exc)
        raise
    _record_refusal(by, request, verdict, role, refusal)
    raise refusal


class _EvidenceMoved(Exception):
    """The request was invalidated instead of approved; the invalidation must commit, the approval not."""

    def __init__(self, error: ConflictError):
        super().__init__(error.message)
        self.error = error


def _record_refusal(by, request: SignOffRequest, verdict: str, role: str | None, exc: DomainError) -> None:
    with transaction.atomic():
        audit.record(
            actor=by,
            action="signoff.decision_refused",
            obj=request,
            after={"verdict": verdict, "role": role, "reason": exc.message, "code": exc.code},
        )


def _decide(*, by, request: SignOffRequest, verdict: str, comment: str, role: str | None) -> SignOffDecision:
    """Lock the request, apply the eligibility rule, re-check the evidence, then record the decision
    and what it does to the request."""
    request = (
        SignOffRequest.objects.select_for_update(of=("self",))
        .select_related("policy", "project", "model_version__registered_model__registry")
        .get(pk=request.pk)
    )
    if verdict not in Verdict.values:
        raise ValidationError({"verdict": [f"Unknown verdict {verdict!r}. Use: {', '.join(Verdict.values)}."]})
    decisions = list(request.decisions.select_related("reviewer"))
    answer = decision_eligibility(
        request=request, user_id=by.pk, roles=user_roles(by), decisions=decisions, verdict=verdict, role=role
    )
    _raise_refusal(request, answer, role=role)
    if is_version_author(by, request.model_version):
        # The registry names this user as the author now, though the request's copy (taken when it was made,
        # and copied by the decisions' constraint) does not: a later sync read the author from the run, or
        # an admin mapped the registry user to this Keel account since.
        raise PermissionDeniedError(AUTHOR_REVIEW, code="separation_of_duties")
    if verdict != Verdict.APPROVE and not comment.strip():
        raise ValidationError({"comment": [COMMENT_NEEDED]})
    _check_evidence(request, verdict)
    decision = SignOffDecision.objects.create(
        request=request, reviewer=by, role=answer.role, verdict=verdict, comment=comment.strip(),
        requested_by_id=request.requested_by_id, version_author_id=request.version_author_id,
    )  # fmt: skip
    audit.record(
        actor=by,
        action="signoff.decided",
        obj=request,
        after={"decision": decision.pk, "verdict": verdict, "role": answer.role, "comment": decision.comment},
    )
    _apply_decision(request, decision, decisions, actor=by)
    return decision


def _raise_refusal(request: SignOffRequest, answer: Eligibility, *, role: str | None) -> None:
    """Turn the eligibility rule's refusal into this service's error: the page shows its own notes,
    the API and the service answer with these (403 separation of duties, 409 closed or filled)."""
    required = list(request.policy.required_roles)
    match answer.refusal:
        case None:
            return
        case Refusal.NOT_PENDING:
            raise ConflictError(NOT_PENDING.format(status=request.get_status_display().lower()))
        case Refusal.REQUESTER:
            raise PermissionDeniedError(SELF_REVIEW, code="separation_of_duties")
        case Refusal.AUTHOR:
            raise PermissionDeniedError(AUTHOR_REVIEW, code="separation_of_duties")
        case Refusal.NOT_A_REVIEWER:
            raise PermissionDeniedError(NOT_A_REVIEWER.format(roles=" or ".join(required)))
        case Refusal.ALREADY_DECIDED:
            earlier = answer.earlier
            raise PermissionDeniedError(
                ONE_ROLE_EACH.format(
                    verdict="approved" if earlier.verdict == Verdict.APPROVE else "rejected",
                    role=earlier.role,
                    missing=" and ".join(answer.missing) or "remaining",
                ),
                code="separation_of_duties",
            )
        case Refusal.ROLE_NOT_REQUIRED:
            raise ValidationError({"role": [ROLE_NOT_REQUIRED.format(role=role, roles=", ".join(required))]})
        case Refusal.ROLE_NOT_HELD:
            raise PermissionDeniedError(ROLE_NOT_HELD.format(role=role))
        case Refusal.ROLE_FILLED:
            filled = answer.filled
            raise ConflictError(
                ROLE_FILLED.format(
                    role=filled.role if filled else role,
                    who=filled.reviewer.get_username() if filled else "someone else",
                    missing=", ".join(answer.missing) or "nothing",
                )
            )


def _check_evidence(request: SignOffRequest, verdict: str) -> None:
    """The evidence must still be what the requester submitted: if it moved and no rule has caught up
    yet, invalidate now (committed) rather than approve something nobody reviewed."""
    reasons = fp.changes(request.fingerprint, current_fingerprint(request))
    if reasons and verdict == Verdict.APPROVE:
        invalidate(request, reasons, actor=None)
        raise _EvidenceMoved(ConflictError(EVIDENCE_MOVED.format(reasons=" ".join(text for _, text in reasons))))


def _apply_decision(request: SignOffRequest, decision: SignOffDecision, earlier: list[SignOffDecision], *, actor):
    """What a recorded decision does: a rejection closes the request (and withdraws an earlier approval
    of the version), the last approval needed approves it; every decision is mailed after commit."""
    if decision.verdict == Verdict.REJECT:
        request_close(request, SignOffStatus.REJECTED, actor=actor, reason=decision.comment)
        approvals_invalidate_after_rejection(request, comment=decision.comment, actor=actor)
    elif decision.verdict == Verdict.APPROVE and _completes(request, earlier, decision):
        _approve(request, actor=actor)
    transaction.on_commit(lambda: notifications.decided(decision.pk))


def _completes(request: SignOffRequest, earlier: list[SignOffDecision], decision: SignOffDecision) -> bool:
    """Whether this approval is the last the request needs: every role filled, by enough distinct people
    (one more than the policy asks when the version's author is unknown)."""
    approvals = [d for d in earlier if d.verdict == Verdict.APPROVE] + [decision]
    approvers = {d.reviewer_id for d in approvals}
    return not missing_roles(request.policy.required_roles, approvals) and len(approvers) >= approvers_needed(request)


def _approve(request: SignOffRequest, *, actor) -> None:
    if request.policy.recertify_days:
        request.valid_until = timezone.now() + dt.timedelta(days=request.policy.recertify_days)
    request_close(request, SignOffStatus.APPROVED, actor=actor)
    # The version is covered now: findings about it (and about earlier approvals of it) are resolved.
    version_findings_resolve(request.model_version_id, "A sign-off for this version was approved.")
    write_back_enqueue(request.pk)
