"""The propagation rules of governance/compliance/propagation.py on hand-built graphs (no database):
one test per rule of lineage.md §2.3, fan-in, cycles, and the explanation path."""

from __future__ import annotations

from governance.compliance import propagation as p
from governance.compliance.propagation import ColumnEdge, DatasetEdge, Graph, Root

# Datasets 1..9; field ids are dataset * 10 + n.
NAMES = {1: "raw.customers", 2: "stg.customers", 3: "mart.customers", 4: "mart.stats", 5: "model.churn"}


def graph(*edges) -> Graph:
    g = Graph(dataset_names=dict(NAMES), job_names={7: "dbt.stg", 8: "dbt.mart"})
    for e in edges:
        if isinstance(e, ColumnEdge):
            g.field_dataset[e.source_field] = e.source_field // 10
            if e.target_field is not None:
                g.field_dataset[e.target_field] = e.target_dataset
            g.add_column_edge(e)
        else:
            g.add_dataset_edge(e)
    for f in g.field_dataset:
        g.field_names[f] = f"col{f}"
    return g


def col(src: int, dst: int, type_: str = "DIRECT", subtype: str = "IDENTITY", masking=False, job=7) -> ColumnEdge:
    return ColumnEdge(src, dst // 10, dst, type_, subtype, masking, job)


def ds(src: int, dst: int, cll=True, job=7) -> DatasetEdge:
    return DatasetEdge(src, dst, cll, job)


ROOT = Root(id=1, dataset=1, field=11, kind="email")


def summary(result):
    return {node: (label.treatment, label.verified, label.hops) for node, label in result.items()}


def test_direct_unmasked_edges_carry_the_label_unchanged_over_several_hops():
    g = graph(ds(1, 2), col(11, 21), ds(2, 3), col(21, 31, subtype="TRANSFORMATION", job=8))
    assert summary(p.propagate(ROOT, g)) == {(2, 21): ("plain", True, 1), (3, 31): ("plain", True, 2)}


def test_an_edge_without_transformation_information_counts_as_direct():
    g = graph(ds(1, 2), col(11, 21, type_="", subtype=""))
    assert summary(p.propagate(ROOT, g)) == {(2, 21): ("plain", True, 1)}


def test_a_masked_edge_pseudonymises_and_later_identity_copies_keep_it_pseudonymised():
    g = graph(ds(1, 2), col(11, 21, subtype="TRANSFORMATION", masking=True), ds(2, 3), col(21, 31))
    assert summary(p.propagate(ROOT, g)) == {(2, 21): ("pseudonymised", True, 1), (3, 31): ("pseudonymised", True, 2)}


def test_an_aggregation_aggregates_and_a_masked_aggregate_is_no_more_exposing_than_a_plain_one():
    # #13 part 5: a masked aggregate used to rank as pseudonymised, above a plain aggregate. A hop that
    # masks and aggregates takes the less exposing of the two caps: aggregated.
    g = graph(ds(1, 2), col(11, 21, subtype="AGGREGATION"), col(11, 22, subtype="AGGREGATION", masking=True))
    assert summary(p.propagate(ROOT, g)) == {(2, 21): ("aggregated", True, 1), (2, 22): ("aggregated", True, 1)}


def test_an_indirect_edge_records_processing_on_the_output_dataset_and_labels_no_column():
    g = graph(ds(1, 2), col(11, 21, type_="INDIRECT", subtype="FILTER"), ds(2, 3), col(21, 31))
    # Nothing flows on from a processed label: no column of stg holds the email.
    assert summary(p.propagate(ROOT, g)) == {(2, None): ("processed", True, 1)}


def test_an_edge_without_column_lineage_falls_back_to_the_dataset_unverified_and_carries_on():
    g = graph(ds(1, 2, cll=False), ds(2, 3, cll=False))
    assert summary(p.propagate(ROOT, g)) == {(2, None): ("plain", False, 1), (3, None): ("plain", False, 2)}


def test_column_lineage_that_does_not_name_the_column_keeps_the_label_out():
    # The edge has column lineage, but only for another column: the email does not reach mart.stats.
    g = graph(ds(1, 4), col(12, 41, subtype="AGGREGATION"))
    assert p.propagate(ROOT, g) == {}


def test_a_dataset_level_assertion_reaches_downstream_datasets_unverified():
    g = graph(ds(1, 2), col(11, 21))
    root = Root(id=2, dataset=1, field=None, kind="health")
    assert summary(p.propagate(root, g)) == {(2, None): ("plain", False, 1)}


def test_the_most_exposing_path_wins_and_its_path_is_the_explanation():
    # Two jobs into stg.col21: one hashes, one copies. The copy decides (plain).
    g = graph(ds(1, 2), col(11, 21, subtype="TRANSFORMATION", masking=True, job=7), col(11, 21, job=8))
    label = p.propagate(ROOT, g)[(2, 21)]
    assert (label.treatment, label.verified) == ("plain", True)
    assert [h["job_name"] for h in label.path] == ["", "dbt.mart"]


def test_fan_in_takes_the_union_of_both_roots():
    g = graph(ds(1, 2), col(11, 21), col(12, 21, subtype="AGGREGATION"))
    email = p.propagate(ROOT, g)
    phone = p.propagate(Root(id=3, dataset=1, field=12, kind="phone"), g)
    assert summary(email) == {(2, 21): ("plain", True, 1)}
    assert summary(phone) == {(2, 21): ("aggregated", True, 1)}


def test_a_cycle_terminates_and_does_not_label_the_root_itself():
    # A MERGE reading and writing the same tables: 1.11 -> 2.21 -> 3.31 -> 1.11 and 3.31 -> 2.21.
    g = graph(ds(1, 2), ds(2, 3), ds(3, 1), ds(3, 2), col(11, 21), col(21, 31), col(31, 11), col(31, 21))
    assert summary(p.propagate(ROOT, g)) == {(2, 21): ("plain", True, 1), (3, 31): ("plain", True, 2)}


def test_a_cycle_through_a_masking_step_keeps_the_plain_label_where_one_exists():
    g = graph(ds(1, 2), ds(2, 2), col(11, 21), col(21, 22, masking=True), col(22, 21))
    assert summary(p.propagate(ROOT, g)) == {(2, 21): ("plain", True, 1), (2, 22): ("pseudonymised", True, 2)}


def test_a_plain_unverified_label_beats_a_pseudonymised_verified_one_but_both_travel():
    # stg.21 gets email hashed (column lineage) and, through a second job without column lineage,
    # the whole raw table. Downstream, the verified pseudonymised copy still reaches mart.31.
    g = graph(ds(1, 2), col(11, 21, masking=True), ds(1, 2, cll=False, job=8), ds(2, 3), col(21, 31))
    out = summary(p.propagate(ROOT, g))
    assert out[(2, 21)] == ("pseudonymised", True, 1)
    assert out[(2, None)] == ("plain", False, 1)
    assert out[(3, 31)] == ("pseudonymised", True, 2)
    # mart.customers has column lineage, so only the dataset-level label crosses as a dataset label.
    assert out[(3, None)] == ("plain", False, 2)


def test_the_path_names_every_hop_with_its_job_edge_and_treatment():
    g = graph(ds(1, 2), col(11, 21), ds(2, 3), col(21, 31, masking=True, subtype="TRANSFORMATION", job=8))
    path = p.propagate(ROOT, g)[(3, 31)].path
    assert [(h["dataset_name"], h["field_name"], h["job_name"], h["type"], h["subtype"], h["masking"],
             h["treatment"]) for h in path] == [
        ("raw.customers", "col11", "", "", "", False, "plain"),
        ("stg.customers", "col21", "dbt.stg", "DIRECT", "IDENTITY", False, "plain"),
        ("mart.customers", "col31", "dbt.mart", "DIRECT", "TRANSFORMATION", True, "pseudonymised"),
    ]  # fmt: skip


def test_a_long_chain_is_walked_breadth_first_once():
    n = 2000
    g = Graph()
    for i in range(1, n):
        g.add_dataset_edge(DatasetEdge(i, i + 1, False, None))
    out = p.propagate(Root(id=1, dataset=1, field=None, kind="email"), g)
    assert len(out) == n - 1
    assert out[(n, None)].hops == n - 1


def ids(src: int, dst: int, cll=True, job=7) -> DatasetEdge:
    """A dataset edge whose output's columnLineage names `src` as no column's direct input (join/filter)."""
    return DatasetEdge(src, dst, cll, job, indirect=True)


def test_a_join_only_input_leaves_processed_on_the_output_dataset_and_no_label():
    # #13 part 1: stg is written from another table; raw.customers is only joined (no column of the
    # output's facet names it). The email reaches stg as "processed", on the dataset, and stops there.
    g = graph(ids(1, 2, cll=False), ds(2, 3, cll=False))
    assert summary(p.propagate(ROOT, g)) == {(2, None): ("processed", True, 1)}
    hop = p.propagate(ROOT, g)[(2, None)].path[-1]
    assert (hop["edge"], hop["type"], hop["treatment"]) == ("dataset", "INDIRECT", "processed")


def test_a_dataset_level_label_crossing_a_join_only_input_is_processed_too():
    root = Root(id=2, dataset=1, field=None, kind="health")
    g = graph(ids(1, 2, cll=False), ds(2, 3, cll=False))
    assert summary(p.propagate(root, g)) == {(2, None): ("processed", True, 1)}
    # Further down an unverified carry, the processed label keeps the carry's unverified state.
    g = graph(ds(1, 2, cll=False), ids(2, 3, cll=False))
    assert summary(p.propagate(root, g)) == {(2, None): ("plain", False, 1), (3, None): ("processed", False, 2)}


def test_without_any_column_lineage_the_fallback_is_still_the_unverified_dataset_carry():
    g = graph(DatasetEdge(1, 2, False, 7, indirect=False))
    assert summary(p.propagate(ROOT, g)) == {(2, None): ("plain", False, 1)}


def test_the_treatment_order_is_defined_once_and_caps_take_the_less_exposing():
    assert p.TREATMENT_ORDER == ("plain", "pseudonymised", "aggregated", "processed")
    ranks = [p.RANK[t] for t in p.TREATMENT_ORDER]
    assert ranks == sorted(ranks, reverse=True)
    assert p.more_exposing("plain", "pseudonymised")
    assert p.more_exposing("pseudonymised", "aggregated")
    assert p.more_exposing("aggregated", "processed")
    assert not p.more_exposing("aggregated", "aggregated")
    cap = {(m, s): p.TREATMENT_OF_RANK[p.edge_cap(col(11, 21, subtype=s, masking=m))]
           for m in (False, True) for s in ("IDENTITY", "AGGREGATION")}  # fmt: skip
    assert cap == {(False, "IDENTITY"): "plain", (True, "IDENTITY"): "pseudonymised",
                   (False, "AGGREGATION"): "aggregated", (True, "AGGREGATION"): "aggregated"}  # fmt: skip
    # A masked aggregate never ranks above a plain aggregate.
    assert not p.more_exposing(cap[True, "AGGREGATION"], cap[False, "AGGREGATION"])


def test_an_aggregate_of_a_pseudonymised_column_stays_aggregated_and_the_reverse_too():
    g = graph(ds(1, 2), col(11, 21, masking=True), ds(2, 3), col(21, 31, subtype="AGGREGATION"))
    assert summary(p.propagate(ROOT, g))[(3, 31)] == ("aggregated", True, 2)
    g = graph(ds(1, 2), col(11, 21, subtype="AGGREGATION"), ds(2, 3), col(21, 31, masking=True))
    assert summary(p.propagate(ROOT, g))[(3, 31)] == ("aggregated", True, 2)


def test_hop_captions_never_call_a_dataset_edge_direct():
    g = graph(ds(1, 2, cll=False), ids(1, 4, cll=False), ds(1, 3), col(11, 31, masking=True, subtype="TRANSFORMATION"),
              col(11, 32, type_="INDIRECT", subtype="JOIN"))  # fmt: skip
    out = p.propagate(ROOT, g)
    captions = {node: p.hop_caption(label.path[-1]) for node, label in out.items()}
    assert captions == {
        (2, None): "dataset level, unverified",
        (4, None): "joined or filtered: processed",
        (3, 31): "direct transformation, masked",
        (3, None): "indirect join: processed",
    }
