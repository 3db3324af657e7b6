"""A "in production without a valid sign-off" finding closes itself when the registry shows the
version has left production (the alias moved back), and only then."""

from __future__ import annotations

import pytest

from governance.findings import services as finding_services
from governance.models import AuditEvent, Finding, FindingKind, Notification
from governance.notifications import rules
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


def test_a_sync_that_sees_several_versions_in_production_opens_one_finding_each_and_tells_everyone(
    project, monkeypatch
):
    """Opened together (findings_open: one INSERT, one notification task for them all), each finding is
    what finding_open would have made — its own row and audit event, in the order observed — and each
    is notified as if it had been opened alone."""
    queued: list[tuple] = []
    monkeypatch.setattr(finding_services, "enqueue_on_commit", lambda *args: queued.append(args))
    registry = RegistryFactory(name="mlflow-prod")
    assess(project, "minimal")
    sync(registry, remote_snapshot(project, versions={v: {"stage": "Production"} for v in ("1", "2", "3")}))

    findings = sorted(open_deployment_findings(), key=lambda f: f.pk)
    assert [f.title.split(" is in production")[0] for f in findings] == [f"fraud-model v{v}" for v in "123"]
    assert {f.assignee for f in findings} == {project.owner}
    opened = AuditEvent.objects.filter(action="finding.opened").order_by("seq")
    assert [e.object_id for e in opened] == [str(f.pk) for f in findings]
    assert all(
        e.after["subject"] == f"projects.modelversion:{f.subject_id}" for e, f in zip(opened, findings, strict=True)
    )
    assert queued == [("governance.tasks.notify_event", "findings_opened", [f.pk for f in findings])]

    rules.EVENTS["findings_opened"]([f.pk for f in findings])
    for finding in findings:
        assert Notification.objects.filter(key=f"finding:{finding.pk}", recipient=project.owner).exists()
