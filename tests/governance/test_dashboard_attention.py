"""The dashboard's "In production without a valid sign-off" tile and list agree with the rule that opens
DEPLOYED_WITHOUT_APPROVAL findings; the "Needs attention" list names what is wrong, with links; each
project's health follows project_health()'s documented rule.

Fraud scoring (Claims) has four versions of one linked model:
  v1 holds the alias "production", no sign-off            -> counted
  v2 holds the stage "Production", approved, still valid  -> not counted
  v3 holds the alias "staging"                            -> not counted (not production)
  v4 holds the alias "champion", its approval expired     -> counted
Churn model (Marketing) has v1 with the approval status "Approved" and no sign-off -> counted, but not for
Claims' team lead. A model linked to no project holds "production": not on the tile (no project owns it).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from governance.dashboard.attention import Health, project_health
from governance.models import Finding, FindingKind, Risk, Severity, SignOffRequest, SignOffStatus
from governance.signoff.deployments import deployments_sweep, versions_serving_without_approval
from projects.models import AIProject, Signal, Stage
from tests.registry_factories import RegistryFactory, hold
from tests.risk_factories import RiskFactory
from tests.signoff_factories import assess, linked_version, pending_request, unlinked_version

pytestmark = pytest.mark.django_db

PAGE = "/governance/dashboard/"
T0 = timezone.now() - dt.timedelta(days=30)


def approve_directly(version, by, *, valid_until=None):
    """An approval as the sign-off flow leaves it (the flow itself is tested in test_signoff_services)."""
    request = pending_request(version, by)
    SignOffRequest.objects.filter(pk=request.pk).update(
        status=SignOffStatus.APPROVED, decided_at=timezone.now(), valid_until=valid_until
    )
    return request


@pytest.fixture
def deployed(project, other_project, team_lead, other_lead):
    AIProject.objects.filter(pk__in=[project.pk, other_project.pk]).update(stage=Stage.PRODUCTION)
    registry = RegistryFactory(name="mlflow-prod")
    assess(project, "minimal")
    assess(other_project, "minimal")
    v1, v2, v3, v4 = (linked_version(project, registry=registry, version=str(n)) for n in (1, 2, 3, 4))
    hold(v1, "production", T0)
    hold(v2, "Production", T0, signal=Signal.STAGE)
    approve_directly(v2, team_lead)
    hold(v3, "staging", T0)
    hold(v4, "champion", T0 + dt.timedelta(days=1))
    approve_directly(v4, team_lead, valid_until=timezone.now() - dt.timedelta(days=1))
    churn = linked_version(other_project, registry=registry, model="churn-model", version="1")
    hold(churn, "Approved", T0 + dt.timedelta(days=2), signal=Signal.APPROVAL)
    hold(unlinked_version(model="orphan-model"), "production", T0)
    return {"v1": v1, "v4": v4, "churn": churn}


def test_the_tile_counts_exactly_the_versions_the_finding_rule_flags(client, executive, deployed):
    client.force_login(executive)
    ctx = client.get(PAGE).context
    shown = [v.pk for v in ctx["unapproved"]]
    assert ctx["unapproved_count"] == len(shown) == 3
    # Longest serving first; the one rule, and the findings the sweep opens from it, name the same versions.
    assert shown == [deployed["v1"].pk, deployed["v4"].pk, deployed["churn"].pk]
    assert set(shown) == set(versions_serving_without_approval().values_list("pk", flat=True))
    assert deployments_sweep() == 3
    flagged = Finding.objects.filter(kind=FindingKind.DEPLOYED_WITHOUT_APPROVAL, resolved_at=None)
    assert {int(f.subject_id) for f in flagged} == set(shown)


def test_each_row_names_model_version_project_since_and_signal_and_links_them(client, executive, deployed, project):
    client.force_login(executive)
    response = client.get(PAGE)
    html = response.content.decode()
    v1 = deployed["v1"]
    assert '<a class="tile-value" href="#unapproved-production">3</a>' in html
    section = html.split('id="unapproved-production"')[1].split("</section>")[0]
    model_anchor = f"/projects/{project.slug}/#model-{v1.registered_model_id}-versions"
    assert f'<a href="{model_anchor}">fraud-model v1</a>' in section
    assert 'href="http://mlflow.example:5000/#/models/fraud-model/versions/1"' in section
    assert "alias “production”" in section and "approval status “Approved”" in section  # noqa: PT018
    assert f'datetime="{T0:%Y-%m-%dT%H:%M}' in section
    v4_request = SignOffRequest.objects.get(model_version=deployed["v4"])
    assert f'<a href="/governance/signoffs/{v4_request.pk}/">#{v4_request.pk} approved</a>' in section
    assert f'href="/governance/projects/{project.slug}/signoffs/new/">none requested</a>' in section


def test_a_team_lead_and_a_filter_count_only_their_projects(client, team_lead, executive, deployed):
    client.force_login(team_lead)
    assert client.get(PAGE).context["unapproved_count"] == 2  # Claims' v1 and v4, not Marketing's
    client.force_login(executive)
    assert client.get(PAGE, {"team": "marketing"}).context["unapproved_count"] == 1
    body = client.get("/api/v1/portfolio/summary", {"team": "claims"}).json()
    assert body["kpis"]["in_production_without_signoff"] == 2


def test_nothing_in_production_unapproved_says_so(client, executive, project):
    client.force_login(executive)
    html = client.get(PAGE).content.decode()
    assert "None: every model version serving production has a valid sign-off." in html
    assert '<li class="tile" id="tile-unapproved">' in html


def test_needs_attention_lists_each_kind_of_trouble_with_its_link(client, executive, team_lead, deployed, project):
    risk = RiskFactory(project=project, title="Drift", likelihood=4, impact=4)
    Risk.objects.filter(pk=risk.pk).update(review_overdue=True)
    Finding.objects.create(kind=FindingKind.VALUE_DECAY, severity=Severity.MEDIUM, title="Value below plan",
                           subject_type="projects.aiproject", subject_id=str(project.pk), project=project)  # fmt: skip
    Finding.objects.create(kind=FindingKind.UNOWNED_PRODUCTION_MODEL, severity=Severity.HIGH, title="orphan-model",
                           subject_type="projects.registeredmodel", subject_id="1")  # fmt: skip
    # The new risk changed what v2's approval was given against, so that approval is no longer valid.
    assert SignOffRequest.objects.get(model_version__version="2").status == SignOffStatus.INVALIDATED
    client.force_login(executive)
    items = {i["text"]: i["url"] for i in client.get(PAGE).context["attention"]}
    findings = "/governance/findings/?open=true&kind="
    assert items == {
        "4 model version(s) in production without a valid sign-off": "#unapproved-production",
        "1 risk review(s) overdue on 1 project(s)": "/governance/risks/?overdue=true",
        "1 project(s) with value below plan for months (value decay)": f"{findings}value_decay",
        "1 model(s) in production that no project owns": f"{findings}unowned_production_model",
    }
    # A team lead's list is about their teams: an unowned model is nobody's team's.
    client.force_login(team_lead)
    texts = [i["text"] for i in client.get(PAGE).context["attention"]]
    assert texts == [
        "3 model version(s) in production without a valid sign-off",
        "1 risk review(s) overdue on 1 project(s)",
        "1 project(s) with value below plan for months (value decay)",
    ]


def test_the_health_column_shows_each_projects_health_and_why(client, executive, deployed, project, other_project):
    client.force_login(executive)
    rows = {p.slug: p for p in client.get(PAGE).context["rows"]}
    assert rows[project.slug].health.status == Health.OFF_TRACK
    assert rows[project.slug].health.reasons[0] == "2 version(s) in production without a valid sign-off"
    html = client.get(PAGE).content.decode()
    assert '<span class="health health-off_track">Off track</span>' in html


D = Decimal


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({}, Health.ON_TRACK),
        ({"realised_pct": D("100")}, Health.ON_TRACK),
        ({"realised_pct": D("94.99")}, Health.AT_RISK),
        ({"realised_pct": D("79.99")}, Health.OFF_TRACK),
        ({"realised_pct": D("80")}, Health.AT_RISK),
        ({"overdue_reviews": 1}, Health.AT_RISK),
        ({"open_high_findings": 2}, Health.AT_RISK),
        ({"unapproved_production": 1, "realised_pct": D("120")}, Health.OFF_TRACK),
        ({"stage": Stage.PRODUCTION}, Health.AT_RISK),  # in production with no plan: value unknown
        ({"stage": Stage.IDEA}, Health.ON_TRACK),  # nothing is due yet
    ],
)
def test_project_health_follows_its_documented_rule(kwargs, status):
    args = {"stage": Stage.DEVELOPMENT, "realised_pct": None, "unapproved_production": 0, "overdue_reviews": 0,
            "open_high_findings": 0, **kwargs}  # fmt: skip
    health = project_health(**args)
    assert health.status == status
    assert bool(health.reasons) == (status != Health.ON_TRACK)
