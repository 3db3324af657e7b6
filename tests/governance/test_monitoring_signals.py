"""Monitoring signals (#17): the webhook's JSON form, its refusals and permissions, a breach opening a finding
and flagging or invalidating the sign-off, a stale signal opening a finding (the beat task), the project's
monitoring tab with its chart and plan, and data-quality facets of OpenLineage reaching a deployed version.
The real Evidently report is posted in tests/integration/test_evidently_signals.py."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from core.roles import Role
from core.services import api_token_create
from governance.models import (
    AuditEvent,
    BreachAction,
    Finding,
    FindingKind,
    MonitoringPlanItem,
    MonitoringSignal,
)
from governance.monitoring import evidently
from governance.monitoring.services import monitoring_plan_item_save, signals_check_stale
from governance.signoff import gate
from tests.factories import make_user
from tests.registry_factories import hold
from tests.signoff_factories import approved_request, assess, linked_version

pytestmark = pytest.mark.django_db

URL = "/api/v1/signals"
NOW = dt.datetime(2026, 11, 3, 10, 0, tzinfo=dt.UTC)


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=user, name='monitor')[1]}"}


def post(client, body, auth: dict, query: str = ""):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(f"{URL}{query}", data=data, content_type="application/json", **auth)


def form(version, *signals) -> dict:
    registered = version.registered_model
    return {"registry": registered.registry.name, "model": registered.name, "version": version.version,
            "signals": list(signals)}  # fmt: skip


def value(name: str, v, at: dt.datetime | None = None, **extra) -> dict:
    return {"name": name, "value": v, **({"measured_at": at.isoformat()} if at else {}), **extra}


def plan(project, lead, name: str, **fields) -> MonitoringPlanItem:
    return monitoring_plan_item_save(project=project, by=lead, data={"name": name, **fields})


def open_findings(kind: str) -> list[Finding]:
    return list(Finding.objects.filter(kind=kind, resolved_at=None))


@pytest.fixture
def version(project):
    return linked_version(project, model="fraud-model", version="7")


# --- the JSON form -------------------------------------------------------------------------------------


def test_the_json_form_records_each_value_once_with_one_audit_event(client, team_lead, version):
    auth = bearer(team_lead)
    body = form(version, value("psi.amount", 0.12, NOW, kind="drift"), value("auc", 0.81, NOW, kind="performance"))
    response = post(client, body, auth)
    assert response.status_code == 201, response.json()
    assert (response.json()["recorded"], response.json()["duplicates"], response.json()["source"]) == (2, 0, "webhook")
    rows = {s.name: s for s in MonitoringSignal.objects.filter(model_version=version)}
    assert (rows["psi.amount"].value, rows["psi.amount"].kind, rows["psi.amount"].measured_at) == (0.12, "drift", NOW)
    assert (rows["auc"].project_id, rows["auc"].received_by_id) == (version.registered_model.project_id, team_lead.pk)
    [event] = AuditEvent.objects.filter(action="monitoring.signals_recorded")
    assert (event.object_type, event.object_id) == ("projects.modelversion", str(version.pk))
    assert event.actor_id == team_lead.pk
    assert (event.after["recorded"], event.after["names"]) == (2, ["auc", "psi.amount"])
    again = post(client, body, auth)
    assert (again.status_code, again.json()["recorded"], again.json()["duplicates"]) == (201, 0, 2)
    assert MonitoringSignal.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ([1, 2], "non_field_errors", "The body must be a JSON object"),
        ({"signals": [value("x", 1)]}, "registry", "This field is required."),
        ("EMPTY", "signals", "This list may not be empty."),
        ("NOT_A_NUMBER", "signals", "A valid number is required."),
        ("FUTURE", "signals[0].measured_at", "is in the future"),
        ("BAD_KIND", "signals", "is not a valid choice"),
        ("TOO_OLD", "signals[0].measured_at", "is before 2000-01-01, the first date Keel accepts"),
        ("INFINITE", "signals", "A valid number is required."),
        ("FAR_INSTANT", "signals", "Datetime value out of range."),
    ],
    ids=[
        "array",
        "no-version-reference",
        "empty",
        "string-value",
        "future",
        "bad-kind",
        "too-old",
        "infinite",
        "unrepresentable",
    ],
)
def test_a_refused_post_says_which_field_and_records_nothing(client, team_lead, version, body, field, message):
    bodies = {
        "EMPTY": form(version),
        "NOT_A_NUMBER": form(version, value("psi", "high")),
        "FUTURE": form(version, value("psi", 0.1, timezone.now() + dt.timedelta(days=2))),
        "BAD_KIND": form(version, value("psi", 0.1, kind="vibes")),
        "TOO_OLD": form(version, value("psi", 0.1, dt.datetime(1999, 12, 31, tzinfo=dt.UTC))),
        # Python's JSON reads 1e309 as infinity (json.dumps would write the Infinity token, refused as malformed).
        "INFINITE": json.dumps(form(version, value("psi", "INF"))).replace('"INF"', "1e309"),
        "FAR_INSTANT": form(version, {"name": "psi", "value": 1, "measured_at": "9999-12-31T23:59:59-05:00"}),
    }
    response = post(client, bodies[body] if isinstance(body, str) else body, bearer(team_lead))
    assert response.status_code == 400, response.json()
    assert message in json.dumps(response.json()[field])
    assert not MonitoringSignal.objects.exists()
    assert not AuditEvent.objects.filter(action="monitoring.signals_recorded").exists()


def test_an_unknown_version_is_a_400_naming_the_reference(client, team_lead, version):
    body = form(version, value("psi", 0.1))
    body["version"] = "99"
    response = post(client, body, bearer(team_lead))
    assert response.status_code == 400
    assert response.json()["code"] == "version_not_found"
    assert "'99' of model 'fraud-model' in registry" in response.json()["detail"]


def test_the_query_and_the_body_may_not_name_two_versions(client, team_lead, version):
    response = post(client, form(version, value("psi", 0.1)), bearer(team_lead), query="?version=8")
    assert response.status_code == 400
    assert "The query says version='8' but the body says '7'" in response.json()["version"][0]


def test_who_may_post_signals(client, version, executive, risk_officer, other_lead, admin_user):
    body = form(version, value("psi", 0.1, NOW))
    assert post(client, body, {}).status_code == 401
    assert post(client, body, bearer(executive)).status_code == 403
    assert post(client, body, bearer(risk_officer)).status_code == 403
    # Another team's lead does not see the version at all: the same answer as an unknown one.
    assert post(client, body, bearer(other_lead)).json()["code"] == "version_not_found"
    assert post(client, body, bearer(admin_user)).status_code == 201
    assert client.get(URL, **bearer(admin_user)).status_code == 405


def test_a_version_without_a_project_is_refused(client, admin_user):
    from tests.signoff_factories import unlinked_version

    orphan = unlinked_version(model="orphan", version="1")
    response = post(client, form(orphan, value("psi", 0.1)), bearer(admin_user))
    assert (response.status_code, response.json()["code"]) == (400, "no_project")


# --- breaches ------------------------------------------------------------------------------------------


@pytest.fixture
def approved(team_lead, project, risk_officer, version):
    assess(project, "minimal")
    return approved_request(version, team_lead, risk_officer)


def test_a_breach_invalidates_the_signoff_by_plan_and_a_value_within_bounds_resolves_the_finding(
    client, team_lead, project, version, approved
):
    item = plan(project, team_lead, "psi.amount", kind="drift", upper=0.2, on_breach=BreachAction.INVALIDATE)
    auth = bearer(team_lead)
    response = post(client, form(version, value("psi.amount", 0.31, NOW)), auth)
    assert response.json()["breached"] == ["psi.amount"]
    [finding] = open_findings(FindingKind.SIGNAL_BREACHED)
    assert (finding.subject_type, finding.subject_id) == ("governance.monitoringplanitem", f"{item.pk}:{version.pk}")
    assert finding.title == "psi.amount out of bounds on fraud-model v7 (Fraud scoring)"
    assert "was 0.31 at 2026-11-03 10:00 UTC; the monitoring plan of Fraud scoring expects at most 0.2." in (
        finding.detail
    )
    assert f"Invalidated: sign-off #{approved.pk}." in finding.detail
    approved.refresh_from_db()
    assert approved.status == "invalidated"
    assert "psi.amount of fraud-model v7 was 0.31" in approved.status_reason
    assert not gate.evaluate(user=team_lead, registry=version.registered_model.registry.name, model="fraud-model",
                             environment="production", version="7").allowed  # fmt: skip
    assert MonitoringSignal.objects.get().breached is True
    # Another breaching value: still one finding.
    post(client, form(version, value("psi.amount", 0.4, NOW + dt.timedelta(hours=1))), auth)
    assert len(open_findings(FindingKind.SIGNAL_BREACHED)) == 1
    # An older value within bounds arriving late does not resolve it; a newer one does.
    post(client, form(version, value("psi.amount", 0.1, NOW - dt.timedelta(hours=1))), auth)
    assert len(open_findings(FindingKind.SIGNAL_BREACHED)) == 1
    post(client, form(version, value("psi.amount", 0.1, NOW + dt.timedelta(hours=2))), auth)
    assert open_findings(FindingKind.SIGNAL_BREACHED) == []
    assert Finding.objects.get(pk=finding.pk).resolution.startswith("psi.amount is 0.1 at")


def test_a_breach_flags_the_signoff_for_review_by_default_and_it_stays_approved(
    client, team_lead, project, version, approved
):
    plan(project, team_lead, "fairness.dpd", kind="fairness", lower=-0.1, upper=0.1)
    post(client, form(version, value("fairness.dpd", -0.25, NOW)), bearer(team_lead))
    approved.refresh_from_db()
    assert approved.status == "approved"
    [flag] = AuditEvent.objects.filter(action="signoff.flagged_for_review")
    assert (flag.object_id, flag.after["signal"], flag.after["value"]) == (str(approved.pk), "fairness.dpd", -0.25)
    [finding] = open_findings(FindingKind.SIGNAL_BREACHED)
    assert f"Flagged for re-review: sign-off #{approved.pk}." in finding.detail
    assert (finding.assignee_id, finding.severity) == (team_lead.pk, "medium")


def test_a_new_threshold_evaluates_the_latest_value_at_once(client, team_lead, project, version):
    post(client, form(version, value("auc", 0.62, NOW)), bearer(team_lead))
    assert open_findings(FindingKind.SIGNAL_BREACHED) == []
    item = plan(project, team_lead, "auc", kind="performance", lower=0.7, on_breach=BreachAction.FINDING)
    [finding] = open_findings(FindingKind.SIGNAL_BREACHED)
    assert "expects at least 0.7" in finding.detail
    assert AuditEvent.objects.filter(action="monitoring.plan_item_added", object_id=str(item.pk)).exists()
    plan(project, team_lead, "auc", lower=0.6)  # the same name changes the item
    assert open_findings(FindingKind.SIGNAL_BREACHED) == []
    assert AuditEvent.objects.get(action="monitoring.plan_item_changed").after == {"lower": 0.6}


# --- staleness -----------------------------------------------------------------------------------------


def test_a_signal_that_stops_arriving_on_a_production_version_opens_a_finding(client, team_lead, project, version):
    now = timezone.now()
    hold(version, "champion", now - dt.timedelta(days=5))
    item = plan(project, team_lead, "psi.amount", upper=0.2, expected_every_hours=24)
    MonitoringPlanItem.objects.filter(pk=item.pk).update(created_at=now - dt.timedelta(days=5))
    post(client, form(version, value("psi.amount", 0.1, now - dt.timedelta(hours=30))), bearer(team_lead))
    assert signals_check_stale(now=now) == {"opened": 1, "resolved": 0}
    [finding] = open_findings(FindingKind.SIGNAL_STALE)
    assert finding.title == "psi.amount stopped arriving for fraud-model v7 (Fraud scoring)"
    assert "at least every 24 h; it was last measured" in finding.detail
    assert signals_check_stale(now=now) == {"opened": 0, "resolved": 0}  # idempotent
    post(client, form(version, value("psi.amount", 0.11, now - dt.timedelta(minutes=5))), bearer(team_lead))
    assert open_findings(FindingKind.SIGNAL_STALE) == []
    assert signals_check_stale(now=now) == {"opened": 0, "resolved": 0}


def test_a_planned_signal_never_received_is_stale_only_on_versions_in_production(team_lead, project, version):
    now = timezone.now()
    item = plan(project, team_lead, "rows", expected_every_hours=1)
    MonitoringPlanItem.objects.filter(pk=item.pk).update(created_at=now - dt.timedelta(hours=3))
    assert signals_check_stale(now=now) == {"opened": 0, "resolved": 0}  # not deployed
    observation = hold(version, "champion", now - dt.timedelta(hours=2))
    assert signals_check_stale(now=now)["opened"] == 1
    assert "it was never measured" in open_findings(FindingKind.SIGNAL_STALE)[0].detail
    observation.observed_until = now
    observation.save()
    assert signals_check_stale(now=now) == {"opened": 0, "resolved": 1}


def test_beat_schedules_the_stale_check():
    from config.celery import app
    from governance import tasks

    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert schedule["keel-check-stale-signals"]["task"] == tasks.check_stale_signals.name


# --- Evidently's format, unit level --------------------------------------------------------------------


def test_an_evidently_report_flattens_metric_values_and_test_verdicts():
    body = {
        "metrics": [
            {"id": "a1", "metric_name": "DriftedColumnsCount(drift_share=0.5)",
             "config": {"type": "evidently:metric_v2:DriftedColumnsCount"}, "value": {"count": 1.0, "share": 0.5}},
            {"id": "b2", "metric_name": "RowCount()", "config": {"type": "evidently:metric_v2:RowCount"},
             "value": 200},
            {"id": "c3", "metric_name": "Accuracy()", "config": {"type": "evidently:metric_v2:Accuracy"},
             "value": "n/a"},
        ],
        "tests": [{"name": "Share of Drifted Columns: Less 0.500", "status": "FAIL",
                   "metric_config": {"metric_id": "a1"}},
                  {"name": "Row count", "status": "SUCCESS", "metric_config": {"metric_id": "b2"}},
                  {"name": "broken", "status": "ERROR", "metric_config": {"metric_id": "b2"}}],
    }  # fmt: skip
    got = [(v.name, v.value, v.kind) for v in evidently.report_values(body)]
    assert got == [
        ("DriftedColumnsCount(drift_share=0.5).count", 1.0, "drift"),
        ("DriftedColumnsCount(drift_share=0.5).share", 0.5, "drift"),
        ("RowCount()", 200.0, "data_quality"),
        ("test:Share of Drifted Columns: Less 0.500", 0.0, "drift"),
        ("test:Row count", 1.0, "data_quality"),
        ("tests.failed", 1.0, "other"),
    ]


def test_an_evidently_report_from_before_0_7_is_refused_by_name(client, team_lead, version):
    old = {"metrics": [{"metric": "DatasetDriftMetric", "result": {"drift_share": 0.5}}]}
    query = f"?registry={version.registered_model.registry.name}&model=fraud-model&version=7"
    response = post(client, old, bearer(team_lead), query=query)
    assert (response.status_code, response.json()["code"]) == (400, "report_unreadable")
    assert "before 0.7" in response.json()["detail"]


# --- the project's monitoring tab ----------------------------------------------------------------------


def test_the_monitoring_tab_draws_each_signal_with_its_bounds(client, team_lead, executive, project, version):
    plan(project, team_lead, "psi.amount", kind="drift", lower=0.0, upper=0.2)
    now = timezone.now()
    post(client, form(version, value("psi.amount", 0.1, now - dt.timedelta(days=1)),
                      value("psi.amount", 0.3, now - dt.timedelta(hours=1)), value("rows", 1200, now)),
         bearer(team_lead))  # fmt: skip
    client.force_login(executive)
    response = client.get(f"/governance/projects/{project.slug}/monitoring/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/governance/projects/fraud-scoring/monitoring/"' in html  # the tab
    assert "Save to the plan" not in html  # an executive reads, does not edit
    figure = json.loads(html.split('id="signal-chart-0-data" type="application/json">')[1].split("</script>")[0])
    [line] = figure["data"]
    assert (line["name"], line["y"], line["marker"]["symbol"]) == ("fraud-model v7", [0.1, 0.3], ["circle", "x"])
    assert [s["y0"] for s in figure["layout"]["shapes"]] == [0.0, 0.2]
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["lower bound 0", "upper bound 0.2"]
    assert "Not on the plan: no bounds, no staleness check." in html  # "rows" arrived but is not planned
    assert "psi.amount out of bounds on fraud-model v7" in html  # the open finding, linked


def test_a_team_lead_adds_a_signal_to_the_plan_from_the_page(client, team_lead, other_lead, project):
    url = f"/governance/projects/{project.slug}/monitoring/"
    data = {"name": "psi.amount", "kind": "drift", "upper": "0.2", "expected_every_hours": "24", "on_breach": "flag"}
    client.force_login(other_lead)
    assert client.post(url, data).status_code == 404  # not their project: not even visible
    client.force_login(team_lead)
    response = client.post(url, data)
    assert response.status_code == 302
    item = MonitoringPlanItem.objects.get(project=project)
    assert (item.upper, item.expected_every_hours, item.on_breach) == (0.2, 24, "flag")
    bad = client.post(url, {**data, "lower": "0.5"})
    assert bad.status_code == 400
    assert "The lower bound must not be above the upper bound." in bad.content.decode()
    reader = make_user("reader", Role.EXECUTIVE)
    client.force_login(reader)
    assert client.post(url, data).status_code == 403
    client.force_login(team_lead)
    assert client.post(f"/governance/monitoring/plan/{item.pk}/delete/").status_code == 302
    assert not MonitoringPlanItem.objects.exists()
    assert AuditEvent.objects.filter(action="monitoring.plan_item_removed", object_id=str(item.pk)).exists()


# --- OpenLineage data-quality facets -------------------------------------------------------------------


def _dq_facet(name: str, body: dict) -> dict:
    return {"_producer": "https://example.org/dq", "_schemaURL": f"https://openlineage.io/spec/facets/1-0-0/{name}.json",
            **body}  # fmt: skip


def test_data_quality_facets_of_a_dataset_feeding_a_deployed_version_become_signals(
    client, team_lead, project, version
):
    from tests.lineage_events import PG, event
    from tests.lineage_events import post as post_lineage

    hold(version, "champion", timezone.now() - dt.timedelta(days=1))
    plan(project, team_lead, "crm.transactions.amount.nullCount", kind="data_quality", upper=10)
    metrics = _dq_facet(
        "DataQualityMetricsInputDatasetFacet",
        {"rowCount": 5000, "columnMetrics": {"amount": {"nullCount": 42, "distinctCount": 900}}},
    )
    assertions = _dq_facet(
        "DataQualityAssertionsDatasetFacet",
        {
            "assertions": [
                {"assertion": "not_null", "success": False, "column": "amount"},
                {"assertion": "unique", "success": True},
            ]
        },
    )
    body = event(
        eventTime="2026-11-02T06:00:00Z",
        inputs=[{"namespace": PG, "name": "crm.transactions",
                 "inputFacets": {"dataQualityMetrics": metrics, "dataQualityAssertions": assertions}}],
        outputs=[{"namespace": "mlflow", "name": "models:/fraud-model/7"}],
    )  # fmt: skip
    client.force_login(team_lead)
    response = post_lineage(client, body)
    assert response.status_code == 201, response.json()
    got = dict(MonitoringSignal.objects.filter(model_version=version).values_list("name", "value"))
    assert got == {
        "crm.transactions.rowCount": 5000.0,
        "crm.transactions.amount.nullCount": 42.0,
        "crm.transactions.amount.distinctCount": 900.0,
        "crm.transactions.assertion:not_null.amount": 0.0,
        "crm.transactions.assertion:unique": 1.0,
        "crm.transactions.assertions.failed": 1.0,
        "crm.transactions.assertions.total": 2.0,
    }
    assert set(MonitoringSignal.objects.values_list("source", "kind", "measured_at")) == {
        ("openlineage", "data_quality", dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC))
    }
    [finding] = open_findings(FindingKind.SIGNAL_BREACHED)
    assert finding.title == "crm.transactions.amount.nullCount out of bounds on fraud-model v7 (Fraud scoring)"
    recorded = AuditEvent.objects.get(action="monitoring.signals_recorded")
    assert (recorded.actor_id, recorded.after["source"]) == (team_lead.pk, "openlineage")


def test_data_quality_facets_reaching_no_deployed_version_record_nothing(client, team_lead, version):
    from tests.lineage_events import PG, event
    from tests.lineage_events import post as post_lineage

    metrics = _dq_facet("DataQualityMetricsInputDatasetFacet", {"rowCount": 5, "columnMetrics": {}})
    body = event(inputs=[{"namespace": PG, "name": "crm.t", "inputFacets": {"dataQualityMetrics": metrics}}],
                 outputs=[{"namespace": "mlflow", "name": "models:/fraud-model/7"}])  # fmt: skip
    client.force_login(team_lead)
    assert post_lineage(client, body).status_code == 201
    assert not MonitoringSignal.objects.exists()  # version 7 holds no alias, stage or approval


# --- registry run metrics ------------------------------------------------------------------------------


def test_a_synced_version_s_planned_run_metrics_become_signals_and_a_breach_opens_a_finding(team_lead, project):
    from tests.registry_factories import RegistryFactory
    from tests.signoff_factories import synced_version

    plan(project, team_lead, "auc", kind="performance", lower=0.75, on_breach=BreachAction.FINDING)
    registry = RegistryFactory()
    metrics = {"auc": {"value": 0.71, "timestamp": "2026-11-01T08:00:00+00:00", "step": 0},
               "loss": {"value": 0.3, "timestamp": "2026-11-01T08:00:00+00:00", "step": 0}}  # fmt: skip
    version = synced_version(registry, project, model="scorer", version="2", metrics=metrics)
    [signal] = MonitoringSignal.objects.filter(model_version=version)  # "loss" is on no plan: not copied
    assert (signal.name, signal.value, signal.source, signal.measured_at) == (
        "auc", 0.71, "registry", dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC),
    )  # fmt: skip
    [finding] = open_findings(FindingKind.SIGNAL_BREACHED)
    assert finding.title == "auc out of bounds on scorer v2 (Fraud scoring)"


def test_the_monitoring_tab_costs_the_same_queries_at_1_and_40_signals(client, team_lead, project, version):
    from governance.monitoring.services import SignalIn, signals_record
    from tests.query_counts import assert_queries, get_counting_queries

    url = f"/governance/projects/{project.slug}/monitoring/"
    now = timezone.now()
    plan(project, team_lead, "psi.amount", upper=0.2)
    signals_record(version=version, signals=[SignalIn("psi.amount", 0.1, now)], source="webhook", by=team_lead)
    client.force_login(team_lead)
    small, _ = get_counting_queries(client, url)
    other = linked_version(project, model="fraud-model", version="8")
    for n in range(1, 5):
        plan(project, team_lead, f"metric{n}", upper=100 + n)
    for v in (version, other):
        signals_record(version=v, source="webhook", by=team_lead, signals=[
            SignalIn(f"metric{n % 5}", float(n), now - dt.timedelta(hours=n)) for n in range(1, 21)])  # fmt: skip
    large, response = get_counting_queries(client, url)
    assert len(response.context["panels"]) == 6  # five planned (psi.amount, metric1-4) and metric0, unplanned
    assert_queries(small, large, what="the monitoring tab at 1 and 41 signals")


def test_the_signals_api_lists_the_callers_scope_newest_first_and_filters(client, team_lead, other_lead, version):
    post(client, form(version, value("psi", 0.1, NOW), value("psi", 0.2, NOW + dt.timedelta(hours=1)),
                      value("auc", 0.8, NOW)), bearer(team_lead))  # fmt: skip
    client.force_login(team_lead)
    body = client.get("/api/v1/monitoring-signals/", {"name": "psi"}).json()
    assert [(r["name"], r["value"], r["model"], r["version"], r["project"]) for r in body["results"]] == [
        ("psi", 0.2, "fraud-model", "7", "fraud-scoring"), ("psi", 0.1, "fraud-model", "7", "fraud-scoring"),
    ]  # fmt: skip
    client.force_login(other_lead)
    assert client.get("/api/v1/monitoring-signals/").json()["results"] == []
    assert client.get("/api/v1/monitoring-signals/", {"project": "fraud-scoring"}).status_code == 400


def test_the_signals_api_list_costs_the_same_queries_at_2_and_60_values(client, team_lead, project, version):
    from governance.monitoring.services import SignalIn, signals_record
    from tests.query_counts import assert_queries, get_counting_queries

    def record(count: int, model: str) -> None:
        v = linked_version(project, model=model, version="1")
        values = [SignalIn(f"m{n}", float(n), NOW - dt.timedelta(minutes=n)) for n in range(count)]
        signals_record(version=v, source="webhook", by=team_lead, signals=values)

    client.force_login(team_lead)
    record(2, "a")
    small, _ = get_counting_queries(client, "/api/v1/monitoring-signals/")
    record(58, "b")
    large, response = get_counting_queries(client, "/api/v1/monitoring-signals/")
    assert len(response.json()["results"]) == 60
    assert_queries(small, large, what="/api/v1/monitoring-signals/ at 2 and 60 values")
