"""Selector output → plotly figures. Pure functions: no ORM, no request; the template passes the
figure with json_script and static/js/charts.js mounts it."""

from __future__ import annotations

import plotly.graph_objects as go

from .risk_scoring import BANDS, IMPACT_LABELS, LIKELIHOOD_LABELS, SCALE, Level, band_for

# Per level: the colour of a cell holding risks, and the paler one of an empty cell. Dark text
# (#1b1f24) on every one of them meets WCAG AA contrast.
LEVEL_COLOURS: dict[str, tuple[str, str]] = {
    Level.LOW: ("#8fd19e", "#eaf6ed"),
    Level.MEDIUM: ("#ffd966", "#fff8dd"),
    Level.HIGH: ("#ffa552", "#fff0e1"),
    Level.CRITICAL: ("#ff7b7b", "#ffe6e6"),
}
INK = "#1b1f24"
_LEVEL_INDEX = {band.level: n for n, band in enumerate(BANDS)}


def _discrete_colourscale() -> list[list]:
    """z = 2 × level index + (1 if the cell holds risks): eight flat colour steps, no gradient."""
    colours = []
    for band in BANDS:
        occupied, empty = LEVEL_COLOURS[band.level]
        colours += [empty, occupied]
    steps = len(colours)
    scale = []
    for n, colour in enumerate(colours):
        scale += [[n / steps, colour], [(n + 1) / steps, colour]]
    return scale


def risk_heatmap(
    counts: list[list[int]],
    *,
    axis_label: str,
    selected: tuple[int, int] | None = None,
    height: int = 440,
    compact: bool = False,
) -> go.Figure:
    """A 5×5 risk matrix: impact across, likelihood up, each cell coloured by the level its score
    falls in (risk_scoring.BANDS) and labelled with how many risks sit there.

    `counts[likelihood - 1][impact - 1]` as risk_heatmap_counts returns it. `customdata` carries the
    count of each cell, which is what a click or a test reads; `selected` = (likelihood, impact)
    outlines the cell the list below is filtered to.
    """
    z, text, customdata, hover = [], [], [], []
    for likelihood in SCALE:
        z_row, text_row, data_row, hover_row = [], [], [], []
        for impact in SCALE:
            n = counts[likelihood - 1][impact - 1]
            score = likelihood * impact
            band = band_for(score)
            z_row.append(2 * _LEVEL_INDEX[band.level] + (1 if n else 0))
            text_row.append(str(n) if n else "")
            data_row.append(n)
            hover_row.append(
                f"{LIKELIHOOD_LABELS[likelihood]} ({likelihood}) × {IMPACT_LABELS[impact]} ({impact}) = {score}: "
                f"{band.level.label}<br>{n} risk{'' if n == 1 else 's'}"
            )
        z.append(z_row)
        text.append(text_row)
        customdata.append(data_row)
        hover.append(hover_row)

    def ticks(labels: dict[int, str]) -> list[str]:
        return [str(n) if compact else f"{labels[n]} ({n})" for n in SCALE]

    fig = go.Figure(
        go.Heatmap(
            x=list(SCALE),
            y=list(SCALE),
            z=z,
            # Centre each z value in its colour step: z = n sits at (n + 0.5) / steps.
            zmin=-0.5,
            zmax=2 * len(BANDS) - 0.5,
            colorscale=_discrete_colourscale(),
            showscale=False,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 14 if compact else 18, "color": INK},
            customdata=customdata,
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            xgap=3,
            ygap=3,
        )
    )
    fig.update_layout(
        template="none",
        height=height,
        margin={"l": 40 if compact else 130, "r": 10, "t": 10, "b": 50 if compact else 70},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "color": INK, "size": 12},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        xaxis={
            "title": {"text": f"{axis_label} impact"},
            "tickvals": list(SCALE),
            "ticktext": ticks(IMPACT_LABELS),
            "fixedrange": True,
            "showgrid": False,
            "zeroline": False,
        },
        yaxis={
            "title": {"text": f"{axis_label} likelihood"},
            "tickvals": list(SCALE),
            "ticktext": ticks(LIKELIHOOD_LABELS),
            "fixedrange": True,
            "showgrid": False,
            "zeroline": False,
        },
        hoverlabel={"bgcolor": "#fff", "font": {"color": INK}},
    )
    if selected is not None:
        likelihood, impact = selected
        fig.add_shape(
            type="rect",
            x0=impact - 0.5,
            x1=impact + 0.5,
            y0=likelihood - 0.5,
            y1=likelihood + 0.5,
            line={"color": INK, "width": 3},
            fillcolor="rgba(0,0,0,0)",
        )
    return fig


def figure_spec(fig: go.Figure) -> dict:
    """The figure as the plain JSON that json_script embeds and Plotly.newPlot takes."""
    spec = fig.to_plotly_json()
    return {"data": spec["data"], "layout": spec["layout"]}


# --- the executive dashboard ------------------------------------------------------------------------
# These return the figure as plain JSON ({"data": [...], "layout": {...}}, what figure_spec gives for a
# go.Figure): the dashboard draws five charts per request, and plotly's graph_objects validation of
# them cost more than all the dashboard's queries together. The templates pass the dicts as they are.

FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "color": INK, "size": 12}
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


def _figure(data: list[dict], *, height: int, **layout) -> dict:
    layout.setdefault("margin", {"l": 70, "r": 10, "t": 10, "b": 50})
    return {
        "data": data,
        "layout": {
            "template": {},
            "height": height,
            "font": FONT,
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "hoverlabel": {"bgcolor": "#fff", "font": {"color": INK}},
            "legend": {"orientation": "h", "y": -0.25, "x": 0},
            **layout,
        },
    }


def _money(value) -> float:
    return float(value or 0)


def _matrix_customdata(p: dict) -> list:
    return [p["url"], p["name"], p["team"], p["risk_level"], p["open_risks"], _money(p["investment"]),
            _money(p["actual_value"])]  # fmt: skip


def value_risk_matrix(points: list[dict], *, stages: list[tuple[str, str]], currency: str, height: int = 460) -> dict:
    """Value against risk, one bubble per project: x = the highest residual score of its open risks
    (0 = none), y = expected annual value, area = expected investment, colour = stage.

    Each point is a dict as governance.dashboard.matrix_points gives it plus "url" (the project page).
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
    return _figure(
        traces,
        height=height,
        shapes=bands,
        xaxis={
            "title": {"text": "Risk: highest residual score of the open risks (0 = none)"},
            "range": [-1, 26],
            "tickvals": [0, 4, 9, 16, 25],
            "zeroline": False,
            "showgrid": False,
        },
        yaxis={"title": {"text": f"Expected annual value ({currency})"}, "rangemode": "tozero", "tickformat": ",.0f"},
    )


def _month_ticks(n: int) -> str:
    """A tick every month for a short series, fewer for a long one (about eight ticks)."""
    return f"M{max(1, -(-n // 8))}"


def cumulative_value_cost(months: list[dict], *, currency: str, height: int = 360) -> dict:
    """Cumulative value and cost, planned (dashed) and actual (solid; up to the last month with actuals).

    `months` as governance.dashboard.month_rows gives them."""
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
    return _figure(
        traces,
        height=height,
        xaxis={"type": "date", "tickformat": "%b %Y", "dtick": _month_ticks(len(months)), "showgrid": False},
        yaxis={"title": {"text": currency}, "rangemode": "tozero", "tickformat": ",.0f"},
    )


def planned_vs_actual_quarters(quarters: list[dict], *, currency: str, height: int = 360) -> dict:
    """Planned and actual value and cost per quarter, side by side."""
    x = [q["quarter"] for q in quarters]
    traces = [
        {
            "type": "bar",
            "name": name,
            "x": x,
            "y": [_money(q[key]) for q in quarters],
            "marker": {"color": colour, "opacity": opacity},
            "hovertemplate": f"{name}, %{{x}}: %{{y:,.0f}} {currency}<extra></extra>",
        }
        for name, key, colour, opacity in (
            ("Planned value", "planned_value", VALUE_COLOUR, 0.45),
            ("Actual value", "actual_value", VALUE_COLOUR, 1.0),
            ("Planned cost", "planned_cost", COST_COLOUR, 0.45),
            ("Actual cost", "actual_cost", COST_COLOUR, 1.0),
        )
    ]
    return _figure(
        traces,
        height=height,
        barmode="group",
        xaxis={"type": "category", "showgrid": False},
        yaxis={"title": {"text": currency}, "tickformat": ",.0f"},
    )


def stage_funnel(stages: list[dict], *, height: int = 320) -> dict:
    """How many projects stand at each stage from idea to production (retired ones are not in the funnel)."""
    shown = [s for s in stages if s["stage"] != "retired"]
    trace = {
        "type": "funnel",
        "y": [s["label"] for s in shown],
        "x": [s["count"] for s in shown],
        "customdata": [s["stage"] for s in shown],
        "textinfo": "value",
        "marker": {"color": [STAGE_COLOURS.get(s["stage"], INK) for s in shown]},
        "textfont": {"color": INK},
        "hovertemplate": "%{y}: %{x} project(s)<extra></extra>",
    }
    return _figure([trace], height=height, margin={"l": 100, "r": 10, "t": 10, "b": 20})


def value_by_team(teams: list[dict], *, currency: str) -> dict:
    """Per team, value realised and cost spent to date, and the expected annual value of its business cases."""
    rows = list(reversed(teams))  # the largest at the top of a horizontal bar chart
    y = [t["team"] for t in rows]
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "y": y,
            "x": [_money(t[key]) for t in rows],
            "marker": {"color": colour, "opacity": opacity},
            "hovertemplate": f"%{{y}}: {name.lower()} %{{x:,.0f}} {currency}<extra></extra>",
        }
        for name, key, colour, opacity in (
            ("Realised value to date", "actual_value", VALUE_COLOUR, 1.0),
            ("Cost to date", "actual_cost", COST_COLOUR, 1.0),
            ("Expected annual value", "annual_value", VALUE_COLOUR, 0.35),
        )
    ]
    return _figure(
        traces,
        height=max(260, 110 + 48 * len(rows)),
        barmode="group",
        margin={"l": 140, "r": 10, "t": 10, "b": 40},
        xaxis={"tickformat": ",.0f", "ticksuffix": f" {currency}" if len(rows) < 2 else ""},
        yaxis={"type": "category", "automargin": True},
    )


# --- the PII lineage graph of a project's compliance tab ----------------------------------------------

GDPR_CLASS_COLOURS = {"personal": "#0072b2", "special": "#d55e00", "criminal": "#cc79a7"}
GDPR_CLASS_NAMES = {"personal": "Personal data", "special": "Special category", "criminal": "Criminal-offence data"}
_CLASS_ORDER = {"personal": 0, "special": 1, "criminal": 2}


def pii_lineage_graph(paths: list[dict], *, height: int | None = None) -> dict | None:
    """The PII paths into a project's model versions, left (where the data was classified) to right
    (the model version): one node per dataset field (or dataset), one per model version, an arrow per
    hop. Nodes are coloured by the most sensitive GDPR class passing through them.

    `paths` as governance.compliance.selectors.pii_paths gives them. Each node's customdata is
    [label, kinds, treatments]; a test (or a screen reader, via the table beside it) reads the same.
    None when no PII reaches the models.
    """
    if not paths:
        return None
    nodes: dict[str, dict] = {}
    edges: dict[tuple[str, str], dict] = {}
    for p in paths:
        seq = [*p["nodes"], {"key": p["model_key"], "label": p["model"], "job": "", "model": True}]
        for i, n in enumerate(seq):
            node = nodes.setdefault(
                n["key"], {"label": n["label"], "x": 0, "kinds": set(), "treatments": set(), "classes": set(),
                           "model": bool(n.get("model"))},
            )  # fmt: skip
            node["x"] = max(node["x"], i)
            node["kinds"].add(p["kind"])
            node["classes"].add(p["gdpr_class"])
            if n.get("treatment"):
                node["treatments"].add(n["treatment"])
            if i:
                edge = edges.setdefault((seq[i - 1]["key"], n["key"]), {"jobs": set(), "kinds": set()})
                edge["kinds"].add(p["kind"])
                if n.get("job"):
                    edge["jobs"].add(n["job"])
    last = 1 + max((n["x"] for n in nodes.values() if not n["model"]), default=0)
    columns: dict[int, list[str]] = {}
    for key, n in nodes.items():
        if n["model"]:
            n["x"] = last
        columns.setdefault(n["x"], []).append(key)
    for keys in columns.values():
        for row, key in enumerate(sorted(keys, key=lambda k: nodes[k]["label"])):
            nodes[key]["y"] = -row
    ex, ey, mx, my, mtext = [], [], [], [], []
    for (a, b), edge in sorted(edges.items()):
        x0, y0, x1, y1 = nodes[a]["x"], nodes[a]["y"], nodes[b]["x"], nodes[b]["y"]
        ex += [x0, x1, None]
        ey += [y0, y1, None]
        mx.append((x0 + x1) / 2)
        my.append((y0 + y1) / 2)
        mtext.append(
            f"{', '.join(sorted(edge['jobs'])) or 'linked to the model version'}: {', '.join(sorted(edge['kinds']))}"
        )
    traces = [
        {"type": "scatter", "mode": "lines", "x": ex, "y": ey, "hoverinfo": "skip", "showlegend": False,
         "line": {"color": "#8a8f98", "width": 1.5}},
        {"type": "scatter", "mode": "markers", "x": mx, "y": my, "text": mtext, "showlegend": False,
         "marker": {"size": 6, "color": "#8a8f98", "symbol": "diamond"}, "hovertemplate": "%{text}<extra></extra>"},
    ]  # fmt: skip
    groups: dict[str, list[str]] = {}
    for key, n in nodes.items():
        group = "model" if n["model"] else max(n["classes"], key=_CLASS_ORDER.get)
        groups.setdefault(group, []).append(key)
    for group in ("personal", "special", "criminal", "model"):
        keys = sorted(groups.get(group, ()))
        if not keys:
            continue
        traces.append({
            "type": "scatter",
            "mode": "markers+text",
            "name": "Model version" if group == "model" else GDPR_CLASS_NAMES[group],
            "x": [nodes[k]["x"] for k in keys],
            "y": [nodes[k]["y"] for k in keys],
            "text": [nodes[k]["label"] for k in keys],
            "textposition": "top center",
            "customdata": [[nodes[k]["label"], ", ".join(sorted(nodes[k]["kinds"])),
                            ", ".join(sorted(nodes[k]["treatments"]))] for k in keys],
            "marker": {"size": 16 if group == "model" else 12, "symbol": "square" if group == "model" else "circle",
                       "color": INK if group == "model" else GDPR_CLASS_COLOURS[group],
                       "line": {"color": "#fff", "width": 1}},
            "hovertemplate": "<b>%{customdata[0]}</b><br>PII: %{customdata[1]}<br>%{customdata[2]}<extra></extra>",
        })  # fmt: skip
    rows = max(len(keys) for keys in columns.values())
    hidden = {"visible": False, "zeroline": False, "showgrid": False}
    return _figure(
        traces,
        height=height or max(260, 90 + 70 * rows),
        margin={"l": 20, "r": 20, "t": 30, "b": 40},
        xaxis={**hidden, "range": [-0.6, last + 0.6]},
        yaxis={**hidden, "range": [-(rows - 1) - 0.6, 0.8]},
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
    return _figure(
        traces,
        height=height or max(260, 120 + 40 * len(rows)),
        barmode="stack",
        margin={"l": 140, "r": 10, "t": 10, "b": 40},
        xaxis={"tickformat": "d", "ticksuffix": " "},
        yaxis={"type": "category", "automargin": True},
    )
