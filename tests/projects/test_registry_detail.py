"""A registry's page: its connection, last syncs and every model (linked or not) with its versions, scoped
per role; the registered model's address (a finding's subject); the registries list's htmx row that polls
while a sync runs."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from governance.models import AuditEvent
from projects import tasks
from projects.models import LinkSource, SyncRun, SyncStatus
from tests.factories import make_user
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, RegistryFactory, hold

pytestmark = pytest.mark.django_db


def text(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?(a|time|span|strong|code|small|em|abbr)\b[^>]*>", "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\xa0", " ").strip()


@pytest.fixture
def reg(project, other_project):
    """mlflow-prod: fraud (our team, 3 versions, one deleted, v2 champion), churn (another team's),
    orphan (linked to no project, v1 in Production, no author)."""
    registry = RegistryFactory(name="mlflow-prod", base_url="http://mlflow.example:5000/")
    SyncRun.objects.create(registry=registry, started_at=T0, finished_at=T0, status=SyncStatus.SUCCEEDED, created=7)
    fraud = RegisteredModelFactory(registry=registry, name="fraud", project=project, link_source=LinkSource.TAG)
    ModelVersionFactory(registered_model=fraud, version="1", run_id="run-a1")
    v2 = ModelVersionFactory(registered_model=fraud, version="2", run_id="run-a2", created_by="dana@example.com")
    ModelVersionFactory(registered_model=fraud, version="3", deleted_at=T0 + dt.timedelta(hours=1))
    hold(v2, "champion", T0)
    churn = RegisteredModelFactory(registry=registry, name="churn", project=other_project)
    ModelVersionFactory(registered_model=churn, version="1")
    orphan = RegisteredModelFactory(registry=registry, name="orphan")
    o1 = ModelVersionFactory(registered_model=orphan, version="1", created_by="", run_id="")
    hold(o1, "Production", T0, signal="stage")
    return registry


def url(registry) -> str:
    return f"/projects/registries/{registry.pk}/"


def names(response) -> list[str]:
    return [m.name for m in response.context["models"]]


# --- who sees what ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["executive", "risk_officer", "admin_user", "compliance"])
def test_readers_of_everything_see_every_model_linked_or_not(client, reg, who, request):
    user = make_user("dpo", "Compliance Officer") if who == "compliance" else request.getfixturevalue(who)
    client.force_login(user)

    response = client.get(url(reg))

    assert response.status_code == 200
    assert names(response) == ["churn", "fraud", "orphan"]


def test_a_team_lead_sees_their_teams_models_and_the_unlinked_ones_and_is_told_so(client, reg, team_lead):
    client.force_login(team_lead)

    response = client.get(url(reg))

    assert names(response) == ["fraud", "orphan"]
    assert "other teams' models are not shown" in text(response)


def test_a_user_without_a_role_is_refused_and_an_anonymous_one_sent_to_sign_in(client, reg, no_role_user):
    assert client.get(url(reg)).status_code == 302
    client.force_login(no_role_user)
    assert client.get(url(reg)).status_code == 403


def test_an_unknown_registry_is_404(client, reg, executive):
    client.force_login(executive)
    assert client.get(f"/projects/registries/{reg.pk + 99}/").status_code == 404


# --- what the page says ----------------------------------------------------------------------------


def test_the_page_shows_the_connection_the_last_syncs_and_each_version_with_its_facts(client, reg, executive):
    client.force_login(executive)

    response = client.get(url(reg))
    page = text(response)
    html = response.content.decode()

    assert "Kind MLflow" in page
    assert "In the registry 3 models, 4 versions (deleted ones not counted)" in page
    assert "2025-11-03 09:00 Succeeded 7" in page
    assert "fraud · project Fraud scoring (linked by the keel.project tag) · 2 versions (+ 1 deleted)" in page
    assert "orphan · linked to no project · 1 version" in page
    # Newest first; the deleted one marked; the alias held now; an empty author is "unknown".
    assert "v3 READY — ci-bot 2025-11-03 09:00 2025-11-03 version 3 of fraud" in page
    assert "v2 READY champion dana@example.com 2025-11-03 09:00 — version 2 of fraud in mlflow-prod · run of" in page
    assert "v1 READY Production unknown 2025-11-03 09:00 — version 1 of orphan" in page
    assert 'href="http://mlflow.example:5000/#/models/fraud/versions/2"' in html
    assert 'href="http://mlflow.example:5000/#/runs/run-a2"' in html
    assert f'href="/projects/{reg.models.get(name="fraud").project.slug}/#models"' in html


def test_the_navigation_marks_registries_as_the_current_section(client, reg, executive):
    client.force_login(executive)
    html = client.get(url(reg)).content.decode()
    assert 'href="/projects/registries/" aria-current="page">Registries</a>' in html
    assert 'href="/projects/" aria-current="page"' not in html


def test_the_filters_select_models_and_a_bad_one_shows_none(client, reg, executive):
    client.force_login(executive)

    assert names(client.get(url(reg), {"linked": "false"})) == ["orphan"]
    assert names(client.get(url(reg), {"q": "fra"})) == ["fraud"]
    bad = client.get(url(reg), {"linked": "maybe"})
    assert names(bad) == []
    assert "Select a valid choice" in text(bad)


def test_deleted_models_are_left_out_unless_asked_for(client, reg, executive):
    reg.models.filter(name="churn").update(deleted_at=T0)
    client.force_login(executive)

    assert names(client.get(url(reg))) == ["fraud", "orphan"]
    assert names(client.get(url(reg), {"deleted": "true"})) == ["churn", "fraud", "orphan"]


def test_empty_states_say_why_there_is_nothing(client, executive):
    never = RegistryFactory(name="mlflow-new")
    client.force_login(executive)

    assert "Keel holds no data from this registry yet: it has not synced successfully." in text(client.get(url(never)))
    SyncRun.objects.create(registry=never, finished_at=T0, status=SyncStatus.SUCCEEDED)
    assert "This registry holds no model." in text(client.get(url(never)))
    assert "No model of this registry matches these filters." in text(client.get(url(never), {"q": "x"}))


def test_the_models_paginate_and_a_model_shows_its_newest_twenty_versions(client, executive):
    registry = RegistryFactory(name="big")
    for n in range(27):
        RegisteredModelFactory(registry=registry, name=f"m{n:02d}")
    big = registry.models.get(name="m00")
    for n in range(1, 24):
        ModelVersionFactory(registered_model=big, version=str(n))
    client.force_login(executive)

    first = client.get(url(registry))
    assert len(first.context["models"]) == 25
    assert [v.version for v in first.context["models"][0].shown_versions][:2] == ["23", "22"]
    assert len(first.context["models"][0].shown_versions) == 20
    assert "The newest 20 of 23 versions are shown" in text(first)
    assert names(client.get(url(registry), {"page": 2})) == ["m25", "m26"]


def test_the_registries_list_links_each_registry_to_its_page(client, reg, executive):
    client.force_login(executive)
    assert (
        f'<a href="/projects/registries/{reg.pk}/">mlflow-prod</a>'
        in client.get("/projects/registries/").content.decode()
    )


# --- a registered model's address ------------------------------------------------------------------


def test_a_registered_models_address_leads_to_its_place_on_the_registry_page(client, reg, executive, team_lead):
    orphan, churn = reg.models.get(name="orphan"), reg.models.get(name="churn")
    client.force_login(executive)

    response = client.get(reverse("projects:registry-model", kwargs={"pk": orphan.pk}))

    assert response.status_code == 302
    assert response["Location"] == f"/projects/registries/{reg.pk}/?q=orphan&deleted=true#model-{orphan.pk}"
    assert names(client.get(response["Location"])) == ["orphan"]
    client.force_login(team_lead)
    assert client.get(f"/projects/registries/models/{churn.pk}/").status_code == 404  # another team's model


# --- Sync now and the polling row ------------------------------------------------------------------


def row(client, registry, **params):
    response = client.get(f"/projects/registries/{registry.pk}/row/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_row_polls_while_a_sync_runs_and_stops_when_it_ends(client, reg, executive):
    client.force_login(executive)
    assert 'hx-trigger="every 2s"' not in row(client, reg)

    run = SyncRun.objects.create(registry=reg, status=SyncStatus.RUNNING)
    running = row(client, reg)
    assert f'hx-get="/projects/registries/{reg.pk}/row/" hx-trigger="every 2s" hx-swap="outerHTML"' in running
    assert "Syncing…" in running

    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.SUCCEEDED, finished_at=dt.datetime.now(tz=dt.UTC))
    done = row(client, reg)
    assert 'hx-trigger="every 2s"' not in done
    assert 'data-polling="false"' in done
    assert "Healthy" in done


def test_the_registries_page_does_not_poll_when_nothing_runs(client, reg, executive):
    client.force_login(executive)
    assert 'hx-trigger="every' not in client.get("/projects/registries/").content.decode()


def test_sync_now_from_htmx_answers_with_the_row_that_polls_until_a_new_run_has_ended(
    client, reg, admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.sync_registry, "delay", queued.append)
    client.force_login(admin_user)
    old_run = reg.sync_runs.get().pk

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/projects/registries/{reg.pk}/sync/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(
        f'<tbody id="registry-{reg.pk}" hx-get="/projects/registries/{reg.pk}/row/?after={old_run}&amp;queued='
    )
    assert "Queued…" in html
    assert "Sync of “mlflow-prod” queued; this row updates when the worker is done." in html
    assert queued == [reg.pk]
    assert AuditEvent.objects.order_by("-seq").first().action == "registry.sync_requested"

    queued_at = int(dt.datetime.now(tz=dt.UTC).timestamp())
    assert "every 2s" in row(client, reg, after=old_run, queued=queued_at)  # no worker has started it yet
    SyncRun.objects.create(registry=reg, status=SyncStatus.SUCCEEDED, finished_at=dt.datetime.now(tz=dt.UTC))
    assert "every 2s" not in row(client, reg, after=old_run, queued=queued_at)


def test_a_queued_sync_no_worker_started_stops_polling_after_ten_minutes_and_says_so(client, reg, executive):
    client.force_login(executive)
    long_ago = int((dt.datetime.now(tz=dt.UTC) - dt.timedelta(minutes=11)).timestamp())

    html = row(client, reg, after=reg.sync_runs.get().pk, queued=long_ago)

    assert "every 2s" not in html
    assert "no worker has started it yet" in html


def test_sync_now_of_a_disabled_registry_from_htmx_shows_the_refusal_in_the_row_and_queues_nothing(
    client, reg, admin_user, monkeypatch
):
    reg.enabled = False
    reg.save()
    queued = []
    monkeypatch.setattr(tasks.sync_registry, "delay", queued.append)
    events = AuditEvent.objects.count()
    client.force_login(admin_user)

    html = client.post(f"/projects/registries/{reg.pk}/sync/", HTTP_HX_REQUEST="true").content.decode()

    assert "Registry mlflow-prod is disabled; enable it before asking for a sync." in html
    assert "every 2s" not in html
    assert (queued, AuditEvent.objects.count()) == ([], events)


def test_only_admins_may_sync_from_htmx(client, reg, executive):
    client.force_login(executive)
    assert client.post(f"/projects/registries/{reg.pk}/sync/", HTTP_HX_REQUEST="true").status_code == 403


# --- the project page's versions -------------------------------------------------------------------


def test_the_project_page_links_each_version_to_its_run_and_version_pages_and_counts_live_versions(
    client, reg, project, team_lead
):
    client.force_login(team_lead)

    html = client.get(f"/projects/{project.slug}/").content.decode()

    assert 'href="http://mlflow.example:5000/#/models/fraud/versions/2"' in html
    assert 'href="http://mlflow.example:5000/#/runs/run-a2"' in html
    assert "Linked by the keel.project tag · 2 versions (+ 1 deleted)" in html
