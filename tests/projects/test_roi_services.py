"""The ROI services: FX conversion at write time, permissions, one audit event per write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.errors import DomainError, PermissionDeniedError
from governance.models import AuditEvent
from projects.models import FxRate, ROIEntry
from projects.roi import services
from projects.roi.selectors import roi_project_figures
from projects.roi.services import NO_FX_RATE

MAR = dt.date(2026, 3, 1)


def log(by, project, **kw):
    values = {"month": MAR, "kind": "value", "category": "cost_saving", "basis": "actual", "amount": D("1000.00")}
    return services.roi_entry_create(by=by, project=project, **(values | kw))


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_an_entry_in_the_reporting_currency_keeps_its_amount(team_lead, project):
    entry = log(team_lead, project, currency="EUR")
    assert entry.amount_reporting == D("1000.00")
    assert entry.logged_by == team_lead
    (event,) = events("roi_entry.created")
    assert event.object_id == str(entry.pk)
    assert event.actor_id == team_lead.pk
    assert event.after["amount"] == "1000.00"
    assert event.after["amount_reporting"] == "1000.00"
    assert event.after["month"] == "2026-03-01"


def test_the_currency_defaults_to_the_projects(team_lead, project):
    assert log(team_lead, project).currency == project.currency == "EUR"


def test_an_entry_in_another_currency_is_converted_with_the_rate_of_its_month(team_lead, project):
    services.fx_rate_set(by=None, currency="USD", month=MAR, rate=D("0.9"))
    services.fx_rate_set(by=None, currency="USD", month=dt.date(2026, 4, 1), rate=D("2"))
    entry = log(team_lead, project, currency="usd", amount=D("1234.56"))
    assert entry.currency == "USD"
    assert entry.amount_reporting == D("1111.10")  # 1234.56 × 0.9 = 1111.104


def test_an_entry_without_a_rate_for_its_month_is_refused_naming_currency_and_month(team_lead, project):
    services.fx_rate_set(by=None, currency="USD", month=dt.date(2026, 2, 1), rate=D("0.9"))
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        log(team_lead, project, currency="USD")
    message = NO_FX_RATE.format(currency="USD", month="2026-03", reporting="EUR")
    assert exc.value.message_dict == {"currency": [message]}
    assert "USD" in message
    assert "2026-03" in message
    assert ROIEntry.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_a_day_inside_the_month_is_stored_as_the_first(team_lead, project):
    assert log(team_lead, project, month=dt.date(2026, 3, 17)).month == MAR


@pytest.mark.parametrize("persona", ["executive", "risk_officer", "other_lead", "no_role_user"])
def test_only_the_team_lead_of_the_project_or_an_admin_may_log(persona, request, project, other_project):
    with pytest.raises(PermissionDeniedError):
        log(request.getfixturevalue(persona), project)
    assert ROIEntry.objects.count() == 0


def test_an_admin_may_log_for_any_project(admin_user, project):
    assert log(admin_user, project).logged_by == admin_user


def test_kind_and_category_must_agree(team_lead, project):
    with pytest.raises(ValidationError) as exc:
        log(team_lead, project, kind="cost", category="cost_saving")
    assert "'cost_saving' is not a cost category" in exc.value.message_dict["category"][0]


def test_the_database_refuses_a_kind_that_disagrees_with_its_category(team_lead, project):
    entry = log(team_lead, project)
    with pytest.raises(IntegrityError), transaction.atomic():
        ROIEntry.objects.filter(pk=entry.pk).update(kind="cost")


def test_a_negative_amount_is_refused(team_lead, project):
    with pytest.raises(ValidationError) as exc:
        log(team_lead, project, amount=D("-1"))
    assert "amount" in exc.value.message_dict


def test_a_second_entry_with_the_same_key_is_refused(team_lead, project):
    log(team_lead, project)
    with pytest.raises(ValidationError) as exc:
        log(team_lead, project, amount=D("5"))
    assert exc.value.messages == [
        "Fraud scoring already has an entry for 2026-03, actual value, cost_saving; change that entry instead."
    ]
    assert ROIEntry.objects.count() == 1


def test_the_same_key_as_planned_is_another_entry(team_lead, project):
    log(team_lead, project)
    log(team_lead, project, basis="planned")
    assert ROIEntry.objects.count() == 2


def test_update_reconverts_and_audits_only_what_changed(team_lead, admin_user, project):
    services.fx_rate_set(by=None, currency="GBP", month=MAR, rate=D("1.2"))
    entry = log(team_lead, project)
    entry = services.roi_entry_update(by=admin_user, entry=entry, amount=D("500"), currency="GBP")
    assert entry.amount_reporting == D("600.00")
    assert entry.logged_by == admin_user
    (event,) = events("roi_entry.updated")
    assert event.before == {
        "amount": "1000.00",
        "currency": "EUR",
        "amount_reporting": "1000.00",
        "logged_by": team_lead.pk,
    }
    assert event.after == {
        "amount": "500.00",
        "currency": "GBP",
        "amount_reporting": "600.00",
        "logged_by": admin_user.pk,
    }


def test_an_update_that_changes_nothing_writes_nothing(team_lead, project):
    entry = log(team_lead, project)
    services.roi_entry_update(by=team_lead, entry=entry, amount=D("1000"))
    assert events("roi_entry.updated") == []


def test_update_cannot_move_an_entry_to_another_project(team_lead, project, other_project):
    entry = log(team_lead, project)
    with pytest.raises(ValidationError):
        services.roi_entry_update(by=team_lead, entry=entry, project=other_project)


def test_delete_is_audited_with_the_entry(team_lead, project):
    entry = log(team_lead, project)
    services.roi_entry_delete(by=team_lead, entry=entry)
    assert ROIEntry.objects.count() == 0
    (event,) = events("roi_entry.deleted")
    assert event.before["amount"] == "1000.00"
    assert event.object_id == str(entry.pk)


def test_log_sets_the_amount_of_a_key_creating_then_correcting(team_lead, project):
    values = {"month": MAR, "kind": "cost", "category": "compute", "basis": "actual"}
    first = services.roi_entry_log(by=team_lead, project=project, amount=D("10"), **values)
    second = services.roi_entry_log(by=team_lead, project=project, amount=D("12"), **values)
    assert first.pk == second.pk
    assert ROIEntry.objects.get().amount == D("12.00")
    assert [e.action for e in AuditEvent.objects.filter(object_type="projects.roientry").order_by("seq")] == [
        "roi_entry.created",
        "roi_entry.updated",
    ]


# --- FX rates -----------------------------------------------------------------------------------


def test_changing_a_rate_reconverts_the_entries_of_that_currency_and_month(admin_user, team_lead, project):
    services.fx_rate_set(by=admin_user, currency="USD", month=MAR, rate=D("0.9"))
    services.fx_rate_set(by=admin_user, currency="USD", month=dt.date(2026, 4, 1), rate=D("0.9"))
    march = log(team_lead, project, currency="USD")
    april = log(team_lead, project, currency="USD", month=dt.date(2026, 4, 1))
    euro = log(team_lead, project, category="productivity")

    fx = services.fx_rate_set(by=admin_user, currency="USD", month=MAR, rate=D("0.95"))

    assert fx.rate == D("0.95")
    assert FxRate.objects.count() == 2
    march.refresh_from_db(), april.refresh_from_db(), euro.refresh_from_db()
    assert (march.amount_reporting, april.amount_reporting, euro.amount_reporting) == (D("950"), D("900"), D("1000"))
    (changed,) = events("fx_rate.updated")
    assert (changed.before, changed.after) == ({"rate": "0.90000000"}, {"rate": "0.95000000"})
    (reconverted,) = events("roi_entry.reconverted")
    assert reconverted.object_id == str(march.pk)
    assert reconverted.before == {"amount_reporting": "900.00"}
    assert reconverted.after == {"amount_reporting": "950.00", "rate": "0.95000000"}
    assert roi_project_figures(project=project).cumulative_value == D("2850.00")


def test_setting_the_same_rate_again_writes_nothing(admin_user):
    services.fx_rate_set(by=admin_user, currency="USD", month=MAR, rate=D("0.9"))
    before = AuditEvent.objects.count()
    services.fx_rate_set(by=admin_user, currency="USD", month=MAR, rate=D("0.90"))
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("persona", ["executive", "risk_officer", "team_lead"])
def test_only_admins_set_rates(persona, request):
    with pytest.raises(PermissionDeniedError):
        services.fx_rate_set(by=request.getfixturevalue(persona), currency="USD", month=MAR, rate=D("1"))


def test_the_reporting_currency_needs_no_rate(admin_user):
    with pytest.raises(ValidationError) as exc:
        services.fx_rate_set(by=admin_user, currency="EUR", month=MAR, rate=D("1"))
    assert "EUR is the reporting currency" in exc.value.message_dict["currency"][0]


@pytest.mark.parametrize("rate", [D("0"), D("-1")])
def test_a_rate_must_be_positive(admin_user, rate):
    with pytest.raises(ValidationError):
        services.fx_rate_set(by=admin_user, currency="USD", month=MAR, rate=rate)


def test_a_rate_in_use_cannot_be_deleted(admin_user, team_lead, project):
    fx = services.fx_rate_set(by=admin_user, currency="USD", month=MAR, rate=D("0.9"))
    log(team_lead, project, currency="USD")
    with pytest.raises(DomainError) as exc:
        services.fx_rate_delete(by=admin_user, fx=fx)
    assert "1 ROI entr(y/ies) in USD for 2026-03" in exc.value.message
    unused = services.fx_rate_set(by=admin_user, currency="GBP", month=MAR, rate=D("1.1"))
    services.fx_rate_delete(by=admin_user, fx=unused)
    assert events("fx_rate.deleted")[0].before["currency"] == "GBP"


def test_the_reporting_currency_comes_from_the_settings(settings, team_lead, project, admin_user):
    settings.KEEL_REPORTING_CURRENCY = "USD"
    with pytest.raises(ValidationError):
        log(team_lead, project, currency="EUR")  # no EUR rate now
    services.fx_rate_set(by=admin_user, currency="EUR", month=MAR, rate=D("1.1"))
    assert log(team_lead, project, currency="EUR").amount_reporting == D("1100.00")
