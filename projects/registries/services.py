"""Writes on registry connections and registry models: create, change, delete a connection, ask for a
sync, link a model to a project by hand, write a tag back. Each is one transaction with its audit event."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from core import audit
from core.errors import DomainError, PermissionDeniedError
from core.queue import enqueue_on_commit
from core.roles import is_admin
from core.services import model_create, model_delete, model_update

from .. import events
from ..models import (
    AIProject,
    LinkSource,
    ModelVersion,
    RegisteredModel,
    Registry,
    RegistryAuthor,
    RegistryKind,
)
from ..permissions import can_change_project
from .connect import adapter_for

REGISTRY_FIELDS = (
    "name", "kind", "base_url", "region", "username_env", "secret_env", "token_env", "enabled", "sync_interval_seconds",
    "write_back_signoff", "author_match",
)  # fmt: skip
REGISTRY_AUTHOR_FIELDS = ("registry", "registry_user", "user")
ADMIN_ONLY = "Only admins can create or change registry connections."
NOT_YOUR_PROJECT = "You can only link models to projects of a team you lead or belong to."
MLFLOW_NEEDS_URL = "An MLflow registry needs its tracking URL."


def _check_mlflow_url(kind: str, base_url: str) -> None:
    """What the model cannot say alone: an MLflow connection is nothing without its tracking URL."""
    if kind == RegistryKind.MLFLOW and not base_url:
        raise ValidationError({"base_url": [MLFLOW_NEEDS_URL]})


@transaction.atomic
def registry_create(*, by, **fields) -> Registry:
    if by is not None and not is_admin(by):
        raise PermissionDeniedError(ADMIN_ONLY)
    registry = Registry(**fields)
    registry.full_clean()
    _check_mlflow_url(registry.kind, registry.base_url)
    registry.save()
    audit.record(actor=by, action="registry.created", obj=registry, after=audit.snapshot(registry, REGISTRY_FIELDS))
    return registry


@transaction.atomic
def registry_update(*, by, registry: Registry, **fields) -> Registry:
    if by is not None and not is_admin(by):
        raise PermissionDeniedError(ADMIN_ONLY)
    registry = Registry.objects.select_for_update().get(pk=registry.pk)
    _check_mlflow_url(fields.get("kind", registry.kind), fields.get("base_url", registry.base_url))
    registry, _ = model_update(instance=registry, fields=REGISTRY_FIELDS, data=fields, by=by, action="registry.updated")
    return registry


WRITE_BACK_UNSUPPORTED = "Writing tags back is supported for MLflow registries only, not {kind}."


@transaction.atomic
def model_version_tag_write(*, by, version: ModelVersion, key: str, value: str, adapter=None) -> None:
    """Set a tag on the registry's copy of a model version (e.g. keel.signoff=approved), audited.

    The HTTP call happens inside the transaction so that the audit row exists only if the registry
    accepted the tag; the next sync brings the tag back into Keel's copy like any other.
    """
    version = ModelVersion.objects.select_related("registered_model__registry").get(pk=version.pk)
    registry = version.registered_model.registry
    if registry.kind != RegistryKind.MLFLOW:
        raise DomainError(WRITE_BACK_UNSUPPORTED.format(kind=registry.get_kind_display()))
    adapter = adapter or adapter_for(registry)
    adapter.set_version_tag(version.registered_model.name, version.version, key, value)
    audit.record(
        actor=by,
        action="model_version.tag_written",
        obj=version,
        after={"registry": registry.name, "model": version.registered_model.name, "version": version.version,
               "key": key, "value": value},
    )  # fmt: skip


def registry_sync_enqueue(*, registry: Registry) -> None:
    """Ask a worker to sync this registry now, once the caller's transaction has committed."""
    enqueue_on_commit("projects.tasks.sync_registry", registry.pk)


@transaction.atomic
def registered_model_link(*, by, model: RegisteredModel, project: AIProject | None) -> RegisteredModel:
    """Link a registry model to a project by hand (or unlink with project=None); a hand link wins over tags."""
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if by is not None:
        for target in (project, model.project):
            if target is not None and not can_change_project(by, target):
                raise PermissionDeniedError(NOT_YOUR_PROJECT, field="project")
    data = {"project": project, "link_source": LinkSource.MANUAL if project else LinkSource.NONE}
    action = "registered_model.linked" if project else "registered_model.unlinked"
    model, _ = model_update(instance=model, fields=tuple(data), data=data, by=by, action=action)
    # Governance re-checks what depends on ownership (an unowned model in production) in this transaction.
    events.registered_model_linked.send(sender=RegisteredModel, model=model)
    return model


REGISTRY_IN_USE = (
    "Registry {name} holds {count} model(s) and their deployment history, which a delete would erase; "
    "disable it instead (enabled: false)."
)
REGISTRY_DISABLED = "Registry {name} is disabled; enable it before asking for a sync."


@transaction.atomic
def registry_delete(*, by, registry: Registry) -> None:
    """Delete a registry connection that never brought in a model (e.g. a mistyped one).

    Once models were synced the registry carries deployment history that governance relies on, so
    the delete is refused and the admin is told to disable the connection instead.
    """
    if by is not None and not is_admin(by):
        raise PermissionDeniedError(ADMIN_ONLY)
    registry = Registry.objects.select_for_update().get(pk=registry.pk)
    count = registry.models.count()
    if count:
        raise DomainError(REGISTRY_IN_USE.format(name=registry.name, count=count), code="registry_in_use")
    model_delete(instance=registry, fields=REGISTRY_FIELDS, by=by, action="registry.deleted")


@transaction.atomic
def registry_sync_request(*, by, registry: Registry) -> None:
    """An admin's "sync now": recorded in the audit trail, then enqueued once the request commits."""
    if by is not None and not is_admin(by):
        raise PermissionDeniedError(ADMIN_ONLY)
    if not registry.enabled:
        raise DomainError(REGISTRY_DISABLED.format(name=registry.name), code="registry_disabled")
    audit.record(actor=by, action="registry.sync_requested", obj=registry, after={"name": registry.name})
    registry_sync_enqueue(registry=registry)


# --- the registry's author mapping (separation of duties: projects/registries/authors.py) -----------------


@transaction.atomic
def registry_author_map(*, by, registry: Registry, registry_user: str, user) -> RegistryAuthor:
    """Say that a registry user is this Keel user: sign-off then keeps them from approving what they made."""
    if by is not None and not is_admin(by):
        raise PermissionDeniedError(ADMIN_ONLY)
    mapping = RegistryAuthor(registry=registry, registry_user=registry_user, user=user)
    return model_create(instance=mapping, by=by, action="registry_author.mapped", fields=REGISTRY_AUTHOR_FIELDS)


@transaction.atomic
def registry_author_update(*, by, mapping: RegistryAuthor, **fields) -> RegistryAuthor:
    if by is not None and not is_admin(by):
        raise PermissionDeniedError(ADMIN_ONLY)
    # The stored row, not the caller's copy: a form may already have set its new values on that one.
    mapping = RegistryAuthor.objects.select_for_update().get(pk=mapping.pk)
    if "registry_user" in fields:
        fields["registry_user"] = (fields["registry_user"] or "").strip()
    mapping, _ = model_update(
        instance=mapping, fields=("registry_user", "user"), data=fields, by=by, action="registry_author.updated"
    )
    return mapping


@transaction.atomic
def registry_author_unmap(*, by, mapping: RegistryAuthor) -> None:
    if by is not None and not is_admin(by):
        raise PermissionDeniedError(ADMIN_ONLY)
    mapping = RegistryAuthor.objects.select_for_update().get(pk=mapping.pk)
    model_delete(instance=mapping, fields=REGISTRY_AUTHOR_FIELDS, by=by, action="registry_author.unmapped")
