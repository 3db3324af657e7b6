"""The audit page (/governance/audit/) and /api/v1/audit-events/: the same filters, newest first."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

import governance.audit.chain
from core import services as core_services
from projects.inventory import services
from projects.models import Stage


def at(monkeypatch, when: dt.datetime) -> None:
    """Make the next audit events carry this time (the audit module's clock only)."""
    monkeypatch.setattr(governance.audit.chain, "timezone", SimpleNamespace(now=lambda: when))


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def trail(db, monkeypatch, admin_user, team_lead, risk_officer):
    """Six events over three months, by three actors. Returns {name: event seq} and the objects."""
    at(monkeypatch, utc(2026, 1, 10, 9, 0))
    team = services.team_create(by=admin_user, name="Claims", lead=team_lead)  # 1
    at(monkeypatch, utc(2026, 2, 15, 12, 0))
    project = services.project_create(
        by=team_lead, name="Fraud scoring", purpose="Flags claims.", team=team, owner=team_lead
    )  # 2
    at(monkeypatch, utc(2026, 2, 15, 23, 30))
    other = services.project_create(
        by=None, name="Churn model", purpose="Predicts churn.", team=team, owner=team_lead
    )  # 3
    at(monkeypatch, utc(2026, 2, 20, 8, 0))
    services.project_update(by=team_lead, project=project, horizon_months=24)  # 4
    at(monkeypatch, utc(2026, 3, 1, 10, 0))
    services.project_change_stage(by=admin_user, project=project, stage=Stage.DESIGN)  # 5
    at(monkeypatch, utc(2026, 3, 5, 16, 45))
    core_services.api_token_create(user=team_lead, name="ci", by=admin_user)  # 6
    monkeypatch.undo()
    return SimpleNamespace(team=team, project=project, other=other)


FILTER_CASES = [
    pytest.param({}, [6, 5, 4, 3, 2, 1], id="no filter"),
    pytest.param({"object_type": "projects.aiproject"}, [5, 4, 3, 2], id="object type"),
    pytest.param({"object_type": "projects.team"}, [1], id="object type team"),
    pytest.param({"actor": "lead"}, [4, 2], id="actor"),
    pytest.param({"actor": "system"}, [3], id="actor system"),
    pytest.param({"actor": "nobody"}, [], id="unknown actor"),
    pytest.param({"action": "project."}, [5, 4, 3, 2], id="action prefix"),
    pytest.param({"action": "project.created"}, [3, 2], id="full action"),
    pytest.param({"action": "api_token"}, [6], id="action prefix api_token"),
    pytest.param({"action": "created"}, [], id="action is a prefix, not a substring"),
    pytest.param({"date_from": "2026-02-15", "date_to": "2026-02-20"}, [4, 3, 2], id="date range inclusive"),
    pytest.param({"date_from": "2026-03-01"}, [6, 5], id="date from"),
    pytest.param({"date_to": "2026-01-31"}, [1], id="date to"),
    pytest.param({"since": "2026-02-15T12:00:00Z", "until": "2026-03-01T10:00:00Z"}, [4, 3, 2], id="since until"),
    pytest.param(
        {"object_type": "projects.aiproject", "actor": "admin", "action": "project.stage"}, [5], id="combined"
    ),
]


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES)
def test_audit_page_filters_for_a_risk_officer(client, risk_officer, trail, params, expected):
    client.force_login(risk_officer)
    response = client.get("/governance/audit/", params)
    assert response.status_code == 200
    assert [e.seq for e in response.context["events"]] == expected


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES)
def test_audit_api_filters_for_a_risk_officer(client, risk_officer, trail, params, expected):
    client.force_login(risk_officer)
    response = client.get("/api/v1/audit-events/", params)
    assert response.status_code == 200
    assert [e["seq"] for e in response.json()["results"]] == expected


def test_filtering_by_object_id_finds_one_projects_history(client, risk_officer, trail):
    client.force_login(risk_officer)
    params = {"object_type": "projects.aiproject", "object_id": str(trail.project.pk)}
    page = client.get("/governance/audit/", params)
    api = client.get("/api/v1/audit-events/", params)
    assert [e.seq for e in page.context["events"]] == [5, 4, 2]
    assert [e["seq"] for e in api.json()["results"]] == [5, 4, 2]
    other = client.get("/api/v1/audit-events/", {"object_id": str(trail.other.pk), "object_type": "projects.aiproject"})
    assert [e["seq"] for e in other.json()["results"]] == [3]


def test_the_audit_page_shows_the_events_and_keeps_the_filter_in_the_pagination_links(client, risk_officer, trail):
    client.force_login(risk_officer)
    response = client.get("/governance/audit/", {"action": "project."})
    html = response.content.decode()
    assert "<code>project.stage_changed</code>" in html
    assert "<code>team.created</code>" not in html
    assert response.context["querystring"] == "action=project."
    assert response.context["page_obj"].paginator.count == 4


def test_the_audit_page_shows_an_invalid_date_as_a_field_error(client, risk_officer, trail):
    client.force_login(risk_officer)
    response = client.get("/governance/audit/", {"date_from": "not-a-date"})
    assert response.status_code == 200
    assert response.context["filter"].errors["date_from"] == ["Enter a valid date."]
    assert 'role="alert">Enter a valid date.' in response.content.decode()


def test_the_audit_api_refuses_an_invalid_filter_with_400(client, risk_officer, trail):
    client.force_login(risk_officer)
    response = client.get("/api/v1/audit-events/", {"since": "yesterday"})
    assert response.status_code == 400
    assert "since" in response.json()


def test_the_audit_api_returns_every_hashed_field(client, risk_officer, trail):
    client.force_login(risk_officer)
    item = client.get("/api/v1/audit-events/", {"page_size": 1}).json()["results"][0]
    assert item["seq"] == 6
    assert item["action"] == "api_token.created"
    assert item["occurred_at"] == "2026-03-05T16:45:00Z"
    assert item["actor_repr"] == "admin"
    assert item["object_type"] == "core.apitoken"
    assert len(item["hash"]) == len(item["prev_hash"]) == 64
    detail = client.get("/api/v1/audit-events/5/").json()
    assert item["prev_hash"] == detail["hash"]
    assert detail["before"] == {"stage": "idea"}
    assert detail["after"] == {"stage": "design"}


def test_the_audit_api_pages_with_a_cursor_newest_first(client, risk_officer, trail):
    client.force_login(risk_officer)
    first = client.get("/api/v1/audit-events/", {"page_size": 2}).json()
    assert set(first) == {"next", "previous", "results"}  # a cursor page: no count
    assert [e["seq"] for e in first["results"]] == [6, 5]
    assert first["previous"] is None
    assert "cursor=" in first["next"]

    second = client.get(first["next"]).json()
    assert [e["seq"] for e in second["results"]] == [4, 3]
    third = client.get(second["next"]).json()
    assert [e["seq"] for e in third["results"]] == [2, 1]
    assert third["next"] is None
    assert [e["seq"] for e in client.get(third["previous"]).json()["results"]] == [4, 3]


def test_the_cursor_is_stable_while_new_events_arrive(client, risk_officer, trail):
    client.force_login(risk_officer)
    first = client.get("/api/v1/audit-events/", {"page_size": 2}).json()
    services.team_update(by=None, team=trail.team, description="new event while paging")  # seq 7
    second = client.get(first["next"]).json()
    assert [e["seq"] for e in second["results"]] == [4, 3]


def test_the_cursor_keeps_the_filters(client, risk_officer, trail):
    client.force_login(risk_officer)
    first = client.get("/api/v1/audit-events/", {"action": "project.", "page_size": 3}).json()
    assert [e["seq"] for e in first["results"]] == [5, 4, 3]
    assert "action=project." in first["next"]
    assert [e["seq"] for e in client.get(first["next"]).json()["results"]] == [2]


def test_the_audit_page_and_api_are_closed_to_roles_that_do_not_read_the_trail(client, executive, team_lead, trail):
    for user in (executive, team_lead):
        client.force_login(user)
        assert client.get("/governance/audit/").status_code == 403
        assert client.get("/api/v1/audit-events/").status_code == 403
    client.logout()
    assert client.get("/api/v1/audit-events/").status_code == 401
    response = client.get("/governance/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
