"""The incident register: Art. 73 reporting deadlines, the API, the pages, who may do what, and the audit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from governance.incidents import services
from governance.incidents.reporting import REPORTING_RULES, reporting_deadline
from governance.models import AuditEvent, Finding, Incident, Seriousness
from governance.risks.services import risk_reviews_mark_overdue
from tests.exports import csv_dicts
from tests.registry_factories import ModelVersionFactory, RegisteredModelFactory
from tests.risk_factories import overdue_risk

pytestmark = pytest.mark.django_db

AWARE = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
API = "/api/v1/incidents/"


def _open(by, project, **kwargs):
    fields = {"title": "Wrong denials", "description": "Claims denied in error.", "severity": "high",
              "aware_at": AWARE, "projects": [project]} | kwargs  # fmt: skip
    return services.incident_open(by=by, **fields)


def _events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


# --- the reporting rule (Art. 73) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seriousness", "days", "cites"),
    [
        (Seriousness.DEATH, 10, "73(4)"),
        (Seriousness.CRITICAL_INFRASTRUCTURE, 2, "73(3)"),
        (Seriousness.WIDESPREAD_INFRINGEMENT, 2, "73(3)"),
        (Seriousness.HEALTH, 15, "73(2)"),
        (Seriousness.FUNDAMENTAL_RIGHTS, 15, "73(2)"),
        (Seriousness.PROPERTY_ENVIRONMENT, 15, "73(2)"),
    ],
)
def test_each_kind_of_serious_incident_is_due_within_its_article_73_period(seriousness, days, cites):
    deadline = reporting_deadline(seriousness, AWARE)
    assert deadline.due_at == AWARE + dt.timedelta(days=days)
    assert cites in deadline.rule
    assert not deadline.provisional


def test_not_assessed_is_not_not_serious_it_gets_the_shortest_period_provisionally():
    deadline = reporting_deadline(Seriousness.NOT_ASSESSED, AWARE)
    assert deadline.due_at == AWARE + dt.timedelta(days=min(r.days for r in REPORTING_RULES.values()))
    assert deadline.provisional
    assert "not assessed" in deadline.rule


def test_an_incident_that_is_not_serious_has_no_report_due():
    assert reporting_deadline(Seriousness.NOT_SERIOUS, AWARE).due_at is None


def test_every_serious_kind_has_a_rule():
    serious = set(Seriousness.values) - {Seriousness.NOT_ASSESSED, Seriousness.NOT_SERIOUS}
    assert serious == set(REPORTING_RULES)


# --- services ---------------------------------------------------------------------------------------


def test_opening_records_the_deadline_and_one_audit_event(risk_officer, project):
    incident = _open(risk_officer, project, seriousness=Seriousness.DEATH)
    assert incident.report_due_at == AWARE + dt.timedelta(days=10)
    assert "73(4)" in incident.report_rule
    event = AuditEvent.objects.get(action="incident.opened")
    assert event.after["projects"] == [project.pk]
    assert event.after["seriousness"] == "death"


def test_reassessing_moves_the_deadline_with_its_rule(risk_officer, project):
    incident = _open(risk_officer, project)
    assert incident.report_provisional
    services.incident_update(by=risk_officer, incident=incident, data={"seriousness": Seriousness.HEALTH})
    incident.refresh_from_db()
    assert (incident.report_due_at, incident.report_provisional) == (AWARE + dt.timedelta(days=15), False)
    assert AuditEvent.objects.get(action="incident.updated").after["report_due_at"]


def test_a_team_lead_may_escalate_but_not_say_not_serious(team_lead, project):
    incident = _open(team_lead, project)
    services.incident_update(by=team_lead, incident=incident, data={"seriousness": Seriousness.DEATH})
    with pytest.raises(services.PermissionDeniedError):
        services.incident_update(by=team_lead, incident=incident, data={"seriousness": Seriousness.NOT_SERIOUS})
    with pytest.raises(services.PermissionDeniedError):
        _open(team_lead, project, seriousness=Seriousness.NOT_SERIOUS)
    incident.refresh_from_db()
    assert incident.seriousness == Seriousness.DEATH


def test_a_team_lead_cannot_open_on_another_teams_project(team_lead, other_project):
    with pytest.raises(services.PermissionDeniedError):
        _open(team_lead, other_project)
    assert not Incident.objects.exists()


def test_awareness_in_the_future_is_refused(risk_officer, project):
    with pytest.raises(services.ValidationError) as exc:
        _open(risk_officer, project, aware_at=timezone.now() + dt.timedelta(days=1))
    assert services.AWARE_IN_FUTURE in exc.value.messages
    assert not Incident.objects.exists()


def test_a_version_of_another_project_cannot_be_named(risk_officer, project, other_project):
    theirs = ModelVersionFactory(registered_model=RegisteredModelFactory(project=other_project))
    with pytest.raises(services.ValidationError):
        _open(risk_officer, project, model_versions=[theirs])
    assert not Incident.objects.exists()


def test_closing_needs_assessment_report_root_cause_and_every_action_done(risk_officer, team_lead, project):
    incident = _open(risk_officer, project)
    steps = [
        (services.CLOSE_NOT_ASSESSED, lambda: services.incident_update(
            by=risk_officer, incident=incident, data={"seriousness": Seriousness.HEALTH})),
        (services.CLOSE_NOT_REPORTED, lambda: services.incident_report_record(
            by=risk_officer, incident=incident, reported_at=AWARE + dt.timedelta(days=3), reference="MSA-1")),
        (services.CLOSE_NO_ROOT_CAUSE, lambda: services.incident_update(
            by=risk_officer, incident=incident, data={"root_cause": "A stale feature."})),
    ]  # fmt: skip
    for refusal, fix in steps:
        with pytest.raises(services.ConflictError, match=refusal[:30]):
            services.incident_close(by=risk_officer, incident=incident)
        fix()
    action = services.corrective_action_add(
        by=team_lead, incident=incident, description="Retrain", owner=team_lead, due_on=dt.date(2026, 4, 1)
    )
    with pytest.raises(services.ConflictError, match="1 corrective action"):
        services.incident_close(by=risk_officer, incident=incident)
    services.corrective_action_complete(by=team_lead, action=action)
    services.incident_close(by=risk_officer, incident=incident)
    incident.refresh_from_db()
    assert incident.status == "closed"
    assert _events("incident.closed") == 1
    with pytest.raises(services.ConflictError):
        services.incident_note_add(by=risk_officer, incident=incident, text="After closing")


def test_a_report_cannot_predate_awareness_nor_be_recorded_twice(risk_officer, project):
    incident = _open(risk_officer, project, seriousness=Seriousness.HEALTH)
    with pytest.raises(services.ValidationError):
        services.incident_report_record(
            by=risk_officer, incident=incident, reported_at=AWARE - dt.timedelta(1), reference=""
        )
    services.incident_report_record(by=risk_officer, incident=incident, reported_at=AWARE, reference="")
    with pytest.raises(services.ConflictError):
        services.incident_report_record(by=risk_officer, incident=incident, reported_at=AWARE, reference="")
    assert _events("incident.reported") == 1


# --- API --------------------------------------------------------------------------------------------


def _body(project, **kwargs):
    return {"title": "Wrong denials", "description": "Claims denied in error.", "severity": "high",
            "aware_at": "2026-03-02T08:30:00Z", "projects": [project.slug]} | kwargs  # fmt: skip


def test_api_opens_an_incident_with_its_deadline(client, risk_officer, project):
    client.force_login(risk_officer)
    response = client.post(API, _body(project, seriousness="critical_infrastructure"), content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["report_due_at"] == "2026-03-04T08:30:00Z"
    assert "73(3)" in body["report_rule"]
    assert body["is_serious"]
    assert body["report_outstanding"]
    assert body["projects"] == [project.slug]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"aware_at": "9999-12-31T23:59:59-05:00"}, "aware_at"),
        ({"aware_at": "2099-01-01T00:00:00Z"}, "aware_at"),
        ({"aware_at": "1999-12-31T00:00:00Z"}, "aware_at"),
        ({"projects": []}, "projects"),
        ({"projects": ["churn-model"]}, "projects"),
        ({"seriousness": "somewhat"}, "seriousness"),
        ({"severity": ""}, "severity"),
        ({"model_versions": ["x"]}, "model_versions"),
        ({"finding": 10**30}, "finding"),
    ],
)
def test_api_refuses_bad_input_and_writes_nothing(client, team_lead, project, other_project, change, field):
    client.force_login(team_lead)
    events = AuditEvent.objects.count()
    response = client.post(API, _body(project, **change), content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert (Incident.objects.count(), AuditEvent.objects.count()) == (0, events)


def test_api_lists_only_incidents_touching_the_callers_teams(client, risk_officer, team_lead, other_lead, project):
    _open(risk_officer, project)
    client.force_login(other_lead)
    assert client.get(API).json()["count"] == 0
    client.force_login(team_lead)
    assert client.get(API).json()["count"] == 1


def test_api_workflow_note_action_report_close(client, risk_officer, team_lead, project):
    incident = _open(risk_officer, project, seriousness=Seriousness.FUNDAMENTAL_RIGHTS)
    url = f"{API}{incident.pk}/"
    client.force_login(team_lead)
    assert (
        client.post(f"{url}note/", {"text": "Rolled back to v3."}, content_type="application/json").status_code == 200
    )
    added = client.post(f"{url}actions/", {"description": "Add a fairness test", "owner": team_lead.username,
                                           "due_on": "2026-04-01"}, content_type="application/json")  # fmt: skip
    assert added.status_code == 200, added.content
    action_id = added.json()["actions"][0]["id"]
    assert (
        client.post(
            f"{url}report/", {"reported_at": "2026-03-05T10:00:00Z"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert (
        client.post(f"{url}complete-action/", {"action": action_id}, content_type="application/json").status_code == 200
    )
    assert (
        client.patch(url, {"root_cause": "A proxy for ethnicity."}, content_type="application/json").status_code == 200
    )
    client.force_login(risk_officer)
    reported = client.post(f"{url}report/", {"reported_at": "2026-03-05T10:00:00Z", "reference": "MSA-7"},
                           content_type="application/json")  # fmt: skip
    assert reported.json()["report_outstanding"] is False
    closed = client.post(f"{url}close/", content_type="application/json")
    assert closed.status_code == 200, closed.content
    assert closed.json()["status"] == "closed"
    assert client.post(f"{url}close/", content_type="application/json").status_code == 409
    actions = list(
        AuditEvent.objects.filter(object_type="governance.incident").order_by("seq").values_list("action", flat=True)
    )
    assert actions == ["incident.opened", "incident.note_added", "incident.action_added", "incident.action_completed",
                       "incident.updated", "incident.reported", "incident.closed"]  # fmt: skip


def test_api_a_team_lead_cannot_move_an_incident_to_other_projects(
    client, team_lead, risk_officer, project, other_project
):
    incident = _open(risk_officer, project)
    client.force_login(team_lead)
    response = client.patch(f"{API}{incident.pk}/", {"projects": [project.slug]}, content_type="application/json")
    assert response.status_code == 400
    assert list(incident.projects.all()) == [project]


# --- pages ------------------------------------------------------------------------------------------


def test_list_page_counts_and_exports(client, risk_officer, project):
    _open(risk_officer, project, seriousness=Seriousness.DEATH)
    _open(risk_officer, project, title="Slow answers", severity="low")
    client.force_login(risk_officer)
    page = client.get("/governance/incidents/")
    assert page.context["counts"] == {"open": 2, "open_serious": 1, "not_assessed": 1, "report_overdue": 2}
    rows = csv_dicts(client.get("/governance/incidents/?export=csv&serious=true"))
    assert [r["title"] for r in rows] == ["Wrong denials"]
    assert rows[0]["report_rule"].startswith("EU AI Act Art. 73(4)")


def test_empty_list_page_says_how_to_open_one(client, team_lead):
    client.force_login(team_lead)
    html = client.get("/governance/incidents/").content.decode()
    assert "No incidents recorded." in html
    assert "Open an incident" in html


def test_opening_from_a_finding_prefills_and_links_it(client, risk_officer, project):
    overdue_risk(project=project, title="Unfair denials", likelihood=4, impact=5)
    risk_reviews_mark_overdue()
    finding = Finding.objects.get(project=project)
    client.force_login(risk_officer)
    assert "Open an incident from this finding" in client.get(f"/governance/findings/{finding.pk}/").content.decode()
    form = client.get(f"/governance/incidents/new/?finding={finding.pk}")
    assert form.context["form"].initial["projects"] == [project.pk]
    response = client.post(f"/governance/incidents/new/?finding={finding.pk}", {
        "title": finding.title, "description": "Seen in the review.", "severity": "high", "seriousness": "not_assessed",
        "aware_at": "2026-03-02T08:30", "projects": [project.pk],
    })  # fmt: skip
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert incident.finding == finding
    detail = client.get(f"/governance/incidents/{incident.pk}/").content.decode()
    assert "Report to the authority overdue by" in detail
    assert "not assessed yet" in detail


def test_page_form_refusal_keeps_what_was_typed(client, risk_officer, project):
    client.force_login(risk_officer)
    response = client.post("/governance/incidents/new/", {
        "title": "Wrong denials", "description": "x", "severity": "high", "seriousness": "not_assessed",
        "aware_at": "2099-01-01T00:00", "projects": [project.pk],
    })  # fmt: skip
    assert response.status_code == 200
    assert services.AWARE_IN_FUTURE in response.content.decode()
    assert 'value="Wrong denials"' in response.content.decode()
    assert not Incident.objects.exists()


def test_dashboard_shows_open_serious_incidents_and_overdue_reports(client, executive, risk_officer, project):
    _open(risk_officer, project, seriousness=Seriousness.DEATH)
    client.force_login(executive)
    response = client.get("/governance/dashboard/")
    assert response.context["incidents"]["open_serious"] == 1
    html = response.content.decode()
    assert 'id="tile-incidents"' in html
    assert "1 serious incident report(s) to the authority overdue" in html


def test_the_api_list_costs_the_same_queries_for_one_or_ten_incidents(client, risk_officer, team_lead, project):
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(API).status_code == 200
        return len(ctx.captured_queries)

    client.force_login(risk_officer)
    incident = _open(risk_officer, project)
    services.incident_note_add(by=risk_officer, incident=incident, text="Rolled back.")
    one = count()
    for i in range(9):
        more = _open(risk_officer, project, title=f"Incident {i}")
        services.corrective_action_add(by=risk_officer, incident=more, description="Fix", owner=team_lead,
                                       due_on=dt.date(2026, 4, 1))  # fmt: skip
    assert count() == one
