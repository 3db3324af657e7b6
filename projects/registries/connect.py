"""From a registry connection row to its adapter, with the credentials read from the environment at
call time (the row holds only the names of the variables, never a secret)."""

from __future__ import annotations

import os

from django.conf import settings

from ..models import Registry, RegistryKind
from ..models.registries import ENV_PREFIX_MESSAGE
from .adapters.base import PermanentRegistryError
from .adapters.mlflow import MlflowAdapter
from .adapters.sagemaker import SageMakerAdapter

MISSING_ENV = "Environment variable {name} (named by registry {registry} as {field}) is not set."


def _env(registry: Registry, field: str) -> str:
    name = getattr(registry, field)
    if not name:
        return ""
    if not name.startswith(tuple(settings.KEEL_REGISTRY_ENV_PREFIXES)):
        # Rows are validated on save; this guards rows written before the rule or behind Keel's back.
        raise PermanentRegistryError(ENV_PREFIX_MESSAGE.format(prefixes=", ".join(settings.KEEL_REGISTRY_ENV_PREFIXES)))
    value = os.environ.get(name)
    if value is None:
        raise PermanentRegistryError(MISSING_ENV.format(name=name, registry=registry.name, field=field))
    return value


def adapter_for(registry: Registry):
    """The adapter for a registry, with credentials read from the environment at call time."""
    timeouts = {
        "connect_timeout": settings.KEEL_REGISTRY_CONNECT_TIMEOUT,
        "read_timeout": settings.KEEL_REGISTRY_READ_TIMEOUT,
    }
    if registry.kind == RegistryKind.MLFLOW:
        return MlflowAdapter(
            registry.base_url,
            username=_env(registry, "username_env"),
            password=_env(registry, "secret_env"),
            token=_env(registry, "token_env"),
            page_size=settings.KEEL_REGISTRY_PAGE_SIZE,
            **timeouts,
        )
    if registry.kind == RegistryKind.SAGEMAKER:
        return SageMakerAdapter(
            endpoint_url=registry.base_url,
            region=registry.region,
            access_key_id=_env(registry, "username_env"),
            secret_access_key=_env(registry, "secret_env"),
            **timeouts,
        )
    raise PermanentRegistryError(f"Registry kind {registry.kind!r} is not supported.")
