"""The dashboard's charts draw only what the plotly.js bundle Keel serves can draw, and read at a glance:
the stage funnel's counts in ink beside its bars, one colour per legend entry in "Value by team", axis
titles clear of their tick labels. The bundle itself is the vendored cartesian build with its licence."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders

from core.charts import INK
from governance.dashboard import charts
from governance.risks import charts as risk_charts

BUNDLE = "vendor/plotly/plotly-cartesian.min.js"
# What plotly.js's cartesian bundle registers (its package's README; src/core.js + lib/index-cartesian.js).
CARTESIAN_TRACES = {"bar", "box", "heatmap", "histogram", "histogram2d", "histogram2dcontour", "contour", "image",
                    "pie", "scatter", "scatterternary", "violin"}  # fmt: skip

COUNTS = (("idea", 4), ("design", 4), ("development", 4), ("validation", 5), ("production", 7), ("retired", 2))
STAGES = [{"stage": s, "label": s.title(), "count": n} for s, n in COUNTS]
TEAMS = [{"team": t, "actual_value": Decimal(v), "actual_cost": Decimal(c), "annual_value": Decimal(a)}
         for t, v, c, a in (("Claims", 900, 300, 2000), ("Marketing", 100, 50, 800))]  # fmt: skip
QUARTERS = [
    {"quarter": "2026-Q3", "label": "2026-Q3", "planned_value": Decimal(300), "planned_cost": Decimal(90),
     "planned_value_to_date": Decimal(300), "planned_cost_to_date": Decimal(90), "actual_value": Decimal(310),
     "actual_cost": Decimal(80), "partial": False, "future": False},
    {"quarter": "2026-Q4", "label": "2026-Q4 to date", "planned_value": Decimal(300), "planned_cost": Decimal(90),
     "planned_value_to_date": Decimal(200), "planned_cost_to_date": Decimal(60), "actual_value": Decimal(190),
     "actual_cost": Decimal(70), "partial": True, "future": False},
    {"quarter": "2027-Q1", "label": "2027-Q1", "planned_value": Decimal(300), "planned_cost": Decimal(90),
     "planned_value_to_date": Decimal(0), "planned_cost_to_date": Decimal(0), "actual_value": Decimal(0),
     "actual_cost": Decimal(0), "partial": False, "future": True},
]  # fmt: skip


def all_figures() -> list[dict]:
    point = {"name": "P", "slug": "p", "team": "Claims", "stage": "production", "risk_score": 9, "risk_level": "Medium",
             "open_risks": 1, "annual_value": Decimal(1), "investment": Decimal(1), "actual_value": Decimal(0),
             "url": "/projects/p/"}  # fmt: skip
    return [
        charts.value_risk_matrix([point], stages=[("production", "Production")], currency="EUR"),
        charts.cumulative_value_cost([], currency="EUR"),
        charts.planned_vs_actual_quarters(QUARTERS, currency="EUR"),
        charts.stage_funnel(STAGES),
        charts.value_by_team(TEAMS, currency="EUR"),
        charts.compliance_by_team([{"team": "Claims", "met": 1, "stale": 0, "unmet": 2}]),
    ]


def test_every_trace_keel_draws_is_in_the_cartesian_bundle():
    heatmap = risk_charts.figure_spec(risk_charts.risk_heatmap([[1] * 5] * 5, axis_label="Residual"))
    types = {trace.get("type", "scatter") for fig in [*all_figures(), heatmap] for trace in fig["data"]}
    assert "heatmap" in types
    assert types <= CARTESIAN_TRACES, types - CARTESIAN_TRACES


def test_the_bundle_is_the_vendored_cartesian_build_with_its_licence():
    path = Path(finders.find(BUNDLE))
    assert path == Path(settings.BASE_DIR) / "static" / BUNDLE
    header = path.read_text(encoding="utf-8")[:200]
    assert re.search(r"plotly\.js \(cartesian - minified\) v\d+\.\d+\.\d+", header)
    assert path.stat().st_size < 2_000_000  # the full bundle is 4.8 MB
    assert (path.parent / "LICENSE").read_text().startswith("MIT License")
    assert "plotly.js-cartesian-dist-min" in (path.parent / "README.md").read_text()
    assert finders.find("vendor/plotly/plotly.min.js") is None  # the full bundle is no longer served


def test_the_stage_funnel_is_bars_with_counts_in_ink_beside_them():
    [trace] = charts.stage_funnel(STAGES)["data"]
    assert (trace["type"], trace["orientation"]) == ("bar", "h")
    assert trace["x"] == [4, 4, 4, 5, 7]  # retired projects are not in the funnel
    assert (trace["text"], trace["textposition"], trace["textfont"]["color"]) == (["4", "4", "4", "5", "7"],
                                                                                    "outside", INK)  # fmt: skip


def test_value_by_team_gives_each_legend_entry_its_own_colour():
    traces = charts.value_by_team(TEAMS, currency="EUR")["data"]
    colours = [t["marker"]["color"] for t in traces]
    assert len(set(colours)) == len(colours) == 3


def test_the_quarters_compare_actuals_with_the_plan_to_date_and_name_the_partial_quarter():
    traces = {t["name"]: t for t in charts.planned_vs_actual_quarters(QUARTERS, currency="EUR")["data"]}
    planned = traces["Planned value (to date)"]
    assert planned["x"] == ["2026-Q3", "2026-Q4 to date", "2027-Q1"]
    assert planned["y"] == [300.0, 200.0, 300.0]  # to date for Q4, the whole plan of the future quarter
    assert planned["marker"]["pattern"]["shape"] == "/"  # hatched, not only paler


def test_axis_titles_stand_off_their_tick_labels():
    for fig in all_figures():
        for name in ("xaxis", "yaxis"):
            axis = fig["layout"].get(name)
            if axis and axis.get("visible", True):
                assert axis["automargin"] is True
                if axis.get("title"):
                    assert axis["title"]["standoff"] == 10
