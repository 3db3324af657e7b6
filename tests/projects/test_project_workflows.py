"""The happy paths: the page workflow, the API list's filters, ordering and pages, and the CSV export."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from governance.models import AuditEvent
from projects.models import AIProject, Stage
from tests.factories import AIProjectFactory, make_user


def last_event():
    return AuditEvent.objects.order_by("-seq").first()


def test_team_lead_registers_edits_and_advances_a_project_through_the_pages(client, team, team_lead):
    client.force_login(team_lead)
    form = client.get("/projects/new/").context["form"]
    assert form.fields["owner"].initial == team_lead.pk
    assert [t.slug for t in form.fields["team"].queryset] == ["claims"]
    assert [value for value, _ in form.fields["stage"].widget.choices] == ["idea", "design", "development"]

    data = {
        "name": "Claims triage", "purpose": "Routes incoming claims.", "team": team.pk, "owner": team_lead.pk,
        "stage": "idea", "health": "on_track", "currency": "EUR", "expected_investment": "1000",
        "expected_annual_value": "5000", "horizon_months": "24",
    }  # fmt: skip
    response = client.post("/projects/new/", data)
    assert (response.status_code, response["Location"]) == (302, "/projects/claims-triage/")
    created = last_event()
    assert (created.action, created.actor_repr, created.after["expected_investment"]) == (
        "project.created", "lead", "1000.00",
    )  # fmt: skip

    page = client.get("/projects/claims-triage/")
    html = page.content.decode()
    assert page.context["can_change"] is True
    assert "Project “Claims triage” registered." in html
    assert "EUR 1,000.00" in html
    assert [value for value, _ in page.context["stage_form"].fields["stage"].widget.choices] == ["design", "retired"]

    del data["stage"]
    response = client.post("/projects/claims-triage/edit/", {**data, "name": "Claims triage v2", "health": "at_risk"})
    assert (response.status_code, response["Location"]) == (302, "/projects/claims-triage/")
    updated = last_event()
    assert (updated.action, updated.seq, updated.before, updated.after) == (
        "project.updated", created.seq + 1,
        {"name": "Claims triage", "health": "on_track"}, {"name": "Claims triage v2", "health": "at_risk"},
    )  # fmt: skip

    response = client.post("/projects/claims-triage/stage/", {"stage": "design", "reason": "Scoped"}, follow=True)
    assert response.redirect_chain == [("/projects/claims-triage/", 302)]
    assert "Stage changed to Design." in response.content.decode()
    moved = last_event()
    assert (moved.action, moved.seq, moved.actor_repr, moved.before, moved.after) == (
        "project.stage_changed", created.seq + 2, "lead", {"stage": "idea"}, {"stage": "design", "reason": "Scoped"},
    )  # fmt: skip
    project = AIProject.objects.get(slug="claims-triage")
    assert (project.name, project.stage, project.health) == ("Claims triage v2", "design", "at_risk")


def test_api_creates_updates_and_transitions_a_project(client, team, team_lead):
    client.force_login(team_lead)
    body = {"name": "Claims triage", "purpose": "Routes claims.", "team": "claims", "owner": "lead", "stage": "design"}
    created = client.post("/api/v1/projects/", body, content_type="application/json")
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("slug", "stage", "url", "allowed_next_stages")} == {
        "slug": "claims-triage", "stage": "design", "url": "http://testserver/api/v1/projects/claims-triage/",
        "allowed_next_stages": ["idea", "development", "retired"],
    }  # fmt: skip
    patched = client.patch(
        "/api/v1/projects/claims-triage/", {"expected_annual_value": "1200.5"}, content_type="application/json"
    )
    assert (patched.status_code, patched.json()["expected_annual_value"]) == (200, "1200.50")
    moved = client.post(
        "/api/v1/projects/claims-triage/transition/", {"stage": "development"}, content_type="application/json"
    )
    assert (moved.status_code, moved.json()["stage"]) == (200, "development")
    actions = list(
        AuditEvent.objects.filter(object_type="projects.aiproject").order_by("seq").values_list("action", "after")
    )
    assert actions[1:] == [
        ("project.updated", {"expected_annual_value": "1200.50"}),
        ("project.stage_changed", {"stage": "development"}),
    ]
    assert actions[0][0] == "project.created"


# --- API list: filters, ordering, pages -------------------------------------------------------------


@pytest.fixture
def portfolio(project, other_project, team, other_team, team_lead, other_lead):
    """Four projects: two per team, in different stages, with different values."""
    AIProjectFactory(name="Claims triage", purpose="Routes claims.", team=team, owner=team_lead,
                     stage=Stage.DESIGN, expected_annual_value=Decimal("90000"))  # fmt: skip
    AIProjectFactory(name="Lead scoring", purpose="Ranks sales leads.", team=other_team, owner=other_lead,
                     stage=Stage.DEVELOPMENT, expected_annual_value=Decimal("500000"))  # fmt: skip


LIST_QUERIES = [
    ("no filter", {}, ["churn-model", "claims-triage", "fraud-scoring", "lead-scoring"]),
    ("team", {"team": "claims"}, ["claims-triage", "fraud-scoring"]),
    ("one stage", {"stage": "idea"}, ["churn-model", "fraud-scoring"]),
    ("two stages", {"stage": ["design", "development"]}, ["claims-triage", "lead-scoring"]),
    ("owner", {"owner": "otherlead"}, ["churn-model", "lead-scoring"]),
    ("search in name", {"q": "SCORING"}, ["fraud-scoring", "lead-scoring"]),
    ("search in purpose", {"q": "sales"}, ["lead-scoring"]),
    ("filters combine", {"team": "claims", "stage": "idea"}, ["fraud-scoring"]),
    ("value descending", {"ordering": "-value,name"},
     ["lead-scoring", "churn-model", "fraud-scoring", "claims-triage"]),
    ("team then name descending", {"ordering": "team,-name"},
     ["fraud-scoring", "claims-triage", "lead-scoring", "churn-model"]),
]  # fmt: skip


@pytest.mark.parametrize(("params", "slugs"), [pytest.param(*r[1:], id=r[0]) for r in LIST_QUERIES])
def test_api_project_list_filters_and_orders(client, executive, portfolio, params, slugs):
    client.force_login(executive)
    response = client.get("/api/v1/projects/", params)
    assert response.status_code == 200
    assert [p["slug"] for p in response.json()["results"]] == slugs
    assert response.json()["count"] == len(slugs)


def test_api_project_list_pages_by_page_size(client, executive, portfolio):
    client.force_login(executive)
    first = client.get("/api/v1/projects/", {"page_size": 3}).json()
    assert (first["count"], [p["slug"] for p in first["results"]]) == (
        4, ["churn-model", "claims-triage", "fraud-scoring"],
    )  # fmt: skip
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/projects/?page=2&page_size=3"
    second = client.get(first["next"]).json()
    assert ([p["slug"] for p in second["results"]], second["next"]) == (["lead-scoring"], None)


def test_project_list_page_uses_the_same_filters(client, executive, portfolio):
    client.force_login(executive)
    response = client.get("/projects/", {"stage": ["design", "development"], "ordering": "-value"})
    assert [p.slug for p in response.context["projects"]] == ["lead-scoring", "claims-triage"]
    assert response.context["page_obj"].paginator.count == 2


# --- CSV export -------------------------------------------------------------------------------------

CSV_HEADER = [
    "slug", "name", "team", "stage", "health", "owner", "executive_sponsor", "currency",
    "expected_investment", "expected_annual_value", "horizon_months", "updated_at", "risk_tier",
]  # fmt: skip


def export(client, **params):
    response = client.get("/projects/", {"export": "csv", **params})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="keel-projects-{timezone.now():%Y%m%d}.csv"'
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_export_has_a_header_and_one_row_per_project(client, executive, project, other_project):
    client.force_login(executive)
    rows = export(client)
    assert rows[0] == CSV_HEADER
    assert [row[:11] for row in rows[1:]] == [
        ["churn-model", "Churn model", "Marketing", "idea", "on_track", "otherlead", "", "EUR",
         "100000.00", "250000.00", "36"],
        ["fraud-scoring", "Fraud scoring", "Claims", "idea", "on_track", "lead", "", "EUR",
         "100000.00", "250000.00", "36"],
    ]  # fmt: skip
    project.refresh_from_db()
    assert rows[2][11] == project.updated_at.isoformat()


def test_csv_export_follows_the_list_filters(client, executive, portfolio):
    client.force_login(executive)
    assert [row[0] for row in export(client, stage="design")[1:]] == ["claims-triage"]


def test_csv_export_neutralises_spreadsheet_formulas(client, executive, team):
    sponsor = make_user("-sponsor")
    AIProjectFactory(
        name='=HYPERLINK("http://evil.example","click")', team=team, owner=make_user("@ceo"),
        executive_sponsor=sponsor,
    )  # fmt: skip
    client.force_login(executive)
    row = export(client)[1]
    assert (row[1], row[5], row[6]) == ('\'=HYPERLINK("http://evil.example","click")', "'@ceo", "'-sponsor")
    assert row[0] == "hyperlinkhttpevilexampleclick"


def test_the_owner_filter_names_only_owners_of_projects_the_user_may_see(client, team_lead, project, other_project):
    client.force_login(team_lead)
    owners = [str(u) for u in client.get("/projects/").context["filter"].form.fields["owner"].queryset]
    assert owners == ["lead"]  # not otherlead, who owns only the other team's project
