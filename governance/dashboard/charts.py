"""The executive dashboard's charts: selector output → plotly figures. Pure functions: no ORM, no
request; the template passes each figure with json_script and static/js/charts.js mounts it.

These return the figure as plain JSON ({"data": [...], "layout": {...}}, what figure_spec gives for a
go.Figure): the dashboard draws five charts per request, and plotly's graph_objects validation of
them cost more than all the dashboard's queries together. The templates pass the dicts as they are.
"""

from __future__ import annotations

from core.charts import INK, figure

from ..risks.charts import LEVEL_COLOURS
from ..risks.scoring import BANDS

# One colour per lifecycle stage (Okabe-Ito, told apart with colour-vision deficiencies); the legend and
# the hover text always name the stage too.
STAGE_COLOURS = {
    "idea": "#999999",
    "design": "#56b4e9",
    "development": "#0072b2",
    "validation": "#e69f00",
    "production": "#009e73",
    "retired": "#cc79a7",
}
VALUE_COLOUR, COST_COLOUR = "#0072b2", "#d55e00"
# The business case's expected value: its own colour, not a paler value blue (two blues read as one in the
# legend).
EXPECTED_COLOUR = "#999999"
# Planned bars are hatched as well as paler, so the legend tells them from the actuals without colour alone.
PLANNED_PATTERN = {"shape": "/", "solidity": 0.3}
# Money axes abbreviate (1.2M); the hover gives the exact amount.
MONEY_TICKS = "~s"


def _money(value) -> float:
    return float(value or 0)


def _matrix_customdata(p: dict) -> list:
    return [p["url"], p["name"], p["team"], p["risk_level"], p["open_risks"], _money(p["investment"]),
            _money(p["actual_value"])]  # fmt: skip


def value_risk_matrix(points: list[dict], *, stages: list[tuple[str, str]], currency: str, height: int = 460) -> dict:
    """Value against risk, one bubble per project: x = the highest residual score of its open risks
    (0 = none), y = expected annual value, area = expected investment, colour = stage.

    Each point is a dict as governance.dashboard.selectors.matrix_points gives it plus "url" (the project page).
    `customdata[0]` is that URL, which static/js/charts.js opens on a click (data-click-url); the
    rest is what the hover names.
    """
    largest = max((_money(p["investment"]) for p in points), default=0)
    max_px = 48
    traces = []
    for stage, label in stages:
        mine = [p for p in points if p["stage"] == stage]
        if not mine:
            continue
        traces.append({
            "type": "scatter",
            "mode": "markers",
            "name": label,
            "x": [p["risk_score"] for p in mine],
            "y": [_money(p["annual_value"]) for p in mine],
            "marker": {
                "size": [_money(p["investment"]) for p in mine] if largest else 14,
                "sizemode": "area",
                "sizeref": 2 * largest / max_px**2 if largest else 1,
                "sizemin": 6,
                "color": STAGE_COLOURS.get(stage, INK),
                "opacity": 0.8,
                "line": {"color": INK, "width": 1},
            },
            "customdata": [_matrix_customdata(p) for p in mine],
            "hovertemplate": (
                "<b>%{customdata[1]}</b> (%{customdata[2]})<br>"
                f"Stage: {label}<br>"
                "Risk: %{customdata[3]}, highest residual score %{x} of %{customdata[4]} open risk(s)<br>"
                f"Expected annual value: %{{y:,.0f}} {currency}<br>"
                f"Expected investment: %{{customdata[5]:,.0f}} {currency}<br>"
                f"Realised value to date: %{{customdata[6]:,.0f}} {currency}<extra></extra>"
            ),
        })  # fmt: skip
    # The levels' pale colours behind their score ranges, as on the heat map.
    bands = [
        {"type": "rect", "xref": "x", "yref": "paper", "x0": band.min_score - 0.5, "x1": band.max_score + 0.5,
         "y0": 0, "y1": 1, "fillcolor": LEVEL_COLOURS[band.level][1], "line": {"width": 0}, "layer": "below"}
        for band in BANDS
    ]  # fmt: skip
    return figure(
        traces,
        height=height,
        shapes=bands,
        xaxis={
            # Short enough for a phone; the hint under the chart says what the score is.
            "title": {"text": "Highest open residual risk score"},
            "range": [-1, 26],
            "tickvals": [0, 4, 9, 16, 25],
            "zeroline": False,
            "showgrid": False,
        },
        yaxis={"title": {"text": f"Expected annual value ({currency})"}, "rangemode": "tozero",
               "tickformat": MONEY_TICKS},
    )  # fmt: skip


def _month_ticks(n: int) -> str:
    """A tick every month for a short series, fewer for a long one (about eight ticks)."""
    return f"M{max(1, -(-n // 8))}"


def cumulative_value_cost(months: list[dict], *, currency: str, height: int = 360) -> dict:
    """Cumulative value and cost, planned (dashed) and actual (solid; up to the last month with actuals).

    `months` as governance.dashboard.selectors.month_rows gives them."""
    x = [m["month"].isoformat() for m in months]
    series = [
        ("Actual value", "cumulative_actual_value", VALUE_COLOUR, "solid"),
        ("Planned value", "cumulative_planned_value", VALUE_COLOUR, "dash"),
        ("Actual cost", "cumulative_actual_cost", COST_COLOUR, "solid"),
        ("Planned cost", "cumulative_planned_cost", COST_COLOUR, "dash"),
    ]
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": name,
            "x": x,
            "y": [None if m[key] is None else _money(m[key]) for m in months],
            "line": {"color": colour, "dash": dash, "width": 2.5 if dash == "solid" else 1.8},
            "hovertemplate": f"{name} to %{{x|%b %Y}}: %{{y:,.0f}} {currency}<extra></extra>",
        }
        for name, key, colour, dash in series
    ]
    return figure(
        traces,
        height=height,
        xaxis={"type": "date", "tickformat": "%b %Y", "dtick": _month_ticks(len(months)), "showgrid": False},
        yaxis={"title": {"text": currency}, "rangemode": "tozero", "tickformat": MONEY_TICKS},
    )


def _money_bars(rows: list[dict], series, *, category: str, hover, horizontal: bool = False) -> list[dict]:
    """One bar trace per (name, key, colour, opacity) of `series`: the money under `key` for each row,
    placed by the row's `category`; `hover(name)` is the trace's hover text (plotly's %{x}/%{y} inside).
    A series whose name starts with "Planned" is hatched."""
    value_axis, category_axis = ("x", "y") if horizontal else ("y", "x")
    categories = [row[category] for row in rows]
    return [
        {
            "type": "bar",
            **({"orientation": "h"} if horizontal else {}),
            "name": name,
            category_axis: categories,
            value_axis: [_money(row[key]) for row in rows],
            "marker": {
                "color": colour,
                "opacity": opacity,
                **({"pattern": PLANNED_PATTERN} if name.startswith("Planned") else {}),
            },
            "hovertemplate": hover(name) + "<extra></extra>",
        }
        for name, key, colour, opacity in series
    ]


def _planned_shown(q: dict) -> dict:
    """What a quarter's planned bars show: the whole plan of a future quarter, else the plan to date."""
    to_date = "" if q.get("future") else "_to_date"
    return {
        "planned_value_shown": q.get(f"planned_value{to_date}", q["planned_value"]),
        "planned_cost_shown": q.get(f"planned_cost{to_date}", q["planned_cost"]),
    }


def planned_vs_actual_quarters(quarters: list[dict], *, currency: str, height: int = 360) -> dict:
    """Planned and actual value and cost per quarter, side by side.

    The actuals are compared with the plan *to date*: a quarter in progress (quarters' "partial", labelled
    e.g. "2026-Q4 to date") shows the plan of its months so far, not its whole plan, which would read as a
    shortfall that is only time still to come. A future quarter shows its whole plan (it has no actuals)."""
    rows = [{**q, "category": q.get("label", q["quarter"]), **_planned_shown(q)} for q in quarters]
    series = (
        ("Planned value (to date)", "planned_value_shown", VALUE_COLOUR, 0.45),
        ("Actual value", "actual_value", VALUE_COLOUR, 1.0),
        ("Planned cost (to date)", "planned_cost_shown", COST_COLOUR, 0.45),
        ("Actual cost", "actual_cost", COST_COLOUR, 1.0),
    )
    traces = _money_bars(
        rows, series, category="category", hover=lambda name: f"{name}, %{{x}}: %{{y:,.0f}} {currency}"
    )
    return figure(
        traces,
        height=height,
        barmode="group",
        # The legend above the bars: below, it ran into the slanted quarter labels on a phone.
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"l": 70, "r": 10, "t": 60, "b": 50},
        xaxis={"type": "category", "showgrid": False},
        yaxis={"title": {"text": currency}, "tickformat": MONEY_TICKS},
    )


def stage_funnel(stages: list[dict], *, height: int = 320) -> dict:
    """How many projects stand at each stage from idea to production (retired ones are not in the funnel).

    Drawn as horizontal bars, idea at the top, each count written just past its bar in ink: plotly's
    "funnel" trace is not in the cartesian bundle Keel serves (static/vendor/plotly/README.md), and its
    counts sat dark on the dark stage colours."""
    shown = [s for s in stages if s["stage"] != "retired"]
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": [s["label"] for s in shown],
        "x": [s["count"] for s in shown],
        "customdata": [s["stage"] for s in shown],
        "text": [str(s["count"]) for s in shown],
        "textposition": "outside",
        "cliponaxis": False,
        "textfont": {"color": INK},
        "marker": {"color": [STAGE_COLOURS.get(s["stage"], INK) for s in shown]},
        "hovertemplate": "%{y}: %{x} project(s)<extra></extra>",
    }
    return figure(
        [trace],
        height=height,
        margin={"l": 100, "r": 30, "t": 10, "b": 20},
        showlegend=False,
        xaxis={"visible": False, "rangemode": "tozero"},
        yaxis={"type": "category", "autorange": "reversed", "automargin": True},
    )


def value_by_team(teams: list[dict], *, currency: str) -> dict:
    """Per team, value realised and cost spent to date, and the expected annual value of its business cases."""
    rows = list(reversed(teams))  # the largest at the top of a horizontal bar chart
    series = (
        ("Realised value to date", "actual_value", VALUE_COLOUR, 1.0),
        ("Cost to date", "actual_cost", COST_COLOUR, 1.0),
        ("Expected annual value", "annual_value", EXPECTED_COLOUR, 1.0),
    )
    traces = _money_bars(
        rows, series, category="team", horizontal=True,
        hover=lambda name: f"%{{y}}: {name.lower()} %{{x:,.0f}} {currency}",
    )  # fmt: skip
    return figure(
        traces,
        height=max(260, 110 + 48 * len(rows)),
        barmode="group",
        margin={"l": 140, "r": 10, "t": 10, "b": 40},
        xaxis={"tickformat": MONEY_TICKS, "title": {"text": currency}},
        yaxis={"type": "category", "automargin": True},
    )


COMPLIANCE_SERIES = (("Met", "met", "#009e73"), ("Stale", "stale", "#e69f00"), ("Unmet", "unmet", "#d55e00"))


def compliance_by_team(rows: list[dict], *, height: int | None = None) -> dict:
    """Per team, compliance obligations met, stale (evidence given against old facts) and unmet, stacked."""
    rows = list(reversed(rows))
    y = [r["team"] for r in rows]
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "y": y,
            "x": [r[key] for r in rows],
            "marker": {"color": colour},
            "hovertemplate": f"%{{y}}: %{{x}} obligation(s) {name.lower()}<extra></extra>",
        }
        for name, key, colour in (
            ("Met", "met", "#009e73"),
            ("Stale", "stale", "#e69f00"),
            ("Unmet", "unmet", "#d55e00"),
        )
    ]
    return figure(
        traces,
        height=height or max(260, 120 + 40 * len(rows)),
        barmode="stack",
        margin={"l": 140, "r": 10, "t": 10, "b": 40},
        xaxis={"tickformat": "d", "ticksuffix": " "},
        yaxis={"type": "category", "automargin": True},
    )
