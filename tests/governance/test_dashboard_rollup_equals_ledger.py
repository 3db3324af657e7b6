"""The dashboard and the summary API read the ROI roll-up, never the ledger's entries: their figures equal
the same figures computed here from the entries themselves, for a varied portfolio (seed_portfolio's
projects in EUR, USD and GBP, then service writes: a future plan, a month in progress without an actual,
a deleted and a restored entry, an actual of zero, an FX rate change), for the current month in progress
and for a past as-of month, unfiltered and filtered by team."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.utils import timezone

from governance.dashboard import selectors as dashboard
from projects.management.commands.seed_portfolio import seed_portfolio
from projects.models import AIProject, FxRate, RoiBasis, ROIEntry, RoiKind
from projects.roi import services
from projects.roi.figures import add_months, month_start
from projects.roi.rollup import roi_rollup_drift
from projects.roi.selectors import roi_monthly_totals

pytestmark = pytest.mark.django_db

THIS = month_start(timezone.localdate())


@pytest.fixture
def varied(admin_user):
    seed_portfolio(scale=12, months=5, prefix="v")
    p = list(AIProject.objects.order_by("pk"))
    lead = p[0].team.lead or admin_user
    common = {"kind": "value", "category": "cost_saving", "logged_by": lead, "currency": "EUR"}
    services.roi_entry_create(by=None, project=p[0], month=add_months(THIS, 3), basis="planned", amount=D("777"),
                              **common)  # fmt: skip
    for entry in ROIEntry.objects.filter(project=p[1], month=THIS, basis=RoiBasis.ACTUAL):
        services.roi_entry_delete(by=None, entry=entry)  # p1's month in progress: planned, not yet reported
    gone = ROIEntry.objects.filter(project=p[2], month=add_months(THIS, -2), basis=RoiBasis.ACTUAL).first()
    deletion = services.roi_entry_delete(by=None, entry=gone)
    services.roi_entry_restore(by=None, deletion=deletion)
    services.roi_entry_create(by=None, project=p[3], month=add_months(THIS, -6), basis="actual", amount=D("0"),
                              **common)  # fmt: skip
    usd = FxRate.objects.filter(currency="USD", month=add_months(THIS, -1)).get()
    services.fx_rate_set(by=None, currency="USD", month=usd.month, rate=usd.rate * 2)
    assert ROIEntry.objects.filter(currency="USD", month=usd.month).exists()  # the change re-converted something
    assert roi_rollup_drift() == 0
    return p


def ledger_rows(projects, as_of: dt.date, *, in_progress: bool) -> dict[int, tuple]:
    """Per project from the entries: (actual value, actual cost, plan to date), by the dashboard's rule."""
    out: dict[int, list] = defaultdict(lambda: [D(0), D(0), D(0)])
    entries = list(ROIEntry.objects.filter(project__in=projects))
    reported = {(e.project_id, e.month) for e in entries if e.basis == RoiBasis.ACTUAL}
    for e in entries:
        row = out[e.project_id]
        if e.basis == RoiBasis.ACTUAL and e.month <= as_of:
            row[0 if e.kind == RoiKind.VALUE else 1] += e.amount_reporting
        counts = e.month < as_of or (e.month == as_of and (not in_progress or (e.project_id, e.month) in reported))
        if e.basis == RoiBasis.PLANNED and e.kind == RoiKind.VALUE and counts:
            row[2] += e.amount_reporting
    return {pk: tuple(v) for pk, v in out.items()}


@pytest.mark.parametrize("as_of", [THIS, add_months(THIS, -1)])
@pytest.mark.parametrize(("team_index", "stage", "whole_teams"), [
    (None, None, False),  # every project: the team roll-up whatever the flag
    (0, None, False),  # a team, read from the group roll-up
    (0, None, True),  # a team, read from the team roll-up (what the page does without a stage or tier filter)
    (None, "stage_of_0", False),  # a stage: the group roll-up
])  # fmt: skip
def test_the_dashboards_roll_up_figures_equal_the_ledgers(executive, varied, as_of, team_index, stage, whole_teams):
    projects = AIProject.objects.all()
    if team_index is not None:
        projects = projects.filter(team=varied[team_index].team)
    if stage is not None:
        projects = projects.filter(stage=varied[0].stage)
        assert 0 < projects.count() < len(varied)
    summary = dashboard.portfolio_summary(user=executive, projects=projects, filtered=bool(projects.query.where),
                                          as_of=as_of, whole_teams=whole_teams)  # fmt: skip
    # The monthly series: every month of the ledger, with the same sums and "an actual was logged".
    assert summary.months == roi_monthly_totals(ROIEntry.objects.filter(project__in=projects))
    if team_index is None and stage is None:
        assert len(summary.months) == 5 + 1 + 1  # the seeded window, the future plan, the zero six months ago
    # The table's rows, project by project.
    expected = ledger_rows(projects, as_of, in_progress=as_of == THIS)
    rows = dashboard.project_rows(projects, as_of=as_of)
    assert {r.pk: (r.actual_value, r.actual_cost, r.planned_value) for r in rows} == expected
    # The table's pages (ranked_project_rows) hold the same rows, in the same order.
    paged = [r.pk for start in range(0, len(varied), 5)
             for r in dashboard.ranked_project_rows(projects, as_of=as_of, start=start, stop=start + 5)]  # fmt: skip
    assert paged == [r.pk for r in rows]
    # The tiles and the teams: the rows' sums.
    value = sum((v for v, _, _ in expected.values()), D(0))
    planned = sum((p for _, _, p in expected.values()), D(0))
    assert (summary.figures.cumulative_value, summary.figures.planned_value_to_date) == (value, planned)
    assert sum((t["actual_value"] for t in summary.teams), D(0)) == value
    if (
        as_of == THIS and team_index is None and stage is None
    ):  # p1 planned this month but has not reported it: not counted yet
        this_plan = ROIEntry.objects.filter(project=varied[1], month=THIS, basis="planned", kind="value").get()
        whole = ledger_rows(AIProject.objects.filter(pk=varied[1].pk), as_of, in_progress=False)[varied[1].pk]
        assert expected[varied[1].pk][2] == whole[2] - this_plan.amount_reporting


def test_months_outside_the_accepted_window_do_not_stretch_the_timeline(executive, team_lead, project):
    # Rows from before the services refused such months (core/dates.py), written here around them.
    services.roi_entry_create(by=team_lead, project=project, month=THIS, kind="value", category="cost_saving",
                              basis="actual", amount=D("10"))  # fmt: skip
    common = {"project": project, "kind": "value", "category": "cost_saving", "amount": D("5"), "currency": "EUR",
              "amount_reporting": D("5"), "logged_by": team_lead}  # fmt: skip
    ROIEntry.objects.bulk_create([ROIEntry(month=dt.date(9999, 12, 1), basis="actual", **common),
                                  ROIEntry(month=dt.date(1, 1, 1), basis="planned", **common)])  # fmt: skip
    call_command("rebuild_roi_rollup", stdout=io.StringIO())
    summary = dashboard.portfolio_summary(user=executive, projects=AIProject.objects.all(), filtered=False)
    assert [m.month for m in summary.months] == [THIS]
    assert len(summary.figures.months) == 1  # not 119,988 months from year 1 to 9999
    assert summary.figures.cumulative_value == D("10.00")
    (row,) = dashboard.project_rows(AIProject.objects.all(), as_of=THIS)
    assert (row.actual_value, row.planned_value) == (D("10.00"), D("0"))
