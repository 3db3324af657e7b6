"""The house look of every plotly chart (ink, font, transparent background, legend below), as plain
JSON: pure functions, no ORM, no request. Each app's charts.py builds its figures with `figure()`."""

from __future__ import annotations

INK = "#1b1f24"
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "color": INK, "size": 12}


def figure(data: list[dict], *, height: int, **layout) -> dict:
    """A figure as the plain JSON ({"data": [...], "layout": {...}}) that json_script embeds and
    Plotly.newPlot takes, in the house layout; `layout` adds to it or overrides it."""
    layout.setdefault("margin", {"l": 70, "r": 10, "t": 10, "b": 50})
    for name in ("xaxis", "yaxis"):
        if name in layout:
            layout[name] = _axis(layout[name])
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


def _axis(axis: dict) -> dict:
    """An axis that makes room for its tick labels and keeps its title clear of them (automargin, and the
    title standing off the ticks), instead of drawing the title over long tick labels."""
    axis = {"automargin": True, **axis}
    title = axis.get("title")
    if isinstance(title, dict) and title.get("text"):
        axis["title"] = {"standoff": 10, **title}
    return axis
