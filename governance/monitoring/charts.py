"""A signal over time with its plan's bounds: selector output → plotly figure as plain JSON (core.charts).
Pure functions: no ORM, no request."""

from __future__ import annotations

from core.charts import figure

# Okabe-Ito: versions are told apart with colour-vision deficiencies; the legend names each one too.
VERSION_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#999999")
BOUND_COLOUR = "#d55e00"


def signal_chart(name: str, points: list[dict], *, lower: float | None, upper: float | None, height: int = 280) -> dict:
    """One line per model version (points as selectors.signal_series gives them), breached values drawn as
    crosses, and the plan's lower/upper bounds as dashed horizontal lines labelled with their value."""
    traces = []
    versions = list(dict.fromkeys(p["version"] for p in points))
    for n, version in enumerate(versions):
        mine = [p for p in points if p["version"] == version]
        traces.append({
            "type": "scatter", "mode": "lines+markers", "name": version,
            "x": [p["measured_at"].isoformat() for p in mine], "y": [p["value"] for p in mine],
            "line": {"color": VERSION_COLOURS[n % len(VERSION_COLOURS)], "width": 2},
            "marker": {"symbol": ["x" if p["breached"] else "circle" for p in mine], "size": 8},
            # Names people typed go in as data (meta, the trace name), never into the template itself.
            "meta": [name], "hovertemplate": "%{fullData.name}<br>%{x}<br>%{meta[0]} = %{y}<extra></extra>",
        })  # fmt: skip
    shapes, annotations = [], []
    for label, bound in (("lower bound", lower), ("upper bound", upper)):
        if bound is None:
            continue
        shapes.append({
            "type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": bound, "y1": bound,
            "line": {"color": BOUND_COLOUR, "width": 2, "dash": "dash"},
        })  # fmt: skip
        annotations.append({
            "xref": "paper", "x": 1, "xanchor": "right", "yref": "y", "y": bound, "yanchor": "bottom",
            "text": f"{label} {bound:g}", "showarrow": False, "font": {"color": BOUND_COLOUR},
        })  # fmt: skip
    return figure(
        traces, height=height, shapes=shapes, annotations=annotations,
        xaxis={"title": {"text": "Measured (UTC)"}, "type": "date"}, yaxis={"title": {"text": name[:40]}},
        margin={"l": 60, "r": 10, "t": 10, "b": 40},
    )  # fmt: skip
