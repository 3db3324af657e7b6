"""The ROI roll-up (one row per project and month) equals the ledger after every kind of ROI change:
create, edit (also to another month), log again, delete and undo, CSV and XLSX import, the bulk API, an FX
rate change (re-conversion), project deletion; a refused write changes neither; rebuild_roi_rollup repairs
a roll-up written around the services, without audit events. The group and team roll-ups (the dashboard's:
per team, stage, tier and month, and per team and month) equal the roll-up summed again after each of those,
and after a project changes stage, team or tier or is deleted through its service."""

from __future__ import annotations

import datetime as dt
import importlib
import io
from decimal import Decimal as D

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command

from core.errors import ConflictError
from governance.models import AuditEvent
from governance.risks import assessments
from projects.inventory import services as inventory
from projects.models import AIProject, ROIEntry, ROIGroupMonthRollup, ROIMonthRollup, ROITeamMonthRollup, Stage
from projects.roi import import_service, services
from projects.roi.importer import read_bytes
from projects.roi.rollup import roi_group_rollup_drift, roi_rollup_drift
from tests.projects.test_roi_import import to_csv, to_xlsx
from tests.tier_answers import complete

pytestmark = pytest.mark.django_db

MAR, APR = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
FIELDS = ("planned_value", "planned_cost", "actual_value", "actual_cost", "actual_n")


def log(by, project, **kw):
    values = {"month": MAR, "kind": "value", "category": "cost_saving", "basis": "actual", "amount": D("1000.00")}
    return services.roi_entry_create(by=by, project=project, **(values | kw))


def cells(project) -> dict:
    """The project's roll-up: month → (planned value, planned cost, actual value, actual cost, actuals)."""
    return {
        r["month"]: tuple(r[f] for f in FIELDS)
        for r in ROIMonthRollup.objects.filter(project=project).values("month", *FIELDS)
    }


def same_as_ledger() -> None:
    assert roi_rollup_drift() == 0
    assert roi_group_rollup_drift() == 0


def groups() -> dict:
    """The group roll-up: (team id, stage, tier, month) → (actual value, actuals, cells)."""
    return {
        (r.team_id, r.stage, r.risk_tier, r.month): (r.actual_value, r.actual_n, r.cells)
        for r in ROIGroupMonthRollup.objects.all()
    }


def teams() -> dict:
    """The team roll-up: (team id, month) → (actual value, actuals, cells)."""
    return {(r.team_id, r.month): (r.actual_value, r.actual_n, r.cells) for r in ROITeamMonthRollup.objects.all()}


def test_a_created_entry_is_in_its_months_cell(team_lead, project):
    log(team_lead, project)
    log(team_lead, project, kind="cost", category="compute", amount=D("250.50"))
    log(team_lead, project, basis="planned", amount=D("900"))
    log(team_lead, project, basis="planned", month=APR, amount=D("1200"))
    assert cells(project) == {
        MAR: (D("900.00"), D("0.00"), D("1000.00"), D("250.50"), 2),
        APR: (D("1200.00"), D("0.00"), D("0.00"), D("0.00"), 0),
    }
    same_as_ledger()


def test_an_actual_of_zero_still_counts_as_logged(team_lead, project):
    log(team_lead, project, amount=D("0"))
    assert cells(project) == {MAR: (D("0"), D("0"), D("0"), D("0"), 1)}


def test_an_edit_moving_an_entry_to_another_month_changes_both_cells(team_lead, project):
    entry = log(team_lead, project)
    log(team_lead, project, basis="planned", amount=D("500"))
    services.roi_entry_update(by=team_lead, entry=entry, month=APR, amount=D("1500"))
    assert cells(project) == {
        MAR: (D("500.00"), D("0.00"), D("0.00"), D("0.00"), 0),
        APR: (D("0.00"), D("0.00"), D("1500.00"), D("0.00"), 1),
    }
    same_as_ledger()


def test_logging_a_figure_again_replaces_it_in_the_cell(team_lead, project):
    log(team_lead, project)
    services.roi_entry_log(
        by=team_lead, project=project, month=MAR, kind="value", category="cost_saving", basis="actual", amount=D("7")
    )
    assert cells(project) == {MAR: (D("0"), D("0"), D("7.00"), D("0"), 1)}
    same_as_ledger()


def test_delete_empties_the_cell_and_undo_fills_it_again(team_lead, project):
    entry = log(team_lead, project)
    deletion = services.roi_entry_delete(by=team_lead, entry=entry)
    assert cells(project) == {}
    same_as_ledger()
    services.roi_entry_restore(by=team_lead, deletion=deletion)
    assert cells(project) == {MAR: (D("0"), D("0"), D("1000.00"), D("0"), 1)}
    same_as_ledger()


def test_a_refused_restore_changes_neither_ledger_nor_roll_up(team_lead, project):
    deletion = services.roi_entry_delete(by=team_lead, entry=log(team_lead, project))
    log(team_lead, project, amount=D("42"))  # the same key, logged since
    before = (cells(project), AuditEvent.objects.count())
    with pytest.raises(ConflictError):
        services.roi_entry_restore(by=team_lead, deletion=deletion)
    assert (cells(project), AuditEvent.objects.count()) == before
    same_as_ledger()


def test_a_refused_entry_changes_neither_ledger_nor_roll_up(team_lead, project):
    log(team_lead, project)
    before = (cells(project), ROIEntry.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError):
        log(team_lead, project, currency="USD")  # no USD rate for March
    with pytest.raises(ValidationError):
        log(team_lead, project, amount=D("5"))  # the key is taken
    assert (cells(project), ROIEntry.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_import_fills_the_cells_of_its_rows_and_a_changed_import_updates_them(team_lead, project, fmt):
    write = to_csv if fmt == "csv" else to_xlsx
    rows = [
        {"project": project.slug, "month": "2026-03", "kind": "value", "category": "cost_saving", "basis": basis,
         "amount": amount, "currency": "EUR", "evidence_url": "", "note": ""}
        for basis, amount in (("planned", "800"), ("actual", "950.25"))
    ]  # fmt: skip
    import_service.roi_entries_import(project_or_none=project, rows=read_bytes(f"x.{fmt}", write(rows)), by=team_lead)
    assert cells(project) == {MAR: (D("800.00"), D("0"), D("950.25"), D("0"), 1)}
    rows[1]["amount"] = "1000"
    import_service.roi_entries_import(project_or_none=project, rows=read_bytes(f"x.{fmt}", write(rows)), by=team_lead)
    assert cells(project) == {MAR: (D("800.00"), D("0"), D("1000.00"), D("0"), 1)}
    same_as_ledger()


def test_the_bulk_api_fills_the_cells_and_bad_rows_change_nothing(client, team_lead, project):
    client.force_login(team_lead)
    good = [{"month": f"2026-0{i}", "kind": "cost", "category": "compute", "basis": "actual", "amount": "10"}
            for i in (3, 4)]  # fmt: skip
    response = client.post("/api/v1/roi-entries/bulk/", {"project": project.slug, "rows": good},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 200, response.json()
    assert cells(project) == {m: (D("0"), D("0"), D("0"), D("10.00"), 1) for m in (MAR, APR)}
    before = (cells(project), AuditEvent.objects.count())
    bad = [*good, {**good[0], "month": "2026-05", "amount": "-1"}]
    response = client.post("/api/v1/roi-entries/bulk/", {"project": project.slug, "rows": bad},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    assert (cells(project), AuditEvent.objects.count()) == before
    same_as_ledger()


def test_an_fx_rate_change_reconverts_the_cells_of_its_currency_and_month(admin_user, team_lead, project):
    services.fx_rate_set(by=admin_user, currency="USD", month=MAR, rate=D("0.9"))
    services.fx_rate_set(by=admin_user, currency="USD", month=APR, rate=D("0.8"))
    log(team_lead, project, currency="USD")
    log(team_lead, project, currency="USD", month=APR)
    log(team_lead, project, kind="cost", category="compute", amount=D("100"))  # EUR: no re-conversion
    assert cells(project)[MAR] == (D("0"), D("0"), D("900.00"), D("100.00"), 2)
    services.fx_rate_set(by=admin_user, currency="USD", month=MAR, rate=D("1.1"))
    assert cells(project) == {
        MAR: (D("0"), D("0"), D("1100.00"), D("100.00"), 2),
        APR: (D("0"), D("0"), D("800.00"), D("0"), 1),  # another month's rate: unchanged
    }
    same_as_ledger()


def test_deleting_a_project_deletes_its_cells(team_lead, project, other_project, other_lead):
    log(team_lead, project)
    log(other_lead, other_project)
    AIProject.objects.filter(pk=project.pk).delete()
    assert ROIMonthRollup.objects.filter(project_id=project.pk).count() == 0
    assert cells(other_project) == {MAR: (D("0"), D("0"), D("1000.00"), D("0"), 1)}
    assert roi_rollup_drift() == 0  # (a delete around the services leaves the group roll-up to rebuild_roi_rollup)


def test_the_group_and_team_roll_ups_sum_the_projects_of_each_group(team_lead, project, team):
    sibling = AIProject.objects.create(name="Sibling", slug="sibling", team=team, owner=team_lead, stage=Stage.IDEA)
    log(team_lead, project)
    log(team_lead, sibling, amount=D("250"))
    log(team_lead, sibling, basis="planned", month=APR, amount=D("9"))
    assert groups() == {
        (team.pk, Stage.IDEA, "", MAR): (D("1250.00"), 2, 2),
        (team.pk, Stage.IDEA, "", APR): (D("0.00"), 0, 1),
    }
    assert teams() == {(team.pk, MAR): (D("1250.00"), 2, 2), (team.pk, APR): (D("0.00"), 0, 1)}
    same_as_ledger()


def test_a_stage_change_moves_the_projects_months_to_its_new_group(team_lead, project, team):
    log(team_lead, project)
    inventory.project_change_stage(by=team_lead, project=project, stage=Stage.DESIGN)
    assert groups() == {(team.pk, Stage.DESIGN, "", MAR): (D("1000.00"), 1, 1)}
    assert teams() == {(team.pk, MAR): (D("1000.00"), 1, 1)}
    same_as_ledger()


def test_a_team_change_moves_the_projects_months_to_the_other_team(admin_user, team_lead, project, team, other_team):
    log(team_lead, project)
    log(team_lead, project, month=APR, amount=D("3"))
    inventory.project_update(by=admin_user, project=project, team=other_team)
    assert groups() == {
        (other_team.pk, Stage.IDEA, "", MAR): (D("1000.00"), 1, 1),
        (other_team.pk, Stage.IDEA, "", APR): (D("3.00"), 1, 1),
    }
    assert teams() == {(other_team.pk, MAR): (D("1000.00"), 1, 1), (other_team.pk, APR): (D("3.00"), 1, 1)}
    same_as_ledger()


def test_a_tier_assessment_moves_the_projects_months_to_its_tiers_group(risk_officer, team_lead, project, team):
    log(team_lead, project)
    assessment = assessments.tier_assessment_submit(by=risk_officer, project=project, answers=complete())
    assert assessment.tier != ""
    assert groups() == {(team.pk, Stage.IDEA, assessment.tier, MAR): (D("1000.00"), 1, 1)}
    same_as_ledger()


def test_deleting_a_project_through_its_service_takes_its_months_out_of_its_group(admin_user, team_lead, project, team):
    sibling = AIProject.objects.create(name="Sibling", slug="sibling", team=team, owner=team_lead, stage=Stage.IDEA)
    log(team_lead, project)
    log(team_lead, sibling, amount=D("250"))
    inventory.project_delete(by=admin_user, project=project)
    assert groups() == {(team.pk, Stage.IDEA, "", MAR): (D("250.00"), 1, 1)}
    assert teams() == {(team.pk, MAR): (D("250.00"), 1, 1)}
    same_as_ledger()


def test_rebuild_repairs_a_roll_up_written_around_the_services_and_audits_nothing(team_lead, project):
    log(team_lead, project)
    log(team_lead, project, month=APR)
    ROIEntry.objects.filter(month=APR).update(amount_reporting=D("3"))  # a ledger written around the services
    ROIMonthRollup.objects.filter(month=MAR).delete()
    assert roi_rollup_drift() == 3  # March missing; April's cell wrong (its old and its right row)
    events = AuditEvent.objects.count()
    out = io.StringIO()
    call_command("rebuild_roi_rollup", stdout=out)
    assert out.getvalue().strip() == (
        "ROI roll-up rebuilt: 2 cells written; 3 differed from the ledger before; "
        "2 group and team cells differed from the roll-up."  # March's group and team cells outlived its row
    )
    assert cells(project) == {
        MAR: (D("0"), D("0"), D("1000.00"), D("0"), 1),
        APR: (D("0"), D("0"), D("3.00"), D("0"), 1),
    }
    same_as_ledger()
    assert AuditEvent.objects.count() == events  # derived data: nothing to audit


def test_the_migration_fills_the_roll_up_from_the_ledger_already_there(team_lead, project, other_project, other_lead):
    log(team_lead, project)
    log(team_lead, project, basis="planned", kind="cost", category="compute", amount=D("80"), month=APR)
    log(other_lead, other_project, amount=D("5"))
    expected = {p.pk: cells(p) for p in (project, other_project)}
    ROIMonthRollup.objects.all().delete()  # the ledger as it stood before the roll-up existed
    migration = importlib.import_module("projects.migrations.0012_roi_month_rollup")
    migration.fill_from_ledger(apps, None)
    assert {p.pk: cells(p) for p in (project, other_project)} == expected
    assert expected[project.pk][APR] == (D("0"), D("80.00"), D("0"), D("0"), 0)
    same_as_ledger()


def test_the_migration_fills_the_group_and_team_roll_ups_from_the_roll_up(
    team_lead, project, other_project, other_lead
):
    log(team_lead, project)
    log(team_lead, project, basis="planned", kind="cost", category="compute", amount=D("80"), month=APR)
    log(other_lead, other_project, amount=D("5"))
    expected = (groups(), teams())
    ROIGroupMonthRollup.objects.all().delete()
    ROITeamMonthRollup.objects.all().delete()
    migration = importlib.import_module("projects.migrations.0013_roi_group_and_team_month_rollups")
    migration.fill_from_rollup(apps, None)
    assert (groups(), teams()) == expected
    assert len(expected[1]) == 3  # two teams' March, one team's April
    same_as_ledger()


def test_a_refresh_of_many_groups_recomputes_their_teams_whole(monkeypatch, team_lead, project, team):
    from projects import rollups
    from projects.roi import rollup

    monkeypatch.setattr(rollups, "GROUPS_ONE_BY_ONE", 0)  # as a bulk load of thousands of projects does
    sibling = AIProject.objects.create(name="Sibling", slug="sibling", team=team, owner=team_lead, stage=Stage.DESIGN)
    log(team_lead, project)
    log(team_lead, sibling, amount=D("250"))
    rollup.roi_rollup_refresh_projects(projects=AIProject.objects.filter(pk=sibling.pk))
    assert groups() == {
        (team.pk, Stage.IDEA, "", MAR): (D("1000.00"), 1, 1),
        (team.pk, Stage.DESIGN, "", MAR): (D("250.00"), 1, 1),
    }
    same_as_ledger()
