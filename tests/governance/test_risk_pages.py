"""The risk register pages, driven as the personas use them: a team lead keeps their project's register,
a risk officer accepts what only they may accept, an executive reads and exports.

Every write is checked in the response, the database and the audit trail; every refusal shows its
message next to the field it concerns and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from governance.models import AuditEvent, Finding, Mitigation, Risk, RiskStatus
from governance.risks import scoring as risk_scoring
from governance.risks import services
from tests.exports import csv_dicts
from tests.factories import AIProjectFactory
from tests.risk_factories import MitigationFactory, RiskFactory, overdue_risk

TODAY = timezone.localdate


def events(action: str | None = None) -> list[AuditEvent]:
    qs = AuditEvent.objects.order_by("seq")
    return list(qs.filter(action=action) if action else qs)


def text(response) -> str:
    return response.content.decode()


def field_errors(response, field_id: str) -> list[str]:
    """The error messages rendered next to one field (partials/_field.html)."""
    pattern = rf'<p class="error" id="{re.escape(field_id)}_error" role="alert">(.*?)</p>'
    return [html.unescape(m) for m in re.findall(pattern, text(response), re.S)]


def page_errors(response) -> list[str]:
    """The form-level errors at the top of a form (partials/_form_errors.html)."""
    blocks = re.findall(r'<div class="form-errors" role="alert">(.*?)</div>', text(response), re.S)
    return [html.unescape(m) for block in blocks for m in re.findall(r"<p>(.*?)</p>", block, re.S)]


def heatmap(response) -> list[list[int]]:
    """The counts the page hands to plotly (customdata[likelihood - 1][impact - 1]), read from its JSON."""
    match = re.search(r'<script id="risk-heatmap-data" type="application/json">(.*?)</script>', text(response), re.S)
    return json.loads(match.group(1))["data"][0]["customdata"]


def new_risk_form(owner, **overrides) -> dict:
    data = {"title": "Unfair claim denials", "description": "Denial rates differ by postcode.",
            "category": "fairness", "likelihood": "4", "impact": "4",
            "residual_likelihood": "2", "residual_impact": "3", "owner": owner.pk}  # fmt: skip
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- the project tab and adding a risk ------------------------------------------------------------


def test_team_lead_adds_a_risk_from_the_project_tab(client, team_lead, project):
    client.force_login(team_lead)
    tab = client.get(f"/governance/projects/{project.slug}/risks/")
    assert tab.status_code == 200
    assert f'href="/governance/projects/{project.slug}/risks/new/"' in text(tab)
    assert "No risk is registered for this project yet." in text(tab)

    response = client.post(f"/governance/projects/{project.slug}/risks/new/", new_risk_form(team_lead))

    risk = Risk.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/governance/risks/{risk.pk}/"
    assert (risk.project, risk.title, risk.category, risk.owner) == (
        project,
        "Unfair claim denials",
        "fairness",
        team_lead,
    )
    assert (risk.inherent_score, risk.residual_score, risk.residual_level) == (16, 6, "medium")
    assert risk.next_review_date == TODAY() + dt.timedelta(days=180)  # medium residual: every 180 days
    assert risk.status == RiskStatus.OPEN
    [created] = events("risk.created")
    assert (created.actor_id, created.object_type, created.object_id) == (team_lead.pk, "governance.risk", str(risk.pk))
    assert created.after["residual_score"] == 6
    assert created.after["likelihood"] == 4

    page = client.get(response["Location"])
    assert "Risk “Unfair claim denials” added to the register." in text(page)
    assert "Likely (4) × Major (4) = 16: High (10–16), review every 90 days" in text(page)
    assert "Unlikely (2) × Moderate (3) = 6: Medium (5–9), review every 180 days" in text(page)


def test_a_blank_residual_score_starts_as_the_inherent_one(client, team_lead, project):
    client.force_login(team_lead)
    data = new_risk_form(team_lead, residual_likelihood="", residual_impact="")
    response = client.post(f"/governance/projects/{project.slug}/risks/new/", data)
    assert response.status_code == 302
    risk = Risk.objects.get()
    assert (risk.residual_likelihood, risk.residual_impact, risk.residual_level) == (4, 4, "high")
    assert risk.next_review_date == TODAY() + dt.timedelta(days=90)


BAD_NEW_RISKS = [
    pytest.param({"likelihood": "7"}, "id_likelihood", risk_scoring.OUT_OF_SCALE.format(name="Likelihood", value=7),
                 id="likelihood above 5"),
    pytest.param({"impact": "0"}, "id_impact", risk_scoring.OUT_OF_SCALE.format(name="Impact", value=0),
                 id="impact below 1"),
    pytest.param({"residual_impact": "6"}, "id_residual_impact",
                 risk_scoring.OUT_OF_SCALE.format(name="Residual impact", value=6), id="residual impact above 5"),
    pytest.param({"likelihood": "often"}, "id_likelihood", "Enter a whole number.", id="likelihood not a number"),
    pytest.param({"residual_likelihood": "5", "residual_impact": "5"}, "id_residual_justification",
                 services.RESIDUAL_ABOVE_INHERENT.format(residual=25, inherent=16),
                 id="residual above inherent without justification"),
    pytest.param({"title": ""}, "id_title", "This field is required.", id="no title"),
    pytest.param({"category": "vibes"}, "id_category",
                 "Select a valid choice. vibes is not one of the available choices.", id="unknown category"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "field_id", "message"), BAD_NEW_RISKS)
def test_adding_a_bad_risk_shows_the_error_next_to_the_field_and_saves_nothing(
    client, team_lead, project, overrides, field_id, message
):
    client.force_login(team_lead)
    before = AuditEvent.objects.count()

    response = client.post(f"/governance/projects/{project.slug}/risks/new/", new_risk_form(team_lead, **overrides))

    assert response.status_code == 200
    assert field_errors(response, field_id) == [message]
    assert page_errors(response) == ["Please correct the errors below; nothing was saved."]
    assert Risk.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_residual_above_inherent_is_saved_with_a_justification(client, team_lead, project):
    client.force_login(team_lead)
    why = "The vendor's model replaces ours next quarter; nothing mitigates yet."
    data = new_risk_form(team_lead, residual_likelihood="5", residual_impact="5", residual_justification=why)
    response = client.post(f"/governance/projects/{project.slug}/risks/new/", data)
    assert response.status_code == 302
    risk = Risk.objects.get()
    assert (risk.residual_score, risk.residual_level) == (25, "critical")
    assert risk.next_review_date == TODAY() + dt.timedelta(days=30)


def test_project_tab_shows_each_score_with_its_computation_nist_functions_and_overdue_badge(client, team_lead, project):
    RiskFactory(project=project, title="Leaky features", category="privacy", likelihood=3, impact=5,
                residual_likelihood=2, residual_impact=2)  # fmt: skip
    overdue_risk(project=project, title="Drifting scores", category="robustness", likelihood=4, impact=4)
    services.risk_reviews_mark_overdue()
    client.force_login(team_lead)

    response = client.get(f"/governance/projects/{project.slug}/risks/")

    assert response.status_code == 200
    rows = {r.title: r for r in response.context["risks"]}
    assert list(rows) == ["Drifting scores", "Leaky features"]  # highest residual first
    page = text(response)
    assert "Possible (3) × Severe (5) = 15: High (10–16), review every 90 days" in page
    assert "Unlikely (2) × Minor (2) = 4: Low (1–4), review every 365 days" in page
    assert '<span class="badge level-low">4 Low</span>' in page
    assert '<span class="badge level-high">16 High</span>' in page
    assert "GOVERN · MAP · MEASURE" in page  # privacy
    assert "MAP · MEASURE · MANAGE" in page  # robustness
    assert page.count('<span class="badge overdue">overdue</span>') == 1
    # The small heat map of this project: residual by default.
    grid = heatmap(response)
    assert grid[4 - 1][4 - 1] == 1
    assert grid[2 - 1][2 - 1] == 1
    assert sum(map(sum, grid)) == 2
    # The bands legend comes from risk_scoring.BANDS.
    for band in risk_scoring.BANDS:
        assert (
            f'{band.min_score}–{band.max_score}</span> <span class="muted">review every {band.review_days} days' in page
        )
    # The tier summary and the tabs.
    assert "EU AI Act risk tier" in page
    assert f'href="/governance/projects/{project.slug}/risks/" aria-current="page"' in page


def test_project_page_links_to_its_risk_tab(client, executive, project):
    client.force_login(executive)
    response = client.get(f"/projects/{project.slug}/")
    assert f'<a href="/governance/projects/{project.slug}/risks/">Risks</a>' in text(response)


def test_clicking_a_cell_of_the_project_heat_map_filters_the_register(client, team_lead, project):
    RiskFactory(project=project, title="A", likelihood=4, impact=4, residual_likelihood=2, residual_impact=3)
    RiskFactory(project=project, title="B", likelihood=2, impact=3)
    RiskFactory(project=project, title="C", likelihood=4, impact=4)
    client.force_login(team_lead)

    residual = client.get(
        f"/governance/projects/{project.slug}/risks/?axis=residual&residual_likelihood=2&residual_impact=3"
    )
    inherent = client.get(f"/governance/projects/{project.slug}/risks/?axis=inherent&likelihood=4&impact=4")

    assert sorted(r.title for r in residual.context["risks"]) == ["A", "B"]
    assert sorted(r.title for r in inherent.context["risks"]) == ["A", "C"]
    # The heat map still counts every cell, and outlines the chosen one.
    assert heatmap(inherent)[4 - 1][4 - 1] == 2
    assert heatmap(inherent)[2 - 1][3 - 1] == 1
    assert inherent.context["selected_cell"] == (4, 4)
    assert "Showing the risks whose inherent likelihood is 4 and impact 4." in text(inherent)


# --- editing -----------------------------------------------------------------------------------------


def test_team_lead_edits_a_risk_and_the_review_date_follows_the_new_residual_level(client, team_lead, project):
    risk = RiskFactory(project=project, title="Drift", category="robustness", likelihood=4, impact=4)
    assert risk.next_review_date == TODAY() + dt.timedelta(days=90)
    client.force_login(team_lead)
    data = new_risk_form(team_lead, title="Drift after retraining", category="robustness",
                         residual_likelihood="1", residual_impact="3")  # fmt: skip

    response = client.post(f"/governance/risks/{risk.pk}/edit/", data)

    assert response.status_code == 302
    risk.refresh_from_db()
    assert (risk.title, risk.residual_score, risk.residual_level) == ("Drift after retraining", 3, "low")
    assert risk.next_review_date == TODAY() + dt.timedelta(days=365)
    [updated] = events("risk.updated")
    assert updated.actor_id == team_lead.pk
    assert updated.before["title"] == "Drift"
    assert updated.after["title"] == "Drift after retraining"
    assert updated.before["residual_level"] == "high"
    assert updated.after["residual_level"] == "low"


def test_the_edit_page_shows_the_risks_current_values(client, risk_officer, team_lead, project):
    risk = RiskFactory(project=project, title="Drift", category="robustness", likelihood=4, impact=5,
                       residual_likelihood=2, residual_impact=5)  # fmt: skip
    client.force_login(risk_officer)
    form = client.get(f"/governance/risks/{risk.pk}/edit/").context["form"]
    assert {name: form[name].value() for name in ("title", "category", "likelihood", "impact", "residual_likelihood",
            "residual_impact", "owner")} == {"title": "Drift", "category": "robustness", "likelihood": 4, "impact": 5,
            "residual_likelihood": 2, "residual_impact": 5, "owner": team_lead.pk}  # fmt: skip
    new = client.get(f"/governance/projects/{project.slug}/risks/new/").context["form"]
    assert new["owner"].value() == risk_officer.pk  # whoever adds a risk owns it unless they name someone else


@pytest.mark.parametrize(
    ("overrides", "field_id", "message"),
    [
        ({"impact": "9"}, "id_impact", risk_scoring.OUT_OF_SCALE.format(name="Impact", value=9)),
        ({"residual_likelihood": ""}, "id_residual_likelihood", "This field is required."),
        (
            {"residual_likelihood": "5", "residual_impact": "5"},
            "id_residual_justification",
            services.RESIDUAL_ABOVE_INHERENT.format(residual=25, inherent=16),
        ),
    ],
    ids=["impact out of scale", "residual missing", "residual above inherent"],
)
def test_a_bad_edit_shows_the_error_and_changes_nothing(client, team_lead, project, overrides, field_id, message):
    risk = RiskFactory(project=project, title="Drift", likelihood=4, impact=4)
    client.force_login(team_lead)
    before = AuditEvent.objects.count()
    data = new_risk_form(team_lead, title="Renamed", **overrides)

    response = client.post(f"/governance/risks/{risk.pk}/edit/", data)

    assert response.status_code == 200
    assert field_errors(response, field_id) == [message]
    risk.refresh_from_db()
    assert (risk.title, risk.likelihood, risk.impact, risk.residual_score) == ("Drift", 4, 4, 16)
    assert AuditEvent.objects.count() == before


# --- status transitions and acceptance ---------------------------------------------------------------


def test_team_lead_trying_to_accept_a_high_residual_risk_is_refused_on_the_page(client, team_lead, project):
    risk = RiskFactory(project=project, likelihood=4, impact=4)  # residual high
    client.force_login(team_lead)
    before = AuditEvent.objects.count()

    response = client.post(
        f"/governance/risks/{risk.pk}/transition/",
        {"status": "accepted", "justification": "We can live with it."},
    )

    assert response.status_code == 200
    assert page_errors(response) == [services.ACCEPT_NEEDS_RISK_OFFICER.format(level="high")]
    assert "accepting this risk takes a risk officer" in text(response)
    risk.refresh_from_db()
    assert (risk.status, risk.accepted_by, risk.acceptance_justification) == (RiskStatus.OPEN, None, "")
    assert AuditEvent.objects.count() == before


def test_risk_officer_accepts_a_high_residual_risk_and_the_trail_says_who_when_and_why(client, risk_officer, project):
    risk = RiskFactory(project=project, likelihood=4, impact=5, residual_likelihood=3, residual_impact=4)
    client.force_login(risk_officer)
    why = "Compensating control: every denial is reviewed by a claims handler."

    until = timezone.localdate() + dt.timedelta(days=200)
    response = client.post(
        f"/governance/risks/{risk.pk}/transition/",
        {"status": "accepted", "justification": why, "accept_until": until.isoformat()},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/governance/risks/{risk.pk}/#status"
    risk.refresh_from_db()
    assert (risk.status, risk.accepted_by, risk.acceptance_justification) == (RiskStatus.ACCEPTED, risk_officer, why)
    [accepted] = events("risk.accepted")
    assert accepted.actor_id == risk_officer.pk
    assert accepted.before["status"] == "open"
    assert accepted.after == {
        "status": "accepted",
        "justification": why,
        "residual_level": "high",
        "residual_score": 12,
        "acceptance_expires_on": until.isoformat(),
        "next_review_date": risk.next_review_date.isoformat(),
        "review_overdue": False,
    }
    assert abs(accepted.occurred_at - risk.accepted_at) < dt.timedelta(seconds=5)
    page = text(client.get(response["Location"]))
    assert "Risk accepted." in page
    assert f"“{why}”" in page
    assert f'Acceptance holds until <time datetime="{until:%Y-%m-%d}">' in page


def test_team_lead_accepts_a_medium_residual_risk_of_their_project(client, team_lead, project):
    risk = RiskFactory(project=project, likelihood=4, impact=4, residual_likelihood=2, residual_impact=3)
    client.force_login(team_lead)
    response = client.post(
        f"/governance/risks/{risk.pk}/transition/", {"status": "accepted", "justification": "Within appetite."}
    )
    assert response.status_code == 302
    risk.refresh_from_db()
    assert (risk.status, risk.accepted_by) == (RiskStatus.ACCEPTED, team_lead)


@pytest.mark.parametrize(
    ("start", "data", "field_id", "message"),
    [
        (
            "open",
            {"status": "accepted", "justification": "  "},
            "transition_justification",
            services.ACCEPT_NEEDS_JUSTIFICATION,
        ),
        (
            "closed",
            {"status": "accepted", "justification": "Fine."},
            "transition_status",
            services.ILLEGAL_RISK_TRANSITION.format(current="closed", target="accepted", allowed="open"),
        ),
        ("open", {"status": "open"}, "transition_status", services.SAME_RISK_STATUS.format(status="open")),
        (
            "open",
            {"status": "archived"},
            "transition_status",
            "Select a valid choice. archived is not one of the available choices.",
        ),
    ],
    ids=["accept without justification", "closed to accepted", "same status", "unknown status"],
)
def test_a_refused_transition_shows_why_next_to_the_field_and_changes_nothing(
    client, risk_officer, project, start, data, field_id, message
):
    risk = RiskFactory(project=project, likelihood=2, impact=2)
    if start == "closed":
        services.risk_transition(by=None, risk=risk, status="closed")
    client.force_login(risk_officer)
    before = AuditEvent.objects.count()

    response = client.post(f"/governance/risks/{risk.pk}/transition/", data)

    assert response.status_code == 200
    assert field_errors(response, field_id) == [message]
    risk.refresh_from_db()
    assert risk.status == start
    assert AuditEvent.objects.count() == before


def test_the_status_form_offers_only_the_allowed_moves(client, team_lead, project):
    risk = RiskFactory(project=project)
    services.risk_transition(by=None, risk=risk, status="closed")
    client.force_login(team_lead)
    response = client.get(f"/governance/risks/{risk.pk}/")
    assert response.context["transition_form"].fields["status"].widget.choices == [("open", "Open")]


def test_mark_reviewed_moves_the_review_date_on_and_resolves_the_overdue_finding(client, team_lead, project):
    risk = overdue_risk(project=project, title="Drift", likelihood=4, impact=4, days_overdue=3)
    services.risk_reviews_mark_overdue()
    finding = Finding.objects.get()
    client.force_login(team_lead)

    response = client.post(f"/governance/risks/{risk.pk}/review/", {"note": "Checked the drift monitor."})

    assert response.status_code == 302
    risk.refresh_from_db()
    assert risk.review_overdue is False
    assert risk.next_review_date == TODAY() + dt.timedelta(days=90)
    [reviewed] = events("risk.reviewed")
    assert reviewed.actor_id == team_lead.pk
    assert reviewed.after == {"next_review_date": risk.next_review_date.isoformat(), "review_overdue": False,
                              "note": "Checked the drift monitor."}  # fmt: skip
    finding.refresh_from_db()
    assert finding.resolved_at is not None
    page = text(client.get(response["Location"]))
    assert f"Review recorded; the next one is due on {risk.next_review_date:%Y-%m-%d}." in page
    assert '<span class="badge overdue">overdue</span>' not in page


# --- mitigations -------------------------------------------------------------------------------------


def test_team_lead_adds_a_mitigation_and_moves_it_to_done(client, team_lead, project):
    risk = RiskFactory(project=project, likelihood=4, impact=4)
    client.force_login(team_lead)

    added = client.post(
        f"/governance/risks/{risk.pk}/mitigations/",
        {"action": "Add a drift alert", "owner": team_lead.pk, "due_date": "2030-01-31", "status": "planned"},
    )

    assert added.status_code == 302
    assert added["Location"] == f"/governance/risks/{risk.pk}/#mitigations"
    mitigation = Mitigation.objects.get()
    assert (mitigation.risk, mitigation.action, mitigation.owner, mitigation.due_date, mitigation.status) == (
        risk, "Add a drift alert", team_lead, dt.date(2030, 1, 31), "planned"
    )  # fmt: skip
    [created] = events("mitigation.created")
    assert created.actor_id == team_lead.pk
    assert created.after["risk"] == risk.pk

    done = client.post(f"/governance/mitigations/{mitigation.pk}/status/", {"status": "done"})

    assert done.status_code == 302
    mitigation.refresh_from_db()
    assert mitigation.status == "done"
    [updated] = events("mitigation.updated")
    assert (updated.before, updated.after) == ({"status": "planned"}, {"status": "done"})
    tab = client.get(f"/governance/projects/{project.slug}/risks/")
    assert "1 of 1 mitigation done" in text(tab)


@pytest.mark.parametrize(
    ("data", "field_id", "message"),
    [
        ({"action": "", "status": "planned"}, "mitigation_action", "This field is required."),
        (
            {"action": "Retrain", "status": "planned", "due_date": "31/01/2030"},
            "mitigation_due_date",
            "Enter a valid date.",
        ),
        (
            {"action": "Retrain", "status": "someday"},
            "mitigation_status",
            "Select a valid choice. someday is not one of the available choices.",
        ),
    ],
    ids=["no action", "bad date", "unknown status"],
)
def test_a_bad_mitigation_shows_the_error_and_saves_nothing(client, team_lead, project, data, field_id, message):
    risk = RiskFactory(project=project)
    client.force_login(team_lead)
    before = AuditEvent.objects.count()

    response = client.post(f"/governance/risks/{risk.pk}/mitigations/", {"owner": team_lead.pk, **data})

    assert response.status_code == 200
    assert field_errors(response, field_id) == [message]
    assert Mitigation.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_a_bad_mitigation_status_changes_nothing(client, team_lead, project):
    mitigation = MitigationFactory(risk=RiskFactory(project=project), action="Retrain monthly")
    client.force_login(team_lead)
    before = AuditEvent.objects.count()
    response = client.post(f"/governance/mitigations/{mitigation.pk}/status/", {"status": "someday"})
    assert response.status_code == 200
    assert "Select a valid choice. someday is not one of the available choices." in text(response)
    mitigation.refresh_from_db()
    assert mitigation.status == "planned"
    assert AuditEvent.objects.count() == before


# --- who may do what on these pages ---------------------------------------------------------------------


def test_executive_reads_the_register_but_gets_no_forms_and_cannot_write(client, executive, project):
    risk = RiskFactory(project=project, likelihood=4, impact=4)
    client.force_login(executive)

    tab = client.get(f"/governance/projects/{project.slug}/risks/")
    detail = client.get(f"/governance/risks/{risk.pk}/")

    assert tab.status_code == detail.status_code == 200
    assert "Add a risk" not in text(tab)
    assert "transition_form" not in detail.context
    assert "Mark reviewed" not in text(detail)
    before = AuditEvent.objects.count()
    assert client.post(f"/governance/risks/{risk.pk}/review/", {}).status_code == 403
    assert client.post(f"/governance/projects/{project.slug}/risks/new/", new_risk_form(executive)).status_code == 403
    assert AuditEvent.objects.count() == before


def test_team_lead_cannot_see_or_change_another_teams_register(client, other_lead, project):
    risk = RiskFactory(project=project)
    client.force_login(other_lead)
    assert client.get(f"/governance/projects/{project.slug}/risks/").status_code == 404
    assert client.get(f"/governance/risks/{risk.pk}/").status_code == 404
    assert client.post(f"/governance/risks/{risk.pk}/transition/", {"status": "closed"}).status_code == 404
    risk.refresh_from_db()
    assert risk.status == RiskStatus.OPEN


# --- the portfolio page -----------------------------------------------------------------------------------


@pytest.fixture
def portfolio(project, other_project):
    """Four risks of `project` (team Claims) and two of `other_project` (team Marketing)."""
    RiskFactory(project=project, title="Claims bias", category="fairness", likelihood=4, impact=4,
                residual_likelihood=2, residual_impact=3)  # fmt: skip
    RiskFactory(project=project, title="Claims leak", category="privacy", likelihood=4, impact=4)
    RiskFactory(project=project, title="Claims drift", category="robustness", likelihood=2, impact=2)
    overdue_risk(project=project, title="Claims outage", category="operational", likelihood=5, impact=5)
    RiskFactory(project=other_project, title="Churn leak", category="privacy", likelihood=4, impact=4)
    RiskFactory(project=other_project, title="Churn opacity", category="transparency", likelihood=1, impact=3)
    services.risk_reviews_mark_overdue()


def titles(response) -> list[str]:
    return [r.title for r in response.context["risks"]]


def test_portfolio_heat_map_counts_every_visible_risk_per_cell(client, executive, portfolio):
    client.force_login(executive)

    residual = client.get("/governance/risks/")
    inherent = client.get("/governance/risks/?axis=inherent")

    assert residual.status_code == 200
    expected_residual = [[0] * 5 for _ in range(5)]
    for lk, im in [(2, 3), (4, 4), (2, 2), (5, 5), (4, 4), (1, 3)]:
        expected_residual[lk - 1][im - 1] += 1
    assert heatmap(residual) == expected_residual
    expected_inherent = [[0] * 5 for _ in range(5)]
    for lk, im in [(4, 4), (4, 4), (2, 2), (5, 5), (4, 4), (1, 3)]:
        expected_inherent[lk - 1][im - 1] += 1
    assert heatmap(inherent) == expected_inherent
    assert titles(residual) == ["Claims outage", "Churn leak", "Claims leak", "Claims bias", "Claims drift",
                                "Churn opacity"]  # fmt: skip
    page = text(residual)
    assert 'data-click-x="residual_impact" data-click-y="residual_likelihood" data-click-set="axis=residual"' in page
    assert '<script src="/static/vendor/plotly/plotly-cartesian.min.js"></script>' in page
    assert '<script src="/static/js/charts.js"></script>' in page
    assert "review every 30 days" in page  # the bands legend


def test_team_lead_portfolio_shows_only_their_teams_risks(client, team_lead, portfolio):
    client.force_login(team_lead)
    response = client.get("/governance/risks/")
    assert sorted(titles(response)) == ["Claims bias", "Claims drift", "Claims leak", "Claims outage"]
    assert sum(map(sum, heatmap(response))) == 4
    assert "Churn" not in text(response)
    assert "Marketing" not in text(response)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("team=marketing", ["Churn leak", "Churn opacity"]),
        ("category=privacy", ["Churn leak", "Claims leak"]),
        ("category=privacy&category=fairness", ["Churn leak", "Claims leak", "Claims bias"]),
        ("level=critical&level=low", ["Claims outage", "Claims drift", "Churn opacity"]),
        ("status=open&overdue=true", ["Claims outage"]),
        ("residual_likelihood=4&residual_impact=4", ["Churn leak", "Claims leak"]),
        ("axis=inherent&likelihood=4&impact=4", ["Churn leak", "Claims leak", "Claims bias"]),
        ("q=leak&team=claims", ["Claims leak"]),
        ("tier=high", []),
        ("likelihood=9", []),  # a filter that cannot be applied shows nothing, not everything
    ],
)
def test_portfolio_filters(client, risk_officer, portfolio, query, expected):
    client.force_login(risk_officer)
    response = client.get(f"/governance/risks/?{query}")
    assert response.status_code == 200
    assert titles(response) == expected


def test_portfolio_tier_filter_follows_the_projects_tier(client, executive, portfolio, other_project):
    type(other_project).objects.filter(pk=other_project.pk).update(risk_tier="high")
    client.force_login(executive)
    assert titles(client.get("/governance/risks/?tier=high")) == ["Churn leak", "Churn opacity"]


def test_the_heat_map_keeps_every_cell_while_the_list_shows_the_clicked_one(client, executive, portfolio):
    client.force_login(executive)
    response = client.get("/governance/risks/?axis=residual&residual_likelihood=4&residual_impact=4&team=claims")
    assert titles(response) == ["Claims leak"]
    grid = heatmap(response)
    assert sum(map(sum, grid)) == 4  # every Claims risk, not just the cell
    assert grid[4 - 1][4 - 1] == 1
    assert response.context["selected_cell"] == (4, 4)
    # The toggle keeps the other filters and the table's links keep them too.
    page = text(response)
    assert 'href="?axis=inherent&amp;residual_likelihood=4&amp;residual_impact=4&amp;team=claims"' in page
    assert 'href="?axis=residual&amp;team=claims&amp;residual_likelihood=2&amp;residual_impact=2#risk-list"' in page
    assert '<a href="?axis=residual&amp;team=claims#risk-list">Show every residual cell</a>' in page


def test_after_toggling_the_axis_the_other_axis_cell_filter_stays_visible_and_removable(client, executive, portfolio):
    client.force_login(executive)
    response = client.get("/governance/risks/?axis=inherent&residual_likelihood=4&residual_impact=4")
    assert titles(response) == ["Churn leak", "Claims leak"]
    assert response.context["selected_cell"] is None  # no inherent cell chosen: nothing outlined
    assert sum(map(sum, heatmap(response))) == 2  # the inherent map of the residual cell's risks
    page = text(response)
    assert "Showing the risks whose residual likelihood is 4 and impact 4." in page
    assert '<a href="?axis=inherent#risk-list">Show every residual cell</a>' in page
    # The filter form keeps the cell as hidden inputs instead of offering four more drop-downs.
    assert '<input type="hidden" name="residual_likelihood" value="4">' in page


def test_portfolio_list_is_paginated(client, executive, project):
    for n in range(30):
        RiskFactory(project=project, title=f"Risk {n:02}", likelihood=1 + n % 5, impact=1 + n // 10)
    client.force_login(executive)
    first = client.get("/governance/risks/")
    second = client.get("/governance/risks/?page=2")
    assert len(first.context["risks"]) == 25
    assert len(second.context["risks"]) == 5
    assert set(titles(first)).isdisjoint(titles(second))
    assert sum(map(sum, heatmap(second))) == 30


# --- exports --------------------------------------------------------------------------------------------


def csv_rows(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return csv_dicts(response)


def xlsx_rows(response) -> list[dict]:
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content), read_only=True)["Risks"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_csv_export_holds_the_filtered_risks_with_their_computation(client, executive, portfolio):
    client.force_login(executive)
    response = client.get("/governance/risks/?team=claims&level=high&level=critical&export=csv")
    assert 'filename="keel-risks-' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert [r["title"] for r in rows] == ["Claims outage", "Claims leak"]
    outage = rows[0]
    assert outage["project"] == "Fraud scoring"
    assert outage["team"] == "Claims"
    assert (outage["inherent_score"], outage["residual_score"], outage["residual_level"]) == ("25", "25", "critical")
    assert (
        outage["residual_computation"] == "Almost certain (5) × Severe (5) = 25: Critical (17–25), review every 30 days"
    )
    assert outage["nist_ai_rmf_functions"] == "GOVERN MAP MEASURE MANAGE"
    assert outage["review_overdue"] == "True"
    assert outage["status"] == "open"


def test_xlsx_export_holds_the_same_risks_with_typed_cells(client, team_lead, portfolio):
    client.force_login(team_lead)
    rows = xlsx_rows(client.get("/governance/risks/?export=xlsx"))
    assert [r["title"] for r in rows] == ["Claims outage", "Claims leak", "Claims bias", "Claims drift"]
    bias = rows[2]
    assert (bias["likelihood"], bias["impact"], bias["residual_score"], bias["residual_level"]) == (4, 4, 6, "medium")
    assert bias["next_review_date"].date() == TODAY() + dt.timedelta(days=180)
    assert bias["review_overdue"] is False
    assert bias["inherent_computation"] == "Likely (4) × Major (4) = 16: High (10–16), review every 90 days"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_neutralise_spreadsheet_formulas(client, risk_officer, fmt):
    project = AIProjectFactory(name='=HYPERLINK("http://evil.example")')
    RiskFactory(project=project, title="=1+1", likelihood=2, impact=2)
    RiskFactory(project=project, title="@SUM(A1)\x07", likelihood=1, impact=1)
    # A control character in front once hid the "=" from the check, then the XLSX writer dropped it.
    RiskFactory(project=project, title='\x01=HYPERLINK("http://evil.example")', likelihood=1, impact=2)
    client.force_login(risk_officer)
    response = client.get(f"/governance/risks/?export={fmt}")
    rows = csv_rows(response) if fmt == "csv" else xlsx_rows(response)
    # Both formats hold the same text: control characters removed, then formulas neutralised.
    assert sorted(r["title"] for r in rows) == sorted(["'=1+1", "'@SUM(A1)", '\'=HYPERLINK("http://evil.example")'])
    assert {r["project"] for r in rows} == {'\'=HYPERLINK("http://evil.example")'}
