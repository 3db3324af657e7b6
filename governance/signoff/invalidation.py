"""How a sign-off stops counting: closed with a status and a reason, invalidated when the evidence
its fingerprint recorded has moved, expired when its re-certification date has passed.

An approval that stops counting opens a finding (and, if the version serves production, the
"deployed without approval" finding), tells the people involved, and has the registry's tag
rewritten. Everything here runs inside the caller's transaction; mail and write-back after commit.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import audit
from projects.models import AIProject, ModelVersion

from ..findings.services import finding_close
from ..models import Finding, FindingKind, Severity, SignOffRequest, SignOffStatus
from . import fingerprint as fp
from . import notifications
from .deployments import SEVERE_TIERS, finding_open_once, serving_check
from .writeback import write_back_enqueue

RECERTIFICATION_REJECTED = "recertification_rejected"


def request_close(request: SignOffRequest, status: str, *, actor, reason: str = "") -> None:
    """Move a request to a final status (approved, rejected, invalidated, expired), audited."""
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


def current_fingerprint(request: SignOffRequest) -> dict:
    """The fingerprint the request's version would have if it were requested now."""
    return fp.compute(version=request.model_version, project=request.project, policy=request.policy)


def version_findings_resolve(version_id: int, resolution: str) -> None:
    """A version covered by an approval again: resolve the findings about it and its earlier requests."""
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


def invalidate(request: SignOffRequest, reasons: list[tuple[str, str]], *, actor) -> None:
    """Invalidate a live request for these (code, sentence) reasons, with its finding."""
    was_approved = request.status == SignOffStatus.APPROVED
    text = " ".join(sentence for _, sentence in reasons)
    request_close(request, SignOffStatus.INVALIDATED, actor=actor, reason=text)
    label = f"{request.fingerprint.get('model')} v{request.fingerprint.get('version')}"
    finding_open_once(
        kind=FindingKind.SIGNOFF_INVALIDATED,
        severity=_severity(request) if was_approved else Severity.MEDIUM,
        title=f"Sign-off #{request.pk} invalidated: {label} ({request.project.name})",
        detail=text,
        subject=request,
        project=request.project,
        assignee=request.requested_by,
    )
    if was_approved:
        serving_check(request.model_version, request.project)
    pk, codes = request.pk, [code for code, _ in reasons]
    transaction.on_commit(lambda: notifications.invalidated(pk, codes))
    if was_approved:
        write_back_enqueue(pk)


def approvals_invalidate_after_rejection(request: SignOffRequest, *, comment: str, actor) -> None:
    """A rejected re-certification withdraws the earlier approval of the same version: the gate must
    not keep allowing what a reviewer has just refused."""
    for earlier in (
        SignOffRequest.objects.select_for_update(of=("self",))
        .select_related("policy", "project", "requested_by", "model_version__registered_model__registry")
        .filter(model_version_id=request.model_version_id, status=SignOffStatus.APPROVED)
    ):
        reason = f"Re-certification request #{request.pk} was rejected: {comment}"
        invalidate(earlier, [(RECERTIFICATION_REJECTED, reason)], actor=actor)


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
        reasons = fp.changes(request.fingerprint, current_fingerprint(request))
        if reasons:
            invalidate(request, reasons, actor=None)
            invalidated += 1
    return invalidated


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
        request_close(request, SignOffStatus.EXPIRED, actor=None, reason=reason)
        finding_open_once(
            kind=FindingKind.SIGNOFF_EXPIRED,
            severity=_severity(request),
            title=f"Sign-off #{request.pk} expired: {request.fingerprint.get('model')} "
            f"v{request.fingerprint.get('version')} ({request.project.name})",
            detail=reason + " Request sign-off again to re-certify.",
            subject=request,
            project=request.project,
            assignee=request.requested_by,
        )
        serving_check(request.model_version, request.project)
        pk = request.pk
        transaction.on_commit(lambda pk=pk: notifications.invalidated(pk, ["expired"]))
        write_back_enqueue(pk)
        expired += 1
    return expired
