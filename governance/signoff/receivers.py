"""Sign-off's reactions to domain events: the registry sync's (projects/events.py) and the risk register's
(governance/risks/events.py).

They run inside the sender's transaction, so a finding or an invalidation commits or rolls back with
the change that caused it.
"""

from __future__ import annotations

from projects import events

from ..risks import events as risk_events
from .deployments import deployment_findings_resolve_departed, deployments_check
from .invalidation import signoffs_revalidate, signoffs_revalidate_versions
from .thresholds import versions_thresholds_check
from .unowned import unowned_models_check


def on_model_versions_synced(sender, versions, **kwargs) -> None:
    # A changed source, run or digest no longer matches what reviewers approved. One query finds the
    # few versions with live sign-offs among the thousands a sync may touch.
    signoffs_revalidate_versions(version_ids=[v.pk for v in versions])


def on_deployments_observed(sender, observations, **kwargs) -> None:
    # Once per sync for every interval it opened: a few queries, not a few per observation.
    deployments_check(observations=observations)


def on_model_version_metrics_changed(sender, versions, **kwargs) -> None:
    # A new run's metric may breach (or meet again) a threshold of the tier's policy.
    versions_thresholds_check(version_ids=[v.pk for v in versions])


def on_registry_synced(sender, registry, **kwargs) -> None:
    # A version that left production (alias moved back, stage changed) no longer needs a sign-off.
    deployment_findings_resolve_departed(registry=registry)
    # Once per sync, after the snapshot: models linked by tag, moved into or out of production, or gone.
    unowned_models_check(registry=registry)


def on_registered_model_linked(sender, model, **kwargs) -> None:
    # Linked: its unowned-in-production finding resolves; unlinked while serving: one opens.
    unowned_models_check(model_ids=[model.pk])


def on_project_risks_changed(sender, project, **kwargs) -> None:
    # Approvals cover the risks and tier answers they were given against (the fingerprint).
    signoffs_revalidate(project=project)


def connect() -> None:
    events.model_versions_synced.connect(on_model_versions_synced, dispatch_uid="governance.signoff.versions_synced")
    events.deployments_observed.connect(on_deployments_observed, dispatch_uid="governance.signoff.deployments_observed")
    events.model_version_metrics_changed.connect(
        on_model_version_metrics_changed, dispatch_uid="governance.signoff.metrics_changed"
    )
    events.registry_synced.connect(on_registry_synced, dispatch_uid="governance.signoff.registry_synced")
    events.registered_model_linked.connect(
        on_registered_model_linked, dispatch_uid="governance.signoff.registered_model_linked"
    )
    risk_events.project_risks_changed.connect(on_project_risks_changed, dispatch_uid="governance.signoff.risks_changed")
