"""What the registry says is deployed, and the findings for versions serving production without a
valid sign-off: opened when the sync sees a version take a production alias (or the hourly sweep
finds one no event announced), resolved when the version leaves production or gets approved.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import audit
from projects.models import AIProject, DeploymentObservation, ModelVersion, RiskTier, Signal

from ..findings.services import finding_close, finding_open, findings_open
from ..models import Finding, FindingKind, Severity, SignOffRequest, SignOffStatus

SEVERE_TIERS = {RiskTier.HIGH: Severity.HIGH, RiskTier.PROHIBITED: Severity.CRITICAL}


def finding_open_once(*, kind: str, severity: str, title: str, detail: str, subject, project, assignee=None) -> bool:
    """Open a finding about `subject` unless one of this kind is open already (True: one was opened)."""
    subject_type, subject_id = subject._meta.label_lower, str(subject.pk)
    if Finding.objects.filter(kind=kind, subject_type=subject_type, subject_id=subject_id, resolved_at=None).exists():
        return False
    finding_open(
        kind=kind, severity=severity, title=title, detail=detail, subject_type=subject_type, subject_id=subject_id,
        project=project, assignee=assignee,
    )  # fmt: skip
    return True


def production_signal_q(prefix: str = "") -> Q:
    """Open deployment observations that mean "in production"."""
    p = prefix
    return Q(**{f"{p}observed_until__isnull": True}) & (
        Q(**{f"{p}signal": Signal.ALIAS, f"{p}name__in": list(settings.KEEL_PRODUCTION_ALIASES)})
        | Q(**{f"{p}signal": Signal.STAGE, f"{p}name__iexact": "production"})
        | Q(**{f"{p}signal": Signal.APPROVAL, f"{p}name__iexact": "approved"})
    )


def means_production(observation: DeploymentObservation) -> bool:
    """production_signal_q() for one observation in memory (it must stay in step with that query)."""
    if observation.observed_until is not None:
        return False
    if observation.signal == Signal.ALIAS:
        return observation.name in settings.KEEL_PRODUCTION_ALIASES
    if observation.signal == Signal.STAGE:
        return observation.name.lower() == "production"
    return observation.signal == Signal.APPROVAL and observation.name.lower() == "approved"


def is_serving_production(version: ModelVersion) -> bool:
    return DeploymentObservation.objects.filter(production_signal_q(), version=version).exists()


def valid_approvals(*, now: dt.datetime | None = None):
    """Sign-offs that cover their version now: approved, and not past their validity."""
    now = now or timezone.now()
    return SignOffRequest.objects.filter(status=SignOffStatus.APPROVED).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    )


def valid_approval(version: ModelVersion, *, now: dt.datetime | None = None) -> SignOffRequest | None:
    return valid_approvals(now=now).filter(model_version=version).order_by("-decided_at", "-pk").first()


def versions_serving_without_approval(*, now: dt.datetime | None = None):
    """The one rule behind DEPLOYED_WITHOUT_APPROVAL, as a queryset: versions of models linked to a project
    that hold a production signal now (production_signal_q) and that no valid sign-off covers. The sweep
    opens findings from it and the dashboard counts and lists it, so the two cannot disagree."""
    return ModelVersion.objects.filter(
        pk__in=DeploymentObservation.objects.filter(production_signal_q()).values("version_id"),
        registered_model__project__isnull=False,
    ).exclude(pk__in=valid_approvals(now=now).values("model_version_id"))


def serving_check(version: ModelVersion, project: AIProject | None, *, serving: bool | None = None) -> bool:
    """Open a finding if this version serves production without a valid approval (`serving`: already known)."""
    if project is None or valid_approval(version) is not None:
        return False
    if not (serving if serving is not None else is_serving_production(version)):
        return False
    return finding_open_once(subject=version, project=project, **_serving_finding(version, project))


def _serving_finding(version: ModelVersion, project: AIProject) -> dict:
    """What the "in production without a valid sign-off" finding about this version says."""
    model = version.registered_model
    return {
        "kind": FindingKind.DEPLOYED_WITHOUT_APPROVAL,
        "severity": SEVERE_TIERS.get(project.risk_tier, Severity.HIGH),
        "title": f"{model.name} v{version.version} is in production without a valid sign-off ({project.name})",
        "detail": (
            f"The registry {model.registry.name} shows version {version.version} of {model.name} serving "
            "production, and no valid sign-off covers it. Request sign-off, or move the alias back."
        ),
        "assignee": project.owner,
    }


def deployments_check(*, observations: list[DeploymentObservation]) -> int:
    """The registry sync saw versions take an alias, stage or status: which are production and unapproved?
    For all the intervals one sync opened, in a fixed number of queries: the versions
    that took a production signal, which of them a valid sign-off covers, which have their finding open
    already; then one finding for each of the rest, in the order observed. Returns how many opened."""
    ids = list(dict.fromkeys(o.version_id for o in observations if means_production(o)))  # decided in Python
    if not ids:
        return 0
    versions = ModelVersion.objects.select_related(
        "registered_model__registry", "registered_model__project__owner"
    ).in_bulk(ids)
    approved = set(valid_approvals().filter(model_version_id__in=ids).values_list("model_version_id", flat=True))
    open_already = set(
        Finding.objects.filter(
            kind=FindingKind.DEPLOYED_WITHOUT_APPROVAL, subject_type=ModelVersion._meta.label_lower,
            subject_id__in=[str(pk) for pk in ids], resolved_at=None,
        ).values_list("subject_id", flat=True)
    )  # fmt: skip
    specs: list[dict] = []
    for pk in ids:
        version = versions.get(pk)
        project = version.registered_model.project if version is not None else None
        if project is None or pk in approved or str(pk) in open_already:
            continue
        specs.append({"subject_type": ModelVersion._meta.label_lower, "subject_id": str(pk), "project": project,
                      **_serving_finding(version, project)})  # fmt: skip
    entries: list[dict] = []
    findings_open(specs, entries=entries)  # a first sync may open dozens: one INSERT, one notification task
    if entries:
        audit.record_many(entries)
    return len(entries)


def deployments_sweep() -> int:
    """Open a finding for every version serving production without a valid sign-off that has none yet.

    The sync opens these when it sees a version take a production alias; this catches what no event
    announces — a model linked to a project (by hand or by a later tag) while it already serves.
    """
    serving = versions_serving_without_approval().select_related(
        "registered_model__registry", "registered_model__project"
    )
    with transaction.atomic():
        return sum(serving_check(v, v.registered_model.project) for v in serving)


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
