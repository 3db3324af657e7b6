"""PII propagation along lineage (lineage.md §2.3, §4.3): pure functions over a preloaded graph.

One asserted classification (a *root*: a person's or a producer's "this column holds emails")
is carried downstream, and every place it reaches gets one derived label keyed by that root, with
the path it came by. Keying by root is what makes retraction exact: removing a root, or an edge
on its paths, means recomputing that root alone and keeping what it still reaches.

Edge rules:

* a DIRECT column edge, unmasked, carries the label unchanged (IDENTITY, TRANSFORMATION, and an
  edge of an older facet with no transformation information, which counts as direct);
* a masked column edge (hash, tokenise) carries it as *pseudonymised* (still personal data,
  GDPR Recital 26);
* an AGGREGATION edge carries it as *aggregated* (small groups re-identify);
* an edge that is both masked and aggregating gives the less exposing of the two: *aggregated*
  (see "Treatment order" below: a masked aggregate never ranks above a plain aggregate);
* an INDIRECT column edge (JOIN, FILTER, GROUP_BY, ...) labels no column: it records that the job
  *processed* the data, on the output dataset. Such a label is where the path ends: no column of
  the output holds the data, so nothing flows on from it;
* a dataset edge marked `indirect` (the output has a columnLineage facet, and it names this input
  as no column's direct source: the job read it only to join or filter) is treated exactly like an
  INDIRECT column edge: any label of the input, on a column or on the whole dataset, reaches the
  output dataset as *processed* and stops there. The output's facet is the authority for it;
* a dataset edge with no column lineage at all (the output has no columnLineage facet) carries
  every label of its input to the output dataset (not to a column), *unverified*: it fails closed,
  and the page says why. A column's label does not cross a dataset edge whose output's facet names
  the input's columns (the column edges say where it goes); a dataset-wide label does, unverified.

Treatment order, in one place (TREATMENT_ORDER): plain > pseudonymised > aggregated > processed,
most exposing first. A label's treatment is the least exposing cap among the edges it crossed
(edge_cap), so a pseudonymised email stays pseudonymised through later identity copies, and a hop
that both masks and aggregates caps at the lesser of the two, aggregated. Several inputs give the
union: each root is propagated on its own and the target keeps one label per root, its most
exposing (then verified) state.

Termination, also on cycles: the state of a label at a node is (treatment rank, verified), and a
node only takes a state no state it already holds dominates; there are eight states, so each node
is visited at most eight times per root.

Extension (spread from seeds, for an added edge: store.extend): the labels already stored at the
new edge's source are the seeds, and a node takes only a state its stored label does not dominate.
Only the best state of a node is stored, but that loses nothing that travels: a column node's
states are all verified (only column edges reach a column, and they keep `verified`), and a dataset
node's travelling states are all unverified (a dataset node's verified states are processed, which
stop) — so at every node the travelling states form a chain and the stored best dominates them
all. Extending from it is therefore never less exposing than a full recompute; labels are equal,
while the path shown may differ where two paths give the same state (both are true explanations).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

PLAIN, PSEUDONYMISED, AGGREGATED, PROCESSED = "plain", "pseudonymised", "aggregated", "processed"
# The treatment order, most exposing first; every comparison of treatments goes through RANK.
TREATMENT_ORDER = (PLAIN, PSEUDONYMISED, AGGREGATED, PROCESSED)
TREATMENTS = TREATMENT_ORDER
# Higher = more exposing. A label's rank is the minimum of the caps of the edges it crossed.
RANK = {t: len(TREATMENT_ORDER) - 1 - i for i, t in enumerate(TREATMENT_ORDER)}
TREATMENT_OF_RANK = {v: k for k, v in RANK.items()}

DIRECT, INDIRECT = "DIRECT", "INDIRECT"
AGGREGATION = "AGGREGATION"
COLUMN, DATASET = "column", "dataset"

Node = tuple[int, "int | None"]  # (dataset id, field id or None for the dataset as a whole)


def more_exposing(a: str, b: str) -> bool:
    """Whether treatment `a` exposes the data more than treatment `b` (TREATMENT_ORDER)."""
    return RANK[a] > RANK[b]


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
    indirect: bool = False  # the output's columnLineage names this input only as joined or filtered


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
    """The most exposing treatment a direct column edge lets through: the least exposing of what its
    masking and its aggregation each allow (a masked aggregate is aggregated, not pseudonymised)."""
    cap = RANK[PLAIN]
    if edge.masking:
        cap = min(cap, RANK[PSEUDONYMISED])
    if (edge.subtype or "").upper() == AGGREGATION:
        cap = min(cap, RANK[AGGREGATED])
    return cap


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
        if e.indirect:  # joined or filtered only, per the output's own facet: processed, like an INDIRECT column
            nxt, st = (e.target, None), (RANK[PROCESSED], verified)
            yield nxt, st, _hop(graph, nxt, edge=DATASET, job=e.job, type_=INDIRECT, state=st)
            continue
        # A column's label crosses a dataset edge only where the edge says nothing of its columns.
        if field_id is not None and e.has_column_lineage:
            continue
        nxt, st = (e.target, None), (rank, False)
        yield nxt, st, _hop(graph, nxt, edge=DATASET, job=e.job, state=st)


@dataclass(frozen=True)
class Seed:
    """Where a spread starts: a node, the label's state there, and the path that brought it there."""

    node: Node
    state: State
    path: tuple[dict, ...]


def start_seed(root: Root, graph: Graph) -> Seed:
    """The root's own node, plain and verified, its path just itself."""
    start: Node = (root.dataset, root.field)
    state: State = (RANK[PLAIN], True)
    return Seed(start, state, (_hop(graph, start, edge="", job=None, state=state),))


def propagate(root: Root, graph: Graph) -> dict[Node, Label]:
    """Every node the root reaches (not its own), with the label it leaves there."""
    return spread((root.dataset, root.field), [start_seed(root, graph)], graph)


def spread(start: Node, seeds: list[Seed], graph: Graph, known: dict[Node, State] | None = None) -> dict[Node, Label]:
    """The labels one root leaves, walking from `seeds`; `start` (the root's own node) is never labelled.

    `known` holds the states already stored (by an earlier walk, whose consequences are stored too):
    a node takes no state its known state dominates, and only nodes that took a state better than
    their known one are returned. Without `known` this is the full propagation of a root."""
    known = known or {}
    states: dict[Node, list[State]] = defaultdict(list)
    parent: dict[tuple[Node, State], tuple[tuple[Node, State] | None, dict]] = {}
    seed_paths: dict[tuple[Node, State], tuple[dict, ...]] = {}
    queue: deque = deque()
    for seed in seeds:
        held = states[seed.node]
        if any(_dominates(h, seed.state) for h in held):
            continue
        held[:] = [h for h in held if not _dominates(seed.state, h)]
        held.append(seed.state)
        seed_paths[(seed.node, seed.state)] = seed.path
        if seed.state[0] != RANK[PROCESSED]:
            queue.append((seed.node, seed.state))
    while queue:
        node, state = queue.popleft()
        if state not in states[node]:
            continue  # superseded by a dominating state since it was queued
        for nxt, st, hop in _steps(graph, node, state):
            if nxt == start:
                continue
            held = states[nxt]
            if any(_dominates(h, st) for h in held) or (nxt in known and _dominates(known[nxt], st)):
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
        if (node, best) in seed_paths or (node in known and known[node] >= best):
            continue  # nothing better than what is stored
        out[node] = Label(TREATMENT_OF_RANK[best[0]], best[1], _path(parent, seed_paths, (node, best)))
    return out


def _path(parent, seed_paths, key) -> tuple[dict, ...]:
    hops = []
    while key not in seed_paths:
        key, hop = parent[key]
        hops.append(hop)
    return tuple(seed_paths[key]) + tuple(reversed(hops))


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


def hop_caption(hop: dict) -> str:
    """How a hop carried the label, in words for the path on the pages: "direct identity, masked",
    "dataset level, unverified", "joined or filtered: processed". A dataset edge is never "direct"."""
    type_, subtype = (hop.get("type") or "").upper(), (hop.get("subtype") or "").lower()
    if hop.get("edge") == DATASET:
        if type_ == INDIRECT:
            return "joined or filtered: processed"
        return "dataset level, unverified"
    if type_ == INDIRECT:
        return f"indirect {subtype}: processed" if subtype else "indirect: processed"
    words = ((type_ or DIRECT).lower() + (f" {subtype}" if subtype else "")).strip()
    return words + (", masked" if hop.get("masking") else "")
