"""Which registry model version a lineage dataset is: linked from the event's facets, or by hand.

link_documents(datasets, now)      ingest: link the MODEL datasets of an event (never over a manual link)
model_version_for(dataset)         the version a MODEL dataset names, when unambiguous
can_link_model(user, version)      who may link a dataset to a version (the one rule, page, API and ingest)
dataset_model_link(...)            a person links (or unlinks) a dataset by hand, audited
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import DomainError, PermissionDeniedError
from core.roles import Role, has_role
from projects.models import ModelVersion, Registry
from projects.permissions import can_change_project

from ..models import Dataset, ModelLinkSource
from .signals import lineage_changed

# Who may link a dataset to a model version by hand, besides the team lead of the version's project.
MODEL_LINK_ROLES = (Role.ADMIN, Role.RISK_OFFICER)
MODEL_URI = re.compile(r"^models:/(?P<model>[^/]+)/(?P<version>[^/]+)/?$")
KEEL_MODEL_FACET = "keelModelVersion"  # {"registry": "<Keel registry name>", "model": "...", "version": "..."}


def link_documents(datasets: Iterable[Dataset], *, now, by=None) -> set[int]:
    """Link each MODEL dataset to the registry version it names; returns the ids of the datasets linked.
    `by` is who posted the event (the permission check on it belongs to the model-link work of #13)."""
    linked: set[int] = set()
    for ds in datasets:
        if ds.dataset_type.upper() != "MODEL" or ds.model_link_source == ModelLinkSource.MANUAL:
            continue
        version = model_version_for(ds)
        if version is None or version.pk == ds.model_version_id:
            continue
        ds.model_version, ds.model_link_source, ds.updated_at = version, ModelLinkSource.FACET, now
        ds.save(update_fields=["model_version", "model_link_source", "updated_at"])
        linked.add(ds.pk)
    return linked


def model_version_for(ds: Dataset) -> ModelVersion | None:
    """The registry version a MODEL dataset is, when its event says so unambiguously:

    1. a custom dataset facet `keelModelVersion` {"registry": <Keel registry name>, "model": <registered
       model name>, "version": <version>}; or
    2. the dataset name is an MLflow model URI `models:/<model>/<version>`, looked up in the registry
       whose base URL is the dataset's namespace (trailing "/" ignored); when no registry has that
       base URL, in all registries — linked only if exactly one version matches.
    """
    facet = ds.facets.get(KEEL_MODEL_FACET)
    versions = ModelVersion.objects.select_related("registered_model__registry")
    if isinstance(facet, dict) and facet.get("model") and facet.get("version"):
        found = versions.filter(registered_model__name=facet["model"], version=str(facet["version"]))
        if facet.get("registry"):
            found = found.filter(registered_model__registry__name=facet["registry"])
        found = list(found[:2])
        return found[0] if len(found) == 1 else None
    match = MODEL_URI.match(ds.name)
    if not match:
        return None
    found = versions.filter(registered_model__name=match["model"], version=match["version"])
    namespace = ds.namespace.rstrip("/")
    registry_ids = [r.pk for r in Registry.objects.exclude(base_url="") if r.base_url.rstrip("/") == namespace]
    if registry_ids:
        found = found.filter(registered_model__registry_id__in=registry_ids)
    found = list(found[:2])
    return found[0] if len(found) == 1 else None


def can_link_model(user, version: ModelVersion | None) -> bool:
    if has_role(user, *MODEL_LINK_ROLES):
        return True
    project = version.registered_model.project if version is not None else None
    return project is not None and can_change_project(user, project)


def dataset_model_link(*, dataset: Dataset, model_version: ModelVersion | None, by) -> Dataset:
    """Link a dataset to a registry model version by hand (None unlinks). Admins and risk officers
    may link any; a team lead, versions of their team's projects (and may replace or remove only such a
    link). Ingest never overrides a manual link."""
    with transaction.atomic():
        ds = Dataset.objects.select_for_update().get(pk=dataset.pk)
        current = ds.model_version
        # Both ends must be the caller's: the version linked now and the one the link replaces.
        if (model_version is not None and not can_link_model(by, model_version)) or (
            current is not None and current != model_version and not can_link_model(by, current)
        ):
            raise PermissionDeniedError("You may link datasets only to model versions of your team's projects.")
        if model_version is None and current is None:
            raise DomainError("The dataset is not linked to a model version.", field="model_version")
        before = audit.snapshot(ds, ["model_version", "model_link_source"])
        ds.model_version = model_version
        ds.model_link_source = ModelLinkSource.MANUAL if model_version is not None else ModelLinkSource.NONE
        ds.updated_at = timezone.now()
        ds.save(update_fields=["model_version", "model_link_source", "updated_at"])
        action = "dataset.model_linked" if model_version is not None else "dataset.model_unlinked"
        audit.record(
            actor=by,
            action=action,
            obj=ds,
            before=before,
            after=audit.snapshot(ds, ["model_version", "model_link_source"]),
        )
        lineage_changed.send(sender=Dataset, dataset_ids={ds.pk})
    return ds
