"""The registries page (health, "Sync now") and the Models section of the project page."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from governance.models import AuditEvent
from projects import tasks
from projects.models import LinkSource, RegisteredModel, SyncRun, SyncStatus
from projects.registries import sync as services
from projects.registries.services import REGISTRY_DISABLED
from tests.api_errors import NOT_A_CHOICE
from tests.factories import AIProjectFactory
from tests.registry_factories import FakeAdapter, RegisteredModelFactory, RegistryFactory, snapshot

MINUTE = dt.timedelta(minutes=1)


def last_event():
    return AuditEvent.objects.order_by("-seq").first()


def text(response) -> str:
    """The page's visible text, tags stripped and white space collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?(a|time|span|strong|code|small|em|abbr)\b[^>]*>", "", html)  # inline: no word break
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\xa0", " ").strip()


def add_run(registry, *, ago: dt.timedelta, status=SyncStatus.SUCCEEDED, error=""):
    at = dt.datetime.now(tz=dt.UTC) - ago
    return SyncRun.objects.create(registry=registry, started_at=at, finished_at=at, status=status, error=error)


# --- registries page -------------------------------------------------------------------------------


def test_registries_page_says_how_old_the_data_is_in_words(client, executive):
    registry = RegistryFactory(name="mlflow-prod")
    add_run(registry, ago=3 * MINUTE)
    client.force_login(executive)

    response = client.get("/projects/registries/")

    page = text(response)
    assert "mlflow-prod · MLflow" in page
    assert "Healthy synced 3 minutes ago" in page
    assert 'role="alert"' not in response.content.decode()  # nothing failed, so no alert


def test_a_failed_latest_sync_shows_its_error_in_an_alert_and_keeps_the_last_success(client, risk_officer):
    registry = RegistryFactory(name="mlflow-prod")
    add_run(registry, ago=2 * dt.timedelta(hours=1))
    add_run(registry, ago=MINUTE, status=SyncStatus.FAILED, error="MLflow refused the credentials (401).")
    client.force_login(risk_officer)

    response = client.get("/projects/registries/")

    html = response.content.decode()
    alert = re.search(r'<div class="alert alert-error" role="alert">(.*?)</div>', html, flags=re.S).group(1)
    assert "mlflow-prod: the last sync failed." in alert
    assert "MLflow refused the credentials (401)." in alert
    assert "Last sync failed synced 2 hours ago stale" in text(response)


def test_a_registry_that_never_synced_says_so(client, team_lead):
    RegistryFactory(name="mlflow-new")
    client.force_login(team_lead)

    page = text(client.get("/projects/registries/"))

    assert "Never synced no data yet never" in page


def test_the_page_counts_models_and_versions_the_last_sync_saw(client, executive, project):
    registry = RegistryFactory(name="mlflow-prod")
    services.registry_sync(
        registry=registry,
        adapter=FakeAdapter(snapshot({"fraud": {}, "churn": {}}, {"fraud": ["1", "2", "3"], "churn": ["1"]})),
    )
    client.force_login(executive)

    response = client.get("/projects/registries/")

    (row,) = response.context["registries"]
    assert (row.model_count, row.version_count, row.latest_status, row.stale) == (2, 4, "succeeded", False)
    assert '<td class="num">2</td>\n    <td class="num">4</td>' in response.content.decode()


def test_only_admins_see_the_sync_now_button(client, executive, admin_user):
    registry = RegistryFactory(name="mlflow-prod")
    button = f'<form method="post" action="/projects/registries/{registry.pk}/sync/" hx-post='

    client.force_login(executive)
    assert button not in client.get("/projects/registries/").content.decode()
    client.force_login(admin_user)
    html = client.get("/projects/registries/").content.decode()
    assert button in html
    assert 'hx-swap="outerHTML"><input type="hidden" name="csrfmiddlewaretoken"' in html


def test_sync_now_queues_a_sync_records_who_asked_and_says_so(
    client, admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    registry = RegistryFactory(name="mlflow-prod")
    queued = []
    monkeypatch.setattr(tasks.sync_registry, "delay", queued.append)
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/projects/registries/{registry.pk}/sync/", follow=True)

    assert response.redirect_chain == [("/projects/registries/", 302)]
    assert "Sync of “mlflow-prod” queued" in text(response)
    assert queued == [registry.pk]
    assert (last_event().action, last_event().actor_repr) == ("registry.sync_requested", "admin")


def test_sync_now_of_a_disabled_registry_explains_and_queues_nothing(
    client, admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    registry = RegistryFactory(name="mlflow-prod", enabled=False)
    queued = []
    monkeypatch.setattr(tasks.sync_registry, "delay", queued.append)
    events = AuditEvent.objects.count()
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/projects/registries/{registry.pk}/sync/", follow=True)

    assert REGISTRY_DISABLED.format(name="mlflow-prod") in text(response)
    assert (queued, AuditEvent.objects.count()) == ([], events)
    assert "enable it to sync" in text(response)


def test_sync_now_of_an_unknown_registry_is_a_404(client, admin_user):
    client.force_login(admin_user)
    assert client.post("/projects/registries/999999/sync/").status_code == 404


def test_sync_now_needs_a_post_with_a_csrf_token(admin_user):
    from django.test import Client

    registry = RegistryFactory(name="mlflow-prod")
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)

    assert csrf_client.get(f"/projects/registries/{registry.pk}/sync/").status_code == 405
    assert csrf_client.post(f"/projects/registries/{registry.pk}/sync/").status_code == 403


def test_registries_page_empty_state(client, executive):
    client.force_login(executive)
    page = text(client.get("/projects/registries/"))
    assert "No registries are connected yet. An admin connects registries." in page


def test_registries_page_filters_with_the_api_filterset(client, executive):
    RegistryFactory(name="mlflow-prod")
    RegistryFactory(name="mlflow-old", enabled=False)
    client.force_login(executive)

    response = client.get("/projects/registries/", {"enabled": "false"})

    assert [r.name for r in response.context["registries"]] == ["mlflow-old"]


def test_a_project_cannot_take_the_registries_slug(db):
    project = AIProjectFactory(name="Registries")
    assert project.slug == "registries-2"


# --- the project page's Models section ------------------------------------------------------------


@pytest.fixture
def synced(project):
    """Three real syncs: champion on v2, then on v3, then v1 gone from the registry."""
    registry = RegistryFactory(name="mlflow-prod")
    tag = {"keel.project": project.slug}

    def sync(aliases, versions, stage=""):
        snap = snapshot({"fraud-detector": {"tags": tag, "aliases": aliases}}, {"fraud-detector": versions})
        return services.registry_sync(registry=registry, adapter=FakeAdapter(snap))

    sync({"champion": "2"}, ["1", "2"])
    sync({"champion": "3"}, ["1", "2", "3"])
    sync({"champion": "3"}, ["2", "3"])
    return RegisteredModel.objects.get(name="fraud-detector")


def section(response, model_name: str) -> str:
    html = response.content.decode()
    start = html.index(f'<h3 id="model-{RegisteredModel.objects.get(name=model_name).pk}-h">')
    return html[start : html.index("</article>", start)]


def test_project_page_shows_versions_newest_first_with_deleted_ones_marked(client, executive, synced):
    client.force_login(executive)

    response = client.get("/projects/fraud-scoring/")

    (model,) = response.context["models"]
    assert [(v.version, v.deleted_at is not None) for v in model.shown_versions] == [
        ("3", False), ("2", False), ("1", True),
    ]  # fmt: skip
    html = section(response, "fraud-detector")
    assert re.search(r'<tr class="is-deleted">\s*<th scope="row">v1 <span class="badge deleted">deleted ', html)
    # The count is of what the registry still holds; the deleted version is listed, marked, not counted.
    assert "Linked by the keel.project tag · 2 versions (+ 1 deleted)" in html
    # Each version links to its page in the registry (no run id was synced, so no run link).
    assert 'href="http://mlflow.example:5000/#/models/fraud-detector/versions/3"' in html
    assert "#/runs/" not in html


def test_project_page_says_which_version_holds_the_alias_now_and_shows_the_history(client, executive, synced):
    client.force_login(executive)

    response = client.get("/projects/fraud-scoring/")

    (model,) = response.context["models"]
    assert [(d.name, d.version.version) for d in model.holding_now] == [("champion", "3")]
    now_v3, ended_v2 = model.history
    assert (now_v3.version.version, now_v3.observed_until) == ("3", None)
    assert (ended_v2.version.version, ended_v2.observed_until) == ("2", now_v3.observed_from)
    html = section(response, "fraud-detector")
    timeline = html[html.index('<ol class="timeline"') : html.index("</ol>")]
    assert re.findall(r'<li class="(open|ended)">', timeline) == ["open", "ended"]
    assert "held by <strong>v3</strong>" in timeline
    assert "→ <strong>now</strong>" in timeline
    assert f'<time datetime="{ended_v2.observed_until.isoformat()}">' in timeline


def test_project_page_caps_the_versions_shown_and_links_to_the_rest(client, executive, project):
    registry = RegistryFactory(name="mlflow-prod")
    snap = snapshot({"big": {"tags": {"keel.project": project.slug}}}, {"big": [str(i) for i in range(1, 31)]})
    services.registry_sync(registry=registry, adapter=FakeAdapter(snap))
    client.force_login(executive)

    response = client.get("/projects/fraud-scoring/")

    (model,) = response.context["models"]
    assert [v.version for v in model.shown_versions][:3] == ["30", "29", "28"]
    assert len(model.shown_versions) == 25
    assert (
        "The newest 25 of 30 versions are shown; "
        f'<a href="/api/v1/model-versions/?registry={registry.pk}&amp;model=big&amp;deleted=true">'
    ) in response.content.decode()


def test_project_page_models_empty_state(client, executive, team_lead, project):
    client.force_login(executive)
    page = text(client.get("/projects/fraud-scoring/"))
    assert "No registry model is linked to this project yet. Tag a model keel.project=fraud-scoring" in page
    assert "Link a model by hand" not in page


def test_team_lead_links_a_model_from_the_project_page(client, team_lead, project, other_project):
    registry = RegistryFactory(name="mlflow-prod")
    free = RegisteredModelFactory(registry=registry, name="pricing")
    RegisteredModelFactory(registry=registry, name="churn", project=other_project, link_source=LinkSource.TAG)
    RegisteredModelFactory(registry=registry, name="gone", deleted_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    client.force_login(team_lead)

    form = client.get("/projects/fraud-scoring/").context["link_form"]
    assert [m.name for m in form.fields["model"].queryset] == ["pricing"]  # not linked elsewhere, not deleted
    response = client.post("/projects/fraud-scoring/models/link/", {"model": free.pk}, follow=True)

    assert response.redirect_chain == [("/projects/fraud-scoring/#models", 302)]
    assert "Model “pricing” linked to this project." in text(response)
    free.refresh_from_db()
    assert (free.project, free.link_source) == (project, LinkSource.MANUAL)
    event = last_event()
    assert (event.action, event.actor_repr, event.after) == (
        "registered_model.linked", "lead", {"project": project.pk, "link_source": "manual"},
    )  # fmt: skip
    assert [m.name for m in response.context["models"]] == ["pricing"]
    assert "Every model you may see is already linked to a project." in text(response)


def test_linking_a_model_of_another_teams_project_is_refused_on_the_form(client, team_lead, project, other_project):
    registry = RegistryFactory(name="mlflow-prod")
    theirs = RegisteredModelFactory(registry=registry, name="churn", project=other_project, link_source=LinkSource.TAG)
    events = AuditEvent.objects.count()
    client.force_login(team_lead)

    response = client.post("/projects/fraud-scoring/models/link/", {"model": theirs.pk})

    assert response.status_code == 200
    assert response.context["form"].errors == {"model": [NOT_A_CHOICE]}
    theirs.refresh_from_db()
    assert (theirs.project, AuditEvent.objects.count()) == (other_project, events)


def test_readers_see_the_models_but_no_link_form(client, risk_officer, project):
    RegisteredModelFactory(name="pricing")
    client.force_login(risk_officer)
    response = client.get("/projects/fraud-scoring/")
    assert response.context["link_form"] is None
    assert 'action="/projects/fraud-scoring/models/link/"' not in response.content.decode()


def test_project_page_says_how_old_the_models_data_is_and_warns_when_the_last_sync_failed(client, executive, project):
    registry = RegistryFactory(name="mlflow-prod")
    RegisteredModelFactory(registry=registry, name="fraud-detector", project=project, link_source=LinkSource.TAG)
    add_run(registry, ago=5 * MINUTE)
    client.force_login(executive)

    healthy = text(client.get("/projects/fraud-scoring/"))
    add_run(registry, ago=MINUTE, status=SyncStatus.FAILED, error="Connection refused")
    failing = client.get("/projects/fraud-scoring/")

    assert "As of the last sync of mlflow-prod, 5 minutes ago." in healthy
    assert "The latest sync of mlflow-prod failed" not in healthy
    assert "As of the last sync of mlflow-prod, 5 minutes ago." in text(failing)
    assert re.search(
        r'<div class="alert alert-warning" role="alert">The latest sync of mlflow-prod failed: what this section '
        r"shows may be out of date\.",
        failing.content.decode(),
    )


def test_a_model_whose_registry_never_synced_says_so(client, executive, project):
    RegisteredModelFactory(registry=RegistryFactory(name="mlflow-new"), project=project, link_source=LinkSource.MANUAL)
    client.force_login(executive)
    assert "mlflow-new has not synced successfully yet." in text(client.get("/projects/fraud-scoring/"))


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0\xa0seconds"),
        (1, "1\xa0second"),
        (59, "59\xa0seconds"),
        (60, "1\xa0minute"),
        (3 * 3600 + 120, "3\xa0hours, 2\xa0minutes"),
    ],
)
def test_data_age_reads_in_seconds_under_a_minute_and_like_timesince_above(seconds, words):
    from projects.templatetags.keel_time import age

    now = dt.datetime(2025, 11, 3, 12, 0, tzinfo=dt.UTC)
    assert age(now - dt.timedelta(seconds=seconds), now) == words
    assert age(None) == ""
