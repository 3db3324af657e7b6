"""Django admin for registries and what the sync wrote: saves go through the services, the rest is read-only."""

from __future__ import annotations

import pytest

from governance.models import AuditEvent
from projects.models import LinkSource, Registry
from projects.models.registries import env_name_validator
from projects.registries.services import MLFLOW_NEEDS_URL
from tests.factories import make_user
from tests.registry_factories import RegistryFactory


@pytest.fixture
def superuser_client(client, db):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def last_event():
    return AuditEvent.objects.order_by("-seq").first()


def registry_form(**changes):
    return {
        "name": "mlflow-prod", "kind": "mlflow", "base_url": "http://mlflow.internal:5000", "region": "",
        "username_env": "", "secret_env": "MLFLOW_PASSWORD", "token_env": "", "enabled": "on",
        "sync_interval_seconds": "300", "author_match": "username_or_email",
        "authors-TOTAL_FORMS": "0", "authors-INITIAL_FORMS": "0", **changes,
    }  # fmt: skip


def test_admin_add_goes_through_registry_create_and_is_audited(superuser_client):
    response = superuser_client.post("/admin/projects/registry/add/", registry_form())

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    registry = Registry.objects.get(name="mlflow-prod")
    event = last_event()
    assert (event.action, event.actor_repr, event.object_id) == ("registry.created", "root", str(registry.pk))


def test_admin_change_goes_through_registry_update_and_audits_only_the_change(superuser_client, rows):
    url = f"/admin/projects/registry/{rows.registry.pk}/change/"
    body = registry_form(base_url="http://mlflow.example:5000", secret_env="", sync_interval_seconds="600")

    response = superuser_client.post(url, body)

    assert response.status_code == 302
    event = last_event()
    assert (event.action, event.before, event.after) == (
        "registry.updated", {"sync_interval_seconds": 300}, {"sync_interval_seconds": 600},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"base_url": ""}, "base_url", MLFLOW_NEEDS_URL),
        ({"secret_env": "hunter2"}, "secret_env", env_name_validator.message),
        ({"kind": "gitlab"}, "kind", "Select a valid choice. gitlab is not one of the available choices."),
    ],
)
def test_admin_form_refuses_what_the_service_would_next_to_the_field(superuser_client, change, field, message):
    events = AuditEvent.objects.count()

    response = superuser_client.post("/admin/projects/registry/add/", registry_form(**change))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert (Registry.objects.count(), AuditEvent.objects.count()) == (0, events)


def test_admin_cannot_delete_a_registry_that_holds_models(superuser_client, rows):
    response = superuser_client.get(f"/admin/projects/registry/{rows.registry.pk}/delete/")
    assert response.status_code == 403
    changelist = superuser_client.get("/admin/projects/registry/").content.decode()
    assert 'value="sync_now"' in changelist
    assert 'value="delete_selected"' not in changelist  # a bulk delete would bypass registry_delete


def test_admin_deletes_an_empty_registry_through_the_service(superuser_client):
    registry = RegistryFactory(name="typo")
    response = superuser_client.post(f"/admin/projects/registry/{registry.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Registry.objects.filter(pk=registry.pk).exists()
    assert last_event().action == "registry.deleted"


def test_admin_links_a_model_through_the_service(superuser_client, rows, project):
    url = f"/admin/projects/registeredmodel/{rows.pricing.pk}/change/"

    response = superuser_client.post(url, {"project": project.pk})

    assert response.status_code == 302
    rows.pricing.refresh_from_db()
    assert (rows.pricing.project, rows.pricing.link_source) == (project, LinkSource.MANUAL)
    assert (last_event().action, last_event().actor_repr) == ("registered_model.linked", "root")


@pytest.mark.parametrize("model", ["syncrun", "modelversion", "deploymentobservation"])
def test_what_the_sync_wrote_is_read_only_in_the_admin(superuser_client, rows, model):
    listing = superuser_client.get(f"/admin/projects/{model}/")
    assert listing.status_code == 200
    assert superuser_client.get(f"/admin/projects/{model}/add/").status_code == 403


def test_model_versions_can_be_viewed_but_not_changed_in_the_admin(superuser_client, rows):
    url = f"/admin/projects/modelversion/{rows.v1.pk}/change/"
    assert superuser_client.get(url).status_code == 200
    before = rows.v1.status
    superuser_client.post(url, {"status": "FAILED"})
    rows.v1.refresh_from_db()
    assert rows.v1.status == before
