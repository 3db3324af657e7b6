"""The exports of the governance list pages (findings, sign-offs, audit trail, PII inventory) and the one
list rule they share with the risk register and the dashboard: the page's filters and the user's scope
apply, every cell is spreadsheet-safe, and a filter that cannot be applied (or an unknown format)
answers 400 instead of exporting more than the page shows."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import transaction
from openpyxl import load_workbook

from core import audit
from core.exports import CSV_TYPE, XLSX_TYPE
from governance.compliance import services as compliance_services
from governance.models import Finding, FindingKind, Severity
from projects.models import RiskTier
from tests.factories import AIProjectFactory, make_user
from tests.pii_factories import dataset, fld
from tests.signoff_factories import assess, linked_version, pending_request

EVIL = '\x01=HYPERLINK("http://evil.example")'
SAFE = "'" + '=HYPERLINK("http://evil.example")'


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"] == CSV_TYPE
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def xlsx_rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def rows(response, fmt: str) -> list[dict]:
    return csv_rows(response) if fmt == "csv" else xlsx_rows(response)


def finding(project, title: str, *, severity=Severity.HIGH, subject_id: str = "1") -> Finding:
    return Finding.objects.create(
        kind=FindingKind.RISK_REVIEW_OVERDUE,
        severity=severity,
        title=title,
        subject_type="governance.risk",
        subject_id=subject_id,
        project=project,
    )


# --- findings ---------------------------------------------------------------------------------------


@pytest.fixture
def two_teams_findings(project, other_project):
    return {
        "ours": finding(project, "Leak of claims data", severity=Severity.CRITICAL, subject_id="1"),
        "ours_high": finding(project, "Unfair denials", severity=Severity.HIGH, subject_id="2"),
        "theirs": finding(other_project, "Churn data leak", severity=Severity.HIGH, subject_id="3"),
    }


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_findings_export_holds_the_filtered_rows(client, risk_officer, two_teams_findings, fmt):
    client.force_login(risk_officer)
    every = rows(client.get("/governance/findings/", {"export": fmt}), fmt)
    assert [r["title"] for r in every] == ["Leak of claims data", "Churn data leak", "Unfair denials"]
    leak = every[0]
    assert (leak["severity"], leak["project"], leak["status"]) == ("critical", "Fraud scoring", "open")
    high = rows(client.get("/governance/findings/", {"export": fmt, "severity": "high"}), fmt)
    assert [r["title"] for r in high] == ["Churn data leak", "Unfair denials"]


def test_a_team_leads_findings_export_holds_only_their_teams_rows(client, team_lead, two_teams_findings):
    client.force_login(team_lead)
    exported = csv_rows(client.get("/governance/findings/", {"export": "csv"}))
    assert [r["title"] for r in exported] == ["Leak of claims data", "Unfair denials"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_findings_export_neutralises_a_formula_hidden_behind_a_control_character(client, risk_officer, project, fmt):
    finding(project, EVIL)
    client.force_login(risk_officer)
    assert [r["title"] for r in rows(client.get("/governance/findings/", {"export": fmt}), fmt)] == [SAFE]


# --- sign-offs --------------------------------------------------------------------------------------


@pytest.fixture
def two_teams_signoffs(team_lead, other_lead, project, other_project):
    assess(project, RiskTier.MINIMAL, by=team_lead)
    assess(other_project, RiskTier.MINIMAL, by=other_lead)
    ours = pending_request(linked_version(project, model="fraud-model"), team_lead)
    theirs = pending_request(linked_version(other_project, model="churn-model"), other_lead)
    return {"ours": ours, "theirs": theirs}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_signoffs_export_holds_the_filtered_requests(client, risk_officer, project, two_teams_signoffs, fmt):
    client.force_login(risk_officer)
    every = rows(client.get("/governance/signoffs/", {"export": fmt}), fmt)
    assert sorted(r["model"] for r in every) == ["churn-model", "fraud-model"]
    ours = rows(client.get("/governance/signoffs/", {"export": fmt, "project": project.slug}), fmt)
    assert [(r["model"], r["status"], r["tier"]) for r in ours] == [("fraud-model", "pending", "minimal")]
    assert rows(client.get("/governance/signoffs/", {"export": fmt, "status": "approved"}), fmt) == []


def test_a_team_leads_signoffs_export_holds_only_their_teams_requests(client, team_lead, two_teams_signoffs):
    client.force_login(team_lead)
    exported = csv_rows(client.get("/governance/signoffs/", {"export": "csv"}))
    assert [int(r["id"]) for r in exported] == [two_teams_signoffs["ours"].pk]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_signoffs_export_neutralises_formulas(client, risk_officer, team, team_lead, fmt):
    project = AIProjectFactory(name=EVIL, team=team, owner=team_lead)
    assess(project, RiskTier.MINIMAL, by=team_lead)
    pending_request(linked_version(project), team_lead)
    client.force_login(risk_officer)
    assert [r["project"] for r in rows(client.get("/governance/signoffs/", {"export": fmt}), fmt)] == [SAFE]


# --- the audit trail --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_audit_export_holds_the_filtered_events_newest_first(client, risk_officer, project, fmt):
    client.force_login(risk_officer)
    every = rows(client.get("/governance/audit/", {"export": fmt}), fmt)
    assert [int(r["seq"]) for r in every] == sorted((int(r["seq"]) for r in every), reverse=True)
    created = rows(client.get("/governance/audit/", {"export": fmt, "action": "project.created"}), fmt)
    assert [r["action"] for r in created] == ["project.created"]
    assert created[0]["object_id"] == str(project.pk)
    assert '"name": "Fraud scoring"' in created[0]["after"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_audit_export_neutralises_formulas(client, risk_officer, project, fmt):
    with transaction.atomic():
        audit.record(actor=make_user(EVIL), action="test.formula", obj=project, after={"x": 1})
    client.force_login(risk_officer)
    exported = rows(client.get("/governance/audit/", {"export": fmt, "action": "test.formula"}), fmt)
    assert [r["actor"] for r in exported] == [SAFE]


def test_a_team_lead_may_not_export_the_audit_trail(client, team_lead, project):
    client.force_login(team_lead)
    assert client.get("/governance/audit/", {"export": "csv"}).status_code == 403


# --- the PII inventory ------------------------------------------------------------------------------


@pytest.fixture
def classified(risk_officer):
    customers = dataset("raw.customers", "email", "name")
    compliance_services.classification_assert(
        by=risk_officer, dataset=customers, field=fld(customers, "email"), pii_kind="email"
    )
    weird = dataset(EVIL, "email")
    compliance_services.classification_assert(
        by=risk_officer, dataset=weird, field=fld(weird, "email"), pii_kind="email"
    )
    return customers


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_pii_inventory_export_holds_the_filtered_rows_made_safe(client, risk_officer, classified, fmt):
    client.force_login(risk_officer)
    every = rows(client.get("/governance/pii/labels/", {"export": fmt}), fmt)
    assert sorted(r["dataset"] for r in every) == sorted([SAFE, "raw.customers"])
    only = rows(client.get("/governance/pii/labels/", {"export": fmt, "q": "customers"}), fmt)
    assert [(r["dataset"], r["field"], r["pii_kind"], r["origin"]) for r in only] == [
        ("raw.customers", "email", "email", "manual")
    ]


def test_pii_inventory_is_organisation_wide_so_a_team_lead_exports_every_row(client, team_lead, classified):
    client.force_login(team_lead)
    assert len(csv_rows(client.get("/governance/pii/labels/", {"export": "csv"}))) == 2


# --- the one list rule ------------------------------------------------------------------------------

BAD_FILTERS = [
    ("/governance/findings/", {"severity": "catastrophic"}, "risk_officer"),
    ("/governance/signoffs/", {"status": "nope"}, "risk_officer"),
    ("/governance/audit/", {"since": "yesterday-ish"}, "risk_officer"),
    ("/governance/pii/labels/", {"pii_kind": "shoe-size"}, "risk_officer"),
    ("/governance/pii/", {"pii": "shoe-size"}, "risk_officer"),
    ("/governance/risks/", {"level": "apocalyptic"}, "risk_officer"),
    ("/governance/dashboard/", {"stage": "nowhere"}, "executive"),
]


@pytest.mark.parametrize(("url", "params", "who"), BAD_FILTERS)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_with_a_filter_that_cannot_be_applied_answers_400(request, client, url, params, who, fmt):
    client.force_login(request.getfixturevalue(who))
    response = client.get(url, {**params, "export": fmt})
    assert response.status_code == 400
    assert response.content.decode().startswith("The filter cannot be applied, so nothing was exported:")
    assert next(iter(params)) in response.content.decode()


@pytest.mark.parametrize(("url", "params", "who"), BAD_FILTERS)
def test_a_page_with_a_filter_that_cannot_be_applied_shows_the_error_and_no_rows(
    request, client, url, params, who, two_teams_findings, classified
):
    client.force_login(request.getfixturevalue(who))
    response = client.get(url, params)
    assert response.status_code == 200
    assert response.context["filter"].errors
    assert list(response.context["page_obj"].object_list) == []
    assert 'class="error" role="alert"' in response.content.decode()


@pytest.mark.parametrize("url", ["/governance/findings/", "/governance/signoffs/", "/governance/audit/",
                                 "/governance/pii/", "/governance/pii/labels/", "/governance/risks/",
                                 "/governance/dashboard/"])  # fmt: skip
def test_an_unknown_export_format_answers_400(client, admin_user, url):
    client.force_login(admin_user)
    response = client.get(url, {"export": "pdf"})
    assert response.status_code == 400
    assert response.content.decode() == "Unknown export format 'pdf'; choose one of: csv, xlsx."
