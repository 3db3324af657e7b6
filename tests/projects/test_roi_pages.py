"""The ROI tab, its log and upload forms, the template download, and the team lead's quick-log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import RequestFactory

from governance.models import AuditEvent
from projects.models import ROIEntry
from projects.roi import services
from projects.roi.forms import this_month
from projects.roi.selectors import roi_month_status_for_user
from projects.views.home import roi_home_context
from tests.api_errors import NOT_A_CHOICE


def roi_url(project):
    return f"/projects/{project.slug}/roi/"


def log(project, by, month, **kw):
    values = {"kind": "cost", "category": "compute", "basis": "actual", "amount": D("100")}
    return services.roi_entry_create(by=by, project=project, month=month, **(values | kw))


def test_the_tab_shows_the_figures_and_the_ledger(client, executive, team_lead, project):
    log(project, team_lead, dt.date(2025, 1, 1), amount=D("300"))
    log(project, team_lead, dt.date(2025, 2, 1), kind="value", category="cost_saving", amount=D("450"))
    client.force_login(executive)
    response = client.get(roi_url(project))
    assert response.status_code == 200
    f = response.context["figures"]
    assert (f.cumulative_value, f.cumulative_cost, f.net_value, f.roi_pct) == (D("450"), D("300"), D("150"), D("50"))
    assert f.payback_month == dt.date(2025, 2, 1)
    html = response.content.decode()
    assert 'aria-current="page">ROI</a>' in html
    assert "2025-02 (month 2)" in html
    assert "50.0%" in html
    assert [e.month for e in response.context["entries"]] == [dt.date(2025, 2, 1), dt.date(2025, 1, 1)]
    # Readers get no forms.
    assert "log_form" not in response.context
    assert "Log an amount" not in html


def test_the_tab_says_when_nothing_is_logged(client, team_lead, project):
    client.force_login(team_lead)
    html = client.get(roi_url(project)).content.decode()
    assert "No actual value or cost has been logged yet." in html
    assert "The ledger is empty." in html
    assert "Log an amount" in html


def test_the_ledger_is_paginated(client, team_lead, project):
    for i in range(30):
        log(project, team_lead, dt.date(2023 + i // 12, i % 12 + 1, 1))
    client.force_login(team_lead)
    first = client.get(roi_url(project))
    assert len(first.context["entries"]) == 25
    assert len(client.get(roi_url(project), {"page": 2}).context["entries"]) == 5
    assert "Page 1 of 2 (30 in all)" in first.content.decode()


def test_value_decay_is_flagged_on_the_tab(client, team_lead, project, settings):
    settings.KEEL_VALUE_DECAY_MONTHS = 2
    for month in (1, 2):
        day = dt.date(2025, month, 1)
        log(project, team_lead, day, kind="value", category="productivity", basis="planned", amount=D("100"))
        log(project, team_lead, day, kind="value", category="productivity", amount=D("10"))
    client.force_login(team_lead)
    response = client.get(roi_url(project))
    assert response.context["figures"].value_decay is True
    assert "Value decay:" in response.content.decode()


def test_the_log_form_saves_and_comes_back_to_the_ledger(client, team_lead, project):
    client.force_login(team_lead)
    form = {"month": "2026-02", "category": "licences", "basis": "actual", "amount": "99.90", "currency": ""}
    response = client.post(roi_url(project), form)
    assert response.status_code == 302
    assert response["Location"] == roi_url(project) + "#ledger"
    saved = ROIEntry.objects.get()
    assert (saved.month, saved.kind, saved.category, saved.amount, saved.currency) == (
        dt.date(2026, 2, 1), "cost", "licences", D("99.90"), "EUR",
    )  # fmt: skip
    # Logging the same key again corrects the amount.
    client.post(roi_url(project), form | {"amount": "120"})
    assert ROIEntry.objects.get().amount == D("120.00")
    assert AuditEvent.objects.filter(action="roi_entry.updated").count() == 1


def test_the_log_form_shows_a_missing_rate_next_to_the_currency(client, team_lead, project):
    client.force_login(team_lead)
    form = {"month": "2026-02", "category": "licences", "basis": "actual", "amount": "5", "currency": "usd"}
    response = client.post(roi_url(project), form)
    assert response.status_code == 200
    assert response.context["log_form"].errors["currency"] == [
        "There is no FX rate for USD in 2026-02, so the amount cannot be converted into EUR."
        " An admin must set the USD rate for 2026-02 first."
    ]
    assert ROIEntry.objects.count() == 0


def test_a_reader_cannot_post_the_log_form(client, executive, project):
    client.force_login(executive)
    response = client.post(roi_url(project), {"month": "2026-02", "category": "data", "basis": "actual", "amount": "1"})
    assert response.status_code == 403
    assert ROIEntry.objects.count() == 0


def csv_file(text, name="roi.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_an_upload_with_bad_lines_lists_them_and_saves_nothing(client, team_lead, project):
    client.force_login(team_lead)
    text = (
        "month,kind,category,basis,amount\n"
        "2026-01,cost,people,actual,10\n"
        "2026-02,cost,people,actual,ten\n"
        "2026-03,value,people,actual,10\n"
    )
    response = client.post(f"/projects/{project.slug}/roi/import/", {"file": csv_file(text)})
    assert response.status_code == 200
    assert [r["line"] for r in response.context["import_errors"]] == [3, 4]
    html = response.content.decode()
    assert "2 of 3 rows are invalid; nothing was saved." in html
    assert '<th scope="row">3</th>' in html
    assert '<th scope="row">4</th>' in html
    assert ROIEntry.objects.count() == 0


def test_a_good_upload_saves_and_says_what_it_did(client, team_lead, project):
    client.force_login(team_lead)
    text = "month,kind,category,basis,amount\n2026-01,cost,people,actual,10\n2026-02,cost,people,actual,12\n"
    response = client.post(f"/projects/{project.slug}/roi/import/", {"file": csv_file(text)}, follow=True)
    assert "Imported 2 row(s): 2 new, 0 changed, 0 unchanged." in response.content.decode()
    assert ROIEntry.objects.count() == 2


def test_an_upload_of_another_type_is_refused_on_the_field(client, team_lead, project):
    client.force_login(team_lead)
    response = client.post(f"/projects/{project.slug}/roi/import/", {"file": csv_file("hello", "notes.docx")})
    assert response.status_code == 200
    assert response.context["upload_form"].errors["file"] == [
        "Upload a .csv or .xlsx file (the template is available from this page); 'notes.docx' is neither."
    ]


def test_an_oversize_upload_is_refused(client, team_lead, project, settings):
    settings.KEEL_ROI_IMPORT_MAX_BYTES = 50
    client.force_login(team_lead)
    response = client.post(f"/projects/{project.slug}/roi/import/", {"file": csv_file("x" * 60)})
    assert "The file is larger than the 50 bytes accepted." in response.context["upload_form"].errors["file"][0]


@pytest.mark.parametrize(("fmt", "content_type"), [
    ("csv", "text/csv; charset=utf-8"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
])  # fmt: skip
def test_the_template_downloads(client, executive, project, fmt, content_type):
    client.force_login(executive)
    response = client.get(f"/projects/{project.slug}/roi/template.{fmt}")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="keel-roi-template-fraud-scoring.{fmt}"'


def test_the_ledger_exports_as_csv(client, executive, team_lead, project):
    log(project, team_lead, dt.date(2025, 1, 1), note="=cmd|' /C calc'!A0")
    client.force_login(executive)
    response = client.get(roi_url(project), {"export": "csv"})
    text = b"".join(response.streaming_content).decode()
    lines = text.strip().splitlines()
    assert lines[0].startswith("project,month,kind,category,basis,amount,currency,evidence_url,note,amount_reporting")
    assert lines[1].startswith("fraud-scoring,2025-01,cost,compute,actual,100.00,EUR,,'=cmd")


def test_deleting_an_entry_from_the_ledger(client, team_lead, project):
    e = log(project, team_lead, dt.date(2025, 1, 1))
    client.force_login(team_lead)
    response = client.post(f"/projects/{project.slug}/roi/{e.pk}/delete/")
    assert response.status_code == 302
    assert ROIEntry.objects.count() == 0


# --- team lead home: this month's status and the quick-log form -----------------------------------


def test_month_status_says_logged_due_or_not_planned(team_lead, team, project):
    from tests.factories import AIProjectFactory

    planned_only = AIProjectFactory(name="Pricing", team=team, owner=team_lead)
    idle = AIProjectFactory(name="Archive search", team=team, owner=team_lead)
    month = this_month()
    log(project, team_lead, month, amount=D("70"))
    log(project, team_lead, month, kind="value", category="productivity", amount=D("200"))
    log(planned_only, team_lead, month, basis="planned")
    rows = {p.slug: p for p in roi_month_status_for_user(user=team_lead, month=month)}
    assert {slug: p.roi_status for slug, p in rows.items()} == {
        "fraud-scoring": "logged", "pricing": "due", "archive-search": "not_planned",
    }  # fmt: skip
    assert (rows["fraud-scoring"].roi_actual_value, rows["fraud-scoring"].roi_actual_cost) == (D("200"), D("70"))
    assert rows["pricing"].roi_planned_cost == D("100")
    assert idle.slug in rows


def test_the_home_partial_renders_the_status_and_the_form(team_lead, project):
    request = RequestFactory().get("/")
    request.user = team_lead
    html = render_to_string("projects/partials/_roi_quick_log.html", roi_home_context(user=team_lead), request)
    assert "Fraud scoring" in html
    assert "nothing planned" in html
    assert 'action="/projects/roi/quick-log/"' in html


def test_quick_log_saves_this_months_actual_and_goes_home(client, team_lead, project):
    client.force_login(team_lead)
    month = f"{this_month():%Y-%m}"
    form = {"project": project.pk, "month": month, "category": "productivity", "amount": "321", "currency": ""}
    response = client.post("/projects/roi/quick-log/", form)
    assert response.status_code == 302
    assert response["Location"] == "/"
    saved = ROIEntry.objects.get()
    assert (saved.basis, saved.kind, saved.month, saved.amount) == ("actual", "value", this_month(), D("321.00"))


def test_quick_log_refuses_another_teams_project(client, team_lead, other_project):
    client.force_login(team_lead)
    month = f"{this_month():%Y-%m}"
    form = {"project": other_project.pk, "month": month, "category": "productivity", "amount": "1"}
    response = client.post("/projects/roi/quick-log/", form)
    assert response.status_code == 200
    assert ROIEntry.objects.count() == 0
    assert response.context["roi_quick_log_form"].errors["project"] == [NOT_A_CHOICE]


def test_the_team_lead_home_shows_this_months_status_and_the_quick_log(client, team_lead, project):
    client.force_login(team_lead)
    html = client.get("/").content.decode()
    assert f"ROI for {this_month():%B %Y}" in html
    assert 'action="/projects/roi/quick-log/"' in html


def test_the_ledger_filters_with_the_shared_filterset_and_exports_what_it_shows(client, team_lead, project):
    for month in (1, 2, 3):
        log(project, team_lead, dt.date(2025, month, 1))
        log(project, team_lead, dt.date(2025, month, 1), basis="planned")
    client.force_login(team_lead)
    response = client.get(roi_url(project), {"basis": "planned", "month_from": "2025-02"})
    assert [(e.month.month, e.basis) for e in response.context["entries"]] == [(3, "planned"), (2, "planned")]
    assert "project" not in response.context["filter"].form.fields
    html = response.content.decode()
    assert 'href="?basis=planned&amp;month_from=2025-02&amp;export=csv"' in html
    export = client.get(roi_url(project), {"basis": "planned", "month_from": "2025-02", "export": "csv"})
    rows = b"".join(export.streaming_content).decode().strip().splitlines()[1:]
    assert [r.split(",")[1:5:3] for r in rows] == [["2025-02", "planned"], ["2025-03", "planned"]]
    bad = client.get(roi_url(project), {"month_from": "soon"})
    assert bad.context["filter"].errors["month_from"] == ["Give the month as YYYY-MM, e.g. 2026-11."]
    # A filter that cannot be applied shows no rows (it used to show the whole ledger).
    assert list(bad.context["entries"]) == []
    assert "No entry matches these filters." in bad.content.decode()


def test_the_upload_still_checks_the_csrf_token(team_lead, project):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(team_lead)
    text = "month,kind,category,basis,amount\n2026-01,cost,people,actual,10\n"
    response = client.post(f"/projects/{project.slug}/roi/import/", {"file": csv_file(text)})
    assert response.status_code == 403
    assert ROIEntry.objects.count() == 0


def test_an_oversize_upload_is_dropped_while_it_streams(client, team_lead, project, settings):
    settings.KEEL_ROI_IMPORT_MAX_BYTES = 1000
    client.force_login(team_lead)
    big = "month,kind,category,basis,amount\n" + "2026-01,cost,people,actual,10\n" * 200
    response = client.post(f"/projects/{project.slug}/roi/import/", {"file": csv_file(big)})
    assert response.wsgi_request.roi_upload_too_large is True
    assert response.context["upload_form"].errors["file"] == [
        "The file is larger than the 1000 bytes accepted. Split it into smaller files."
    ]
    assert ROIEntry.objects.count() == 0
