"""The ROI ledger as a team lead uses it: deleting asks for confirmation and can be undone (audited,
never overwriting a figure logged since), the current month comes first, the tab charts actual
against plan, confirmations say the amount and month, and the start month is a month."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal as D

import pytest

from governance.models import AuditEvent
from projects.inventory.forms import START_MONTH_NOT_FIRST, ProjectForm
from projects.models import ROIEntry, ROIEntryDeletion
from projects.roi import services
from projects.roi.forms import this_month
from projects.roi.services import ALREADY_RESTORED, RESTORE_KEY_TAKEN, money_text
from tests.factories import AIProjectFactory

pytestmark = pytest.mark.django_db


def roi_url(project) -> str:
    return f"/projects/{project.slug}/roi/"


def log(project, by, month, **kw):
    values = {"kind": "value", "category": "cost_saving", "basis": "actual", "amount": D("142500")}
    return services.roi_entry_create(by=by, project=project, month=month, **(values | kw))


def months_in_ledger(response) -> list[str]:
    return [f"{e.month:%Y-%m}" for e in response.context["entries"]]


def test_money_and_month_read_as_people_write_them():
    assert money_text(D("142500"), "EUR") == "EUR 142,500"
    assert money_text(D("1234.5"), "GBP") == "GBP 1,234.50"
    assert services.month_text(dt.date(2026, 11, 1)) == "Nov 2026"


# --- delete: confirm, audit, undo --------------------------------------------------------------------------------


def test_delete_asks_for_confirmation_first_and_changes_nothing(client, team_lead, project):
    entry = log(project, team_lead, dt.date(2026, 11, 1))
    client.force_login(team_lead)
    ledger = client.get(roi_url(project)).content.decode()
    assert f'href="/projects/{project.slug}/roi/{entry.pk}/delete/"' in ledger  # a link, not a one-click button

    page = client.get(f"/projects/{project.slug}/roi/{entry.pk}/delete/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Delete this ROI entry?</h1>" in html
    assert "<dt>Amount</dt><dd>EUR 142,500</dd>" in html
    assert "<dt>Month</dt><dd>Nov 2026</dd>" in html
    assert ROIEntry.objects.filter(pk=entry.pk).exists()


def test_a_deletion_is_audited_and_offers_undo_which_restores_the_entry_under_its_id(client, team_lead, project):
    entry = log(project, team_lead, dt.date(2026, 11, 1), note="Q4 claims savings")
    client.force_login(team_lead)

    response = client.post(f"/projects/{project.slug}/roi/{entry.pk}/delete/")

    deletion = ROIEntryDeletion.objects.get()
    assert response["Location"] == f"{roi_url(project)}?undo={deletion.pk}#ledger"
    assert not ROIEntry.objects.exists()
    deleted = AuditEvent.objects.order_by("-seq").first()
    assert (deleted.action, deleted.object_id, deleted.before["amount"]) == (
        "roi_entry.deleted", str(entry.pk), "142500.00",
    )  # fmt: skip
    page = client.get(response["Location"])
    html = page.content.decode()
    message = "Deleted the actual Cost saving entry of EUR 142,500 for Nov 2026."
    assert html.count(message) == 2  # the message, and the Undo line of the ledger
    assert f'action="/projects/{project.slug}/roi/deleted/{deletion.pk}/restore/"' in html
    assert 'id="undo-delete">Undo</button>' in html

    response = client.post(f"/projects/{project.slug}/roi/deleted/{deletion.pk}/restore/", follow=True)

    restored = ROIEntry.objects.get()
    assert (restored.pk, restored.amount, restored.note, restored.logged_by) == (
        entry.pk, D("142500"), "Q4 claims savings", team_lead,
    )  # fmt: skip
    assert "Restored the actual Cost saving entry of EUR 142,500 for Nov 2026." in response.content.decode()
    deletion.refresh_from_db()
    assert (deletion.restored_by, deletion.restored_at is not None) == (team_lead, True)
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.object_id, event.actor_id, event.after["amount"]) == (
        "roi_entry.restored", str(entry.pk), team_lead.pk, "142500.00",
    )  # fmt: skip
    assert 'id="deleted-entries"' not in response.content.decode()  # nothing left to restore


def test_undo_never_overwrites_a_figure_logged_since_for_the_same_month(client, team_lead, admin_user, project):
    entry = log(project, team_lead, dt.date(2026, 11, 1))
    deletion = services.roi_entry_delete(by=team_lead, entry=entry)
    newer = log(project, admin_user, dt.date(2026, 11, 1), amount=D("150000"))
    events = AuditEvent.objects.count()
    client.force_login(team_lead)

    response = client.post(f"/projects/{project.slug}/roi/deleted/{deletion.pk}/restore/", follow=True)

    assert list(ROIEntry.objects.values_list("pk", "amount")) == [(newer.pk, D("150000"))]
    message = RESTORE_KEY_TAKEN.format(
        entry="the actual Cost saving entry of EUR 150,000 for Nov 2026", by=admin_user.get_full_name() or "admin"
    )
    assert message in response.content.decode()
    assert AuditEvent.objects.count() == events
    deletion.refresh_from_db()
    assert deletion.restored_at is None


def test_a_deletion_is_restored_at_most_once(team_lead, project):
    deletion = services.roi_entry_delete(by=team_lead, entry=log(project, team_lead, dt.date(2026, 11, 1)))
    services.roi_entry_restore(by=team_lead, deletion=deletion)
    with pytest.raises(services.DomainError, match=ALREADY_RESTORED):
        services.roi_entry_restore(by=team_lead, deletion=deletion)
    assert ROIEntry.objects.count() == 1


def test_earlier_deletions_are_listed_for_restoring(client, team_lead, project):
    for month in (dt.date(2026, 9, 1), dt.date(2026, 10, 1)):
        services.roi_entry_delete(by=team_lead, entry=log(project, team_lead, month))
    client.force_login(team_lead)
    html = client.get(roi_url(project)).content.decode()
    assert "Deleted entries that can be restored (2)" in html
    assert html.count(">Restore</button>") == 2


def test_readers_and_other_teams_cannot_delete_or_restore(
    client, executive, other_lead, team_lead, project
):  # fmt: skip
    entry = log(project, team_lead, dt.date(2026, 11, 1))
    deletion = services.roi_entry_delete(by=team_lead, entry=log(project, team_lead, dt.date(2026, 10, 1)))
    client.force_login(executive)
    assert client.get(f"/projects/{project.slug}/roi/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/projects/{project.slug}/roi/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/projects/{project.slug}/roi/deleted/{deletion.pk}/restore/").status_code == 403
    assert "Deleted entries that can be restored" not in client.get(roi_url(project)).content.decode()
    client.force_login(other_lead)
    assert client.post(f"/projects/{project.slug}/roi/deleted/{deletion.pk}/restore/").status_code == 404
    assert (ROIEntry.objects.count(), ROIEntryDeletion.objects.get().restored_at) == (1, None)


def test_a_deletion_of_another_project_cannot_be_restored_through_this_one(client, team_lead, team, project):
    sibling = AIProjectFactory(name="Pricing", team=team, owner=team_lead)
    deletion = services.roi_entry_delete(by=team_lead, entry=log(sibling, team_lead, dt.date(2026, 10, 1)))
    client.force_login(team_lead)
    assert client.post(f"/projects/{project.slug}/roi/deleted/{deletion.pk}/restore/").status_code == 404


def test_the_api_delete_is_restorable_too(client, team_lead, project):
    entry = log(project, team_lead, dt.date(2026, 11, 1))
    client.force_login(team_lead)
    assert client.delete(f"/api/v1/roi-entries/{entry.pk}/").status_code == 204
    deletion = ROIEntryDeletion.objects.get()
    services.roi_entry_restore(by=team_lead, deletion=deletion)
    assert ROIEntry.objects.get().pk == entry.pk


# --- the ledger: order, chart, messages --------------------------------------------------------------------------


def test_the_ledger_shows_this_month_first_then_past_months_then_planned_months_ahead(client, team_lead, project):
    now = this_month()
    for offset in (-2, 2, 0, -1, 1):
        month = (now.replace(day=28) + dt.timedelta(days=31 * offset)).replace(day=1) if offset else now
        log(project, team_lead, month, basis="planned" if offset > 0 else "actual")
    client.force_login(team_lead)
    response = client.get(roi_url(project))
    shown = months_in_ledger(response)
    months = sorted(shown)
    current = f"{now:%Y-%m}"
    assert shown[0] == current
    assert shown == [current, months[1], months[0], months[3], months[4]]
    html = response.content.decode()
    assert html.index("Planned months ahead") > html.index(f'{current} <span class="muted">(this month)</span>')


def test_the_tab_charts_actual_against_plan_by_month_and_cumulatively(client, team_lead, project):
    log(project, team_lead, dt.date(2026, 9, 1), basis="planned", amount=D("1000"))
    log(project, team_lead, dt.date(2026, 9, 1), amount=D("800"))
    log(project, team_lead, dt.date(2026, 10, 1), basis="planned", amount=D("1000"))
    log(project, team_lead, dt.date(2026, 10, 1), kind="cost", category="compute", amount=D("300"))
    client.force_login(team_lead)
    html = client.get(roi_url(project)).content.decode()

    monthly = json.loads(re.search(r'id="chart-roi-monthly-data"[^>]*>(.*?)</script>', html).group(1))
    assert [(t["name"], t["x"], t["y"]) for t in monthly["data"]] == [
        ("Planned value", ["2026-09", "2026-10"], [1000.0, 1000.0]),
        ("Actual value", ["2026-09", "2026-10"], [800.0, 0.0]),
    ]
    cumulative = json.loads(re.search(r'id="chart-roi-cumulative-data"[^>]*>(.*?)</script>', html).group(1))
    assert [(t["name"], t["y"]) for t in cumulative["data"]] == [
        ("Planned net value", [1000.0, 2000.0]),
        ("Actual net value", [800.0, 500.0]),
    ]
    assert 'data-chart="chart-roi-monthly-data"' in html
    assert "/static/vendor/plotly/plotly-cartesian.min.js" in html


def test_an_empty_ledger_draws_no_chart(client, team_lead, project):
    client.force_login(team_lead)
    html = client.get(roi_url(project)).content.decode()
    assert "chart-roi-monthly" not in html
    assert "plotly" not in html


def test_logging_says_the_amount_and_month_as_people_write_them(client, team_lead, project):
    client.force_login(team_lead)
    response = client.post(
        roi_url(project), {"month": "2026-11", "category": "cost_saving", "basis": "actual", "amount": "142500"},
        follow=True,
    )  # fmt: skip
    assert "Logged EUR 142,500 for Nov 2026 (actual, Cost saving)." in response.content.decode()


def test_the_quick_log_says_the_amount_month_and_project(client, team_lead, project):
    client.force_login(team_lead)
    response = client.post(
        "/projects/roi/quick-log/",
        {"project": project.pk, "month": "2026-11", "category": "cost_saving", "amount": "142500"},
        follow=True,
    )
    assert "Logged EUR 142,500 for Nov 2026 (actual, Cost saving) on Fraud scoring." in response.content.decode()


# --- the project's start month -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("2026-11", None),
        ("2026-11-01", None),
        ("2026-11-15", START_MONTH_NOT_FIRST.format(value="2026-11-15", month="2026-11")),
        ("Nov 2026", "Give a month as YYYY-MM, e.g. 2026-11."),
    ],
)
def test_the_start_month_is_a_month_and_another_day_is_refused_with_a_clear_message(team_lead, project, typed, error):
    data = {
        "name": project.name, "purpose": project.purpose, "team": project.team_id, "owner": project.owner_id,
        "health": project.health, "currency": project.currency, "expected_investment": "1000",
        "expected_annual_value": "0", "start_month": typed, "horizon_months": 36,
    }  # fmt: skip
    form = ProjectForm(data, instance=project, user=team_lead)
    assert form.is_valid() is (error is None), form.errors
    if error:
        assert form.errors["start_month"] == [error]
    else:
        assert form.cleaned_data["start_month"] == dt.date(2026, 11, 1)


def test_the_start_month_field_explains_its_format(team_lead, project):
    field = ProjectForm(instance=project, user=team_lead)["start_month"]
    assert "as YYYY-MM (e.g. 2026-11)" in field.help_text
    assert 'type="month"' in str(field)


def test_the_api_restores_a_deleted_entry_by_its_id_once_and_never_over_a_newer_figure(client, team_lead, project):
    entry = log(project, team_lead, dt.date(2026, 11, 1))
    client.force_login(team_lead)
    assert client.delete(f"/api/v1/roi-entries/{entry.pk}/").status_code == 204

    response = client.post(f"/api/v1/roi-entries/{entry.pk}/restore/")

    assert response.status_code == 201, response.content
    assert (response.json()["id"], response.json()["amount"]) == (entry.pk, "142500.00")
    again = client.post(f"/api/v1/roi-entries/{entry.pk}/restore/")
    assert again.status_code == 404  # nothing left to restore under that id
    client.delete(f"/api/v1/roi-entries/{entry.pk}/")
    newer = log(project, team_lead, dt.date(2026, 11, 1), amount=D("1"))
    refused = client.post(f"/api/v1/roi-entries/{entry.pk}/restore/")
    assert (refused.status_code, refused.json()["code"]) == (409, "conflict")
    assert list(ROIEntry.objects.values_list("pk", "amount")) == [(newer.pk, D("1"))]


def test_the_api_restore_is_scoped_and_for_writers_only(client, executive, other_lead, team_lead, project):
    entry = log(project, team_lead, dt.date(2026, 11, 1))
    services.roi_entry_delete(by=team_lead, entry=entry)
    client.force_login(executive)
    assert client.post(f"/api/v1/roi-entries/{entry.pk}/restore/").status_code == 403
    client.force_login(other_lead)
    assert client.post(f"/api/v1/roi-entries/{entry.pk}/restore/").status_code == 404
    assert not ROIEntry.objects.exists()
