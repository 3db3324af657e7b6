"""A registered model serving production that no project owns opens one high finding about the model;
the finding resolves when the model is linked (by tag or by hand), leaves production or is gone. Synced
through the real sync over a FakeAdapter, in every order of link and sync."""

from __future__ import annotations

import pytest

from governance.findings import services as finding_services
from governance.models import AuditEvent, Finding, FindingKind, Severity
from governance.signoff.unowned import RESOLVED_GONE, RESOLVED_LEFT, RESOLVED_LINKED, unowned_models_check
from projects.models import RegisteredModel
from projects.registries.services import registered_model_link
from projects.registries.sync import registry_sync
from tests.registry_factories import FakeAdapter, RegistryFactory, snapshot

pytestmark = pytest.mark.django_db


def sync(registry, models: dict, versions: dict, **version_fields):
    registry_sync(registry=registry, adapter=FakeAdapter(snapshot(models, versions, **version_fields)))


def unowned(resolved: bool | None = False):
    qs = Finding.objects.filter(kind=FindingKind.UNOWNED_PRODUCTION_MODEL)
    if resolved is not None:
        qs = qs.filter(resolved_at__isnull=not resolved)
    return list(qs.order_by("pk"))


@pytest.fixture
def registry():
    return RegistryFactory(name="mlflow-prod")


def fraud() -> RegisteredModel:
    return RegisteredModel.objects.get(name="fraud")


def test_a_sync_that_sees_an_unlinked_model_take_a_production_alias_opens_one_high_finding(registry):
    sync(registry, {"fraud": {"aliases": {"champion": "2"}}}, {"fraud": ["1", "2"]})

    [finding] = unowned()
    model = fraud()
    assert (finding.subject_type, finding.subject_id) == ("projects.registeredmodel", str(model.pk))
    assert finding.severity == Severity.HIGH
    assert finding.project is None
    assert finding.title == "fraud (mlflow-prod) is in production but linked to no project"
    assert "v2 holds alias “champion” since" in finding.detail
    event = AuditEvent.objects.filter(action="finding.opened", object_id=str(finding.pk)).get()
    assert event.after["kind"] == FindingKind.UNOWNED_PRODUCTION_MODEL
    assert event.after["subject"] == f"projects.registeredmodel:{model.pk}"


@pytest.mark.parametrize(
    ("models", "fields"),
    [
        ({"fraud": {"aliases": {"challenger": "2"}}}, {}),  # an alias that is not production
        ({"fraud": {}}, {"stage": "Staging"}),
    ],
)
def test_a_model_outside_production_opens_nothing(registry, models, fields):
    sync(registry, models, {"fraud": ["1", "2"]}, **fields)
    assert unowned(resolved=None) == []


@pytest.mark.parametrize("fields", [{"stage": "Production"}, {"approval": "Approved"}])
def test_a_legacy_production_stage_or_an_approved_status_is_production_too(registry, fields):
    sync(registry, {"fraud": {}}, {"fraud": ["1"]}, **fields)
    assert len(unowned()) == 1


def test_syncing_the_same_state_again_opens_no_second_finding_and_writes_no_audit_event(registry):
    state = ({"fraud": {"aliases": {"champion": "1"}}}, {"fraud": ["1"]})
    sync(registry, *state)
    events_before = AuditEvent.objects.count()

    sync(registry, *state)
    assert unowned_models_check() == {"opened": 0, "resolved": 0}

    assert len(unowned(resolved=None)) == 1
    assert not AuditEvent.objects.filter(seq__gt=events_before, action__startswith="finding.").exists()


def test_linking_by_tag_in_a_later_sync_resolves_it(registry, project):
    sync(registry, {"fraud": {"aliases": {"champion": "1"}}}, {"fraud": ["1"]})
    sync(registry, {"fraud": {"aliases": {"champion": "1"}, "tags": {"keel.project": project.slug}}}, {"fraud": ["1"]})

    [finding] = unowned(resolved=True)
    assert finding.resolution == RESOLVED_LINKED
    assert unowned() == []


def test_linking_by_hand_resolves_it_at_once_and_unlinking_while_serving_opens_a_new_one(registry, project, admin_user):
    sync(registry, {"fraud": {"aliases": {"champion": "1"}}}, {"fraud": ["1"]})

    registered_model_link(by=admin_user, model=fraud(), project=project)
    [finding] = unowned(resolved=True)
    assert finding.resolution == RESOLVED_LINKED
    assert AuditEvent.objects.filter(action="finding.resolved", object_id=str(finding.pk)).count() == 1

    registered_model_link(by=admin_user, model=fraud(), project=None)
    assert len(unowned()) == 1
    assert len(unowned(resolved=None)) == 2


def test_a_model_linked_before_it_reaches_production_never_gets_the_finding(registry, project, admin_user):
    sync(registry, {"fraud": {}}, {"fraud": ["1"]})
    registered_model_link(by=admin_user, model=fraud(), project=project)
    sync(registry, {"fraud": {"aliases": {"champion": "1"}}}, {"fraud": ["1"]})

    assert unowned(resolved=None) == []


def test_leaving_production_resolves_it(registry):
    sync(registry, {"fraud": {"aliases": {"champion": "1"}}}, {"fraud": ["1"]})
    sync(registry, {"fraud": {}}, {"fraud": ["1"]})

    [finding] = unowned(resolved=True)
    assert finding.resolution == RESOLVED_LEFT


def test_a_model_gone_from_the_registry_resolves_it(registry):
    sync(registry, {"fraud": {"aliases": {"champion": "1"}}, "other": {}}, {"fraud": ["1"], "other": ["1"]})
    sync(registry, {"other": {}}, {"other": ["1"]})

    [finding] = unowned(resolved=True)
    assert finding.resolution == RESOLVED_GONE


def test_a_sync_of_one_registry_leaves_the_findings_of_another_alone(registry):
    other = RegistryFactory(name="mlflow-eu")
    sync(other, {"fraud": {"aliases": {"champion": "1"}}}, {"fraud": ["1"]})
    sync(registry, {"pricing": {}}, {"pricing": ["1"]})

    [finding] = unowned()
    assert finding.subject_id == str(RegisteredModel.objects.get(registry=other, name="fraud").pk)


def test_the_sweep_opens_what_no_event_announced(registry, project):
    sync(registry, {"fraud": {"aliases": {"champion": "1"}, "tags": {"keel.project": project.slug}}}, {"fraud": ["1"]})
    RegisteredModel.objects.filter(pk=fraud().pk).update(project=None)  # as a deleted project's SET_NULL does

    assert unowned_models_check() == {"opened": 1, "resolved": 0}
    assert unowned_models_check() == {"opened": 0, "resolved": 0}


def test_the_finding_names_the_model_as_its_subject_in_the_api_and_its_address_leads_to_the_registry_page(
    client, registry, risk_officer
):
    sync(registry, {"fraud": {"aliases": {"champion": "1"}}}, {"fraud": ["1"]})
    model = fraud()
    client.force_login(risk_officer)

    [row] = client.get("/api/v1/findings/", {"kind": FindingKind.UNOWNED_PRODUCTION_MODEL}).json()["results"]

    assert row["subject_url"] == f"http://testserver/api/v1/registered-models/{model.pk}/"
    assert (row["project"], row["severity"], row["is_open"]) == (None, "high", True)
    page = client.get(f"/projects/registries/models/{model.pk}/")
    assert page["Location"] == f"/projects/registries/{registry.pk}/?q=fraud&deleted=true#model-{model.pk}"


def test_several_unowned_models_open_a_finding_each_in_order_with_one_notification_task(registry, monkeypatch):
    queued: list[tuple] = []
    monkeypatch.setattr(finding_services, "enqueue_on_commit", lambda *args: queued.append(args))
    sync(
        registry,
        {"fraud": {"aliases": {"champion": "1"}}, "churn": {"aliases": {"production": "1"}}},
        {"fraud": ["1"], "churn": ["1"]},
    )
    findings = unowned()
    assert sorted(f.title.split(" (")[0] for f in findings) == ["churn", "fraud"]
    assert all(f.severity == Severity.HIGH for f in findings)
    opened = AuditEvent.objects.filter(action="finding.opened").order_by("seq")
    assert [e.object_id for e in opened] == [str(f.pk) for f in findings]
    assert {e.after["model"] for e in opened} == {"churn", "fraud"}
    assert queued == [("governance.tasks.notify_event", "findings_opened", [f.pk for f in findings])]
