"""The demo ROI seed (idempotent, with FX rates and one decaying project) and the FX-rate admin."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from django.core.management import call_command

from governance.models import AuditEvent
from projects.models import FxRate, ROIEntry
from projects.roi import services
from projects.roi.selectors import roi_project_figures
from tests.factories import AIProjectFactory


def test_seed_demo_roi_fills_the_ledger_once(team, team_lead, settings):
    settings.EMBEDDED = True
    chatbot = AIProjectFactory(name="Support chatbot", team=team, owner=team_lead, stage="development")
    chatbot.stage = "production"
    chatbot.save(update_fields=["stage"])
    building = AIProjectFactory(name="Route planner", team=team, owner=team_lead, stage="development")
    AIProjectFactory(name="Just an idea", team=team, owner=team_lead)

    call_command("seed_demo_roi", stdout=None)
    entries = ROIEntry.objects.count()
    events = AuditEvent.objects.count()
    call_command("seed_demo_roi", stdout=None)

    assert ROIEntry.objects.count() == entries > 0
    assert AuditEvent.objects.count() == events  # the second run found everything in place
    assert set(ROIEntry.objects.values_list("project__name", flat=True)) == {"Support chatbot", "Route planner"}
    months = ROIEntry.objects.filter(project=chatbot, basis="actual").dates("month", "month")
    assert len(months) == 18
    assert set(FxRate.objects.values_list("currency", flat=True)) == {"USD", "GBP"}
    assert ROIEntry.objects.filter(project=chatbot, currency="USD").exists()
    assert roi_project_figures(project=chatbot).value_decay is True
    assert roi_project_figures(project=building).cumulative_value == D("0.00")


def test_the_fx_admin_saves_through_the_service(client, admin_user, team_lead, project):
    services.fx_rate_set(by=None, currency="USD", month=dt.date(2026, 3, 1), rate=D("0.9"))
    entry = services.roi_entry_create(
        by=team_lead, project=project, month=dt.date(2026, 3, 1), kind="cost", category="data", basis="actual",
        amount=D("100"), currency="USD",
    )  # fmt: skip
    fx = FxRate.objects.get()
    client.force_login(admin_user)
    response = client.post(f"/admin/projects/fxrate/{fx.pk}/change/", {"rate": "1.25"})
    assert response.status_code == 302, response.content[:500]
    entry.refresh_from_db()
    assert entry.amount_reporting == D("125.00")
    assert AuditEvent.objects.filter(action="fx_rate.updated", actor_id=admin_user.pk).count() == 1
    response = client.post("/admin/projects/fxrate/add/", {"currency": "eur", "month": "2026-03-01", "rate": "1"})
    assert response.status_code == 200
    assert "EUR is the reporting currency" in response.content.decode()
    response = client.post("/admin/projects/fxrate/add/", {"currency": "GBP", "month": "2026-03-15", "rate": "1.1"})
    assert "A month is stored as its first day" in response.content.decode()
    assert client.get("/admin/projects/roientry/").status_code == 200
