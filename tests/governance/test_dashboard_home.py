"""The home page per persona: an executive's is the dashboard; a risk officer's says what waits for them
(the sign-offs waiting for a role they hold) and lists the open findings;
a team lead's has their projects with this month's ROI status and the quick-log form; an admin's is
the plain overview."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from governance.models import Finding, FindingKind, Severity
from projects.models import ROIEntry
from tests.governance.test_dashboard_figures import m, portfolio  # noqa: F401 (a fixture)
from tests.signoff_factories import assess, compliance_officer, linked_version, pending_request, risk_officers

pytestmark = pytest.mark.django_db


def test_an_executive_lands_on_the_dashboard(client, executive, portfolio):  # noqa: F811
    client.force_login(executive)
    response = client.get("/")
    html = response.content.decode()
    assert response.templates[0].name == "governance/dashboard.html"
    assert "<h1>Portfolio dashboard</h1>" in html
    assert 'id="tile-value"' in html
    # Filters and exports go to the dashboard's own address.
    assert '<form method="get" action="/governance/dashboard/"' in html
    assert 'href="/governance/dashboard/?export=xlsx"' in html


def test_a_risk_officer_sees_what_waits_for_them_and_the_open_findings(client, risk_officer, portfolio):  # noqa: F811
    client.force_login(risk_officer)
    response = client.get("/")
    html = response.content.decode()
    assert response.templates[0].name == "projects/home.html"
    assert response.context["reviewer_home"]["open_findings_count"] == 2
    assert [f.title for f in response.context["reviewer_home"]["open_findings"]] == ["Finding 3", "Finding 1"]
    section = html.split('id="waiting-for-you"')[1].split("</section>")[0]
    assert 'Sign-offs waiting for your review <small class="muted">(0)</small>' in section
    assert "No sign-off waits for a role you hold." in section
    assert 'Open findings <small class="muted">(2)</small>' in section
    assert '<a href="/projects/fraud-scoring/">Fraud scoring</a>' in section
    assert "Finding 2" not in section  # resolved
    assert 'id="roi-this-month"' not in html  # not a team lead


def test_a_risk_officer_with_nothing_open_is_told_so(client, risk_officer):
    Finding.objects.create(kind=FindingKind.RISK_REVIEW_OVERDUE, severity=Severity.LOW, title="Old",
                           subject_type="governance.risk", subject_id="1", resolved_at=timezone.now())  # fmt: skip
    client.force_login(risk_officer)
    html = client.get("/").content.decode()
    assert "No open findings." in html
    assert 'Open findings <small class="muted">(0)</small>' in html


def test_a_team_lead_sees_this_months_roi_status_and_the_quick_log_form(client, team_lead, portfolio):  # noqa: F811
    client.force_login(team_lead)
    response = client.get("/")
    html = response.content.decode()
    assert response.templates[0].name == "projects/home.html"
    assert [p.slug for p in response.context["roi_projects"]] == ["fraud-scoring"]  # their team's only
    status = html.split('id="roi-this-month"')[1]
    assert re.search(r"Fraud scoring</a></th>\s*<td><span class=\"badge roi-logged\">logged</span>", status)
    assert "Churn model" not in status
    assert 'action="/projects/roi/quick-log/"' in status
    assert 'id="waiting-for-you"' not in html


def test_a_team_leads_quick_log_changes_their_home_and_the_dashboard(client, team_lead, executive, portfolio):  # noqa: F811
    fraud, _churn = portfolio
    ROIEntry.objects.filter(project=fraud, month=m(0), basis="actual").delete()
    client.force_login(team_lead)
    assert "actuals due" in client.get("/").content.decode().split('id="roi-this-month"')[1]
    form = client.get("/").context["roi_quick_log_form"]
    data = {name: field.initial or "" for name, field in form.fields.items()}
    data.update(project=fraud.pk, month=m(0).strftime("%Y-%m"), category="cost_saving", amount="7000",
                currency="EUR", note="")  # fmt: skip
    response = client.post("/projects/roi/quick-log/", data)
    assert response.status_code == 302, response.content[:500]
    assert "logged" in client.get("/").content.decode().split('id="roi-this-month"')[1]
    client.force_login(executive)
    summary = client.get("/governance/dashboard/", {"team": "claims"}).context["summary"]
    assert str(summary.figures.cumulative_value) == "26000.00"  # 8,000 + 11,000 + 7,000


def test_an_admin_keeps_the_plain_overview(client, admin_user, portfolio):  # noqa: F811
    client.force_login(admin_user)
    response = client.get("/")
    html = response.content.decode()
    assert response.templates[0].name == "projects/home.html"
    assert [row["count"] for row in response.context["stage_counts"]] == [1, 0, 0, 0, 1, 0]
    assert 'id="waiting-for-you"' not in html
    assert 'id="roi-this-month"' not in html


def test_each_reviewer_sees_the_signoffs_waiting_for_a_role_they_hold(client, project, team_lead):
    assess(project, "high")  # the high-risk policy asks for a risk officer and a DPO
    request = pending_request(linked_version(project), team_lead)
    dpo, (officer,) = compliance_officer(), risk_officers(1)
    for reviewer in (officer, dpo):
        client.force_login(reviewer)
        section = client.get("/").content.decode().split('id="waiting-for-you"')[1].split("</section>")[0]
        assert 'Sign-offs waiting for your review <small class="muted">(1)</small>' in section
        assert f'<a href="/governance/signoffs/{request.pk}/">Sign-off #{request.pk}</a>' in section
