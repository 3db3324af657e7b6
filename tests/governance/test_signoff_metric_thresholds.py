"""Metric requirements in sign-off policies: met / not met / unknown, the gate's reasons, the flag and the
finding when a synced metric breaches, and re-evaluation when a new threshold is published."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils.html import escape

from governance.models import AuditEvent, Finding, FindingKind, MetricRequirement, SignOffPolicy
from governance.signoff import services as signoff_services
from governance.signoff import thresholds
from projects.models import MetricSource, VersionMetric
from tests.registry_factories import RegistryFactory
from tests.signoff_factories import (
    approved_request,
    assess,
    new_signing_key_pem,
    pending_request,
    remote_snapshot,
    sync,
    synced_version,
)

pytestmark = pytest.mark.django_db
GATE = "/api/v1/gate"
POLICIES = "/api/v1/signoff-policies/"
AUC = {"metric": "auc", "direction": "higher", "threshold": 0.75}


@pytest.fixture(autouse=True)
def gate_key(settings):
    settings.KEEL_GATE_SIGNING_KEY = new_signing_key_pem()


def metric(value, ts="2026-11-01T00:00:00+00:00") -> dict:
    return {"value": value, "timestamp": ts, "step": 0}


def publish(*requirements, tier="minimal"):
    return signoff_services.signoff_policy_publish(
        by=None, tier=tier, required_roles=["Risk Officer"], min_approvers=1, recertify_days=None,
        metric_requirements=list(requirements),
    )  # fmt: skip


def ask_gate(client, user, version) -> dict:
    client.force_login(user)
    model = version.registered_model
    response = client.get(
        GATE, {"registry": model.registry.name, "model": model.name, "version": version.version,
               "environment": "production"},
    )  # fmt: skip
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("auc >= 0.75", [("auc", "higher", 0.75, "")]),
        (
            "log_loss <= 0.3 on holdout\n\nauc ≥ 0.8",
            [("log_loss", "lower", 0.3, "holdout"), ("auc", "higher", 0.8, "")],
        ),
    ],
)
def test_requirement_lines_are_read_with_their_direction_and_dataset(text, expected):
    parsed = thresholds.requirements_parse(text)
    assert [(r["metric"], r["direction"], r["threshold"], r["dataset_name"]) for r in parsed] == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("auc > 0.75", thresholds.REQUIREMENT_LINE.format(n=1)),
        ("auc >= nan", thresholds.REQUIREMENT_THRESHOLD),
        ("auc >= 0.7\nauc >= 0.8", thresholds.REQUIREMENT_TWICE.format(metric="auc")),
    ],
)
def test_a_bad_requirement_line_is_refused_with_the_reason(text, message):
    with pytest.raises(ValidationError) as caught:
        thresholds.requirements_parse(text)
    assert caught.value.message_dict == {"metric_requirements": [message]}


def test_each_requirement_is_met_not_met_or_unknown_and_the_worst_dataset_decides():
    policy = SignOffPolicy(tier="minimal", version=9)
    reqs = [
        MetricRequirement(policy=policy, metric="auc", direction="higher", threshold=0.75),
        MetricRequirement(policy=policy, metric="dpd", direction="lower", threshold=0.1),
        MetricRequirement(policy=policy, metric="recall", direction="higher", threshold=0.5, dataset_name="holdout"),
    ]
    rows = [
        VersionMetric(key="auc", dataset_name="train", value=0.9),
        VersionMetric(key="auc", dataset_name="holdout", value=0.7),
        VersionMetric(key="recall", dataset_name="train", value=0.9),
    ]
    results = thresholds.evaluate(reqs, rows)
    assert [(r.status, r.value, r.dataset_name) for r in results] == [
        ("not_met", 0.7, "holdout"), ("unknown", None, ""), ("unknown", None, ""),
    ]  # fmt: skip
    assert results[0].message == "auc on holdout is 0.7, which does not meet auc ≥ 0.75 (policy v9)."
    assert results[1].message == "dpd is unknown: the registry gave no value, so dpd ≤ 0.1 is not met."


def test_a_missing_metric_denies_the_gate_as_unknown(client, project, team_lead, risk_officer):
    assess(project, "minimal")
    publish(AUC)
    version = synced_version(RegistryFactory(), project, metrics={"log_loss": metric(0.2)})
    request = approved_request(version, team_lead, risk_officer)

    answer = ask_gate(client, team_lead, version)

    assert answer["allowed"] is False
    assert answer["reasons"] == [
        {"code": "metric_unknown", "message": "auc is unknown: the registry gave no value, so auc ≥ 0.75 is not met."}
    ]
    # Unknown flags the request (it cannot pass the gate) but is no measured breach: no finding.
    request.refresh_from_db()
    assert request.metrics_flag.startswith("auc is unknown")
    assert not Finding.objects.filter(kind=FindingKind.METRIC_THRESHOLD_BREACHED).exists()


def test_a_synced_breaching_metric_flags_the_signoff_opens_a_finding_and_denies_the_gate(
    client, project, team_lead, risk_officer
):
    assess(project, "minimal")
    publish(AUC)
    registry = RegistryFactory()
    version = synced_version(registry, project, metrics={"auc": metric(0.9)})
    assert VersionMetric.objects.get(version=version).source == MetricSource.REGISTRY
    request = approved_request(version, team_lead, risk_officer)
    assert ask_gate(client, team_lead, version)["allowed"] is True

    sync(
        registry,
        remote_snapshot(project, versions={"1": {"metrics": {"auc": metric(0.6, "2026-11-02T00:00:00+00:00")}}}),
    )

    request.refresh_from_db()
    assert request.status == "approved"
    assert request.metrics_flag == "auc is 0.6, which does not meet auc ≥ 0.75 (policy v2)."
    [finding] = Finding.objects.filter(kind=FindingKind.METRIC_THRESHOLD_BREACHED, resolved_at=None)
    assert (finding.subject_id, finding.project, finding.assignee) == (str(version.pk), project, project.owner)
    answer = ask_gate(client, team_lead, version)
    assert [r["code"] for r in answer["reasons"]] == ["metric_requirement_not_met"]
    metrics_event = AuditEvent.objects.filter(action="model_version.metrics_synced").order_by("-seq").first()
    assert (metrics_event.before, metrics_event.after) == ({"auc": 0.9}, {"auc": 0.6})
    assert AuditEvent.objects.filter(action="signoff.metrics_flagged", object_id=str(request.pk)).exists()
    assert AuditEvent.objects.filter(action="finding.opened", object_id=str(finding.pk)).exists()


def test_publishing_a_stricter_threshold_re_evaluates_open_requests(client, project, team_lead, risk_officer):
    assess(project, "minimal")
    version = synced_version(RegistryFactory(), project, metrics={"auc": metric(0.8)})
    request = pending_request(version, team_lead)
    assert request.metrics_flag == ""

    client.force_login(risk_officer)
    response = client.post(
        POLICIES,
        {"tier": "minimal", "required_roles": ["Risk Officer"], "min_approvers": 1,
         "metric_requirements": [{**AUC, "threshold": 0.85}]},
        content_type="application/json",
    )  # fmt: skip

    assert response.status_code == 201, response.content
    assert response.json()["metric_requirements"] == [
        {"metric": "auc", "direction": "higher", "threshold": 0.85, "dataset_name": ""}
    ]
    request.refresh_from_db()
    assert request.metrics_flag == "auc is 0.8, which does not meet auc ≥ 0.85 (policy v2)."
    assert Finding.objects.filter(kind=FindingKind.METRIC_THRESHOLD_BREACHED, resolved_at=None).count() == 1
    event = AuditEvent.objects.get(action="signoff_policy.metric_requirements")
    assert event.after == {"metric_requirements": ["auc ≥ 0.85"]}

    # Relaxed again: the flag clears and the finding resolves.
    publish({**AUC, "threshold": 0.7})
    request.refresh_from_db()
    assert request.metrics_flag == ""
    assert not Finding.objects.filter(kind=FindingKind.METRIC_THRESHOLD_BREACHED, resolved_at=None).exists()


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        ({"metric": "auc", "direction": "sideways", "threshold": 0.7}, "is not a valid choice"),
        ({"metric": "auc", "direction": "higher", "threshold": "high"}, "A valid number is required"),
        ({"metric": "", "direction": "higher", "threshold": 0.7}, "may not be blank"),
    ],
)
def test_a_bad_requirement_in_the_api_is_a_400_and_publishes_nothing(client, risk_officer, requirement, message):
    client.force_login(risk_officer)
    before = SignOffPolicy.objects.count()
    response = client.post(
        POLICIES,
        {"tier": "minimal", "required_roles": ["Risk Officer"], "min_approvers": 1,
         "metric_requirements": [requirement]},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400
    assert message in response.content.decode()
    assert SignOffPolicy.objects.count() == before


def test_the_signoff_page_shows_each_requirement_met_or_not_and_the_flag(client, project, team_lead, risk_officer):
    assess(project, "minimal")
    publish(AUC, {"metric": "dpd", "direction": "lower", "threshold": 0.1})
    version = synced_version(RegistryFactory(), project, metrics={"auc": metric(0.8)})
    request = pending_request(version, team_lead)

    client.force_login(risk_officer)
    page = client.get(f"/governance/signoffs/{request.pk}/").content.decode()

    assert 'id="metrics-flag"' in page
    assert '<tr class="requirement-met">\n      <th scope="row">auc ≥ 0.75</th>' in page
    assert '<tr class="requirement-unknown">\n      <th scope="row">dpd ≤ 0.1</th>' in page
    assert "Unknown (treated as not met)" in page
    assert '<table class="table compact" id="version-metrics"' in page
    assert '<td class="num">0.8000</td>' in page


def test_the_policy_form_publishes_requirements_and_shows_a_bad_line(client, risk_officer):
    client.force_login(risk_officer)
    data = {"tier": "limited", "required_roles": ["Risk Officer"], "min_approvers": 1, "approvable": "on"}
    bad = client.post("/governance/signoffs/policies/publish/", {**data, "metric_requirements": "auc is good"})
    assert bad.status_code == 200
    assert escape(thresholds.REQUIREMENT_LINE.format(n=1)) in bad.content.decode()

    good = client.post("/governance/signoffs/policies/publish/", {**data, "metric_requirements": "auc >= 0.7"})

    assert good.status_code == 302
    policy = SignOffPolicy.objects.filter(tier="limited").order_by("-version").first()
    assert [str(r) for r in policy.metric_requirements.all()] == ["auc ≥ 0.7"]
    listing = client.get("/governance/signoffs/policies/").content.decode()
    assert '<span class="requirement">auc ≥ 0.7</span>' in listing
