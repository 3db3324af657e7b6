"""Keel's sync against a real moto server standing in for the SageMaker Model Registry.

Packages are created and approved through boto3, exactly as a SageMaker user would; Keel reads them
back through its own adapter (boto3 with the registry's endpoint URL and credential variables).
moto gaps (registry.md §4): tags only work on group ARNs, and update_model_package overwrites
CustomerMetadataProperties instead of merging them, so approvals here pass the metadata they keep.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from governance.audit.chain import verify_chain
from governance.models import AuditEvent
from projects.models import DeploymentObservation, ModelVersion, RegisteredModel, RegistryKind, SyncRun, SyncStatus
from projects.registries import services as registry_services
from projects.registries import sync as registry_sync_service
from projects.registries.adapters.base import PermanentRegistryError
from tests.factories import AIProjectFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

KEY_ENV, SECRET_ENV = "KEEL_REGISTRY_TEST_SAGEMAKER_KEY_ID", "KEEL_REGISTRY_TEST_SAGEMAKER_SECRET"
PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"


@pytest.fixture
def registry(moto_server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "testing")
    monkeypatch.setenv(SECRET_ENV, "testing")
    return registry_services.registry_create(
        by=None,
        name="sagemaker-test",
        kind=RegistryKind.SAGEMAKER,
        base_url=moto_server.url,
        region="us-east-1",
        username_env=KEY_ENV,
        secret_env=SECRET_ENV,
    )


@pytest.fixture
def sm(moto_server):
    return boto3.client(
        "sagemaker",
        endpoint_url=moto_server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def create_group(sm, name: str, description: str = "", **tags: str) -> None:
    sm.create_model_package_group(
        ModelPackageGroupName=name,
        ModelPackageGroupDescription=description,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )


def create_package(sm, group: str, n: int, *, approval: str = PENDING, **metadata: str) -> str:
    return sm.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"{group} retrain #{n}",
        ModelApprovalStatus=approval,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{group}:{n}",
                    "ModelDataUrl": f"s3://models/{group}/v{n}/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties=metadata or {"retrain": str(n)},
        MetadataProperties={"GeneratedBy": "keel-tests"},
    )["ModelPackageArn"]


def sync(registry):
    return registry_sync_service.registry_sync(registry=registry)


def approval_intervals(model: str, version: str) -> list[DeploymentObservation]:
    return list(
        DeploymentObservation.objects.filter(
            registered_model__name=model, version__version=version, signal="approval"
        ).order_by("observed_from", "id")
    )


def test_sync_stores_every_package_with_what_sagemaker_says(registry, sm):
    create_group(sm, "fraud-detector", "Card fraud scoring", owner="risk-team")
    arn1 = create_package(sm, "fraud-detector", 1, **{"governance.approved": "false", "data.snapshot": "2026-11-20"})
    create_package(sm, "fraud-detector", 2, approval=APPROVED)
    create_group(sm, "churn")  # a group without packages is still a model

    run = sync(registry)

    assert (run.status, run.created, run.updated, run.deleted, run.unchanged) == (SyncStatus.SUCCEEDED, 4, 0, 0, 0)
    assert (run.models_seen, run.versions_seen, run.deployments_started) == (2, 2, 2)
    model = RegisteredModel.objects.get(registry=registry, name="fraud-detector")
    assert (model.description, model.tags) == ("Card fraud scoring", {"owner": "risk-team"})
    assert model.registry_created_at is not None
    assert RegisteredModel.objects.filter(registry=registry, name="churn", deleted_at=None).exists()

    versions = {v.version: v for v in model.versions.all()}
    assert sorted(versions) == ["1", "2"]
    v1 = versions["1"]
    assert v1.version_number == 1
    assert v1.source == "s3://models/fraud-detector/v1/model.tar.gz"
    assert v1.status == "Completed"
    assert v1.description == "fraud-detector retrain #1"
    assert v1.tags == {"governance.approved": "false", "data.snapshot": "2026-11-20"}
    assert v1.approval == PENDING
    assert v1.stage == ""
    assert v1.created_by  # moto's fake user profile: whoever SageMaker says created it
    assert v1.registry_created_at is not None
    assert v1.registry_updated_at == v1.registry_created_at  # never updated: LastModifiedTime is absent
    assert v1.raw["arn"] == arn1
    assert v1.raw["metadata"] == {"GeneratedBy": "keel-tests"}
    assert versions["2"].approval == APPROVED
    # Each package's approval status is an open interval, observed now.
    assert {(o.version.version, o.name) for o in DeploymentObservation.objects.filter(observed_until=None)} == {
        ("1", PENDING),
        ("2", APPROVED),
    }
    assert AuditEvent.objects.filter(action="model_version.created").count() == 2
    assert verify_chain().ok


def test_approval_from_pending_to_approved_is_two_intervals(registry, sm):
    create_group(sm, "pricing")
    arn = create_package(sm, "pricing", 1, **{"governance.approved": "false"})
    first_run = sync(registry)
    assert [o.name for o in approval_intervals("pricing", "1")] == [PENDING]

    sm.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus=APPROVED,
        ApprovalDescription="approved by the model-risk committee",
        CustomerMetadataProperties={"governance.approved": "true"},
    )
    run = sync(registry)

    assert (run.created, run.updated, run.deleted, run.unchanged) == (0, 1, 0, 0)
    assert (run.deployments_started, run.deployments_ended) == (1, 1)
    pending, approved = approval_intervals("pricing", "1")
    assert (pending.name, approved.name) == (PENDING, APPROVED)
    assert first_run.finished_at >= pending.observed_from
    assert pending.observed_until == approved.observed_from
    assert approved.observed_until is None
    version = ModelVersion.objects.get(registered_model__name="pricing", version="1")
    assert version.approval == APPROVED
    assert version.tags == {"governance.approved": "true"}
    assert version.raw["approval_description"] == "approved by the model-risk committee"
    assert version.registry_updated_at > version.registry_created_at  # LastModifiedTime appears on update
    # Keel can say what held at a past moment: during the first interval the package was pending.
    during_first = DeploymentObservation.objects.filter(
        version=version,
        signal="approval",
        observed_from__lte=pending.observed_from,
        observed_until__gt=pending.observed_from,
    )
    assert [o.name for o in during_first] == [PENDING]
    assert AuditEvent.objects.filter(action="deployment.ended", object_id=str(pending.pk)).count() == 1
    assert AuditEvent.objects.filter(action="deployment.observed", object_id=str(approved.pk)).count() == 1
    updated = AuditEvent.objects.get(action="model_version.updated", object_id=str(version.pk))
    assert (updated.before["approval"], updated.after["approval"]) == (PENDING, APPROVED)

    # And on to Rejected: a third interval, the second one closed.
    sm.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus=REJECTED, CustomerMetadataProperties={"governance.approved": "true"}
    )
    sync(registry)
    assert [(o.name, o.observed_until is None) for o in approval_intervals("pricing", "1")] == [
        (PENDING, False),
        (APPROVED, False),
        (REJECTED, True),
    ]
    assert verify_chain().ok


def test_the_keel_project_tag_on_the_group_links_the_model(registry, sm):
    project = AIProjectFactory(name="Claims triage")
    create_group(sm, "claims-triage", **{"keel.project": project.slug})
    create_package(sm, "claims-triage", 1)
    create_group(sm, "unlinked", **{"keel.project": "no-such-project"})

    sync(registry)

    model = RegisteredModel.objects.get(name="claims-triage")
    assert (model.project, model.link_source) == (project, "tag")
    assert AuditEvent.objects.filter(action="registered_model.linked", object_id=str(model.pk)).count() == 1
    assert RegisteredModel.objects.get(name="unlinked").project is None


def test_paged_listings_are_read_to_the_end(registry, sm):
    # The adapter asks for 100 packages a page; 130 over two groups needs a second page of one of them.
    create_group(sm, "big")
    create_group(sm, "small")
    for n in range(1, 121):
        create_package(sm, "big", n)
    for n in range(1, 11):
        create_package(sm, "small", n)

    first_page = sm.list_model_packages(ModelPackageGroupName="big", MaxResults=100)
    assert (len(first_page["ModelPackageSummaryList"]), bool(first_page.get("NextToken"))) == (100, True)

    run = sync(registry)

    assert run.versions_seen == 130
    assert ModelVersion.objects.filter(registered_model__name="big").count() == 120
    assert sorted(
        ModelVersion.objects.filter(registered_model__name="big").values_list("version_number", flat=True)
    ) == list(range(1, 121))


def test_a_second_sync_with_nothing_changed_writes_nothing(registry, sm):
    create_group(sm, "stable", owner="ops")
    create_package(sm, "stable", 1, approval=APPROVED)
    create_package(sm, "stable", 2)
    sync(registry)
    events = AuditEvent.objects.count()
    rows = {
        model: list(model.objects.order_by("pk").values())
        for model in (RegisteredModel, ModelVersion, DeploymentObservation)
    }

    run = sync(registry)

    assert (run.status, run.created, run.updated, run.deleted, run.unchanged) == (SyncStatus.SUCCEEDED, 0, 0, 0, 2)
    assert (run.deployments_started, run.deployments_ended) == (0, 0)
    assert AuditEvent.objects.count() == events
    for model, before in rows.items():
        assert list(model.objects.order_by("pk").values()) == before, model.__name__


def test_a_missing_credential_variable_is_a_clear_error(registry, sm, monkeypatch):
    create_group(sm, "fraud-detector")
    monkeypatch.delenv(SECRET_ENV)

    with pytest.raises(PermanentRegistryError) as caught:
        sync(registry)

    assert f"Environment variable {SECRET_ENV}" in str(caught.value)
    run = SyncRun.objects.get(registry=registry)
    assert (run.status, run.error_transient) == (SyncStatus.FAILED, False)
    assert SECRET_ENV in run.error
    assert not RegisteredModel.objects.exists()
