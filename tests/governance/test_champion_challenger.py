"""Champion / challenger: the version holding the production alias against those holding the others, by the
policy's directions — on the project page, the sign-off page, the dashboard and /api/v1/champion-challenger,
each within the caller's scope."""

from __future__ import annotations

import pytest

from governance.signoff import services as signoff_services
from governance.signoff.champions import comparisons, counts
from projects.models import RegisteredModel
from tests.registry_factories import RegistryFactory
from tests.signoff_factories import assess, pending_request, remote_snapshot, sync

pytestmark = pytest.mark.django_db
API = "/api/v1/champion-challenger"


def m(value) -> dict:
    return {"value": value, "timestamp": "2026-11-01T00:00:00+00:00", "step": 0}


@pytest.fixture
def fraud_model(project):
    """fraud-model: v1 is champion (auc 0.80, log_loss 0.30), v2 challenger (auc 0.85, log_loss 0.35);
    the minimal tier's policy says auc is better higher and names no direction for log_loss."""
    assess(project, "minimal")
    signoff_services.signoff_policy_publish(
        by=None, tier="minimal", required_roles=["Risk Officer"], min_approvers=1, recertify_days=None,
        metric_requirements=[{"metric": "auc", "direction": "higher", "threshold": 0.7}],
    )  # fmt: skip
    registry = RegistryFactory()
    versions = {"1": {"metrics": {"auc": m(0.8), "log_loss": m(0.3)}},
                "2": {"metrics": {"auc": m(0.85), "log_loss": m(0.35)}}}  # fmt: skip
    sync(registry, remote_snapshot(project, versions=versions, aliases={"champion": "1", "challenger": "2"}))
    return RegisteredModel.objects.get(registry=registry, name="fraud-model")


def test_the_challenger_is_compared_metric_by_metric_by_the_policys_direction(fraud_model):
    [c] = comparisons(RegisteredModel.objects.filter(pk=fraud_model.pk))

    assert (c.champion.alias, c.champion.version) == ("champion", "1")
    assert [(h.alias, h.version) for h in c.holders] == [("champion", "1"), ("challenger", "2")]
    [challenge] = c.challenges
    auc, loss = challenge.metrics
    assert (auc.key, auc.champion, auc.challenger, auc.delta, auc.better) == (
        "auc", 0.8, 0.85, pytest.approx(0.05), "challenger",
    )  # fmt: skip
    # No direction in the policy: the delta is shown, the winner is not guessed.
    assert (loss.delta, loss.direction, loss.better) == (pytest.approx(0.05), "", "")
    assert challenge.beats_champion is True
    assert counts([c]) == {"production_models": 1, "with_challenger": 1, "challengers_beating": 1}


def test_a_challenger_worse_on_one_policy_metric_does_not_beat_the_champion(fraud_model, project):
    signoff_services.signoff_policy_publish(
        by=None, tier="minimal", required_roles=["Risk Officer"], min_approvers=1, recertify_days=None,
        metric_requirements=[{"metric": "auc", "direction": "higher", "threshold": 0.7},
                             {"metric": "log_loss", "direction": "lower", "threshold": 1}],
    )  # fmt: skip

    [c] = comparisons(RegisteredModel.objects.filter(pk=fraud_model.pk))

    assert [d.better for d in c.challenges[0].metrics] == ["challenger", "champion"]
    assert c.challenges[0].beats_champion is False
    assert counts([c])["challengers_beating"] == 0


def test_a_model_without_a_production_alias_has_no_champion_and_counts_nowhere(project):
    registry = RegistryFactory()
    sync(registry, remote_snapshot(project, versions={"1": {}, "2": {}}, aliases={"challenger": "2"}))

    [c] = comparisons(RegisteredModel.objects.filter(registry=registry))

    assert (c.champion, c.challenges) == (None, [])
    assert counts([c]) == {"production_models": 0, "with_challenger": 0, "challengers_beating": 0}


def test_the_api_compares_champion_and_challenger_with_since_and_counts(client, team_lead, fraud_model, project):
    client.force_login(team_lead)

    response = client.get(API, {"project": project.slug})

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("production_models", "with_challenger", "challengers_beating")} == {
        "production_models": 1, "with_challenger": 1, "challengers_beating": 1,
    }  # fmt: skip
    [model] = body["models"]
    assert (model["model"], model["project"], model["champion"]["version"]) == ("fraud-model", project.slug, "1")
    assert [a["alias"] for a in model["aliases"]] == ["champion", "challenger"]
    assert model["aliases"][0]["since"]
    [challenge] = model["challenges"]
    assert (challenge["challenger"]["alias"], challenge["beats_champion"]) == ("challenger", True)
    assert challenge["metrics"][0] == {
        "key": "auc", "dataset_name": "", "champion": 0.8, "challenger": 0.85,
        "delta": pytest.approx(0.05), "direction": "higher", "better": "challenger",
    }  # fmt: skip


def test_the_api_shows_another_teams_project_to_no_one_outside_its_scope(
    client, other_lead, no_role_user, executive, fraud_model, project
):
    client.force_login(other_lead)
    assert client.get(API, {"project": project.slug}).status_code == 404
    assert client.get(API).json()["models"] == []
    client.force_login(executive)  # reads the whole portfolio
    assert [x["model"] for x in client.get(API).json()["models"]] == ["fraud-model"]
    client.force_login(no_role_user)
    assert client.get(API).status_code == 403
    client.logout()
    assert client.get(API).status_code in (401, 403)


def test_the_api_answers_400_to_a_malformed_project(client, team_lead):
    client.force_login(team_lead)
    response = client.get(API, {"project": "not a slug!"})
    assert response.status_code == 400
    assert "project" in response.json()


def test_the_project_page_shows_the_comparison(client, team_lead, fraud_model, project):
    client.force_login(team_lead)
    page = client.get(f"/projects/{project.slug}/").content.decode()

    assert 'id="champion-challenger"' in page
    assert "<strong>champion</strong>: v1" in page
    assert "the challenger beats the champion" in page
    assert '<td class="num">+0.0500</td>' in page


def test_the_signoff_page_shows_the_comparison_of_its_model(client, team_lead, risk_officer, fraud_model):
    request = pending_request(fraud_model.versions.get(version="2"), team_lead)
    client.force_login(risk_officer)

    page = client.get(f"/governance/signoffs/{request.pk}/").content.decode()

    assert f'id="cc-{fraud_model.pk}-challenger"' in page
    assert "the challenger beats the champion" in page


def test_the_dashboard_counts_production_models_with_a_challenger(client, executive, fraud_model):
    client.force_login(executive)
    page = client.get("/governance/dashboard/").content.decode()

    tile = page[page.index('id="tile-challengers"') :][:600]
    assert '<span class="tile-value">1</span>' in tile
    assert "of 1 model with a champion; 1 challenger beats their champion" in tile
