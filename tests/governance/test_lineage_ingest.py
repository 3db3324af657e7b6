"""OpenLineage ingest through POST /api/v1/lineage: the real events of tests/fixtures/openlineage/ (see
SOURCES.txt there), idempotence, run merging, column lineage in both facet forms, symlinks, model links
and every kind of bad input (refused clearly, nothing stored)."""

from __future__ import annotations

import copy
import gzip
import json

import pytest

from core.roles import Role
from core.services import api_token_create
from governance.lineage import selectors
from governance.lineage.ingest import canonical_hash, lineage_event_ingest
from governance.lineage.signals import lineage_changed
from governance.models import (
    AuditEvent,
    ColumnEdge,
    Dataset,
    DatasetField,
    DataSource,
    Job,
    LineageEdge,
    LineageEvent,
    Run,
)
from tests.factories import make_user
from tests.lineage_events import FIXTURES, PG, RUN_EVENT_URL, event, load, post
from tests.query_counts import QueryCount, assert_queries, capture_queries
from tests.registry_factories import ModelVersionFactory, RegisteredModelFactory, RegistryFactory

pytestmark = pytest.mark.django_db

# Files that SOURCES.txt calls complete (real captured or client test events) and partial (integration
# test expectations: no producer/eventTime/runId, matcher placeholders).
COMPLETE = [
    "airflow/line_02.json",
    "airflow/line_03.json",
    "airflow/line_08.json",
    "core/example_full_event.json",
    "core/serde_example_dataset_event.json",
    "core/serde_example_job_event.json",
    "spark_dataproc_bigquery_shakespare/1729097631761.json",
    "spark_dataproc_simple_producer_test/4.json",
    "spark_dataproc_simple_producer_test_complete/3.json",
    "spark_cll/2.json",
    "spark_cll/8.json",
]
# The compatibility tests' minimal event, valid but for its runId "run_id" (not the spec's UUID).
NON_UUID_RUN = "simple_run_event/simple_run_event.json"
PARTIAL = [
    "airflow_legacy/postgres.json",
    "dbt_csv_to_postgres/customers/column_lineage_event.json",
    "dbt_csv_to_postgres/analytics/column_lineage_event.json",
    "hive/cllSimpleQueryMaskingComplete.json",
]
# Complete events whose eventTime is a template placeholder the consumer fills in (Marquez's seed);
# tests/governance/test_pii_marquez_food_delivery.py ingests them with real times.
TEMPLATES = ["marquez_food_delivery/metadata.template.json"]


def partial_events():
    for name in PARTIAL:
        document = load(name)
        for index, body in enumerate(document if isinstance(document, list) else [document]):
            yield pytest.param(body, id=f"{name}[{index}]")


def completed(event: dict, *, run_id: str, when: str = "2025-06-01T10:00:00Z") -> dict:
    """A partial expectation made into a real event: what a producer adds at run time."""
    return {
        **copy.deepcopy(event),
        "eventTime": when,
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/integration/dbt",
        "schemaURL": RUN_EVENT_URL,
        "run": {"runId": run_id},
    }


def stored_nothing(audit_before: int) -> bool:
    return (
        LineageEvent.objects.count() == 0
        and Dataset.objects.count() == 0
        and Job.objects.count() == 0
        and Run.objects.count() == 0
        and DataSource.objects.count() == 0
        and AuditEvent.objects.count() == audit_before
    )


def column_edge(source: tuple[str, str], target: tuple[str, str]) -> ColumnEdge:
    return ColumnEdge.objects.get(
        source_field__dataset__name=source[0],
        source_field__name=source[1],
        target_field__dataset__name=target[0],
        target_field__name=target[1],
    )


@pytest.fixture
def pipeline(client, team_lead):
    client.force_login(team_lead)
    return client


# --- the fixture events ---------------------------------------------------------------------------


def test_every_fixture_file_is_classified_as_complete_or_partial():
    files = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.json") if "facet_fragments" not in p.parts}
    assert files == set(COMPLETE) | set(PARTIAL) | set(TEMPLATES) | {NON_UUID_RUN}


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_events_with_their_placeholders_unfilled_are_refused(pipeline, name):
    audit_before = AuditEvent.objects.count()
    for body in load(name):
        response = post(pipeline, body)
        assert response.status_code == 400
        assert any("eventTime" in reason for reason in response.json()["reasons"]), response.json()
    assert stored_nothing(audit_before)


def test_the_minimal_event_is_refused_for_its_run_id_alone_and_accepted_with_a_uuid(pipeline):
    body = load(NON_UUID_RUN)
    assert body["run"]["runId"] == "run_id"

    refused = post(pipeline, body)
    assert refused.status_code == 400
    assert refused.json()["reasons"] == [
        "run.runId 'run_id' is not a UUID (the spec's format, e.g. 0196a1f0-3c2e-7d4a-9b1f-2f5e8c7a6b10)"
    ]
    body["run"]["runId"] = "0196a1f0-0000-7000-8000-0000000000aa"
    assert post(pipeline, body).status_code == 201


@pytest.mark.parametrize("name", COMPLETE)
def test_every_complete_fixture_event_is_accepted(pipeline, team_lead, name):
    body = load(name)

    response = post(pipeline, body)

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["status"] == "accepted"
    assert answer["event_hash"] == canonical_hash(body)
    stored = LineageEvent.objects.get()
    assert stored.payload == body
    assert stored.received_by == team_lead
    assert answer["applied"] is True  # the test session applies inline (KEEL_LINEAGE_APPLY_INLINE)
    audit = AuditEvent.objects.get(action="lineage.applied")  # one per batch, naming each event and sender
    assert audit.after["events"] == [stored.pk]
    assert audit.after["hashes"] == [stored.event_hash]
    assert audit.after["senders"] == {team_lead.get_username(): [stored.pk]}
    assert audit.actor_id == team_lead.pk


@pytest.mark.parametrize("body", list(partial_events()))
def test_partial_expectation_events_are_refused_naming_what_is_missing(pipeline, body):
    audit_before = AuditEvent.objects.count()

    response = post(pipeline, body)

    assert response.status_code == 400
    answer = response.json()
    assert answer["detail"].startswith("Invalid OpenLineage event: ")
    assert "producer is missing" in answer["reasons"]
    assert "eventTime is missing" in answer["reasons"]
    if "run" in body:
        assert "run.runId is missing" in answer["reasons"]
    assert stored_nothing(audit_before)


def test_placeholders_left_in_an_expectation_are_named_with_where_they_are(pipeline):
    body = load("airflow_legacy/postgres.json")[0]
    body = {**body, "producer": "<producer>", "eventTime": "2025-06-01T10:00:00Z", "schemaURL": RUN_EVENT_URL}
    body["run"] = {**body["run"], "runId": "0196a1f0-0000-7000-8000-00000000000b"}

    answer = post(pipeline, body).json()

    assert answer["code"] == "placeholder_values"
    assert "producer holds the placeholder '<producer>'" in answer["reasons"]
    assert (
        "run.facets.nominalTime.nominalStartTime holds the placeholder '{{ is_datetime(result) }}'"
        in (answer["reasons"])
    )
    assert LineageEvent.objects.count() == 0


def test_a_resent_event_is_a_no_op(pipeline):
    body = load("spark_dataproc_simple_producer_test/4.json")
    assert post(pipeline, body).status_code == 201
    counts = (Dataset.objects.count(), DatasetField.objects.count(), ColumnEdge.objects.count())
    audit_after_first = AuditEvent.objects.count()

    again = post(pipeline, json.dumps(body, indent=2, sort_keys=True))  # other layout, same event

    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert LineageEvent.objects.count() == 1
    assert AuditEvent.objects.count() == audit_after_first
    assert (Dataset.objects.count(), DatasetField.objects.count(), ColumnEdge.objects.count()) == counts


# --- runs -----------------------------------------------------------------------------------------


def test_start_then_complete_merge_into_one_run(pipeline):
    start, complete = load("airflow/line_02.json"), load("airflow/line_03.json")
    assert post(pipeline, start).status_code == 201
    assert Run.objects.get().state == "START"

    assert post(pipeline, complete).status_code == 201

    run = Run.objects.get()
    assert run.run_id == start["run"]["runId"] == complete["run"]["runId"]
    assert run.state == "COMPLETE"
    assert run.started_at.isoformat() == "2024-11-26T13:05:25.547948+00:00"
    assert run.ended_at.isoformat() == "2024-11-26T13:05:29.606867+00:00"
    # Facets accumulate: nominalTime came only with START, externalQuery only with COMPLETE.
    assert {"airflow", "nominalTime", "parent", "processing_engine", "externalQuery"} <= run.facets.keys()
    assert LineageEvent.objects.count() == 2


def test_a_late_start_does_not_reopen_a_completed_run(pipeline):
    complete, start = load("airflow/line_03.json"), load("airflow/line_02.json")
    post(pipeline, complete)

    post(pipeline, start)

    run = Run.objects.get()
    assert run.state == "COMPLETE"
    assert run.started_at.isoformat() == "2024-11-26T13:05:25.547948+00:00"


def test_a_run_id_reused_by_another_job_is_refused(pipeline):
    post(pipeline, event())
    events_before = LineageEvent.objects.count()

    response = post(pipeline, event(job={"namespace": "etl", "name": "other"}, eventType="RUNNING"))

    assert response.status_code == 400
    assert "already belongs to job etl/daily" in response.json()["detail"]
    assert LineageEvent.objects.count() == events_before


# --- datasets, fields, edges ----------------------------------------------------------------------


def test_dbt_example_gives_column_edges_from_raw_to_staging_to_analytics(pipeline):
    customers = completed(
        load("dbt_csv_to_postgres/customers/column_lineage_event.json"), run_id="0196a1f0-0000-7000-8000-0000000005f9"
    )
    analytics = completed(
        load("dbt_csv_to_postgres/analytics/column_lineage_event.json"), run_id="0196a1f0-0000-7000-8000-0000000006a7"
    )

    for body in (customers, analytics):
        response = post(pipeline, body)
        assert response.status_code == 201, response.content
        # The partial files' facets have no _producer/_schemaURL: tolerated, and said so.
        assert any("has no _producer" in w for w in response.json()["warnings"])

    raw, stg, mart = "dbt_test.main.raw_customers", "dbt_test.main.stg_customers", "dbt_test.main.customer_analytics"
    assert DataSource.objects.get(namespace=PG).name == PG  # from the dataSource facet
    email_1 = column_edge((raw, "email"), (stg, "email"))
    name_1 = column_edge((raw, "name"), (stg, "customer_name"))
    email_2 = column_edge((stg, "email"), (mart, "email"))
    name_2 = column_edge((stg, "customer_name"), (mart, "customer_name"))
    for edge in (email_1, name_1, email_2, name_2):
        # dbt sends `transformations: []`: no information, stored as such (read as direct by propagation).
        assert (edge.transformation_type, edge.subtype, edge.masking) == ("", "", False)
    assert email_1.job.name.endswith(".stg_customers")
    assert email_2.job.name.endswith(".customer_analytics")
    # The events name no `inputs`: the dataset-level edges come from the column lineage.
    stg_edge = LineageEdge.objects.get(source__name=raw, target__name=stg)
    assert stg_edge.has_column_lineage
    assert stg_edge.last_run.run_id == "0196a1f0-0000-7000-8000-0000000005f9"
    assert set(LineageEdge.objects.filter(target__name=mart).values_list("source__name", flat=True)) == {
        stg,
        "dbt_test.main.stg_orders",
    }


def test_column_lineage_2x_transformations_keep_type_subtype_and_masking(pipeline):
    facet = load("facet_fragments/ColumnLineageDatasetFacet/1.json")["columnLineage"]
    facet["fields"]["NAME"]["inputFields"][0]["transformations"][0]["masking"] = True
    body = event(
        inputs=[{"namespace": "SnowflakeOpenLineage", "name": n} for n in ("CUSTOMERS", "DISCOUNTS")],
        outputs=[{"namespace": "SnowflakeOpenLineage", "name": "REPORT", "facets": {"columnLineage": facet}}],
    )

    assert post(pipeline, body).status_code == 201

    direct = column_edge(("CUSTOMERS", "NAME"), ("REPORT", "NAME"))
    assert (direct.transformation_type, direct.subtype, direct.masking) == ("DIRECT", "IDENTITY", True)
    join = column_edge(("CUSTOMERS", "ID"), ("REPORT", "NAME"))
    assert (join.transformation_type, join.subtype, join.masking) == ("INDIRECT", "JOIN", False)
    assert join.description == "ON (DISCOUNTS.CUSTOMERS_ID=CUSTOMERS.ID)"
    assert LineageEdge.objects.get(source__name="CUSTOMERS", target__name="REPORT").has_column_lineage


def test_column_lineage_1x_transformation_type_is_read(pipeline):
    """Airflow 1.14 sends the deprecated field-level transformationType with empty transformations."""
    assert post(pipeline, load("airflow/line_03.json")).status_code == 201

    edge = column_edge(("copied.csv", "a"), ("mock-project.test.upload", "a"))
    assert (edge.transformation_type, edge.subtype, edge.masking) == ("DIRECT", "IDENTITY", False)
    assert edge.description == "identical"

    masked = event(
        outputs=[
            {
                "namespace": PG,
                "name": "mart.customers",
                "facets": {
                    "columnLineage": {
                        "_producer": "https://example.org/etl",
                        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ColumnLineageDatasetFacet.json",
                        "fields": {
                            "email_hash": {
                                "inputFields": [{"namespace": PG, "name": "crm.customers", "field": "email"}],
                                "transformationType": "MASKED",
                                "transformationDescription": "sha256(email)",
                            }
                        },
                    }
                },
            }
        ]
    )
    assert post(pipeline, masked).status_code == 201
    edge = column_edge(("crm.customers", "email"), ("mart.customers", "email_hash"))
    assert (edge.transformation_type, edge.subtype, edge.masking) == ("DIRECT", "TRANSFORMATION", True)


def test_schema_fields_are_upserted_with_nested_fields_flattened(pipeline):
    schema = {
        "_producer": "https://example.org/etl",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json",
        "fields": [
            {"name": "email", "type": "varchar", "description": "Contact address"},
            {"name": "address", "type": "struct", "fields": [{"name": "city", "type": "varchar"}]},
        ],
    }
    post(pipeline, event(outputs=[{"namespace": PG, "name": "mart.customers", "facets": {"schema": schema}}]))
    schema["fields"][0]["type"] = "text"
    post(
        pipeline,
        event(eventType="OTHER", outputs=[{"namespace": PG, "name": "mart.customers", "facets": {"schema": schema}}]),
    )

    fields = {f.name: f for f in DatasetField.objects.filter(dataset__name="mart.customers")}
    assert set(fields) == {"email", "address", "address.city"}
    assert (fields["email"].data_type, fields["email"].description) == ("text", "Contact address")


def test_job_event_gives_edges_without_a_run_and_dataset_event_gives_fields(pipeline):
    assert post(pipeline, load("core/serde_example_job_event.json")).status_code == 201
    assert post(pipeline, load("core/serde_example_dataset_event.json")).status_code == 201

    edge = LineageEdge.objects.get(source__name="dataset_a", target__name="dataset_b")
    assert edge.last_run is None
    assert edge.job.name == "name"
    assert Run.objects.count() == 0
    assert set(DatasetField.objects.filter(dataset__name="name").values_list("name", flat=True)) == {"a", "b"}
    assert set(LineageEvent.objects.values_list("kind", flat=True)) == {"job", "dataset"}


def test_a_symlink_finds_its_dataset_and_later_events_resolve_to_it(pipeline):
    post(pipeline, load("spark_dataproc_simple_producer_test/4.json"))
    t2 = Dataset.objects.get(name="/user/hive/warehouse/t2")
    assert t2.symlinks == [{"namespace": "hive://dataproc-producer-test-m:9083", "name": "default.t2", "type": "TABLE"}]
    datasets_before = Dataset.objects.count()

    assert selectors.dataset_by_identifier("hive://dataproc-producer-test-m:9083", "default.t2") == t2
    listed = pipeline.get(
        "/api/v1/datasets/", {"namespace": "hive://dataproc-producer-test-m:9083", "name": "default.t2"}
    )
    assert [d["id"] for d in listed.json()["results"]] == [t2.pk]
    post(pipeline, event(outputs=[{"namespace": "hive://dataproc-producer-test-m:9083", "name": "default.t2"}]))

    assert Dataset.objects.count() == datasets_before + 1  # only crm.customers is new
    assert LineageEdge.objects.filter(source__name="crm.customers", target=t2).exists()


def test_facets_merge_by_name_and_a_deleted_facet_goes(pipeline):
    owner = {"_producer": "p", "_schemaURL": "s", "owners": [{"name": "team:crm"}]}
    doc = {"_producer": "p", "_schemaURL": "s", "description": "Customers"}
    post(pipeline, event(outputs=[{"namespace": PG, "name": "mart.customers", "facets": {"ownership": owner}}]))
    post(
        pipeline,
        event(
            eventType="OTHER", outputs=[{"namespace": PG, "name": "mart.customers", "facets": {"documentation": doc}}]
        ),
    )
    assert set(Dataset.objects.get(name="mart.customers").facets) == {"ownership", "documentation"}

    gone = {"ownership": {"_producer": "p", "_schemaURL": "s", "_deleted": True}}
    post(pipeline, event(eventType="RUNNING", outputs=[{"namespace": PG, "name": "mart.customers", "facets": gone}]))

    assert set(Dataset.objects.get(name="mart.customers").facets) == {"documentation"}


# --- model versions -------------------------------------------------------------------------------


def model_dataset(namespace: str, name: str, **facets) -> dict:
    dataset_type = {"_producer": "p", "_schemaURL": "s", "datasetType": "MODEL"}
    return {"namespace": namespace, "name": name, "facets": {"datasetType": dataset_type, **facets}}


def test_a_model_dataset_named_by_its_mlflow_uri_is_linked_to_the_registry_version(pipeline, project):
    registry = RegistryFactory(name="mlflow-prod", base_url="http://mlflow.example:5000")
    other = RegistryFactory(name="mlflow-dev", base_url="http://mlflow-dev.example:5000")
    # The poster (a team lead) may link versions of their team's projects only (test_lineage_model_links.py).
    model = RegisteredModelFactory(registry=registry, name="fraud-detector", project=project)
    version = ModelVersionFactory(registered_model=model, version="2")
    ModelVersionFactory(registered_model=RegisteredModelFactory(registry=other, name="fraud-detector"), version="2")

    body = event(outputs=[model_dataset("http://mlflow.example:5000/", "models:/fraud-detector/2")])
    assert post(pipeline, body).status_code == 201

    ds = Dataset.objects.get(name="models:/fraud-detector/2")
    assert (ds.dataset_type, ds.model_version, ds.model_link_source) == ("MODEL", version, "facet")


def test_a_model_dataset_with_the_keel_facet_is_linked_and_a_manual_link_wins(pipeline, risk_officer, project):
    registry = RegistryFactory(name="mlflow-prod")
    model = RegisteredModelFactory(registry=registry, name="churn", project=project)
    v3, v4 = (
        ModelVersionFactory(registered_model=model, version="3"),
        ModelVersionFactory(registered_model=model, version="4"),
    )
    facet = {"_producer": "p", "_schemaURL": "s", "registry": "mlflow-prod", "model": "churn", "version": "3"}
    post(pipeline, event(outputs=[model_dataset("s3://models", "churn/model.pkl", keelModelVersion=facet)]))
    ds = Dataset.objects.get(name="churn/model.pkl")
    assert (ds.model_version, ds.model_link_source) == (v3, "facet")

    pipeline.force_login(risk_officer)
    response = pipeline.post(
        f"/api/v1/datasets/{ds.pk}/link-model/", {"model_version": v4.pk}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["model_link_source"] == "manual"
    assert AuditEvent.objects.filter(action="dataset.model_linked", object_id=str(ds.pk)).count() == 1

    post(
        pipeline,
        event(eventType="OTHER", outputs=[model_dataset("s3://models", "churn/model.pkl", keelModelVersion=facet)]),
    )
    ds.refresh_from_db()
    assert (ds.model_version, ds.model_link_source) == (v4, "manual")


def test_a_model_uri_that_matches_several_registries_is_not_linked(pipeline):
    for name in ("a", "b"):
        model = RegisteredModelFactory(registry=RegistryFactory(name=name), name="scorer")
        ModelVersionFactory(registered_model=model, version="1")

    post(pipeline, event(outputs=[model_dataset("mlflow", "models:/scorer/1")]))

    assert Dataset.objects.get(name="models:/scorer/1").model_version is None


# --- the signal -----------------------------------------------------------------------------------


def test_lineage_changed_is_sent_inside_the_transaction_with_the_changed_datasets(team_lead):
    from django.db import connection

    calls = []

    def receiver(sender, dataset_ids, **kwargs):
        calls.append((set(dataset_ids), connection.in_atomic_block, LineageEvent.objects.count()))

    lineage_changed.connect(receiver, dispatch_uid="test-lineage-changed")
    try:
        lineage_event_ingest(payload=event(), by=team_lead)
        lineage_event_ingest(payload=event(eventType="OTHER"), by=team_lead)  # only times move
    finally:
        lineage_changed.disconnect(dispatch_uid="test-lineage-changed")

    ids = set(Dataset.objects.values_list("pk", flat=True))
    assert calls[0] == (ids, True, 1)
    assert calls[1] == (set(), True, 2)


# --- refused ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param('{"eventType": "START", "run": ', "the body is not valid JSON", id="malformed JSON"),
        pytest.param(b"\xff\xfe{}", "the body is not UTF-8 text", id="not UTF-8"),
        pytest.param("[]", "the body must be one OpenLineage event (a JSON object), not an array", id="array"),
        pytest.param(event(run={"facets": {}}), "run.runId is missing", id="no run id"),
        pytest.param({k: v for k, v in event().items() if k != "job"}, "job is missing", id="no job"),
        pytest.param(event(job={"namespace": "etl"}), "job.name is missing", id="job without name"),
        pytest.param(
            event(job={"namespace": "etl", "name": "x" * 1001}),
            "job.name is longer than 1000 characters",
            id="long name",
        ),
        pytest.param(
            event(schemaURL="https://openlineage.io/spec/3-0-0/OpenLineage.json#/$defs/RunEvent"),
            "spec major version 3",
            id="unknown major",
        ),
        pytest.param({k: v for k, v in event().items() if k != "producer"}, "producer is missing", id="no producer"),
        pytest.param(event(eventTime="yesterday"), "eventTime 'yesterday' is not an ISO-8601 date-time", id="bad time"),
        pytest.param(event(eventType="FINISHED"), "eventType: 'FINISHED' is not one of", id="unknown event type"),
        pytest.param(
            event(outputs=[{"namespace": PG, "name": "t", "facets": {"schema": {"fields": [{"type": "int"}]}}}]),
            "outputs[0].facets.schema.fields.0: 'name' is a required property",
            id="broken schema facet",
        ),
        pytest.param(
            event(outputs=[{"namespace": PG, "name": "t", "facets": {"schema": []}}]),
            "must be an object",
            id="facet not object",
        ),
        pytest.param(
            {"eventTime": "2025-06-01T10:00:00Z", "producer": "p", "schemaURL": RUN_EVENT_URL},
            "no run, job or dataset",
            id="empty",
        ),
    ],
)
def test_bad_input_is_refused_clearly_and_nothing_is_stored(pipeline, body, reason):
    audit_before = AuditEvent.objects.count()

    response = post(pipeline, body)

    assert response.status_code == 400
    answer = response.json()
    assert any(reason in r for r in answer["reasons"]), answer
    assert reason in answer["detail"]
    assert stored_nothing(audit_before)


def test_unknown_major_version_has_its_own_code(pipeline):
    body = event(schemaURL="https://openlineage.io/spec/3-0-0/OpenLineage.json#/$defs/RunEvent")
    answer = post(pipeline, body).json()
    assert answer["code"] == "unsupported_spec_version"
    assert "Keel accepts OpenLineage 1-x-x and 2-x-x events" in answer["detail"]


def test_spec_1x_and_2x_producers_are_both_accepted(pipeline):
    old = event(schemaURL="https://openlineage.io/spec/1-0-5/OpenLineage.json#/$defs/RunEvent")
    new = event(schemaURL="https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent", eventType="OTHER")
    assert post(pipeline, old).status_code == 201
    assert post(pipeline, new).status_code == 201
    assert sorted(LineageEvent.objects.values_list("spec_major", flat=True)) == [1, 2]


def test_an_oversize_body_is_refused_as_json_before_it_is_read(pipeline, settings):
    settings.KEEL_LINEAGE_MAX_BODY_BYTES = 2_000
    body = event(job={"namespace": "etl", "name": "x" * 3_000})
    audit_before = AuditEvent.objects.count()

    response = post(pipeline, body)

    assert response.status_code == 400
    assert response.json()["code"] == "request_too_large"
    assert "the limit is 2000 bytes" in response.json()["detail"]
    assert stored_nothing(audit_before)


def test_a_gzip_body_is_accepted_and_one_that_expands_past_the_limit_is_refused(pipeline, settings):
    response = post(pipeline, gzip.compress(json.dumps(event()).encode()), HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 201, response.content

    settings.KEEL_LINEAGE_MAX_BODY_BYTES = 2_000
    bomb = gzip.compress(json.dumps(event(job={"namespace": "etl", "name": "y" * 50_000})).encode())
    assert len(bomb) < 2_000
    response = post(pipeline, bomb, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400
    assert response.json()["code"] == "request_too_large"
    assert LineageEvent.objects.count() == 1


# --- who may post -------------------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["Bearer", "Token"])
def test_a_pipeline_token_may_post_as_bearer_or_token(client, keyword):
    machine = make_user("etl-bot", Role.TEAM_LEAD)
    _, key = api_token_create(user=machine, name="nightly etl", lineage_namespaces=["etl", "postgres://*"])

    response = post(client, event(), HTTP_AUTHORIZATION=f"{keyword} {key}")

    assert response.status_code == 201
    assert LineageEvent.objects.get().received_by == machine


def test_readers_may_not_post_lineage_and_anonymous_callers_are_asked_to_authenticate(client, executive):
    _, key = api_token_create(user=executive)
    assert post(client, event(), HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 403
    assert post(client, event(), HTTP_AUTHORIZATION="Bearer keel_nope_nope").status_code == 401
    assert post(client, event()).status_code == 401
    assert LineageEvent.objects.count() == 0


# --- the datasets API ---------------------------------------------------------------------------------


def test_datasets_api_gives_fields_and_upstream_and_downstream(pipeline, executive):
    post(pipeline, load("spark_dataproc_simple_producer_test/4.json"))
    pipeline.force_login(executive)
    t1 = Dataset.objects.get(name="/user/hive/warehouse/t1")
    t2 = Dataset.objects.get(name="/user/hive/warehouse/t2")

    detail = pipeline.get(f"/api/v1/datasets/{t2.pk}/").json()

    assert [f["name"] for f in detail["fields"]] == ["a", "b"]
    assert detail["upstream"] == [t1.pk]
    assert detail["downstream"] == []
    listed = pipeline.get("/api/v1/datasets/", {"q": "warehouse/t1"}).json()
    assert [d["id"] for d in listed["results"]] == [t1.pk]
    assert listed["results"][0]["downstream"] == [t2.pk]
    assert pipeline.get("/api/v1/datasets/", {"type": "MODEL"}).json()["count"] == 0


def test_datasets_api_list_takes_the_same_number_of_queries_for_5_and_30_datasets(pipeline):
    def ingest(n: int, offset: int):
        for i in range(offset, offset + n):
            schema = {"_producer": "p", "_schemaURL": "s", "fields": [{"name": "email"}, {"name": "id"}]}
            body = event(
                run={"runId": f"0196a1f0-0000-7000-8000-{i:012d}"},
                job={"namespace": "etl", "name": f"job-{i}"},
                inputs=[{"namespace": PG, "name": f"raw.{i}"}],
                outputs=[{"namespace": PG, "name": f"mart.{i}", "facets": {"schema": schema}}],
            )
            assert post(pipeline, body).status_code == 201

    def count() -> QueryCount:
        with capture_queries() as captured:
            assert pipeline.get("/api/v1/datasets/").status_code == 200
        return captured.count

    ingest(5, 0)
    small = count()
    ingest(25, 5)
    assert_queries(small, count(), what="/api/v1/datasets/ at 5 and 30 datasets")


def test_link_model_is_for_the_lead_of_the_versions_project_and_unlinking_is_audited(
    client, team_lead, other_lead, project
):
    model = RegisteredModelFactory(registry=RegistryFactory(name="mlflow-prod"), name="fraud", project=project)
    version = ModelVersionFactory(registered_model=model, version="1")
    source = DataSource.objects.create(namespace=PG)
    ds = Dataset.objects.create(source=source, namespace=PG, name="train.fraud")
    url = f"/api/v1/datasets/{ds.pk}/link-model/"

    client.force_login(other_lead)
    refused = client.post(url, {"model_version": version.pk}, content_type="application/json")
    assert refused.status_code == 400  # another team's version reads as unknown
    client.force_login(team_lead)
    linked = client.post(url, {"model_version": version.pk}, content_type="application/json")
    assert linked.status_code == 200
    assert linked.json()["model_version"] == version.pk
    unlinked = client.post(url, {"model_version": None}, content_type="application/json")
    assert unlinked.status_code == 200
    assert unlinked.json()["model_link_source"] == ""

    actions = list(
        AuditEvent.objects.filter(object_type="governance.dataset", object_id=str(ds.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["dataset.model_linked", "dataset.model_unlinked"]
    again = client.post(url, {"model_version": None}, content_type="application/json")
    assert again.status_code == 400
