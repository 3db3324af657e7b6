"""#18: an added edge extends the labels its source already holds (store.extend) instead of recomputing
the source's whole downstream — and the result equals a full recompute. Checked on random graphs,
seeded so a failure replays: first on the pure functions (propagation.spread from the stored best),
then on database rows through services.lineage_propagate(added_edges=...) against
services.classifications_recompute_all()."""

from __future__ import annotations

import random

import pytest

from governance.compliance import propagation as p
from governance.compliance import services, taxonomy
from governance.compliance.propagation import ColumnEdge, DatasetEdge, Graph, Root
from governance.models import Classification, Job, Origin
from governance.models import ColumnEdge as ColumnEdgeRow
from governance.models import LineageEdge as LineageEdgeRow
from tests.pii_factories import dataset, fld, flow

TRANSFORMS = [("DIRECT", "IDENTITY", False), ("DIRECT", "TRANSFORMATION", True), ("DIRECT", "AGGREGATION", False),
              ("DIRECT", "AGGREGATION", True), ("INDIRECT", "JOIN", False), ("", "", False)]  # fmt: skip
FIELDS = 3  # field ids are dataset * 10 + n, n < FIELDS


def random_edges(rng: random.Random, datasets: int, n: int) -> list:
    """n random job writes: a dataset edge (with or without column lineage, sometimes join-only) and,
    when it has column lineage, a few column edges between the two datasets."""
    out = []
    for _ in range(n):
        s, t = rng.randint(1, datasets), rng.randint(1, datasets)
        kind = rng.random()
        if kind < 0.25:
            out.append(DatasetEdge(s, t, False, 7))
        elif kind < 0.4:
            out.append(DatasetEdge(s, t, False, 7, indirect=True))
        else:
            out.append(DatasetEdge(s, t, True, 7))
            for _ in range(rng.randint(1, 3)):
                type_, subtype, masking = rng.choice(TRANSFORMS)
                sf, tf = s * 10 + rng.randrange(FIELDS), t * 10 + rng.randrange(FIELDS)
                out.append(ColumnEdge(sf, t, tf, type_, subtype, masking, 7))
    return out


def build(edges) -> Graph:
    g = Graph()
    for e in edges:
        if isinstance(e, ColumnEdge):
            g.field_dataset[e.source_field], g.field_dataset[e.target_field] = e.source_field // 10, e.target_dataset
            g.add_column_edge(e)
        else:
            g.add_dataset_edge(e)
    return g


def pair(e) -> tuple[int, int]:
    return (e.source_field // 10, e.target_dataset) if isinstance(e, ColumnEdge) else (e.source, e.target)


def extended(root: Root, old: dict, new_edges: list, g_new: Graph) -> dict:
    """What store.extend does, on the pure functions: the stored labels at the new edges' sources are
    the seeds, the stored labels are what is known, and the walk's result is merged in."""
    sources = {pair(e)[0] for e in new_edges}
    start = (root.dataset, root.field)
    seeds = [p.start_seed(root, g_new)] if root.dataset in sources else []
    seeds += [p.Seed(node, (p.RANK[label.treatment], label.verified), label.path) for node, label in old.items()
              if node[0] in sources and label.treatment != p.PROCESSED]  # fmt: skip
    known = {node: (p.RANK[label.treatment], label.verified) for node, label in old.items()}
    return {**old, **p.spread(start, seeds, g_new, known)}


def states(labels: dict) -> dict:
    return {node: (label.treatment, label.verified) for node, label in labels.items()}


@pytest.mark.parametrize("seed", range(200))
def test_extending_from_the_stored_best_equals_a_full_propagation_on_random_graphs(seed):
    rng = random.Random(seed)
    datasets = rng.randint(3, 12)
    old_edges = random_edges(rng, datasets, rng.randint(0, 20))
    new_edges = random_edges(rng, datasets, rng.randint(1, 4))
    g_old, g_new = build(old_edges), build(old_edges + new_edges)
    for i, field in enumerate([None, 10, 11, 20]):
        root = Root(id=i, dataset=field // 10 if field else rng.randint(1, datasets), field=field, kind="email")
        old = p.propagate(root, g_old)
        assert states(extended(root, old, new_edges, g_new)) == states(p.propagate(root, g_new)), (seed, root)


# --- on database rows ------------------------------------------------------------------------------


def snapshot() -> dict:
    return {(c.derived_from_id, c.dataset_id, c.field_id): (c.treatment, c.verified, c.hops, len(c.path))
            for c in Classification.objects.filter(origin=Origin.DERIVED)}  # fmt: skip


def labels_only(snap: dict) -> dict:
    return {key: value[:2] for key, value in snap.items()}


def write_edges(rng: random.Random, ds: list, n: int) -> tuple[set[tuple[int, int]], set[int]]:
    """n random writes as ingest leaves them. Returns what lineage_changed would carry: the (source, target)
    pairs written (an edge that existed already is passed as added too: extending over it must change
    nothing), and the datasets of existing edges that changed (one now marked join-only: that may weaken
    a label, so the contract sends them in dataset_ids, for a full recompute)."""
    added, changed = set(), set()
    for e in random_edges(rng, len(ds), n):
        if isinstance(e, ColumnEdge):
            src, dst = ds[e.source_field // 10 - 1], ds[e.target_dataset - 1]
            type_, subtype = e.transformation_type, e.subtype
            job = LineageEdgeRow.objects.filter(source=src, target=dst).first().job
            ColumnEdgeRow.objects.get_or_create(
                job=job, source_field=fld(src, f"c{e.source_field % 10}"),
                target_field=fld(dst, f"c{e.target_field % 10}"), transformation_type=type_, subtype=subtype,
                defaults={"masking": e.masking},
            )  # fmt: skip
        else:
            src, dst = ds[e.source - 1], ds[e.target - 1]
            job = Job.objects.get_or_create(namespace="etl", name=f"job{rng.randrange(3)}")[0]
            edge, created = LineageEdgeRow.objects.get_or_create(
                job=job, source=src, target=dst,
                defaults={"has_column_lineage": e.has_column_lineage, "indirect": e.indirect},
            )  # fmt: skip
            if not created and e.indirect and not edge.indirect:
                edge.indirect = True
                edge.save(update_fields=["indirect"])
                changed.update((src.pk, dst.pk))
        added.add((src.pk, dst.pk))
    return added, changed


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(30))
def test_incremental_propagation_over_added_edges_equals_a_full_recompute(seed):
    rng = random.Random(1000 + seed)
    ds = [dataset(f"d{i}", *(f"c{n}" for n in range(FIELDS))) for i in range(1, rng.randint(4, 10) + 1)]
    write_edges(rng, ds, rng.randint(0, 12))  # before any label: nothing to extend yet
    for target in rng.sample(ds, min(3, len(ds))):
        field = fld(target, f"c{rng.randrange(FIELDS)}") if rng.random() < 0.8 else None
        kind = rng.choice(["email", "health", "phone"])
        Classification.objects.get_or_create(dataset=target, field=field, pii_kind=kind, origin=Origin.MANUAL,
                                             defaults={"gdpr_class": taxonomy.gdpr_class(kind)})  # fmt: skip
    services.classifications_recompute_all()
    for _ in range(3):  # three rounds of new edges, each extended, then checked against a full recompute
        added, changed = write_edges(rng, ds, rng.randint(1, 5))
        services.lineage_propagate(dataset_ids=changed, added_edges=added)
        incremental = snapshot()
        services.classifications_recompute_all()
        full = snapshot()
        assert labels_only(incremental) == labels_only(full), seed


@pytest.mark.django_db
def test_an_added_edge_into_a_model_dataset_brings_its_project_obligations(project, risk_officer):
    from governance.models import Obligation
    from tests.pii_factories import model_dataset
    from tests.signoff_factories import assess

    assess(project, "high")
    raw, stg = dataset("raw.customers", "email"), dataset("stg.customers", "email")
    flow(raw, stg, [("email", "email")])
    services.classification_assert(by=risk_officer, dataset=raw, field=fld(raw, "email"), pii_kind="email")
    model = model_dataset(project, "churn")
    before = set(Obligation.objects.filter(project=project).values_list("rule_id", flat=True))

    flow(stg, model, job="train churn")  # the training run's edge, no column lineage: carried unverified
    services.lineage_propagate(dataset_ids=set(), added_edges={(stg.pk, model.pk)})

    label = Classification.objects.get(dataset=model, pii_kind="email")
    assert (label.treatment, label.verified, label.hops) == ("plain", False, 2)
    after = set(Obligation.objects.filter(project=project).values_list("rule_id", flat=True))
    assert after - before, "the project's obligations follow the PII that now reaches its model"


@pytest.mark.django_db
def test_the_receiver_takes_added_edges_and_treats_their_absence_as_none():
    from governance.lineage.signals import lineage_changed

    raw, stg = dataset("raw.customers", "email"), dataset("stg.customers", "email")
    Classification.objects.create(dataset=raw, field=fld(raw, "email"), pii_kind="email",
                                  gdpr_class=taxonomy.gdpr_class("email"), origin=Origin.MANUAL)  # fmt: skip
    flow(raw, stg, [("email", "email")])
    lineage_changed.send(sender=None, dataset_ids=set())  # an older sender: no added_edges
    assert not Classification.objects.filter(origin=Origin.DERIVED).exists()

    lineage_changed.send(sender=None, dataset_ids=set(), added_edges={(raw.pk, stg.pk)})

    assert Classification.objects.get(origin=Origin.DERIVED).field.name == "email"


@pytest.mark.django_db
def test_a_new_more_exposing_path_updates_the_label_and_everything_downstream_of_it():
    raw, stg, mart = dataset("raw.c", "email"), dataset("stg.c", "email"), dataset("mart.c", "email")
    flow(raw, stg, [("email", "email", "DIRECT", "TRANSFORMATION", True)], job="hash_emails")
    flow(stg, mart, [("email", "email")], job="publish")
    root = Classification.objects.create(dataset=raw, field=fld(raw, "email"), pii_kind="email",
                                         gdpr_class=taxonomy.gdpr_class("email"), origin=Origin.MANUAL)  # fmt: skip
    services.classifications_recompute_all()
    assert {c.dataset.name: c.treatment for c in root.derived.select_related("dataset")} == {
        "stg.c": "pseudonymised",
        "mart.c": "pseudonymised",
    }

    flow(raw, stg, [("email", "email")], job="copy_emails")  # a second job copies the email in clear
    outcome = services.lineage_propagate(dataset_ids=set(), added_edges={(raw.pk, stg.pk)})

    assert (outcome.created, outcome.updated, outcome.deleted) == (0, 2, 0)
    rows = {c.dataset.name: c for c in root.derived.select_related("dataset")}
    assert {name: c.treatment for name, c in rows.items()} == {"stg.c": "plain", "mart.c": "plain"}
    assert [h["job_name"] for h in rows["mart.c"].path] == ["", "copy_emails", "publish"]
