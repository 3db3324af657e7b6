"""/api/v1/registries, registered-models, model-versions and deployments: workflows, filters, refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from governance.models import AuditEvent
from projects import tasks
from projects.models import LinkSource, ModelVersion, RegisteredModel, Registry, RegistryKind, SyncRun, SyncStatus
from projects.models.registries import env_name_validator
from projects.registries import sync as services
from projects.registries.adapters.base import PermanentRegistryError
from projects.registries.filters import AT_INVALID
from projects.registries.services import MLFLOW_NEEDS_URL, REGISTRY_DISABLED, REGISTRY_IN_USE
from tests.api_errors import NOT_A_CHOICE, field_errors, invalid_input
from tests.registry_factories import T0, FakeAdapter, RegistryFactory, snapshot

HOUR = dt.timedelta(hours=1)


def last_event():
    return AuditEvent.objects.order_by("-seq").first()


def db_state():
    """Every registry and registered-model row, and how long the audit trail is."""
    return (
        list(Registry.objects.order_by("pk").values()),
        list(RegisteredModel.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


class FailingAdapter:
    def fetch_snapshot(self):
        raise PermanentRegistryError("MLflow refused the credentials (401 Unauthorized).", status=401)


# --- registries ------------------------------------------------------------------------------------


def test_admin_connects_a_registry_by_naming_environment_variables_and_it_is_audited(admin_client):
    body = {
        "name": "mlflow-prod", "kind": "mlflow", "base_url": "http://mlflow.internal:5000",
        "username_env": "MLFLOW_USER", "secret_env": "MLFLOW_PASSWORD", "sync_interval_seconds": 120,
    }  # fmt: skip
    response = admin_client.post("/api/v1/registries/", body, content_type="application/json")

    assert response.status_code == 201, response.content
    data = response.json()
    registry = Registry.objects.get(name="mlflow-prod")
    assert {k: data[k] for k in (*body, "id")} == {**body, "id": registry.pk}
    # A registry that never synced: no health yet, and its (absent) data counts as stale.
    assert {k: data[k] for k in ("last_attempt_at", "last_success_at", "data_age_seconds", "latest_status")} == {
        "last_attempt_at": None, "last_success_at": None, "data_age_seconds": None, "latest_status": None,
    }  # fmt: skip
    assert (data["stale"], data["model_count"], data["version_count"]) == (True, 0, 0)
    event = last_event()
    assert (event.action, event.actor_repr, event.object_id) == ("registry.created", "admin", str(registry.pk))
    assert event.after["secret_env"] == "MLFLOW_PASSWORD"


def test_the_api_shows_variable_names_never_their_values(admin_client, monkeypatch):
    monkeypatch.setenv("KEEL_REGISTRY_TEST_MLFLOW_TOKEN", "s3cr3t-t0ken-value")
    registry = RegistryFactory(name="mlflow-prod", token_env="KEEL_REGISTRY_TEST_MLFLOW_TOKEN")

    body = admin_client.get(f"/api/v1/registries/{registry.pk}/").content.decode()

    assert '"token_env":"KEEL_REGISTRY_TEST_MLFLOW_TOKEN"' in body
    assert "s3cr3t-t0ken-value" not in body


def test_registry_health_shows_the_last_success_the_latest_failure_and_the_counts(admin_client, project):
    registry = RegistryFactory(name="mlflow-prod")
    good = snapshot(
        {"fraud": {"tags": {"keel.project": project.slug}}, "churn": {}}, {"fraud": ["1", "2"], "churn": ["1"]}
    )
    first = services.registry_sync(registry=registry, adapter=FakeAdapter(good))
    with pytest.raises(PermanentRegistryError):
        services.registry_sync(registry=registry, adapter=FailingAdapter())
    failed = SyncRun.objects.filter(registry=registry).latest("started_at")

    data = admin_client.get(f"/api/v1/registries/{registry.pk}/").json()

    assert data["latest_status"] == "failed"
    assert data["latest_error"] == "MLflow refused the credentials (401 Unauthorized)."
    assert dt.datetime.fromisoformat(data["last_success_at"]) == first.finished_at
    assert dt.datetime.fromisoformat(data["last_attempt_at"]) == failed.started_at
    assert 0 <= data["data_age_seconds"] <= 5
    assert (data["model_count"], data["version_count"], data["stale"]) == (2, 3, False)


def test_data_age_counts_from_the_last_successful_sync(admin_client):
    registry = RegistryFactory(name="mlflow-prod", sync_interval_seconds=300)
    now = dt.datetime.now(tz=dt.UTC)
    SyncRun.objects.create(
        registry=registry, started_at=now - 3 * HOUR, finished_at=now - 3 * HOUR, status=SyncStatus.SUCCEEDED
    )

    data = admin_client.get("/api/v1/registries/").json()["results"][0]

    assert 3 * 3600 <= data["data_age_seconds"] <= 3 * 3600 + 5
    assert (data["latest_status"], data["latest_error"], data["stale"]) == ("succeeded", "", True)


BAD_REGISTRIES = [
    ("a secret where a variable name belongs", {"username_env": "hunter2-S3cret!"},
     {"username_env": [env_name_validator.message]}),
    ("a lower-case password as the secret variable", {"secret_env": "correcthorse"},
     {"secret_env": [env_name_validator.message]}),
    ("an unknown kind", {"kind": "gitlab"}, {"kind": ['"gitlab" is not a valid choice.']}),
    ("MLflow without its URL", {"base_url": ""}, {"base_url": [MLFLOW_NEEDS_URL]}),
    ("a URL that is not one", {"base_url": "mlflow at port 5000"}, {"base_url": ["Enter a valid URL."]}),
    ("a sync interval below 30 s", {"sync_interval_seconds": 5},
     {"sync_interval_seconds": ["Ensure this value is greater than or equal to 30."]}),
    ("a name already taken", {"name": "existing"}, {"name": ["registry with this name already exists."]}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "change", "errors"), BAD_REGISTRIES, ids=[c[0] for c in BAD_REGISTRIES])
def test_bad_registry_input_is_a_400_naming_the_field_and_nothing_is_written(admin_client, case, change, errors):
    RegistryFactory(name="existing")
    before = db_state()
    body = {"name": "mlflow-prod", "kind": "mlflow", "base_url": "http://mlflow.internal:5000", **change}

    response = admin_client.post("/api/v1/registries/", body, content_type="application/json")

    assert (response.status_code, field_errors(response)) == (400, errors)
    assert db_state() == before


def test_a_secret_patched_into_a_credentials_field_is_refused_and_the_registry_unchanged(admin_client):
    registry = RegistryFactory(name="mlflow-prod", secret_env="MLFLOW_PASSWORD")
    before = db_state()

    response = admin_client.patch(
        f"/api/v1/registries/{registry.pk}/", {"secret_env": "pa$$word"}, content_type="application/json"
    )

    assert (response.status_code, response.json()) == (
        400,
        invalid_input("secret_env", env_name_validator.message),
    )
    assert db_state() == before


def test_switching_a_registry_to_mlflow_without_a_url_is_refused(admin_client):
    registry = RegistryFactory(name="sm", kind=RegistryKind.SAGEMAKER, base_url="", region="eu-west-1")
    before = db_state()

    response = admin_client.patch(
        f"/api/v1/registries/{registry.pk}/", {"kind": "mlflow"}, content_type="application/json"
    )

    assert (response.status_code, response.json()) == (
        400,
        invalid_input("base_url", MLFLOW_NEEDS_URL),
    )
    assert db_state() == before


def test_admin_disables_a_registry_and_the_change_is_audited(admin_client):
    registry = RegistryFactory(name="mlflow-prod")

    response = admin_client.patch(
        f"/api/v1/registries/{registry.pk}/", {"enabled": False}, content_type="application/json"
    )

    assert (response.status_code, response.json()["enabled"]) == (200, False)
    event = last_event()
    assert (event.action, event.before, event.after) == ("registry.updated", {"enabled": True}, {"enabled": False})


def test_a_registry_that_never_brought_in_a_model_can_be_deleted_and_the_delete_is_audited(admin_client):
    registry = RegistryFactory(name="typo-registry")
    pk = registry.pk

    response = admin_client.delete(f"/api/v1/registries/{pk}/")

    assert response.status_code == 204
    assert not Registry.objects.filter(pk=pk).exists()
    event = last_event()
    assert (event.action, event.object_type, event.object_id, event.before["name"]) == (
        "registry.deleted", "projects.registry", str(pk), "typo-registry",
    )  # fmt: skip


def test_a_registry_holding_models_is_not_deleted_and_the_admin_is_told_to_disable_it(admin_client, rows):
    before = db_state()
    versions = ModelVersion.objects.count()

    response = admin_client.delete(f"/api/v1/registries/{rows.registry.pk}/")

    message = REGISTRY_IN_USE.format(name="mlflow-prod", count=3)
    assert (response.status_code, response.json()) == (400, {"detail": message, "code": "registry_in_use"})
    assert "disable it instead" in message
    assert db_state() == before
    assert ModelVersion.objects.count() == versions


def test_sync_action_queues_a_sync_after_commit_and_records_who_asked(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    registry = RegistryFactory(name="mlflow-prod")
    queued = []
    monkeypatch.setattr(tasks.sync_registry, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(f"/api/v1/registries/{registry.pk}/sync/")

    assert (response.status_code, response.json()) == (202, {"queued": True})
    assert (len(callbacks), queued) == (1, [registry.pk])
    event = last_event()
    assert (event.action, event.actor_repr, event.object_id) == ("registry.sync_requested", "admin", str(registry.pk))


def test_sync_of_a_disabled_registry_is_refused_and_nothing_is_queued(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    registry = RegistryFactory(name="mlflow-prod", enabled=False)
    queued = []
    monkeypatch.setattr(tasks.sync_registry, "delay", queued.append)
    events = AuditEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(f"/api/v1/registries/{registry.pk}/sync/")

    assert response.status_code == 400
    assert response.json() == {"detail": REGISTRY_DISABLED.format(name="mlflow-prod"), "code": "registry_disabled"}
    assert (callbacks, queued, AuditEvent.objects.count()) == ([], [], events)


def test_registry_list_filters_by_kind_and_enabled_and_is_paginated(admin_client):
    RegistryFactory(name="a-mlflow")
    RegistryFactory(name="b-sagemaker", kind=RegistryKind.SAGEMAKER, base_url="", region="eu-west-1")
    RegistryFactory(name="c-mlflow-off", enabled=False)

    def names(**params):
        return [r["name"] for r in admin_client.get("/api/v1/registries/", params).json()["results"]]

    assert names() == ["a-mlflow", "b-sagemaker", "c-mlflow-off"]
    assert names(kind="mlflow") == ["a-mlflow", "c-mlflow-off"]
    assert names(enabled="false") == ["c-mlflow-off"]
    assert names(q="sage") == ["b-sagemaker"]
    page = admin_client.get("/api/v1/registries/", {"page_size": 2}).json()
    assert (page["count"], len(page["results"]), page["next"] is not None) == (3, 2, True)
    assert admin_client.get("/api/v1/registries/", {"kind": "gitlab"}).status_code == 400


# --- registered models -----------------------------------------------------------------------------


def test_team_lead_links_an_unlinked_model_to_their_project_by_hand(client, team_lead, project, rows):
    client.force_login(team_lead)

    response = client.patch(
        f"/api/v1/registered-models/{rows.pricing.pk}/", {"project": project.slug}, content_type="application/json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["project"], response.json()["link_source"]) == ("fraud-scoring", "manual")
    rows.pricing.refresh_from_db()
    assert (rows.pricing.project, rows.pricing.link_source) == (project, LinkSource.MANUAL)
    event = last_event()
    assert (event.action, event.actor_repr, event.before, event.after) == (
        "registered_model.linked", "lead",
        {"project": None, "link_source": ""}, {"project": project.pk, "link_source": "manual"},
    )  # fmt: skip


def test_a_hand_link_survives_the_next_sync_even_against_the_tag(client, team_lead, project, other_project, rows):
    client.force_login(team_lead)
    client.patch(
        f"/api/v1/registered-models/{rows.pricing.pk}/", {"project": project.slug}, content_type="application/json"
    )
    tagged = snapshot({"pricing": {"tags": {"keel.project": other_project.slug}}}, {"pricing": ["1"]})

    services.registry_sync(registry=rows.registry, adapter=FakeAdapter(tagged))

    rows.pricing.refresh_from_db()
    assert (rows.pricing.project, rows.pricing.link_source) == (project, LinkSource.MANUAL)


def test_team_lead_cannot_link_a_model_to_another_teams_project(client, team_lead, rows):
    client.force_login(team_lead)
    before = db_state()

    response = client.patch(
        f"/api/v1/registered-models/{rows.pricing.pk}/", {"project": "churn-model"}, content_type="application/json"
    )

    # The other team's project is not visible to this lead, so its slug reads as unknown.
    assert (response.status_code, response.json()) == (
        400,
        invalid_input("project", "Object with slug=churn-model does not exist."),
    )
    assert db_state() == before


def test_admin_unlinks_a_model_with_null(admin_client, rows):
    response = admin_client.patch(
        f"/api/v1/registered-models/{rows.fraud.pk}/", {"project": None}, content_type="application/json"
    )

    assert (response.status_code, response.json()["project"], response.json()["link_source"]) == (200, None, "")
    # fraud serves production, so governance opens "unowned model in production" in the same transaction.
    assert list(AuditEvent.objects.order_by("-seq").values_list("action", flat=True)[:2]) == [
        "finding.opened",
        "registered_model.unlinked",
    ]


def test_registered_model_patch_needs_the_project_field_and_put_is_not_allowed(admin_client, rows):
    before = db_state()
    url = f"/api/v1/registered-models/{rows.pricing.pk}/"

    missing = admin_client.patch(url, {"name": "renamed"}, content_type="application/json")
    put = admin_client.put(url, {"project": None}, content_type="application/json")

    assert (missing.status_code, missing.json()) == (
        400,
        invalid_input("project", "This field is required."),
    )
    assert (put.status_code, put.json()) == (405, {"detail": 'Method "PUT" not allowed.', "code": "method_not_allowed"})
    assert db_state() == before


@pytest.mark.parametrize(
    ("user_fixture", "names"),
    [
        ("executive", ["churn", "fraud-detector", "pricing"]),
        ("risk_officer", ["churn", "fraud-detector", "pricing"]),
        ("team_lead", ["fraud-detector", "pricing"]),
        ("other_lead", ["churn", "pricing"]),
    ],
)
def test_registered_model_list_holds_the_teams_models_and_the_unlinked_ones(request, client, rows, user_fixture, names):
    client.force_login(request.getfixturevalue(user_fixture))

    data = client.get("/api/v1/registered-models/").json()

    assert [m["name"] for m in data["results"]] == names
    assert data["count"] == len(names)


def test_registered_model_list_filters(admin_client, rows):
    def names(**params):
        return [m["name"] for m in admin_client.get("/api/v1/registered-models/", params).json()["results"]]

    assert names(linked="false") == ["pricing"]
    assert names(project="churn-model") == ["churn"]
    assert names(q="FRAUD") == ["fraud-detector"]
    RegisteredModel.objects.filter(pk=rows.churn.pk).update(deleted_at=T0)
    assert names() == ["fraud-detector", "pricing"]
    assert names(deleted="true") == ["churn", "fraud-detector", "pricing"]


# --- model versions --------------------------------------------------------------------------------


def versions(client, **params):
    response = client.get("/api/v1/model-versions/", params)
    assert response.status_code == 200, response.content
    return [f"{v['model']}/{v['version']}" for v in response.json()["results"]]


def test_model_versions_leave_out_deleted_ones_unless_asked(admin_client, rows):
    assert versions(admin_client, model="fraud-detector") == ["fraud-detector/2", "fraud-detector/1"]
    assert versions(admin_client, model="fraud-detector", deleted="true") == [
        "fraud-detector/3", "fraud-detector/2", "fraud-detector/1",
    ]  # fmt: skip
    assert versions(admin_client, model="fraud-detector", deleted="false") == ["fraud-detector/2", "fraud-detector/1"]


def test_model_versions_filter_by_project_registry_alias_and_status(admin_client, rows):
    other = RegistryFactory(name="mlflow-staging")
    assert versions(admin_client, project="fraud-scoring") == ["fraud-detector/2", "fraud-detector/1"]
    assert versions(admin_client, registry=rows.registry.pk) == [
        "fraud-detector/2", "fraud-detector/1", "churn/1", "pricing/1",
    ]  # fmt: skip
    assert versions(admin_client, registry=other.pk) == []
    # Versions holding the alias now: v1 of fraud-detector held it this morning, but no longer.
    assert versions(admin_client, alias="champion") == ["fraud-detector/2", "churn/1"]
    assert versions(admin_client, status="pending_registration") == ["pricing/1"]
    assert versions(admin_client, stage="production") == ["fraud-detector/2"]
    assert versions(admin_client, alias="nobody-has-this") == []


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"deleted": "maybe"}, {"deleted": ["Select a valid choice. maybe is not one of the available choices."]}),
        ({"registry": "999999"}, {"registry": [NOT_A_CHOICE]}),
        ({"project": "no-such-project"}, {"project": [NOT_A_CHOICE]}),
    ],
)
def test_bad_model_version_filters_are_a_400(admin_client, rows, params, errors):
    response = admin_client.get("/api/v1/model-versions/", params)
    assert (response.status_code, field_errors(response)) == (400, errors)


def test_model_version_shows_what_it_holds_now_and_the_registry_payload_in_detail(admin_client, rows):
    ModelVersion.objects.filter(pk=rows.v2.pk).update(raw={"name": "fraud-detector", "version": "2"})

    listed = {
        v["version"]: v
        for v in admin_client.get("/api/v1/model-versions/", {"model": "fraud-detector"}).json()["results"]
    }
    detail = admin_client.get(f"/api/v1/model-versions/{rows.v2.pk}/").json()

    assert [(h["signal"], h["name"]) for h in listed["2"]["holding_now"]] == [
        ("alias", "champion"),
        ("stage", "Production"),
    ]
    assert listed["1"]["holding_now"] == []
    assert "raw" not in listed["2"]
    assert (detail["raw"], detail["project"], detail["registry_name"]) == (
        {"name": "fraud-detector", "version": "2"}, "fraud-scoring", "mlflow-prod",
    )  # fmt: skip


def test_team_lead_sees_only_versions_of_their_teams_and_unlinked_models(client, team_lead, rows):
    client.force_login(team_lead)
    assert versions(client) == ["fraud-detector/2", "fraud-detector/1", "pricing/1"]
    assert client.get(f"/api/v1/model-versions/{rows.c1.pk}/").status_code == 404
    # Filtering by a project the lead cannot see is refused, not answered with an empty page.
    assert client.get("/api/v1/model-versions/", {"project": "churn-model"}).status_code == 400


def test_model_versions_are_read_only_for_everyone(admin_client, rows):
    url = f"/api/v1/model-versions/{rows.v1.pk}/"
    before = list(ModelVersion.objects.order_by("pk").values())
    # No role may write here (write_roles is empty), so even the admin is refused before the method is.
    assert admin_client.patch(url, {"status": "FAILED"}, content_type="application/json").status_code == 403
    assert admin_client.delete(url).status_code == 403
    assert list(ModelVersion.objects.order_by("pk").values()) == before


# --- deployments -----------------------------------------------------------------------------------


def held(client, **params):
    response = client.get("/api/v1/deployments/", params)
    assert response.status_code == 200, response.content
    return [(d["model"], d["signal"], d["name"], d["version"]) for d in response.json()["results"]]


def test_deployments_answer_what_held_each_alias_at_a_moment(admin_client, rows):
    def at(moment):
        return held(admin_client, at=moment.isoformat(), model="fraud-detector")

    assert at(T0 - HOUR) == []
    assert at(T0) == [("fraud-detector", "alias", "champion", "1")]
    assert at(T0 + HOUR + dt.timedelta(minutes=30)) == [
        ("fraud-detector", "alias", "champion", "1"), ("fraud-detector", "stage", "Production", "2"),
    ]  # fmt: skip
    # An interval ends at the moment the next one starts: at 11:00 the alias is on v2.
    assert at(T0 + 2 * HOUR) == [
        ("fraud-detector", "alias", "champion", "2"), ("fraud-detector", "stage", "Production", "2"),
    ]  # fmt: skip


def test_deployments_without_at_answer_for_now(admin_client, rows):
    assert held(admin_client) == [
        ("churn", "alias", "champion", "1"),
        ("fraud-detector", "alias", "champion", "2"),
        ("fraud-detector", "stage", "Production", "2"),
    ]


def test_deployments_accept_a_time_without_zone_as_utc_and_other_zones(admin_client, rows):
    assert held(admin_client, at="2025-11-03T10:30:00", model="fraud-detector", signal="alias") == [
        ("fraud-detector", "alias", "champion", "1")
    ]
    # 12:30 in Paris (UTC+1 in November) is 11:30 UTC: the alias had moved to v2.
    assert held(admin_client, at="2025-11-03T12:30:00+01:00", model="fraud-detector", signal="alias") == [
        ("fraud-detector", "alias", "champion", "2")
    ]


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-45T10:00:00Z", "2025-11-03 25:00", "1699000000"])
def test_a_bad_at_is_a_400_that_says_what_to_send(admin_client, rows, bad):
    response = admin_client.get("/api/v1/deployments/", {"at": bad})
    assert (response.status_code, response.json()) == (
        400,
        invalid_input("at", AT_INVALID),
    )


def test_deployments_show_each_interval_with_its_bounds(admin_client, rows):
    data = admin_client.get("/api/v1/deployments/", {"at": T0.isoformat(), "project": "fraud-scoring"}).json()
    (row,) = data["results"]
    assert {k: row[k] for k in ("registry", "registry_name", "project", "version", "version_id")} == {
        "registry": rows.registry.pk, "registry_name": "mlflow-prod", "project": "fraud-scoring",
        "version": "1", "version_id": rows.v1.pk,
    }  # fmt: skip
    assert dt.datetime.fromisoformat(row["observed_from"]) == T0
    assert dt.datetime.fromisoformat(row["observed_until"]) == T0 + 2 * HOUR


def test_team_lead_sees_only_deployments_of_models_they_may_see(client, team_lead, rows):
    client.force_login(team_lead)
    assert held(client) == [
        ("fraud-detector", "alias", "champion", "2"),
        ("fraud-detector", "stage", "Production", "2"),
    ]


def test_an_alias_moved_by_syncs_is_answered_for_the_moment_between_them(admin_client, project):
    """Through the real sync service: alias on v2, then on v3; `at` between the syncs names v2."""
    registry = RegistryFactory(name="mlflow-prod")
    services.registry_sync(
        registry=registry,
        adapter=FakeAdapter(snapshot({"churn": {"aliases": {"champion": "2"}}}, {"churn": ["1", "2", "3"]})),
    )
    services.registry_sync(
        registry=registry,
        adapter=FakeAdapter(snapshot({"churn": {"aliases": {"champion": "3"}}}, {"churn": ["1", "2", "3"]})),
    )
    assert held(admin_client) == [("churn", "alias", "champion", "3")]
    intervals = list(
        registry.models.get().deployments.order_by("observed_from").values_list("observed_from", "observed_until")
    )
    between = intervals[0][0] + (intervals[0][1] - intervals[0][0]) / 2
    assert held(admin_client, at=between.isoformat()) == [("churn", "alias", "champion", "2")]
    assert held(admin_client, at=intervals[1][0].isoformat()) == [("churn", "alias", "champion", "3")]


@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "KEEL_SECURE_COOKIES"])
def test_a_registry_cannot_name_keels_own_secrets_as_its_credentials(client, admin_user, name):
    """Otherwise an app admin could send the secret key to a URL of their choosing."""
    from projects.models import Registry
    from projects.models.registries import ENV_PREFIX_MESSAGE

    client.force_login(admin_user)
    body = {"name": "exfil", "kind": "mlflow", "base_url": "http://127.0.0.1:9/", "token_env": name}
    response = client.post("/api/v1/registries/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["token_env"] == [ENV_PREFIX_MESSAGE.format(prefixes="KEEL_REGISTRY_, MLFLOW_, AWS_")]
    assert not Registry.objects.filter(name="exfil").exists()


def test_a_row_naming_a_forbidden_variable_is_refused_at_sync_time(db, monkeypatch):
    from projects.models import Registry, SyncRun
    from projects.registries.adapters.base import PermanentRegistryError
    from projects.registries.sync import registry_sync

    registry = Registry.objects.create(
        name="old-row", kind="mlflow", base_url="http://127.0.0.1:9/", token_env="DJANGO_SECRET_KEY"
    )
    with pytest.raises(PermanentRegistryError, match="KEEL_REGISTRY_ENV_PREFIXES"):
        registry_sync(registry=registry)
    assert SyncRun.objects.get(registry=registry).status == "failed"
