"""How every rule opens and resolves a finding: one row and one audit event each.

Rules (overdue risk reviews, sign-off, compliance obligations, value decay) decide *whether*;
finding_open and finding_close are the only code that writes the change. `entries`, when given,
collects the audit entries for the caller's audit.record_many() instead of recording each at once.
People act on findings through finding_assign and finding_resolve (risk officers, compliance, admins),
one at a time or many at once (findings_assign, findings_resolve: all or nothing, one audit event each).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import audit
from core.bulk_insert import insert_many
from core.errors import DomainError, PermissionDeniedError
from core.ids import BAD_ID, parse_id
from core.queue import enqueue_on_commit
from core.services import model_update

from ..models import Finding
from ..models.findings import finding_due_at
from .permissions import can_manage_findings
from .selectors import findings_for_user

FINDINGS_RISK_OFFICERS_ONLY = "Only risk officers and admins can assign or resolve findings."
FINDING_ALREADY_RESOLVED = "This finding is already resolved."
RESOLUTION_REQUIRED = "Say how the finding was resolved."
BULK_NONE_CHOSEN = "Choose at least one finding."
BULK_TOO_MANY = "Choose at most {limit} findings at a time."
BULK_NOT_VISIBLE = "Finding(s) {ids} do not exist or are not yours to see; nothing was changed."
BULK_ALREADY_RESOLVED = "Finding(s) {ids} are already resolved; nothing was changed."
BULK_LIMIT = 200


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
    spec = {"kind": kind, "severity": severity, "title": title, "detail": detail, "subject_type": subject_type,
            "subject_id": subject_id, "project": project, "assignee": assignee, "extra": extra}  # fmt: skip
    return findings_open([spec], entries=entries)[0]


def findings_open(specs: list[dict], *, entries: list | None = None) -> list[Finding]:
    """Open findings, each with finding_open's keyword arguments (but `entries`): one row and one audit
    event each, in the order given, with one INSERT for the rows and one notification task for them all
    after commit (a registry sync may open dozens: "in production without sign-off", unowned models). The
    caller has checked that none is open for its subject (the partial unique constraint refuses a second
    one, and then the whole batch)."""
    if not specs:
        return []
    opened_at = timezone.now()
    findings = [
        Finding(
            kind=s["kind"], severity=s["severity"], title=s["title"][:300], detail=s["detail"],
            subject_type=s["subject_type"], subject_id=str(s["subject_id"]), project=s.get("project"),
            assignee=s.get("assignee"), opened_at=opened_at, due_at=finding_due_at(s["severity"], opened_at),
        )
        for s in specs
    ]  # fmt: skip
    insert_many(Finding, findings)
    for finding, spec in zip(findings, specs, strict=True):
        after = {
            "kind": finding.kind, "severity": finding.severity,
            "subject": f"{finding.subject_type}:{finding.subject_id}", "due_at": audit.json_value(finding.due_at),
            **(spec.get("extra") or {}),
        }  # fmt: skip
        _audit(audit.entry(actor=None, action="finding.opened", obj=finding, after=after), entries)
    # The people concerned hear of them from the worker once the findings are stored (notifications/rules.py).
    enqueue_on_commit("governance.tasks.notify_event", "findings_opened", [f.pk for f in findings])
    return findings


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
        raise ValidationError({"resolution": [RESOLUTION_REQUIRED]})
    finding_close(finding, resolution.strip(), actor=by)
    return finding


def _locked_batch(*, by, ids, open_only: bool) -> list[Finding]:
    """The chosen findings, locked, checked as a whole before anything is written: a batch with one
    finding the caller may not see (or, for resolving, one already resolved) changes nothing."""
    if by is not None and not can_manage_findings(by):
        raise PermissionDeniedError(FINDINGS_RISK_OFFICERS_ONLY)
    parsed = {parse_id(i) for i in ids}
    if None in parsed:
        raise ValidationError({"findings": [BAD_ID]})
    wanted = sorted(parsed)
    if not wanted:
        raise ValidationError({"findings": [BULK_NONE_CHOSEN]})
    if len(wanted) > BULK_LIMIT:
        raise ValidationError({"findings": [BULK_TOO_MANY.format(limit=BULK_LIMIT)]})
    scope = Finding.objects.all() if by is None else findings_for_user(user=by)
    visible = set(scope.filter(pk__in=wanted).values_list("pk", flat=True))
    missing = [i for i in wanted if i not in visible]
    if missing:
        raise DomainError(BULK_NOT_VISIBLE.format(ids=", ".join(f"#{i}" for i in missing)), field="findings")
    findings = list(Finding.objects.select_for_update().filter(pk__in=wanted).order_by("pk"))
    resolved = [f.pk for f in findings if f.resolved_at is not None]
    if open_only and resolved:
        raise DomainError(BULK_ALREADY_RESOLVED.format(ids=", ".join(f"#{i}" for i in resolved)), field="findings")
    return findings


@transaction.atomic
def findings_assign(*, by, ids, assignee) -> list[Finding]:
    """Assign many findings to one person (or nobody); one audit event per finding that changed."""
    findings = _locked_batch(by=by, ids=ids, open_only=False)
    changed = []
    for finding in findings:
        finding, did_change = model_update(
            instance=finding, fields=("assignee",), data={"assignee": assignee}, by=by, action="finding.assigned"
        )
        if did_change:
            changed.append(finding)
    return changed


@transaction.atomic
def findings_resolve(*, by, ids, resolution: str) -> list[Finding]:
    """Resolve many open findings with one resolution; one audit event per finding."""
    if not resolution.strip():
        raise ValidationError({"resolution": [RESOLUTION_REQUIRED]})
    findings = _locked_batch(by=by, ids=ids, open_only=True)
    entries: list[dict] = []
    for finding in findings:
        finding_close(finding, resolution.strip(), actor=by, entries=entries)
    audit.record_many(entries)
    return findings
