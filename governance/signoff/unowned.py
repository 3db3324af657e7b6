"""Unowned models in production: a registered model that serves production (the one rule,
deployments.production_signal_q) while linked to no project has nobody to request its sign-off, so no
"in production without a valid sign-off" finding can name an owner. It gets its own finding, about the
registered model, opened when a sync (or an unlink) leaves it unowned and serving, and resolved by the
rule when the model is linked, leaves production, or is gone from the registry.

Idempotent: a check that finds the same state twice writes nothing the second time.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects

from core import audit
from projects.models import DeploymentObservation, RegisteredModel

from ..findings.services import finding_close, findings_open
from ..models import Finding, FindingKind, Severity
from .deployments import production_signal_q

SUBJECT_TYPE = "projects.registeredmodel"
RESOLVED_LINKED = "The model is now linked to a project."
RESOLVED_LEFT = "The registry no longer shows any version of this model in production."
RESOLVED_GONE = "The model is gone from the registry."


def _serving_unowned(*, registry=None, model_ids=None):
    """Live, unlinked models with an open production signal."""
    qs = RegisteredModel.objects.filter(
        project__isnull=True,
        deleted_at__isnull=True,
        pk__in=DeploymentObservation.objects.filter(production_signal_q()).values("registered_model_id"),
    ).select_related("registry")
    if registry is not None:
        qs = qs.filter(registry=registry)
    if model_ids is not None:
        qs = qs.filter(pk__in=model_ids)
    return qs.order_by("pk")


def _with_production(models: list[RegisteredModel]) -> list[RegisteredModel]:
    """The models, each with `production` (its open production signals, with their versions), which a new
    finding describes: read for those only, since a sync that changed nothing opens none (reading them for
    every serving model was most of such a sync's check)."""
    signals = DeploymentObservation.objects.filter(production_signal_q()).select_related("version")
    prefetch_related_objects(
        models, Prefetch("deployments", queryset=signals.order_by("signal", "name"), to_attr="production")
    )
    return models


def _open_findings(*, registry=None, model_ids=None):
    findings = Finding.objects.select_for_update().filter(
        kind=FindingKind.UNOWNED_PRODUCTION_MODEL, subject_type=SUBJECT_TYPE, resolved_at=None
    )
    if model_ids is not None:
        findings = findings.filter(subject_id__in=[str(pk) for pk in model_ids])
    if registry is not None:
        in_registry = RegisteredModel.objects.filter(registry=registry).values_list("pk", flat=True)
        findings = findings.filter(subject_id__in=[str(pk) for pk in in_registry])
    return findings


def _describe(model: RegisteredModel) -> str:
    held = ", ".join(
        f"v{d.version.version} holds {d.get_signal_display().lower()} “{d.name}” "
        f"since {d.observed_from:%Y-%m-%d %H:%M} UTC"
        for d in model.production
    )
    return (
        f"The registry {model.registry.name} shows {model.name} serving production ({held}), and the model is "
        "linked to no project, so nobody owns its risks or can request its sign-off. Link it to its project "
        "(tag keel.project=<slug> in the registry, or link it by hand), or take it out of production."
    )


def _resolution(model: RegisteredModel | None) -> str:
    if model is None or model.deleted_at is not None:
        return RESOLVED_GONE
    if model.project_id is not None:
        return RESOLVED_LINKED
    return RESOLVED_LEFT


@transaction.atomic
def unowned_models_check(*, registry=None, model_ids=None) -> dict:
    """Open a finding for each unowned model serving production that has none; resolve the findings of
    models that are linked, out of production or gone. Limited to a registry or to some models when given
    (a sync checks its registry, a link its model); with neither, everything (the hourly sweep)."""
    serving = {model.pk: model for model in _serving_unowned(registry=registry, model_ids=model_ids)}
    findings = list(_open_findings(registry=registry, model_ids=model_ids))
    already = {int(f.subject_id) for f in findings}
    closed = 0
    entries: list[dict] = []  # one audit append for all of them (a sync may open dozens)
    stale = [f for f in findings if int(f.subject_id) not in serving]
    if stale:
        models = RegisteredModel.objects.in_bulk([int(f.subject_id) for f in stale])
        for finding in stale:
            finding_close(finding, _resolution(models.get(int(finding.subject_id))), entries=entries)
            closed += 1
    to_open = _with_production([model for pk, model in serving.items() if pk not in already])
    findings_open(
        [
            {
                "kind": FindingKind.UNOWNED_PRODUCTION_MODEL,
                "severity": Severity.HIGH,
                "title": f"{model.name} ({model.registry.name}) is in production but linked to no project",
                "detail": _describe(model),
                "subject_type": SUBJECT_TYPE,
                "subject_id": str(model.pk),
                "extra": {"registry": model.registry.name, "model": model.name},
            }
            for model in to_open
        ],
        entries=entries,
    )
    if entries:
        audit.record_many(entries)
    return {"opened": len(to_open), "resolved": closed}
