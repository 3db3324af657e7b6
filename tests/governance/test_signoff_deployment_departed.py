"""A "in production without a valid sign-off" finding closes itself when the registry shows the
version has left production (the alias moved back), and only then."""

from __future__ import annotations

import pytest

from governance.models import AuditEvent, Finding, FindingKind
from tests.registry_factories import RegistryFactory
from tests.signoff_factories import assess, remote_snapshot, sync

pytestmark = pytest.mark.django_db


def open_deployment_findings():
    return list(Finding.objects.filter(kind=FindingKind.DEPLOYED_WITHOUT_APPROVAL, resolved_at=None))


def test_the_finding_resolves_when_the_production_alias_leaves_the_version(project):
    registry = RegistryFactory(name="mlflow-prod")
    assess(project, "minimal")
    sync(registry, remote_snapshot(project, aliases={"production": "1"}))
    [finding] = open_deployment_findings()

    # Still in production: the finding stays open, however often the registry is synced.
    sync(registry, remote_snapshot(project, aliases={"production": "1"}))
    assert open_deployment_findings() == [finding]

    sync(registry, remote_snapshot(project, aliases={"staging": "1"}))

    finding.refresh_from_db()
    assert finding.resolved_at is not None
    assert finding.resolution == "The registry no longer shows this version in production."
    assert AuditEvent.objects.filter(action="finding.resolved", object_id=str(finding.pk)).count() == 1


def test_another_registrys_sync_leaves_the_finding_open(project):
    registry = RegistryFactory(name="mlflow-prod")
    other = RegistryFactory(name="mlflow-dev")
    assess(project, "minimal")
    sync(registry, remote_snapshot(project, aliases={"production": "1"}))
    [finding] = open_deployment_findings()

    sync(other, remote_snapshot(project, model="other-model", aliases={}))

    assert open_deployment_findings() == [finding]


def test_the_hourly_sweep_finds_a_version_that_served_before_its_model_was_linked(project, team_lead):
    from governance.signoff.deployments import deployments_sweep
    from projects.registries.services import registered_model_link

    registry = RegistryFactory(name="mlflow-prod")
    assess(project, "minimal")
    sync(registry, remote_snapshot(None, aliases={"production": "1"}))  # no keel.project tag: unlinked
    assert open_deployment_findings() == []

    registered_model_link(by=team_lead, model=registry.models.get(), project=project)
    assert deployments_sweep() == 1
    [finding] = open_deployment_findings()
    assert finding.project == project
    assert deployments_sweep() == 0  # idempotent
