"""How every rule opens and resolves a finding: one row and one audit event each.

Rules (overdue risk reviews, sign-off, compliance obligations, value decay) decide *whether*;
finding_open and finding_close are the only code that writes the change. `entries`, when given,
collects the audit entries for the caller's audit.record_many() instead of recording each at once.
People act on findings through finding_assign and finding_resolve (risk officers, compliance, admins).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import DomainError, PermissionDeniedError
from core.services import model_update

from ..models import Finding
from .permissions import can_manage_findings

FINDINGS_RISK_OFFICERS_ONLY = "Only risk officers and admins can assign or resolve findings."
FINDING_ALREADY_RESOLVED = "This finding is already resolved."


def _audit(entry: dict, entries: list | None) -> None:
    if entries is None:
        audit.record(**entry)
    else:
        entries.append(entry)


def finding_open(
    *, kind: str, severity: str, title: str, detail: str, subject_type: str, subject_id: str,
    project=None, assignee=None, extra: dict | None = None, entries: list | None = None,
) -> Finding:  # fmt: skip
    """Open a finding (the caller has checked that none is open for this subject; the partial unique
    constraint refuses a second one). `extra` adds rule-specific facts to the audit event."""
    finding = Finding.objects.create(
        kind=kind, severity=severity, title=title[:300], detail=detail, subject_type=subject_type,
        subject_id=str(subject_id), project=project, assignee=assignee,
    )  # fmt: skip
    after = {"kind": kind, "severity": severity, "subject": f"{subject_type}:{subject_id}", **(extra or {})}
    _audit(audit.entry(actor=None, action="finding.opened", obj=finding, after=after), entries)
    return finding


def finding_close(finding: Finding, resolution: str, *, actor=None, entries: list | None = None) -> Finding:
    """Resolve a finding: by its rule when the cause went away (actor None), or by a person
    (finding_resolve checks who may)."""
    finding.resolved_at = timezone.now()
    finding.resolution = resolution[:300]
    finding.save(update_fields=["resolved_at", "resolution"])
    _audit(
        audit.entry(actor=actor, action="finding.resolved", obj=finding, after={"resolution": finding.resolution}),
        entries,
    )
    return finding


@transaction.atomic
def finding_assign(*, by, finding: Finding, assignee) -> Finding:
    if by is not None and not can_manage_findings(by):
        raise PermissionDeniedError(FINDINGS_RISK_OFFICERS_ONLY)
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    finding, _ = model_update(
        instance=finding, fields=("assignee",), data={"assignee": assignee}, by=by, action="finding.assigned"
    )
    return finding


@transaction.atomic
def finding_resolve(*, by, finding: Finding, resolution: str) -> Finding:
    """Resolve by hand (e.g. a false positive); rules resolve their own findings when the cause goes."""
    if by is not None and not can_manage_findings(by):
        raise PermissionDeniedError(FINDINGS_RISK_OFFICERS_ONLY)
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if finding.resolved_at is not None:
        raise DomainError(FINDING_ALREADY_RESOLVED)
    if not resolution.strip():
        raise ValidationError({"resolution": ["Say how the finding was resolved."]})
    finding_close(finding, resolution.strip(), actor=by)
    return finding
