"""Dates and months outside the accepted window (core.dates: 1 January of KEEL_DATE_MIN_YEAR to 31 December
of this year + KEEL_DATE_MAX_YEARS_AHEAD) are refused with a message naming the window — by every form,
serializer and import that takes one — and nothing is stored or audited. Before, 9999-12 and 0001-01
were stored as ROI and FX months, and 9999-12-31 as a mitigation's due date."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.dates import DATE_OUT_OF_WINDOW, MONTH_OUT_OF_WINDOW, date_window, validate_date, validate_month
from governance.models import AuditEvent, Mitigation, Risk
from projects.models import AIProject, FxRate, ROIEntry
from tests.api_errors import invalid_input
from tests.risk_factories import RiskFactory

JSON = {"content_type": "application/json"}
BAD_MONTHS = ["9999-12", "0001-01", "1999-12"]
BAD_DATES = ["9999-12-31", "0001-01-01", "1999-12-31"]


def month_message(value: str) -> str:
    first, last = date_window()
    return MONTH_OUT_OF_WINDOW.format(value=value, first=f"{first:%Y-%m}", last=f"{last:%Y-%m}")


def date_message(value: str) -> str:
    first, last = date_window()
    return DATE_OUT_OF_WINDOW.format(value=value, first=first.isoformat(), last=last.isoformat())


def db_state() -> tuple:
    return (
        list(ROIEntry.objects.values_list("pk", "month")),
        list(FxRate.objects.values_list("pk", "month")),
        list(Mitigation.objects.values_list("pk", "due_date")),
        list(AIProject.objects.values_list("pk", "start_month")),
        list(Risk.objects.values_list("pk", "status", "acceptance_expires_on")),
        AuditEvent.objects.count(),
    )  # fmt: skip


@pytest.fixture
def lead(client, team_lead, project):
    client.force_login(team_lead)
    return client


def roi_body(project, **kw):
    return {"project": project.slug, "month": "2026-03", "kind": "value", "category": "cost_saving",
            "basis": "actual", "amount": "1000.00", **kw}  # fmt: skip


# --- ROI months: API, bulk, page form, file import -----------------------------------------------


@pytest.mark.parametrize("month", BAD_MONTHS)
def test_the_roi_api_refuses_a_month_outside_the_window(lead, project, month):
    before = db_state()
    response = lead.post("/api/v1/roi-entries/", roi_body(project, month=month), **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("month", month_message(month))
    assert db_state() == before


def test_the_roi_api_refuses_moving_an_entry_outside_the_window(lead, project):
    created = lead.post("/api/v1/roi-entries/", roi_body(project), **JSON).json()
    before = db_state()
    response = lead.patch(f"/api/v1/roi-entries/{created['id']}/", {"month": "9999-12"}, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("month", month_message("9999-12"))
    assert db_state() == before


@pytest.mark.parametrize("month", BAD_MONTHS)
def test_the_roi_bulk_api_refuses_the_row_and_saves_nothing(lead, project, month):
    rows = [{"month": "2025-01", "kind": "cost", "category": "compute", "basis": "actual", "amount": "10"},
            {"month": month, "kind": "cost", "category": "compute", "basis": "actual", "amount": "20"}]  # fmt: skip
    before = db_state()
    response = lead.post("/api/v1/roi-entries/bulk/", {"project": project.slug, "rows": rows}, **JSON)
    assert response.status_code == 400
    assert response.json()["rows"] == [{"row": 2, "errors": {"month": [month_message(month)]}}]
    assert db_state() == before


@pytest.mark.parametrize("month", BAD_MONTHS)
def test_the_roi_log_form_shows_the_window_next_to_the_month(lead, project, month):
    before = db_state()
    form = {"month": month, "category": "licences", "basis": "actual", "amount": "99.90", "currency": ""}
    response = lead.post(f"/projects/{project.slug}/roi/", form)
    assert response.status_code == 200
    assert response.context["log_form"].errors["month"] == [month_message(month)]
    assert db_state() == before


@pytest.mark.parametrize(("name", "month"), [("roi.csv", "9999-12"), ("roi.csv", "0001-01"), ("roi.xlsx", "9999-12")])
def test_a_roi_file_with_a_month_outside_the_window_saves_nothing_and_names_the_line(lead, project, name, month):
    rows = [["month", "kind", "category", "basis", "amount"], ["2026-01", "cost", "people", "actual", "10"],
            [month, "cost", "people", "actual", "10"]]  # fmt: skip
    if name.endswith(".csv"):
        data = "\n".join(",".join(row) for row in rows).encode()
    else:
        from openpyxl import Workbook

        book = Workbook()
        for row in rows:
            book.active.append(row)
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
    before = db_state()
    response = lead.post(f"/projects/{project.slug}/roi/import/", {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 200
    assert [(r["line"], r["errors"]) for r in response.context["import_errors"]] == [
        (3, {"month": [month_message(month)]})
    ]
    assert db_state() == before


# --- FX months ------------------------------------------------------------------------------------


@pytest.mark.parametrize("month", BAD_MONTHS)
def test_the_fx_api_refuses_a_month_outside_the_window(client, admin_user, month):
    client.force_login(admin_user)
    before = db_state()
    response = client.post("/api/v1/fx-rates/", {"currency": "USD", "month": month, "rate": "0.9"}, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("month", month_message(month))
    assert db_state() == before


def test_the_fx_admin_form_refuses_a_month_outside_the_window(client, admin_user):
    client.force_login(admin_user)
    before = db_state()
    response = client.post("/admin/projects/fxrate/add/", {"currency": "USD", "month": "9999-12-01", "rate": "0.9"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["month"] == [month_message("9999-12")]
    assert db_state() == before


# --- a project's start month ----------------------------------------------------------------------


def test_the_project_api_refuses_a_start_month_outside_the_window(lead, project):
    before = db_state()
    response = lead.patch(f"/api/v1/projects/{project.slug}/", {"start_month": "9999-12-01"}, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("start_month", month_message("9999-12"))
    assert db_state() == before


def test_the_project_form_refuses_a_start_month_outside_the_window(lead, project, team, team_lead):
    before = db_state()
    form = {
        "name": project.name, "purpose": "x", "team": team.pk, "owner": team_lead.pk, "health": "on_track",
        "currency": "EUR", "expected_investment": "0", "expected_annual_value": "0", "start_month": "0001-01",
        "horizon_months": "36",
    }  # fmt: skip
    response = lead.post(f"/projects/{project.slug}/edit/", form)
    assert response.status_code == 200
    assert response.context["form"].errors["start_month"] == [month_message("0001-01")]
    assert db_state() == before


# --- mitigation due dates and risk acceptance expiry ------------------------------------------------


@pytest.mark.parametrize("due", BAD_DATES)
def test_the_mitigation_api_refuses_a_due_date_outside_the_window(lead, project, due):
    risk = RiskFactory(project=project)
    before = db_state()
    body = {"risk": risk.pk, "action": "Reweigh the training data", "due_date": due}
    response = lead.post("/api/v1/mitigations/", body, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("due_date", date_message(due))
    assert db_state() == before


@pytest.mark.parametrize("due", BAD_DATES)
def test_the_mitigation_form_refuses_a_due_date_outside_the_window(lead, project, team_lead, due):
    risk = RiskFactory(project=project)
    before = db_state()
    data = {"action": "Add a drift alert", "owner": team_lead.pk, "due_date": due, "status": "planned"}
    response = lead.post(f"/governance/risks/{risk.pk}/mitigations/", data)
    assert response.status_code == 200
    assert date_message(due) in response.content.decode()
    assert db_state() == before


def test_the_risk_acceptance_api_refuses_an_expiry_outside_the_window(client, risk_officer, project):
    risk = RiskFactory(project=project)
    client.force_login(risk_officer)
    before = db_state()
    body = {"status": "accepted", "justification": "Low impact.", "accept_until": "9999-12-31"}
    response = client.post(f"/api/v1/risks/{risk.pk}/transition/", body, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("accept_until", date_message("9999-12-31"))
    assert db_state() == before


# --- the window itself ----------------------------------------------------------------------------


def test_the_window_edges_are_accepted_and_one_step_past_them_is_not(lead, project):
    first, last = date_window()
    for month in (first, last.replace(day=1)):
        response = lead.post("/api/v1/roi-entries/", roi_body(project, month=f"{month:%Y-%m}"), **JSON)
        assert response.status_code == 201, response.json()
    validate_date(first)
    validate_date(last)
    for outside in (first - dt.timedelta(days=1), last + dt.timedelta(days=1)):
        with pytest.raises(Exception, match="outside the dates Keel accepts"):
            validate_date(outside)
        with pytest.raises(Exception, match="outside the months Keel accepts"):
            validate_month(outside.replace(day=1))
    assert ROIEntry.objects.count() == 2


def test_the_window_follows_the_settings(settings, lead, project):
    settings.KEEL_DATE_MIN_YEAR = 2020
    settings.KEEL_DATE_MAX_YEARS_AHEAD = 1
    today = timezone.localdate()
    assert date_window(today) == (dt.date(2020, 1, 1), dt.date(today.year + 1, 12, 31))
    response = lead.post("/api/v1/roi-entries/", roi_body(project, month="2019-12"), **JSON)
    assert response.json() == invalid_input("month", month_message("2019-12"))
    assert month_message("2019-12").endswith(f"give a month from 2020-01 to {today.year + 1}-12.")
    assert ROIEntry.objects.count() == 0
