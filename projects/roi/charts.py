"""The ROI tab's charts: a project's figures (projects/roi/figures.py) → plotly figures as plain JSON.
Pure functions: no ORM, no request; the template passes them with json_script and static/js/charts.js
mounts them (plotly from static, no CDN)."""

from __future__ import annotations

from decimal import Decimal

from core.charts import figure

from .figures import CumulativePoint, RoiFigures

PLANNED, ACTUAL = "#9db4d0", "#1f4e8c"  # a pale and a dark blue: one hue, told apart by lightness and shape
HEIGHT = 300


def _axis(title: str) -> dict:
    # automargin + standoff keep the axis title clear of the tick labels at any width.
    return {"title": {"text": title, "standoff": 12}, "automargin": True, "tickformat": ",.0f", "zeroline": True}


def _monthly(points: tuple[CumulativePoint, ...], attr: str) -> list[float | None]:
    """Per-month amounts from the running totals (None where the running total is None)."""
    out, previous = [], Decimal("0")
    for p in points:
        value = getattr(p, attr)
        if value is None:
            out.append(None)
            continue
        out.append(float(value - previous))
        previous = value
    return out


def roi_charts(figures: RoiFigures, *, currency: str) -> dict[str, dict] | None:
    """{"monthly": value per month, planned vs actual; "cumulative": cumulative net value (value - cost),
    planned vs actual}, or None when the ledger is empty. Actuals stop at figures.actuals_through."""
    points = figures.months
    if not points:
        return None
    months = [f"{p.month:%Y-%m}" for p in points]
    # Months read as months without an axis title; the legend sits above the plot, clear of the
    # rotated month labels.
    x_axis = {"type": "category", "automargin": True}
    legend = {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"}
    money = f"%{{y:,.0f}} {currency}"
    monthly = figure(
        [
            {"type": "bar", "name": "Planned value", "x": months, "y": _monthly(points, "planned_value"),
             "marker": {"color": PLANNED}, "hovertemplate": f"%{{x}} planned: {money}<extra></extra>"},
            {"type": "bar", "name": "Actual value", "x": months, "y": _monthly(points, "actual_value"),
             "marker": {"color": ACTUAL}, "hovertemplate": f"%{{x}} actual: {money}<extra></extra>"},
        ],
        height=HEIGHT, barmode="group", xaxis=x_axis, yaxis=_axis(f"Value per month ({currency})"),
        margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend=legend,
    )  # fmt: skip
    planned_net = [float(p.planned_value - p.planned_cost) for p in points]
    actual_net = [None if p.actual_net is None else float(p.actual_net) for p in points]
    cumulative = figure(
        [
            {"type": "scatter", "mode": "lines", "name": "Planned net value", "x": months, "y": planned_net,
             "line": {"color": PLANNED, "dash": "dash", "width": 2},
             "hovertemplate": f"%{{x}} planned: {money}<extra></extra>"},
            {"type": "scatter", "mode": "lines+markers", "name": "Actual net value", "x": months, "y": actual_net,
             "line": {"color": ACTUAL, "width": 3}, "hovertemplate": f"%{{x}} actual: {money}<extra></extra>"},
        ],
        height=HEIGHT, xaxis=x_axis, yaxis=_axis(f"Cumulative net value ({currency})"),
        margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend=legend,
    )  # fmt: skip
    return {"monthly": monthly, "cumulative": cumulative}
