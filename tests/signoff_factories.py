"""Sign-off fixtures built through the services: a project with a tier, a linked model version, a
pending or approved request, and a registry sync over a FakeAdapter for the invalidation rules.

The tier comes from the real questionnaire (tier_assessment_submit), so the fingerprint holds the
answers hash an application user would produce.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.roles import Role
from governance.models import SignOffRequest, Verdict
from governance.risks import assessments
from governance.signoff import services as signoff
from projects.models import LinkSource, ModelVersion, RegisteredModel, Registry
from projects.registries import sync as project_services
from projects.registries.adapters.base import RemoteModel, RemoteVersion, Snapshot
from tests.factories import make_user
from tests.registry_factories import FakeAdapter, ModelVersionFactory, RegistryFactory
from tests.tier_answers import complete

# Questionnaire answers per tier (see tests/governance/test_tier_assessment_api.py).
TIER_ANSWERS = {
    "minimal": {},
    "limited": {"E1": "yes", "E2": "yes"},  # a chatbot: Art. 50
    "high": {"D1": "4a", "D3": "yes"},  # CV screening: Annex III 4(a)
    "prohibited": {"B3": "yes"},  # social scoring: Art. 5(1)(c)
}
# A second, different answer set with the same tier: changes the answers hash, not the tier.
MINIMAL_OTHER = {"C1": "2", "C2": "no"}  # a toy without a notified body: still minimal


def assess(project, tier: str, *, by=None, answers: dict | None = None):
    """Give the project a tier through the questionnaire (by=None: the system)."""
    return assessments.tier_assessment_submit(
        by=by, project=project, answers=complete(TIER_ANSWERS[tier] if answers is None else answers)
    )


def compliance_officer(username: str = "compliance"):
    return make_user(username, Role.COMPLIANCE)


def risk_officers(count: int, prefix: str = "ro"):
    return [make_user(f"{prefix}{i:02d}", Role.RISK_OFFICER) for i in range(count)]


def linked_version(
    project,
    *,
    registry: Registry | None = None,
    model: str = "fraud-model",
    version: str = "1",
    created_by: str = "ci-bot",
    **fields,
) -> ModelVersion:
    """A version of a registry model linked to `project` by hand (as the project page does)."""
    registry = registry or RegistryFactory()
    registered, _ = RegisteredModel.objects.get_or_create(
        registry=registry, name=model, defaults={"project": project, "link_source": LinkSource.MANUAL}
    )
    return ModelVersionFactory(registered_model=registered, version=version, created_by=created_by, **fields)


def unlinked_version(*, model: str = "orphan-model", version: str = "1") -> ModelVersion:
    registered = RegisteredModel.objects.create(registry=RegistryFactory(), name=model)
    return ModelVersionFactory(registered_model=registered, version=version)


def pending_request(
    version: ModelVersion, by, justification: str = "Validated on the Q3 hold-out set."
) -> SignOffRequest:
    return signoff.signoff_request(by=by, version=version, justification=justification)


def approve(request: SignOffRequest, *reviewers, comment: str = "Looks fine.") -> SignOffRequest:
    """Each reviewer approves in turn (in the first open role they hold)."""
    for reviewer in reviewers:
        signoff.signoff_decide(by=reviewer, request=request, verdict=Verdict.APPROVE, comment=comment)
    request.refresh_from_db()
    return request


def approved_request(version: ModelVersion, by, *reviewers) -> SignOffRequest:
    request = approve(pending_request(version, by), *reviewers)
    assert request.status == "approved", request.status
    return request


# --- a registry seen through the real sync --------------------------------------------------------


def remote_snapshot(
    project=None,
    *,
    model: str = "fraud-model",
    versions: dict[str, dict] | None = None,
    aliases: dict[str, str] | None = None,
) -> Snapshot:
    """One model (tagged keel.project=<slug> when a project is given) with versions: version → fields."""
    versions = versions if versions is not None else {"1": {}}
    tags = {"keel.project": project.slug} if project is not None else {}
    remote_versions = {}
    for v, fields in versions.items():
        fields = {"source": f"s3://models/{model}/{v}", "created_by": "ci-bot", "status": "READY", **fields}
        remote_versions[(model, v)] = RemoteVersion(model_name=model, version=v, **fields)
    return Snapshot(
        models={model: RemoteModel(name=model, tags=tags, aliases=aliases or {})}, versions=remote_versions, requests=2
    )


def sync(registry: Registry, snapshot: Snapshot):
    """Run the real registry sync over a FakeAdapter; returns the SyncRun."""
    return project_services.registry_sync(registry=registry, adapter=FakeAdapter(snapshot))


def synced_version(registry: Registry, project, *, model: str = "fraud-model", version: str = "1", **fields):
    """Sync one version of a model tagged with the project, and return Keel's row for it."""
    sync(registry, remote_snapshot(project, model=model, versions={version: fields}))
    return ModelVersion.objects.get(registered_model__registry=registry, registered_model__name=model, version=version)


# --- gate signing keys ----------------------------------------------------------------------------


def new_signing_key_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
