"""The sign-off page's evidence: the decision form's warnings, the version's run and metrics against the
version in production, the computation beside each risk score, the author (or "unknown"), the hashes."""

from __future__ import annotations

import pytest

from governance.models import Finding, Obligation, Risk
from governance.risks.assessments import tier_assessment_submit
from governance.signoff import services as signoff_services
from projects.models import AuthorSource, LinkSource
from tests.query_counts import assert_queries, get_counting_queries
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, RegistryFactory, hold
from tests.risk_factories import RiskFactory
from tests.tier_answers import complete

pytestmark = pytest.mark.django_db
MINIMAL: dict = {}


@pytest.fixture
def model(project):
    registry = RegistryFactory(name="mlflow-prod", base_url="http://mlflow.example:5000")
    return RegisteredModelFactory(registry=registry, name="fraud-detector", project=project, link_source=LinkSource.TAG)


@pytest.fixture
def champion(model):
    v = ModelVersionFactory(
        registered_model=model, version="2", run_id="run2",
        metrics={"auc": {"value": 0.90, "timestamp": "", "step": 0}, "f1": {"value": 0.7}},
    )  # fmt: skip
    hold(v, "production", T0)
    return v


@pytest.fixture
def version(model, champion):
    v = ModelVersionFactory(
        registered_model=model, version="3", run_id="abc123", run_fetched_id="abc123", experiment_id="7",
        run_user_id="mira", run_status="FINISHED", run_started_at=T0, run_ended_at=T0, run_params_count=3,
        run_params={"depth": "6", "eta": "0.1", "rounds": "400"}, created_by="mira", author_source=AuthorSource.RUN,
        metrics={"auc": {"value": 0.93, "timestamp": "2025-11-03T09:00:00+00:00", "step": 4}},
    )  # fmt: skip
    hold(v, "challenger", T0)
    return v


def request_for(project, version, team_lead):
    tier_assessment_submit(by=team_lead, project=project, answers=complete(MINIMAL))
    return signoff_services.signoff_request(by=team_lead, version=version, justification="Better recall.")


def page(client, user, signoff):
    client.force_login(user)
    response = client.get(f"/governance/signoffs/{signoff.pk}/")
    assert response.status_code == 200
    return response


def test_the_decision_form_warns_of_overdue_reviews_open_high_findings_and_unmet_obligations(
    client, project, version, team_lead, risk_officer
):
    signoff = request_for(project, version, team_lead)
    assert page(client, risk_officer, signoff).context["warnings"] == []
    overdue = RiskFactory(project=project, title="Drift")
    Risk.objects.filter(pk=overdue.pk).update(review_overdue=True)
    for severity in ("high", "critical", "low"):
        Finding.objects.create(kind="value_decay", severity=severity, title=f"F {severity}", subject_type="x",
                               subject_id=severity, project=project)  # fmt: skip
    Obligation.objects.create(project=project, rule_id="dpia", status="unmet", facts_hash="h")

    response = page(client, risk_officer, signoff)

    warnings = [(w.text, w.url) for w in response.context["warnings"]]
    assert warnings == [
        ("1 risk review of this project is overdue.", f"/governance/projects/{project.slug}/risks/?overdue=true"),
        ("2 high or critical findings of this project are open.",
         f"/governance/findings/?project={project.slug}&open=true&severity=high&severity=critical"),
        ("1 compliance obligation of this project is unmet or has stale evidence.",
         f"/governance/projects/{project.slug}/compliance/"),
    ]  # fmt: skip
    html = response.content.decode()
    assert html.index("Before you decide") < html.index('action="/governance/signoffs/')


def test_the_versions_run_and_metrics_are_shown_against_the_version_in_production(
    client, project, version, champion, team_lead, risk_officer
):
    signoff = request_for(project, version, team_lead)
    response = page(client, risk_officer, signoff)
    ctx = response.context
    assert ctx["incumbent_version"] == champion
    assert ctx["incumbent"].name == "production"
    assert [(m.name, m.value, m.other, m.difference) for m in ctx["metric_rows"]] == [
        ("auc", 0.93, 0.90, 0.03), ("f1", None, 0.7, None),
    ]  # fmt: skip
    html = response.content.decode()
    assert 'href="http://mlflow.example:5000/#/models/fraud-detector/versions/3"' in html
    assert 'href="http://mlflow.example:5000/#/runs/abc123"' in html
    assert 'href="http://mlflow.example:5000/#/models/fraud-detector/versions/2"' in html
    assert "+0.03" in html
    assert "depth=6" in html
    assert "from the run that produced it" in html


def test_without_a_version_in_production_there_is_nothing_to_compare(client, project, model, team_lead, risk_officer):
    lone = ModelVersionFactory(registered_model=model, version="9", tags={"metric.auc": "0.8"})
    response = page(client, risk_officer, request_for(project, lone, team_lead))
    assert response.context["incumbent_version"] is None
    assert [(m.name, m.value, m.other) for m in response.context["metric_rows"]] == [("auc", "0.8", None)]
    assert "nothing to compare with" in response.content.decode()


def test_every_risk_score_shows_its_computation(client, project, version, team_lead, risk_officer):
    RiskFactory(project=project, title="Postcode bias", likelihood=4, impact=4)
    html = page(client, risk_officer, request_for(project, version, team_lead)).content.decode()
    assert html.count("Likely (4) × Major (4) = 16: High (10–16), review every 90 days") == 2  # inherent, residual


def test_an_unknown_author_is_shown_as_unknown_with_the_extra_approver(client, project, model, team_lead, risk_officer):
    anonymous = ModelVersionFactory(registered_model=model, version="5", created_by="")
    html = page(client, risk_officer, request_for(project, anonymous, team_lead)).content.decode()
    assert '<dd id="version-author"><strong>unknown</strong>' in html
    assert "needs one more distinct approver than its policy asks" in html
    assert "2 distinct approvers: the version's author is unknown" in html
    assert "Waiting for: Risk Officer, 1 more distinct approver (the version&#x27;s author is unknown)" in html


def test_the_fingerprint_hash_is_one_monospace_block(client, project, version, team_lead, risk_officer):
    signoff = request_for(project, version, team_lead)
    html = page(client, risk_officer, signoff).content.decode()
    assert f'<pre class="hash" id="fingerprint-hash">{signoff.fingerprint_hash}</pre>' in html


def test_the_request_page_costs_the_same_queries_with_1_or_50_risks_and_metrics(
    client, project, model, champion, team_lead, risk_officer
):
    def measure(n: int, version_name: str):
        version = ModelVersionFactory(
            registered_model=model, version=version_name,
            metrics={f"m{i:02d}": {"value": i / 100} for i in range(n)},
        )  # fmt: skip
        signoff = request_for(project, version, team_lead)
        for i in range(n):
            RiskFactory(project=project, title=f"Risk {version_name}-{i}")
        Risk.objects.filter(project=project).update(review_overdue=True)
        client.force_login(risk_officer)
        count, response = get_counting_queries(client, f"/governance/signoffs/{signoff.pk}/")
        assert len(response.context["metric_rows"]) == n + 2  # and the champion's auc and f1
        signoff_services.signoff_withdraw(by=team_lead, request=signoff)
        return count

    small = measure(1, "10")
    large = measure(50, "11")
    assert_queries(small, large, what="the sign-off page at 1 risk and 1 metric, then 51 and 50")
