"""/api/v1/roi-entries/ and /api/v1/fx-rates/: CRUD, the all-or-nothing bulk, scoping and audit rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from governance.models import AuditEvent
from projects.models import FxRate, ROIEntry
from projects.roi import services

MAR = dt.date(2026, 3, 1)
URL = "/api/v1/roi-entries/"


def body(project, **kw):
    return {
        "project": project.slug, "month": "2026-03", "kind": "value", "category": "cost_saving",
        "basis": "actual", "amount": "1000.00", **kw,
    }  # fmt: skip


def entry(project, by, **kw):
    values = {"month": MAR, "kind": "cost", "category": "compute", "basis": "actual", "amount": D("100")}
    return services.roi_entry_create(by=by, project=project, **(values | kw))


def test_create_returns_the_entry_with_its_reporting_amount(client, team_lead, project):
    client.force_login(team_lead)
    response = client.post(URL, body(project), content_type="application/json")
    assert response.status_code == 201, response.json()
    data = response.json()
    saved = ROIEntry.objects.get()
    assert data == {
        "id": saved.pk, "project": "fraud-scoring", "month": "2026-03", "kind": "value", "category": "cost_saving",
        "basis": "actual", "amount": "1000.00", "currency": "EUR", "amount_reporting": "1000.00",
        "reporting_currency": "EUR", "evidence_url": "", "note": "", "logged_by": "lead",
        "created_at": data["created_at"], "updated_at": data["updated_at"],
    }  # fmt: skip
    (event,) = AuditEvent.objects.filter(action="roi_entry.created")
    assert (event.object_id, event.actor_id) == (str(saved.pk), team_lead.pk)


def test_create_without_a_rate_is_a_400_naming_currency_and_month(client, team_lead, project):
    client.force_login(team_lead)
    response = client.post(URL, body(project, currency="USD"), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input: currency.",
        "code": "invalid",
        "currency": [
            "There is no FX rate for USD in 2026-03, so the amount cannot be converted into EUR."
            " An admin must set the USD rate for 2026-03 first."
        ],
    }
    assert ROIEntry.objects.count() == 0


def test_create_with_a_bad_month_or_mismatched_category_is_a_400(client, team_lead, project):
    client.force_login(team_lead)
    response = client.post(URL, body(project, month="March"), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input: month.",
        "code": "invalid",
        "month": ["Give the month as YYYY-MM (e.g. 2026-11)."],
    }
    response = client.post(URL, body(project, kind="cost"), content_type="application/json")
    assert response.status_code == 400
    assert "is not a cost category" in response.json()["category"][0]


def test_a_duplicate_key_is_a_400(client, team_lead, project):
    client.force_login(team_lead)
    client.post(URL, body(project), content_type="application/json")
    response = client.post(URL, body(project, amount="5"), content_type="application/json")
    assert response.status_code == 400
    refusal = response.json()
    assert "change that entry instead" in refusal["non_field_errors"][0]
    assert (refusal["detail"], refusal["code"], "__all__" in refusal) == (
        refusal["non_field_errors"][0],
        "invalid",
        False,
    )


def test_patch_put_and_delete_are_audited(client, team_lead, project):
    e = entry(project, team_lead)
    client.force_login(team_lead)
    response = client.patch(f"{URL}{e.pk}/", {"amount": "150"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["amount_reporting"] == "150.00"
    put = {"month": "2026-04", "kind": "cost", "category": "people", "basis": "planned", "amount": "80"}
    response = client.put(f"{URL}{e.pk}/", put, content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["month"], response.json()["category"], response.json()["basis"]) == (
        "2026-04", "people", "planned",
    )  # fmt: skip
    assert client.delete(f"{URL}{e.pk}/").status_code == 204
    actions = list(AuditEvent.objects.filter(object_type="projects.roientry").order_by("seq").values_list("action"))
    assert actions == [("roi_entry.created",), ("roi_entry.updated",), ("roi_entry.updated",), ("roi_entry.deleted",)]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("executive", 403), ("risk_officer", 403), ("other_lead", 404), ("admin_user", 200)],
)
def test_only_the_projects_lead_or_an_admin_changes_an_entry(persona, expected, request, client, team_lead, project):
    e = entry(project, team_lead)
    client.force_login(request.getfixturevalue(persona))
    response = client.patch(f"{URL}{e.pk}/", {"amount": "1"}, content_type="application/json")
    assert response.status_code == expected
    assert ROIEntry.objects.get().amount == (D("1.00") if expected == 200 else D("100.00"))


def test_another_teams_project_reads_as_unknown_on_create(client, other_lead, project):
    client.force_login(other_lead)
    response = client.post(URL, body(project), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input: project.",
        "code": "invalid",
        "project": ["Object with slug=fraud-scoring does not exist."],
    }


@pytest.mark.parametrize(
    ("persona", "slugs"),
    [
        ("executive", ["churn-model", "fraud-scoring"]),
        ("risk_officer", ["churn-model", "fraud-scoring"]),
        ("admin_user", ["churn-model", "fraud-scoring"]),
        ("team_lead", ["fraud-scoring"]),
        ("other_lead", ["churn-model"]),
    ],
)
def test_the_list_holds_only_the_ledgers_the_user_may_see(persona, slugs, request, client, team_lead, other_lead,
                                                          project, other_project):  # fmt: skip
    entry(project, team_lead)
    entry(other_project, other_lead)
    client.force_login(request.getfixturevalue(persona))
    data = client.get(URL).json()
    assert sorted(r["project"] for r in data["results"]) == slugs


def test_the_list_filters_by_project_months_kind_and_basis(client, team_lead, project, other_project, admin_user):
    for month in (1, 2, 3, 4):
        entry(project, team_lead, month=dt.date(2026, month, 1))
    entry(project, team_lead, kind="value", category="productivity")
    entry(project, team_lead, basis="planned")
    entry(other_project, admin_user)
    client.force_login(admin_user)

    def months(**params):
        return sorted(r["month"] for r in client.get(URL, params).json()["results"])

    assert months(project="fraud-scoring", month_from="2026-02", month_to="2026-03", kind="cost", basis="actual") == [
        "2026-02", "2026-03",
    ]  # fmt: skip
    assert months(kind="value") == ["2026-03"]
    assert months(basis="planned") == ["2026-03"]
    assert len(months(project="churn-model")) == 1
    response = client.get(URL, {"month_from": "2026-13"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input: month_from.",
        "code": "invalid",
        "month_from": ["Give the month as YYYY-MM, e.g. 2026-11."],
    }


def test_a_team_lead_cannot_filter_by_another_teams_project(client, team_lead, project, other_project):
    client.force_login(team_lead)
    assert client.get(URL, {"project": "churn-model"}).status_code == 400


# --- bulk ---------------------------------------------------------------------------------------


def rows(n, **kw):
    return [
        {"month": f"2025-{i + 1:02d}", "kind": "cost", "category": "compute", "basis": "actual", "amount": str(10 + i),
         **kw}
        for i in range(n)
    ]  # fmt: skip


def test_bulk_saves_all_rows_and_a_second_post_changes_nothing(client, team_lead, project):
    client.force_login(team_lead)
    payload = {"project": project.slug, "rows": rows(5)}
    response = client.post(f"{URL}bulk/", payload, content_type="application/json")
    assert response.status_code == 200, response.json()
    assert response.json() | {"ids": None} == {"created": 5, "updated": 0, "unchanged": 0, "ids": None}
    assert sorted(response.json()["ids"]) == sorted(ROIEntry.objects.values_list("pk", flat=True))
    assert AuditEvent.objects.filter(action="roi_entry.created").count() == 5
    again = client.post(f"{URL}bulk/", payload, content_type="application/json")
    assert again.json() | {"ids": None} == {"created": 0, "updated": 0, "unchanged": 5, "ids": None}
    assert ROIEntry.objects.count() == 5
    assert AuditEvent.objects.filter(action="roi_entry.created").count() == 5


def test_bulk_with_bad_rows_saves_nothing_and_lists_each(client, team_lead, project):
    client.force_login(team_lead)
    data = rows(6)
    data[1]["amount"] = "-3"
    data[4]["category"] = "revenue_uplift"
    before = AuditEvent.objects.count()
    response = client.post(f"{URL}bulk/", {"project": project.slug, "rows": data}, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_rows"
    assert body["detail"] == "2 of 6 rows are invalid; nothing was saved. Correct them and upload the file again."
    assert [r["row"] for r in body["rows"]] == [2, 5]
    assert body["rows"][0]["errors"] == {
        "amount": ["The amount cannot be negative; log a cost as kind 'cost' with a positive amount."]
    }
    assert ROIEntry.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_bulk_rows_may_name_their_projects(client, admin_user, project, other_project):
    client.force_login(admin_user)
    data = rows(1, project=project.slug) + rows(1, project=other_project.slug)
    response = client.post(f"{URL}bulk/", {"rows": data}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["created"] == 2


@pytest.mark.parametrize("persona", ["executive", "risk_officer"])
def test_readers_cannot_bulk(persona, request, client, project):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(f"{URL}bulk/", {"rows": rows(1, project=project.slug)}, content_type="application/json")
    assert response.status_code == 403


def test_bulk_needs_rows(client, team_lead, project):
    client.force_login(team_lead)
    response = client.post(f"{URL}bulk/", {"project": project.slug, "rows": []}, content_type="application/json")
    assert response.status_code == 400
    assert "rows" in response.json()


# --- FX rates -----------------------------------------------------------------------------------


def test_admins_set_rates_and_everyone_reads_them(client, admin_user, executive):
    client.force_login(admin_user)
    response = client.post("/api/v1/fx-rates/", {"currency": "USD", "month": "2026-03", "rate": "0.9"},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.json()
    fx = FxRate.objects.get()
    assert response.json() == {
        "id": fx.pk, "currency": "USD", "month": "2026-03", "rate": "0.90000000",
        "updated_at": response.json()["updated_at"], "updated_by": "admin",
    }  # fmt: skip
    # POST again for the same month and currency changes the rate (an upsert), it does not add a row.
    response = client.post("/api/v1/fx-rates/", {"currency": "USD", "month": "2026-03", "rate": "0.8"},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 201
    assert FxRate.objects.get().rate == D("0.8")
    client.force_login(executive)
    assert [r["currency"] for r in client.get("/api/v1/fx-rates/").json()["results"]] == ["USD"]
    assert client.patch(f"/api/v1/fx-rates/{fx.pk}/", {"rate": "1"}, content_type="application/json").status_code == 403


def test_patching_a_rate_reconverts_its_entries(client, admin_user, team_lead, project):
    fx = services.fx_rate_set(by=admin_user, currency="USD", month=MAR, rate=D("0.9"))
    e = entry(project, team_lead, currency="USD")
    client.force_login(admin_user)
    response = client.patch(f"/api/v1/fx-rates/{fx.pk}/", {"rate": "1.1"}, content_type="application/json")
    assert response.status_code == 200
    e.refresh_from_db()
    assert e.amount_reporting == D("110.00")
    assert client.delete(f"/api/v1/fx-rates/{fx.pk}/").status_code == 400  # in use
