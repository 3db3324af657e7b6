"""The daily value-decay rule (governance/dashboard/value_decay.py): one finding per decaying project, idempotent,
resolved when the project recovers, audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from governance.dashboard.value_decay import value_decay_check
from governance.models import AuditEvent, Finding, FindingKind
from projects.roi import services

TODAY = dt.date(2026, 5, 10)


@pytest.fixture(autouse=True)
def decay_settings(settings):
    settings.KEEL_VALUE_DECAY_SHARE = D("0.8")
    settings.KEEL_VALUE_DECAY_MONTHS = 3


def month_pair(project, by, month, planned, actual):
    common = {"kind": "value", "category": "revenue_uplift", "month": dt.date(2026, month, 1)}
    services.roi_entry_log(by=by, project=project, basis="planned", amount=D(planned), **common)
    if actual is not None:
        services.roi_entry_log(by=by, project=project, basis="actual", amount=D(actual), **common)


def decaying(project, by):
    """Plan 100 a month; actuals Feb-Apr at 50: three short months."""
    month_pair(project, by, 1, 100, 100)
    for month in (2, 3, 4):
        month_pair(project, by, month, 100, 50)


def test_a_decaying_project_gets_one_finding_however_often_the_rule_runs(team_lead, project, other_project, other_lead):
    decaying(project, team_lead)
    month_pair(other_project, other_lead, 4, 100, 90)  # fine
    assert value_decay_check(today=TODAY) == {"opened": 1, "resolved": 0, "open": 1}
    events = AuditEvent.objects.count()
    assert value_decay_check(today=TODAY) == {"opened": 0, "resolved": 0, "open": 1}
    assert AuditEvent.objects.count() == events

    (finding,) = Finding.objects.filter(kind=FindingKind.VALUE_DECAY)
    assert (finding.project, finding.subject_type, finding.subject_id) == (
        project,
        "projects.aiproject",
        str(project.pk),
    )
    assert finding.assignee == project.owner
    assert finding.title == "Value below plan: Fraud scoring"
    assert finding.detail == (
        "Actual value has been below 80% of planned value for 3 consecutive month(s), since 2026-02"
        " (latest actuals: 2026-04). The rule flags 3 or more."
    )
    (event,) = AuditEvent.objects.filter(action="finding.opened", object_id=str(finding.pk))
    assert event.after["decay_since"] == "2026-02"


def test_two_short_months_are_not_yet_decay(team_lead, project):
    month_pair(project, team_lead, 3, 100, 50)
    month_pair(project, team_lead, 4, 100, 50)
    assert value_decay_check(today=TODAY)["opened"] == 0


def test_a_recovered_project_has_its_finding_resolved(team_lead, project):
    decaying(project, team_lead)
    value_decay_check(today=TODAY)
    month_pair(project, team_lead, 5, 100, 95)  # May is back on plan: the run ends
    assert value_decay_check(today=TODAY) == {"opened": 0, "resolved": 1, "open": 0}
    finding = Finding.objects.get(kind=FindingKind.VALUE_DECAY)
    assert finding.resolved_at is not None
    assert finding.resolution == "Actual value is no longer below 80% of plan for 3 consecutive months (as of 2026-05)."
    assert AuditEvent.objects.filter(action="finding.resolved", object_id=str(finding.pk)).count() == 1


def test_a_finding_resolved_by_hand_is_not_reopened_for_the_same_episode(team_lead, project, risk_officer):
    from governance.findings.services import finding_resolve

    decaying(project, team_lead)
    value_decay_check(today=TODAY)
    finding_resolve(by=risk_officer, finding=Finding.objects.get(), resolution="Known: seasonal dip.")
    assert value_decay_check(today=TODAY)["opened"] == 0
    assert Finding.objects.count() == 1


def test_actuals_after_today_are_not_counted(team_lead, project):
    decaying(project, team_lead)
    assert value_decay_check(today=dt.date(2026, 3, 20))["opened"] == 0  # only Feb and Mar had happened


def test_the_task_runs_the_rule(team_lead, project, monkeypatch):
    from governance import tasks

    decaying(project, team_lead)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: TODAY)
    assert tasks.check_value_decay() == {"opened": 1, "resolved": 0, "open": 1}


def test_the_beat_schedule_runs_the_rule_daily():
    from config.celery import app

    entry = app.conf.beat_schedule["keel-check-value-decay"]
    assert entry["task"] == "governance.tasks.check_value_decay"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {30})
