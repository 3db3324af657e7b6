"""PII propagation along lineage (lineage.md §2.3, §4.3): pure functions over a preloaded graph.

One asserted classification (a *root*: a person's or a producer's "this column holds emails")
is carried downstream, and every place it reaches gets one derived label keyed by that root, with
the path it came by. Keying by root is what makes retraction exact: removing a root, or an edge
on its paths, means recomputing that root alone and keeping what it still reaches.

Edge rules:

* a DIRECT column edge, unmasked, carries the label unchanged (IDENTITY, TRANSFORMATION, and an
  edge of an older facet with no transformation information, which counts as direct);
* a masked column edge (hash, tokenise) carries it as *pseudonymised* (still personal data,
  GDPR Recital 26); masking takes precedence over aggregation;
* an AGGREGATION edge carries it as *aggregated* (small groups re-identify);
* an INDIRECT edge (JOIN, FILTER, GROUP_BY, ...) labels no column: it records that the job
  *processed* the data, on the output dataset. Such a label is where the path ends: no column of
  the output holds the data, so nothing flows on from it;
* a dataset edge without column lineage carries every label of its input to the output dataset
  (not to a column), *unverified*: it fails closed, and the page says why.

A label never becomes more exposing than the edges it crossed allow (a pseudonymised email stays
pseudonymised through later identity copies). Several inputs give the union: each root is
propagated on its own and the target keeps one label per root.

Termination, also on cycles: the state of a label at a node is (treatment rank, verified), and a
node only takes a state no state it already holds dominates; there are eight states, so each node
is visited at most eight times per root.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

PLAIN, PSEUDONYMISED, AGGREGATED, PROCESSED = "plain", "pseudonymised", "aggregated", "processed"
TREATMENTS = (PLAIN, PSEUDONYMISED, AGGREGATED, PROCESSED)
# Higher = more exposing. A label's rank is the minimum of the caps of the edges it crossed.
RANK = {PROCESSED: 0, AGGREGATED: 1, PSEUDONYMISED: 2, PLAIN: 3}
TREATMENT_OF_RANK = {v: k for k, v in RANK.items()}

DIRECT, INDIRECT = "DIRECT", "INDIRECT"
AGGREGATION = "AGGREGATION"
COLUMN, DATASET = "column", "dataset"

Node = tuple[int, "int | None"]  # (dataset id, field id or None for the dataset as a whole)


@dataclass(frozen=True)
class ColumnEdge:
    source_field: int
    target_dataset: int
    target_field: int | None
    transformation_type: str = ""  # "DIRECT" | "INDIRECT" | "" (unknown: counts as direct)
    subtype: str = ""
    masking: bool = False
    job: int | None = None


@dataclass(frozen=True)
class DatasetEdge:
    source: int
    target: int
    has_column_lineage: bool = False
    job: int | None = None


@dataclass
class Graph:
    """The part of the lineage graph propagation reads, with names for the explanation paths."""

    field_dataset: dict[int, int] = field(default_factory=dict)
    column_out: dict[int, list[ColumnEdge]] = field(default_factory=lambda: defaultdict(list))
    dataset_out: dict[int, list[DatasetEdge]] = field(default_factory=lambda: defaultdict(list))
    dataset_names: dict[int, str] = field(default_factory=dict)
    field_names: dict[int, str] = field(default_factory=dict)
    job_names: dict[int, str] = field(default_factory=dict)

    def add_column_edge(self, edge: ColumnEdge) -> None:
        self.column_out[edge.source_field].append(edge)

    def add_dataset_edge(self, edge: DatasetEdge) -> None:
        self.dataset_out[edge.source].append(edge)


@dataclass(frozen=True)
class Root:
    """An asserted classification: where it sits and what kind it is."""

    id: int
    dataset: int
    field: int | None
    kind: str


@dataclass(frozen=True)
class Label:
    """What one root leaves at one node: how exposed, whether every hop had column lineage, and how."""

    treatment: str
    verified: bool
    path: tuple[dict, ...]

    @property
    def hops(self) -> int:
        return len(self.path) - 1


State = tuple[int, bool]  # (rank, verified)


def _dominates(a: State, b: State) -> bool:
    return a[0] >= b[0] and a[1] >= b[1]


def edge_cap(edge: ColumnEdge) -> int:
    """The most exposing treatment a direct column edge lets through."""
    if edge.masking:
        return RANK[PSEUDONYMISED]
    if (edge.subtype or "").upper() == AGGREGATION:
        return RANK[AGGREGATED]
    return RANK[PLAIN]


def is_indirect(edge: ColumnEdge) -> bool:
    return (edge.transformation_type or "").upper() == INDIRECT


def _hop(graph: Graph, node: Node, *, edge: str, job, type_: str = "", subtype: str = "", masking=False,
         state: State) -> dict:  # fmt: skip
    dataset, field_id = node
    return {
        "dataset": dataset,
        "dataset_name": graph.dataset_names.get(dataset, ""),
        "field": field_id,
        "field_name": graph.field_names.get(field_id, "") if field_id is not None else "",
        "job": job,
        "job_name": graph.job_names.get(job, "") if job is not None else "",
        "edge": edge,
        "type": type_,
        "subtype": subtype,
        "masking": bool(masking),
        "treatment": TREATMENT_OF_RANK[state[0]],
        "verified": state[1],
    }


def _steps(graph: Graph, node: Node, state: State):
    """(next node, next state, hop) for every edge a label in `state` at `node` crosses."""
    dataset, field_id = node
    rank, verified = state
    if field_id is not None:
        for e in graph.column_out.get(field_id, ()):
            if is_indirect(e):
                nxt, st = (e.target_dataset, None), (RANK[PROCESSED], verified)
            else:
                nxt, st = (e.target_dataset, e.target_field), (min(rank, edge_cap(e)), verified)
            yield nxt, st, _hop(graph, nxt, edge=COLUMN, job=e.job, type_=(e.transformation_type or DIRECT).upper(),
                                subtype=(e.subtype or "").upper(), masking=e.masking, state=st)  # fmt: skip
    for e in graph.dataset_out.get(dataset, ()):
        # A column's label crosses a dataset edge only where the edge says nothing of its columns.
        if field_id is not None and e.has_column_lineage:
            continue
        nxt, st = (e.target, None), (rank, False)
        yield nxt, st, _hop(graph, nxt, edge=DATASET, job=e.job, state=st)


def propagate(root: Root, graph: Graph) -> dict[Node, Label]:
    """Every node the root reaches (not its own), with the label it leaves there."""
    start: Node = (root.dataset, root.field)
    start_state: State = (RANK[PLAIN], True)
    states: dict[Node, list[State]] = defaultdict(list)
    states[start].append(start_state)
    parent: dict[tuple[Node, State], tuple[tuple[Node, State] | None, dict]] = {
        (start, start_state): (None, _hop(graph, start, edge="", job=None, state=start_state))
    }
    queue = deque([(start, start_state)])
    while queue:
        node, state = queue.popleft()
        if state not in states[node]:
            continue  # superseded by a dominating state since it was queued
        for nxt, st, hop in _steps(graph, node, state):
            if nxt == start:
                continue
            held = states[nxt]
            if any(_dominates(h, st) for h in held):
                continue
            held[:] = [h for h in held if not _dominates(st, h)]
            held.append(st)
            parent[(nxt, st)] = ((node, state), hop)
            if st[0] != RANK[PROCESSED]:
                queue.append((nxt, st))
    out: dict[Node, Label] = {}
    for node, held in states.items():
        if node == start or not held:
            continue
        best = max(held)  # most exposing first, then verified
        out[node] = Label(TREATMENT_OF_RANK[best[0]], best[1], _path(parent, (node, best)))
    return out


def _path(parent, key) -> tuple[dict, ...]:
    hops = []
    while key is not None:
        key, hop = parent[key]
        hops.append(hop)
    return tuple(reversed(hops))


def downstream_datasets(dataset_ids, graph: Graph) -> set[int]:
    """The datasets reachable from these along dataset edges (for "what does this change touch")."""
    seen, queue = set(dataset_ids), deque(dataset_ids)
    while queue:
        d = queue.popleft()
        for e in graph.dataset_out.get(d, ()):
            if e.target not in seen:
                seen.add(e.target)
                queue.append(e.target)
    return seen
