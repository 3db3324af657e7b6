"""Every projects service that edits a row goes through core.services.model_update: an update that changes
nothing writes nothing (no audit event, updated_at as it was), and a change audits exactly what changed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core.services import NOT_EDITABLE
from governance.models import AuditEvent
from projects.inventory import services as inventory
from projects.models import AIProject, FxRate, Registry, ROIEntry, Team
from projects.registries import services as registries
from projects.roi import services as roi
from tests.registry_factories import RegistryFactory

MAR = dt.date(2026, 3, 1)


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


@pytest.fixture
def registry(db):
    return RegistryFactory(name="mlflow-prod")


@pytest.fixture
def entry(project, team_lead):
    return roi.roi_entry_create(
        by=team_lead, project=project, month=MAR, kind="cost", category="compute", basis="actual",
        amount=Decimal("1000"), note="first",
    )  # fmt: skip


@pytest.fixture
def fx(admin_user):
    return roi.fx_rate_set(by=admin_user, currency="USD", month=MAR, rate=Decimal("0.9"))


def _no_change(update, model, pk, action):
    """Run `update` (which changes nothing) and check it wrote nothing."""
    before = model.objects.get(pk=pk).updated_at
    count = AuditEvent.objects.count()
    update()
    assert (model.objects.get(pk=pk).updated_at, AuditEvent.objects.count(), _events(action)) == (before, count, [])


def test_project_update_without_a_change_writes_nothing(team_lead, project):
    _no_change(
        lambda: inventory.project_update(by=team_lead, project=project, name=project.name, purpose=project.purpose),
        AIProject, project.pk, "project.updated",
    )  # fmt: skip


def test_project_update_audits_only_what_changed(team_lead, project):
    inventory.project_update(by=team_lead, project=project, name="Fraud scoring v2", purpose=project.purpose)
    (event,) = _events("project.updated")
    assert (event.before, event.after) == ({"name": "Fraud scoring"}, {"name": "Fraud scoring v2"})
    assert AIProject.objects.get(pk=project.pk).name == "Fraud scoring v2"


def test_project_update_refuses_a_field_it_does_not_edit(team_lead, project):
    with pytest.raises(ValidationError) as caught:
        inventory.project_update(by=team_lead, project=project, stage="production")
    assert caught.value.message_dict == {"stage": [NOT_EDITABLE]}


def test_team_update_without_a_change_writes_nothing(admin_user, team):
    _no_change(lambda: inventory.team_update(by=admin_user, team=team, name=team.name), Team, team.pk, "team.updated")


def test_team_update_audits_only_what_changed(admin_user, team):
    inventory.team_update(by=admin_user, team=team, name="Claims EU", description="")
    (event,) = _events("team.updated")
    assert (event.before, event.after) == ({"name": "Claims"}, {"name": "Claims EU"})


def test_registry_update_without_a_change_writes_nothing(admin_user, registry):
    _no_change(
        lambda: registries.registry_update(by=admin_user, registry=registry, name="mlflow-prod", enabled=True),
        Registry, registry.pk, "registry.updated",
    )  # fmt: skip


def test_registry_update_audits_only_what_changed(admin_user, registry):
    registries.registry_update(by=admin_user, registry=registry, name="mlflow-prod", sync_interval_seconds=600)
    (event,) = _events("registry.updated")
    old = registry.sync_interval_seconds
    assert (event.before, event.after) == ({"sync_interval_seconds": old}, {"sync_interval_seconds": 600})


def test_registry_update_refuses_a_field_it_does_not_edit_with_the_shared_message(admin_user, registry):
    with pytest.raises(ValidationError) as caught:
        registries.registry_update(by=admin_user, registry=registry, last_error="x")
    assert caught.value.message_dict == {"last_error": [NOT_EDITABLE]}


def test_registry_update_still_needs_an_mlflow_url(admin_user, registry):
    with pytest.raises(ValidationError) as caught:
        registries.registry_update(by=admin_user, registry=registry, base_url="")
    assert caught.value.message_dict == {"base_url": [registries.MLFLOW_NEEDS_URL]}
    assert _events("registry.updated") == []


def test_roi_entry_update_without_a_change_writes_nothing(team_lead, entry):
    _no_change(
        lambda: roi.roi_entry_update(by=team_lead, entry=entry, amount=Decimal("1000.00"), note="first"),
        ROIEntry, entry.pk, "roi_entry.updated",
    )  # fmt: skip


def test_roi_entry_update_by_someone_else_with_the_same_figure_writes_nothing(admin_user, team_lead, entry):
    _no_change(
        lambda: roi.roi_entry_update(by=admin_user, entry=entry, amount=Decimal("1000")),
        ROIEntry, entry.pk, "roi_entry.updated",
    )  # fmt: skip
    assert ROIEntry.objects.get(pk=entry.pk).logged_by == team_lead


def test_roi_entry_update_audits_only_what_changed(team_lead, entry):
    roi.roi_entry_update(by=team_lead, entry=entry, note="second", amount=Decimal("1000"))
    (event,) = _events("roi_entry.updated")
    assert (event.before, event.after) == ({"note": "first"}, {"note": "second"})


def test_fx_rate_set_with_the_same_rate_writes_nothing(admin_user, fx):
    _no_change(
        lambda: roi.fx_rate_set(by=admin_user, currency="usd", month=MAR, rate=Decimal("0.90000000")),
        FxRate, fx.pk, "fx_rate.updated",
    )  # fmt: skip


def test_fx_rate_set_by_another_admin_with_the_same_rate_writes_nothing(admin_user, fx):
    from core.roles import Role
    from tests.factories import make_user

    other = make_user("admin2", Role.ADMIN)
    _no_change(
        lambda: roi.fx_rate_set(by=other, currency="USD", month=MAR, rate=Decimal("0.9")),
        FxRate, fx.pk, "fx_rate.updated",
    )  # fmt: skip
    assert FxRate.objects.get(pk=fx.pk).updated_by == admin_user


def test_fx_rate_change_audits_only_what_changed_and_moves_updated_at(admin_user, fx):
    before = FxRate.objects.get(pk=fx.pk).updated_at
    roi.fx_rate_set(by=admin_user, currency="USD", month=MAR, rate=Decimal("0.95"))
    (event,) = _events("fx_rate.updated")
    assert (event.before, event.after) == ({"rate": "0.90000000"}, {"rate": "0.95000000"})
    assert FxRate.objects.get(pk=fx.pk).updated_at > before


@pytest.mark.parametrize("what", ["project", "team", "registry", "roi_entry", "fx_rate"])
def test_every_delete_is_one_event_naming_the_gone_row_with_what_it_held(
    what, admin_user, project, team, registry, entry, fx
):
    from tests.factories import AIProjectFactory, TeamFactory

    cases = {
        "project": (lambda: AIProjectFactory(name="Mistake", team=team, owner=project.owner),
                    lambda row: inventory.project_delete(by=admin_user, project=row), ("name", "Mistake")),
        "team": (lambda: TeamFactory(name="Empty team"),
                 lambda row: inventory.team_delete(by=admin_user, team=row), ("name", "Empty team")),
        "registry": (lambda: registry,
                     lambda row: registries.registry_delete(by=admin_user, registry=row), ("name", "mlflow-prod")),
        "roi_entry": (lambda: entry,
                      lambda row: roi.roi_entry_delete(by=admin_user, entry=row), ("amount", "1000.00")),
        "fx_rate": (lambda: fx, lambda row: roi.fx_rate_delete(by=admin_user, fx=row), ("rate", "0.90000000")),
    }  # fmt: skip
    make, delete, (key, value) = cases[what]
    row = make()
    model, pk = type(row), row.pk
    delete(row)
    (event,) = _events(f"{what}.deleted")
    assert (event.object_type, event.object_id, event.before[key], event.actor_id) == (
        model._meta.label_lower, str(pk), value, admin_user.pk,
    )  # fmt: skip
    assert not model.objects.filter(pk=pk).exists()


def test_a_hand_link_to_the_project_a_tag_already_named_audits_only_the_link_source(team_lead, project, rows):
    registries.registered_model_link(by=team_lead, model=rows.fraud, project=project)
    (event,) = _events("registered_model.linked")
    assert (event.before, event.after) == ({"link_source": "tag"}, {"link_source": "manual"})


def test_linking_a_model_to_the_project_it_is_hand_linked_to_writes_nothing(team_lead, project, rows):
    registries.registered_model_link(by=team_lead, model=rows.fraud, project=project)
    count = AuditEvent.objects.count()
    registries.registered_model_link(by=team_lead, model=rows.fraud, project=project)
    assert AuditEvent.objects.count() == count
