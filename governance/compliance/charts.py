"""The PII lineage graph of a project's compliance tab: selector output (pii_paths) → plotly figure.
Pure functions: no ORM, no request."""

from __future__ import annotations

from core.charts import INK, figure

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
    nodes, edges = _nodes_and_edges(paths)
    last, columns = _place_nodes(nodes)
    traces = [*_edge_traces(nodes, edges), *_node_traces(nodes)]
    rows = max(len(keys) for keys in columns.values())
    hidden = {"visible": False, "zeroline": False, "showgrid": False}
    return figure(
        traces,
        height=height or max(260, 90 + 70 * rows),
        margin={"l": 20, "r": 20, "t": 30, "b": 40},
        xaxis={**hidden, "range": [-0.6, last + 0.6]},
        yaxis={**hidden, "range": [-(rows - 1) - 0.6, 0.8]},
    )


def _nodes_and_edges(paths: list[dict]) -> tuple[dict[str, dict], dict[tuple[str, str], dict]]:
    """One node per dataset field (or dataset) and per model version, one edge per hop, each merged over
    every path through it: a node's column is the furthest hop it is seen at, so arrows point right."""
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
    return nodes, edges


def _place_nodes(nodes: dict[str, dict]) -> tuple[int, dict[int, list[str]]]:
    """Model versions in the last column; within a column, nodes top to bottom by label. Returns the last
    column and the keys per column."""
    last = 1 + max((n["x"] for n in nodes.values() if not n["model"]), default=0)
    columns: dict[int, list[str]] = {}
    for key, n in nodes.items():
        if n["model"]:
            n["x"] = last
        columns.setdefault(n["x"], []).append(key)
    for keys in columns.values():
        for row, key in enumerate(sorted(keys, key=lambda k: nodes[k]["label"])):
            nodes[key]["y"] = -row
    return last, columns


def _edge_traces(nodes: dict[str, dict], edges: dict[tuple[str, str], dict]) -> list[dict]:
    """The arrows, and a marker halfway along each whose hover names the jobs and PII kinds of the hop."""
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
    return [
        {"type": "scatter", "mode": "lines", "x": ex, "y": ey, "hoverinfo": "skip", "showlegend": False,
         "line": {"color": "#8a8f98", "width": 1.5}},
        {"type": "scatter", "mode": "markers", "x": mx, "y": my, "text": mtext, "showlegend": False,
         "marker": {"size": 6, "color": "#8a8f98", "symbol": "diamond"}, "hovertemplate": "%{text}<extra></extra>"},
    ]  # fmt: skip


def _node_traces(nodes: dict[str, dict]) -> list[dict]:
    """One trace per GDPR class (a node takes its most sensitive one) and one for the model versions,
    so the legend names the classes."""
    traces = []
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
    return traces
