"""The writes of the sign-off workflow. Each is one transaction with its audit events; mail and
registry write-back run after commit.

    pending ──approve (all required roles)──▶ approved ──fingerprint moved──▶ invalidated
       │  ├─reject──▶ rejected                   └──re-certification due──▶ expired
       │  ├─withdraw──▶ withdrawn
       └──fingerprint moved──▶ invalidated

A refused decision (self-approval, a second role for one person, a closed request) changes nothing
but is itself recorded in the audit trail, in its own transaction, before the error goes back.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from core import audit
from core.errors import ConflictError, DomainError, PermissionDeniedError
from core.roles import is_admin, user_roles
from projects.models import AIProject, DeploymentObservation, ModelVersion, RiskTier, Signal
from projects.permissions import can_change_project

from ..findings import finding_close, finding_open
from ..models import (
    Finding,
    FindingKind,
    Severity,
    SignOffDecision,
    SignOffPolicy,
    SignOffRequest,
    SignOffStatus,
    Verdict,
)
from . import fingerprint as fp
from . import notifications

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
CANNOT_WITHDRAW = "Only the requester, the project's team lead or an admin can withdraw this request."

WRITE_BACK_TAG = "keel.signoff"
RECERTIFICATION_REJECTED = "recertification_rejected"
SEVERE_TIERS = {RiskTier.HIGH: Severity.HIGH, RiskTier.PROHIBITED: Severity.CRITICAL}


# --- policies ------------------------------------------------------------------------------------


def current_policy(tier: str) -> SignOffPolicy | None:
    return SignOffPolicy.objects.filter(tier=tier).order_by("-version").first()


@transaction.atomic
def signoff_policy_publish(
    *, by, tier: str, required_roles: list[str], min_approvers: int, recertify_days: int | None,
    approvable: bool = True, note: str = "",
) -> SignOffPolicy:  # fmt: skip
    """Publish the next version of a tier's policy (admins); requests made earlier keep theirs."""
    if by is not None and not is_admin(by):
        raise PermissionDeniedError("Only admins can publish sign-off policies.")
    if tier not in RiskTier.values:
        raise ValidationError({"tier": [f"Unknown tier {tier!r}."]})
    from ..models import REVIEWER_ROLES

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
    policy.full_clean()
    policy.save()
    audit.record(
        actor=by,
        action="signoff_policy.published",
        obj=policy,
        after=audit.snapshot(policy, ["tier", "version", "required_roles", "min_approvers", "recertify_days",
                                      "approvable", "note"]),
    )  # fmt: skip
    return policy


# --- requests ------------------------------------------------------------------------------------


def _author_of(version: ModelVersion):
    """The Keel user behind the registry's `created_by`, matched on username or email."""
    name = (version.created_by or "").strip()
    if not name:
        return None
    User = get_user_model()
    return User.objects.filter(Q(username__iexact=name) | Q(email__iexact=name)).order_by("pk").first()


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
        version_author=_author_of(version),
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


def _approvals(request: SignOffRequest) -> dict[str, SignOffDecision]:
    return {d.role: d for d in request.decisions.filter(verdict=Verdict.APPROVE).select_related("reviewer")}


def _missing_roles(request: SignOffRequest, approvals: dict) -> list[str]:
    return [r for r in request.policy.required_roles if r not in approvals]


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
    request = (
        SignOffRequest.objects.select_for_update(of=("self",))
        .select_related("policy", "project", "model_version__registered_model__registry")
        .get(pk=request.pk)
    )
    if verdict not in Verdict.values:
        raise ValidationError({"verdict": [f"Unknown verdict {verdict!r}. Use: {', '.join(Verdict.values)}."]})
    if request.status != SignOffStatus.PENDING:
        raise ConflictError(NOT_PENDING.format(status=request.get_status_display().lower()))
    if by.pk == request.requested_by_id:
        raise PermissionDeniedError(SELF_REVIEW, code="separation_of_duties")
    if request.version_author_id is not None and by.pk == request.version_author_id:
        raise PermissionDeniedError(AUTHOR_REVIEW, code="separation_of_duties")
    required = list(request.policy.required_roles)
    held = [r for r in required if r in user_roles(by)]
    if not held:
        raise PermissionDeniedError(NOT_A_REVIEWER.format(roles=" or ".join(required)))
    approvals = _approvals(request)
    missing = _missing_roles(request, approvals)
    mine = request.decisions.filter(reviewer=by, verdict__in=[Verdict.APPROVE, Verdict.REJECT]).first()
    if mine is not None:
        raise PermissionDeniedError(
            ONE_ROLE_EACH.format(
                verdict="approved" if mine.verdict == Verdict.APPROVE else "rejected",
                role=mine.role,
                missing=" and ".join(missing) or "remaining",
            ),
            code="separation_of_duties",
        )
    if role is not None:
        if role not in required:
            raise ValidationError({"role": [ROLE_NOT_REQUIRED.format(role=role, roles=", ".join(required))]})
        if role not in held:
            raise PermissionDeniedError(ROLE_NOT_HELD.format(role=role))
    if verdict == Verdict.APPROVE:
        open_roles = [r for r in ([role] if role else held) if r in missing]
        if not open_roles:
            filled = approvals[role or held[0]]
            raise ConflictError(
                ROLE_FILLED.format(
                    role=filled.role, who=filled.reviewer.get_username(), missing=", ".join(missing) or "nothing"
                )
            )
        role = open_roles[0]
    else:
        if not comment.strip():
            raise ValidationError({"comment": [COMMENT_NEEDED]})
        role = role or held[0]
    # The evidence must still be what the requester submitted: if it moved and no rule has caught up
    # yet, invalidate now rather than approve something nobody reviewed.
    reasons = fp.changes(request.fingerprint, _current_fingerprint(request))
    if reasons and verdict == Verdict.APPROVE:
        _invalidate(request, reasons, actor=None)
        raise _EvidenceMoved(ConflictError(EVIDENCE_MOVED.format(reasons=" ".join(text for _, text in reasons))))
    decision = SignOffDecision.objects.create(
        request=request, reviewer=by, role=role, verdict=verdict, comment=comment.strip(),
        requested_by_id=request.requested_by_id, version_author_id=request.version_author_id,
    )  # fmt: skip
    audit.record(
        actor=by,
        action="signoff.decided",
        obj=request,
        after={"decision": decision.pk, "verdict": verdict, "role": role, "comment": decision.comment},
    )
    if verdict == Verdict.REJECT:
        _close(request, SignOffStatus.REJECTED, actor=by, reason=decision.comment)
        # A rejected re-certification withdraws the earlier approval of the same version: the gate must
        # not keep allowing what a reviewer has just refused.
        for earlier in (
            SignOffRequest.objects.select_for_update(of=("self",))
            .select_related("policy", "project", "requested_by", "model_version__registered_model__registry")
            .filter(model_version_id=request.model_version_id, status=SignOffStatus.APPROVED)
        ):
            reason = f"Re-certification request #{request.pk} was rejected: {decision.comment}"
            _invalidate(earlier, [(RECERTIFICATION_REJECTED, reason)], actor=by)
        transaction.on_commit(lambda: notifications.decided(decision.pk))
    elif verdict == Verdict.REQUEST_CHANGES:
        transaction.on_commit(lambda: notifications.decided(decision.pk))
    else:
        approvals[role] = decision
        approvers = {d.reviewer_id for d in approvals.values()}
        if not _missing_roles(request, approvals) and len(approvers) >= request.policy.min_approvers:
            _approve(request, actor=by)
        transaction.on_commit(lambda: notifications.decided(decision.pk))
    return decision


def _current_fingerprint(request: SignOffRequest) -> dict:
    version = request.model_version
    return fp.compute(version=version, project=request.project, policy=request.policy)


def _close(request: SignOffRequest, status: str, *, actor, reason: str = "") -> None:
    before = request.status
    now = timezone.now()
    request.status = status
    if status in (SignOffStatus.APPROVED, SignOffStatus.REJECTED):
        request.decided_at = now
    else:
        request.closed_at = now
    if status != SignOffStatus.APPROVED:
        request.status_reason = reason  # a rejection's reason is the reviewer's comment
    request.save(update_fields=["status", "decided_at", "closed_at", "status_reason", "valid_until"])
    audit.record(
        actor=actor,
        action=f"signoff.{status}",
        obj=request,
        before={"status": before},
        after={"status": status, "reason": reason, "valid_until": audit.json_value(request.valid_until)},
    )


def _approve(request: SignOffRequest, *, actor) -> None:
    if request.policy.recertify_days:
        request.valid_until = timezone.now() + dt.timedelta(days=request.policy.recertify_days)
    _close(request, SignOffStatus.APPROVED, actor=actor)
    # The version is covered now: findings about it (and about earlier approvals of it) are resolved.
    _resolve_version_findings(request.model_version_id, "A sign-off for this version was approved.")
    pk = request.pk
    transaction.on_commit(lambda: _enqueue_write_back(pk))


# --- invalidation and expiry ---------------------------------------------------------------------


def _open_finding(*, kind: str, severity: str, title: str, detail: str, subject, project, assignee=None) -> bool:
    subject_type, subject_id = subject._meta.label_lower, str(subject.pk)
    if Finding.objects.filter(kind=kind, subject_type=subject_type, subject_id=subject_id, resolved_at=None).exists():
        return False
    finding_open(
        kind=kind, severity=severity, title=title, detail=detail, subject_type=subject_type, subject_id=subject_id,
        project=project, assignee=assignee,
    )  # fmt: skip
    return True


def _resolve_version_findings(version_id: int, resolution: str) -> None:
    request_ids = [
        str(pk) for pk in SignOffRequest.objects.filter(model_version_id=version_id).values_list("pk", flat=True)
    ]
    subjects = Q(subject_type="projects.modelversion", subject_id=str(version_id)) | Q(
        subject_type="governance.signoffrequest", subject_id__in=request_ids
    )
    kinds = [FindingKind.DEPLOYED_WITHOUT_APPROVAL, FindingKind.SIGNOFF_INVALIDATED, FindingKind.SIGNOFF_EXPIRED]
    for finding in Finding.objects.select_for_update().filter(subjects, kind__in=kinds, resolved_at=None):
        finding_close(finding, resolution)


def _severity(request: SignOffRequest) -> str:
    return SEVERE_TIERS.get(request.policy.tier, Severity.MEDIUM)


def _invalidate(request: SignOffRequest, reasons: list[tuple[str, str]], *, actor) -> None:
    was_approved = request.status == SignOffStatus.APPROVED
    text = " ".join(sentence for _, sentence in reasons)
    _close(request, SignOffStatus.INVALIDATED, actor=actor, reason=text)
    label = f"{request.fingerprint.get('model')} v{request.fingerprint.get('version')}"
    _open_finding(
        kind=FindingKind.SIGNOFF_INVALIDATED,
        severity=_severity(request) if was_approved else Severity.MEDIUM,
        title=f"Sign-off #{request.pk} invalidated: {label} ({request.project.name})",
        detail=text,
        subject=request,
        project=request.project,
        assignee=request.requested_by,
    )
    if was_approved:
        _check_serving(request.model_version, request.project)
    pk, codes = request.pk, [code for code, _ in reasons]
    transaction.on_commit(lambda: notifications.invalidated(pk, codes))
    if was_approved:
        transaction.on_commit(lambda: _enqueue_write_back(pk))


def signoffs_revalidate(*, project: AIProject | None = None, version: ModelVersion | None = None) -> int:
    """Compare every live request (pending or approved) of a project or version with the present
    state; invalidate those whose fingerprint no longer matches. Runs inside the caller's transaction."""
    live = SignOffRequest.objects.filter(status__in=[SignOffStatus.PENDING, SignOffStatus.APPROVED])
    if project is not None:
        live = live.filter(project=project)
    if version is not None:
        live = live.filter(model_version=version)
    invalidated = 0
    for request in live.select_for_update(of=("self",)).select_related(
        "policy", "project", "requested_by", "model_version__registered_model__registry"
    ):
        reasons = fp.changes(request.fingerprint, _current_fingerprint(request))
        if reasons:
            _invalidate(request, reasons, actor=None)
            invalidated += 1
    return invalidated


def deployments_sweep() -> int:
    """Open a finding for every version serving production without a valid sign-off that has none yet.

    The sync opens these when it sees a version take a production alias; this catches what no event
    announces — a model linked to a project (by hand or by a later tag) while it already serves.
    """
    serving = (
        ModelVersion.objects.filter(
            pk__in=DeploymentObservation.objects.filter(production_signal_q()).values("version_id"),
            registered_model__project__isnull=False,
        )
        .exclude(signoffs__status=SignOffStatus.APPROVED, signoffs__valid_until__isnull=True)
        .exclude(signoffs__status=SignOffStatus.APPROVED, signoffs__valid_until__gt=timezone.now())
        .select_related("registered_model__registry", "registered_model__project")
    )
    with transaction.atomic():
        return sum(_check_serving(v, v.registered_model.project) for v in serving)


def signoffs_revalidate_versions(*, version_ids: list[int]) -> int:
    """signoffs_revalidate for the versions among these that have a live request (one query if none)."""
    live = (
        SignOffRequest.objects.filter(
            model_version_id__in=version_ids, status__in=[SignOffStatus.PENDING, SignOffStatus.APPROVED]
        )
        .values_list("model_version_id", flat=True)
        .distinct()
    )
    invalidated = 0
    for version in ModelVersion.objects.filter(pk__in=list(live)):
        invalidated += signoffs_revalidate(version=version)
    return invalidated


@transaction.atomic
def signoffs_expire(*, now: dt.datetime | None = None) -> int:
    """Approvals past their re-certification date become expired, with a finding and a notification."""
    now = now or timezone.now()
    due = SignOffRequest.objects.filter(status=SignOffStatus.APPROVED, valid_until__lte=now)
    expired = 0
    for request in due.select_for_update(of=("self",)).select_related("policy", "project", "requested_by",
                                                                        "model_version"):  # fmt: skip
        reason = f"The approval needed re-certification by {request.valid_until:%Y-%m-%d %H:%M} UTC."
        _close(request, SignOffStatus.EXPIRED, actor=None, reason=reason)
        _open_finding(
            kind=FindingKind.SIGNOFF_EXPIRED,
            severity=_severity(request),
            title=f"Sign-off #{request.pk} expired: {request.fingerprint.get('model')} "
            f"v{request.fingerprint.get('version')} ({request.project.name})",
            detail=reason + " Request sign-off again to re-certify.",
            subject=request,
            project=request.project,
            assignee=request.requested_by,
        )
        _check_serving(request.model_version, request.project)
        pk = request.pk
        transaction.on_commit(lambda pk=pk: notifications.invalidated(pk, ["expired"]))
        transaction.on_commit(lambda pk=pk: _enqueue_write_back(pk))
        expired += 1
    return expired


# --- what the registry says is deployed ----------------------------------------------------------


def production_signal_q(prefix: str = "") -> Q:
    """Open deployment observations that mean "in production"."""
    from django.conf import settings

    p = prefix
    return Q(**{f"{p}observed_until__isnull": True}) & (
        Q(**{f"{p}signal": Signal.ALIAS, f"{p}name__in": list(settings.KEEL_PRODUCTION_ALIASES)})
        | Q(**{f"{p}signal": Signal.STAGE, f"{p}name__iexact": "production"})
        | Q(**{f"{p}signal": Signal.APPROVAL, f"{p}name__iexact": "approved"})
    )


def means_production(observation: DeploymentObservation) -> bool:
    """production_signal_q() for one observation in memory (it must stay in step with that query)."""
    from django.conf import settings

    if observation.observed_until is not None:
        return False
    if observation.signal == Signal.ALIAS:
        return observation.name in settings.KEEL_PRODUCTION_ALIASES
    if observation.signal == Signal.STAGE:
        return observation.name.lower() == "production"
    return observation.signal == Signal.APPROVAL and observation.name.lower() == "approved"


def is_serving_production(version: ModelVersion) -> bool:
    return DeploymentObservation.objects.filter(production_signal_q(), version=version).exists()


def valid_approval(version: ModelVersion, *, now: dt.datetime | None = None) -> SignOffRequest | None:
    now = now or timezone.now()
    return (
        SignOffRequest.objects.filter(model_version=version, status=SignOffStatus.APPROVED)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .order_by("-decided_at", "-pk")
        .first()
    )


def _check_serving(version: ModelVersion, project: AIProject | None, *, serving: bool | None = None) -> bool:
    """Open a finding if this version serves production without a valid approval (`serving`: already known)."""
    if project is None or valid_approval(version) is not None:
        return False
    if not (serving if serving is not None else is_serving_production(version)):
        return False
    model = version.registered_model
    return _open_finding(
        kind=FindingKind.DEPLOYED_WITHOUT_APPROVAL,
        severity=SEVERE_TIERS.get(project.risk_tier, Severity.HIGH),
        title=f"{model.name} v{version.version} is in production without a valid sign-off ({project.name})",
        detail=(
            f"The registry {model.registry.name} shows version {version.version} of {model.name} serving "
            "production, and no valid sign-off covers it. Request sign-off, or move the alias back."
        ),
        subject=version,
        project=project,
        assignee=project.owner,
    )


def deployment_check(*, observation: DeploymentObservation) -> bool:
    """The registry sync saw a version take an alias/stage/status: is it production, and approved?"""
    if not means_production(observation):  # decided in Python: a sync reports hundreds of these
        return False
    version = ModelVersion.objects.select_related("registered_model__registry", "registered_model__project").get(
        pk=observation.version_id
    )
    return _check_serving(version, version.registered_model.project, serving=True)


def deployment_findings_resolve_departed(*, registry) -> int:
    """Resolve "in production without sign-off" findings of this registry's versions that left production."""
    open_ids = [
        int(pk)
        for pk in Finding.objects.filter(
            kind=FindingKind.DEPLOYED_WITHOUT_APPROVAL, subject_type="projects.modelversion", resolved_at=None
        ).values_list("subject_id", flat=True)
    ]
    if not open_ids:
        return 0
    departed = ModelVersion.objects.filter(pk__in=open_ids, registered_model__registry=registry).exclude(
        pk__in=DeploymentObservation.objects.filter(production_signal_q()).values("version_id")
    )
    gone = [str(pk) for pk in departed.values_list("pk", flat=True)]
    findings = Finding.objects.select_for_update().filter(
        kind=FindingKind.DEPLOYED_WITHOUT_APPROVAL, subject_type="projects.modelversion", subject_id__in=gone,
        resolved_at=None,
    )  # fmt: skip
    resolved = 0
    for finding in findings:
        finding_close(finding, "The registry no longer shows this version in production.")
        resolved += 1
    return resolved


# --- write-back ----------------------------------------------------------------------------------


def _enqueue_write_back(request_pk: int) -> None:
    from ..tasks import signoff_write_back

    request = SignOffRequest.objects.select_related("model_version__registered_model__registry").get(pk=request_pk)
    if request.model_version.registered_model.registry.write_back_signoff:
        signoff_write_back.delay(request_pk)


def signoff_write_back(*, request_pk: int, adapter=None) -> str:
    """Tag the registry's version with the request's present status (called by the write-back task)."""
    from projects.registries.services import model_version_tag_write

    request = SignOffRequest.objects.select_related("model_version__registered_model__registry").get(pk=request_pk)
    if not request.model_version.registered_model.registry.write_back_signoff:
        return "disabled"
    model_version_tag_write(
        by=None, version=request.model_version, key=WRITE_BACK_TAG, value=request.status, adapter=adapter
    )
    return request.status
