"""Registry rows for page and API tests.

Registries are created through registry_create (audited, like the application does). Models,
versions and deployment intervals are what a sync writes; tests either create those rows directly
with chosen times (to ask "what held at 09:00?") or run the real sync over a FakeAdapter.
"""

from __future__ import annotations

import datetime as dt

import factory

from projects.models import (
    AIProject,
    DeploymentObservation,
    LinkSource,
    ModelVersion,
    RegisteredModel,
    Registry,
    RegistryKind,
    Signal,
)
from projects.registries import services
from projects.registries.adapters.base import RemoteModel, RemoteVersion, Snapshot

T0 = dt.datetime(2025, 11, 3, 9, 0, tzinfo=dt.UTC)


class RegistryFactory(factory.Factory):
    """Creates a Registry through registry_create (by=None: the system)."""

    class Meta:
        model = Registry

    name = factory.Sequence(lambda n: f"mlflow-{n}")
    kind = RegistryKind.MLFLOW
    base_url = "http://mlflow.example:5000"

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.registry_create(by=None, **kwargs)


class RegisteredModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegisteredModel

    registry = factory.SubFactory(RegistryFactory)
    name = factory.Sequence(lambda n: f"model-{n}")


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    registered_model = factory.SubFactory(RegisteredModelFactory)
    version = factory.Sequence(lambda n: str(n + 1))
    version_number = factory.LazyAttribute(lambda v: int(v.version) if v.version.isdigit() else 0)
    status = "READY"
    source = factory.LazyAttribute(lambda v: f"s3://models/{v.registered_model.name}/{v.version}")
    created_by = "ci-bot"
    registry_created_at = T0


def hold(version: ModelVersion, name: str, start: dt.datetime, end: dt.datetime | None = None, *, signal=Signal.ALIAS):
    """`version` held `signal`:`name` from `start` until `end` (None: still holds it)."""
    return DeploymentObservation.objects.create(
        registered_model=version.registered_model,
        version=version,
        signal=signal,
        name=name,
        observed_from=start,
        observed_until=end,
    )


class FakeAdapter:
    """Returns a snapshot built in the test: for unit tests of what the sync stores and pages show."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot

    def fetch_snapshot(self) -> Snapshot:
        return self.snapshot


def snapshot(models: dict[str, dict], versions: dict[str, list[str]], **version_fields) -> Snapshot:
    """models: name → RemoteModel fields (tags, aliases); versions: model name → its version strings."""
    remote_models = {name: RemoteModel(name=name, **fields) for name, fields in models.items()}
    remote_versions = {
        (name, v): RemoteVersion(model_name=name, version=v, status="READY", **version_fields)
        for name, vs in versions.items()
        for v in vs
    }
    return Snapshot(models=remote_models, versions=remote_versions, requests=2)


def demo_registry_versions() -> None:
    """The demo registry's credit scorecard as its sync leaves it, without an MLflow server (browser tests,
    the demo-seeding tests and the API contract fuzz run none): versions 1-4, linked to Credit scoring."""
    registry = RegistryFactory(name="Local MLflow (demo)", base_url="http://127.0.0.1:9")
    model = RegisteredModelFactory(registry=registry, name="credit-scorecard", link_source=LinkSource.TAG,
                                   project=AIProject.objects.get(name="Credit scoring"))  # fmt: skip
    for v in range(1, 5):
        ModelVersionFactory(registered_model=model, version=str(v), created_by="ds-demo")
