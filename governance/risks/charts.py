"""The risk heat map: selector output (risk_heatmap_counts) → plotly figure. Pure functions: no ORM, no
request; the template passes the figure with json_script and static/js/charts.js mounts it."""

from __future__ import annotations

import plotly.graph_objects as go

from core.charts import INK

from .scoring import BANDS, IMPACT_LABELS, LIKELIHOOD_LABELS, SCALE, Level, band_for

# Per level: the colour of a cell holding risks, and the paler one of an empty cell. Dark text
# (#1b1f24) on every one of them meets WCAG AA contrast.
LEVEL_COLOURS: dict[str, tuple[str, str]] = {
    Level.LOW: ("#8fd19e", "#eaf6ed"),
    Level.MEDIUM: ("#ffd966", "#fff8dd"),
    Level.HIGH: ("#ffa552", "#fff0e1"),
    Level.CRITICAL: ("#ff7b7b", "#ffe6e6"),
}
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
    falls in (scoring.BANDS) and labelled with how many risks sit there.

    `counts[likelihood - 1][impact - 1]` as risk_heatmap_counts returns it. `customdata` carries the
    count of each cell, which is what a click or a test reads; `selected` = (likelihood, impact)
    outlines the cell the list below is filtered to.
    """
    z, text, customdata, hover = _heatmap_cells(counts)
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
    fig.update_layout(**_heatmap_layout(axis_label=axis_label, height=height, compact=compact))
    if selected is not None:
        _outline_cell(fig, *selected)
    return fig


def _heatmap_cells(counts: list[list[int]]) -> tuple[list, list, list, list]:
    """Per cell, row by row (likelihood up): the z that picks its colour step (2 × level index, + 1 when the
    cell holds risks), its label, its count (customdata) and its hover text."""
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
    return z, text, customdata, hover


def _heatmap_layout(*, axis_label: str, height: int, compact: bool) -> dict:
    """Fixed axes labelled by the scale's words (numbers only when compact, for the small map beside a risk)."""

    def scale_axis(title: str, ticktext: list[str]) -> dict:
        """An axis of the 1–5 scale: fixed (the grid is the point, not zooming), no grid lines."""
        return {"title": {"text": title}, "tickvals": list(SCALE), "ticktext": ticktext, "fixedrange": True,
                "showgrid": False, "zeroline": False}  # fmt: skip

    def ticks(labels: dict[int, str]) -> list[str]:
        return [str(n) if compact else f"{labels[n]} ({n})" for n in SCALE]

    return dict(
        template="none",
        height=height,
        margin={"l": 40 if compact else 130, "r": 10, "t": 10, "b": 50 if compact else 70},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "color": INK, "size": 12},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        xaxis=scale_axis(f"{axis_label} impact", ticks(IMPACT_LABELS)),
        yaxis=scale_axis(f"{axis_label} likelihood", ticks(LIKELIHOOD_LABELS)),
        hoverlabel={"bgcolor": "#fff", "font": {"color": INK}},
    )


def _outline_cell(fig: go.Figure, likelihood: int, impact: int) -> None:
    """Outline the cell the list below the map is filtered to."""
    fig.add_shape(
        type="rect",
        x0=impact - 0.5,
        x1=impact + 0.5,
        y0=likelihood - 0.5,
        y1=likelihood + 0.5,
        line={"color": INK, "width": 3},
        fillcolor="rgba(0,0,0,0)",
    )


def figure_spec(fig: go.Figure) -> dict:
    """The figure as the plain JSON that json_script embeds and Plotly.newPlot takes."""
    spec = fig.to_plotly_json()
    return {"data": spec["data"], "layout": spec["layout"]}
