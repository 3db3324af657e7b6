"""The real openlineage-python client's HTTP transport, pointed at a running Keel (pytest-django's
live_server on 127.0.0.1), posts events that Keel accepts: the path, the Bearer API key of a token
scoped to the events' namespaces, gzip, and a 1.5 MB Spark event."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, RunEvent, RunState
from openlineage.client.event_v2 import Run as OLRun
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport

from core.roles import Role
from core.services import api_token_create
from governance.models import ColumnEdge, Dataset, LineageEdge, LineageEvent, Run
from tests.factories import make_user

PRODUCER = "https://github.com/example/keel-tests"
PG = "postgres://db.example:5432"
SPARK_CLL = Path(__file__).resolve().parent.parent / "fixtures" / "openlineage" / "spark_cll" / "8.json"


def client_for(url: str, key: str, *, gzip: bool = False) -> OpenLineageClient:
    config = HttpConfig(
        url=url,
        auth=ApiKeyTokenProvider({"api_key": key}),
        compression=HttpCompression.GZIP if gzip else None,
        retry={"total": 0},  # a refusal must surface, not be retried
        # No keep-alive: the live server's request thread then ends, with its database connection, after
        # each event (a thread left open keeps a PostgreSQL session that blocks the test database's teardown).
        custom_headers={"Connection": "close"},
    )
    return OpenLineageClient(transport=HttpTransport(config))


def events(run_id: str) -> tuple[RunEvent, RunEvent]:
    schema = schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name="email", type="varchar"),
            schema_dataset.SchemaDatasetFacetFields(name="email_hash", type="varchar"),
        ]
    )
    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "email": column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=PG,
                        name="crm.customers",
                        field="email",
                        transformations=[
                            column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY", masking=False)
                        ],
                    )
                ]
            ),
            "email_hash": column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=PG,
                        name="crm.customers",
                        field="email",
                        transformations=[
                            column_lineage_dataset.Transformation(
                                type="DIRECT", subtype="TRANSFORMATION", description="sha256", masking=True
                            )
                        ],
                    )
                ]
            ),
        }
    )
    job = Job(namespace="etl", name="customers.export")
    now = dt.datetime.now(dt.UTC)
    start = RunEvent(
        eventType=RunState.START,
        eventTime=now.isoformat(),
        run=OLRun(runId=run_id),
        job=job,
        producer=PRODUCER,
        inputs=[InputDataset(namespace=PG, name="crm.customers")],
        outputs=[OutputDataset(namespace=PG, name="mart.customers")],
    )
    complete = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=(now + dt.timedelta(seconds=5)).isoformat(),
        run=OLRun(runId=run_id),
        job=job,
        producer=PRODUCER,
        inputs=[InputDataset(namespace=PG, name="crm.customers")],
        outputs=[
            OutputDataset(namespace=PG, name="mart.customers", facets={"schema": schema, "columnLineage": lineage})
        ],
    )
    return start, complete


@pytest.mark.django_db(transaction=True)
def test_openlineage_python_http_transport_posts_events_keel_accepts(live_server):
    machine = make_user("etl-bot", Role.TEAM_LEAD)
    _, key = api_token_create(user=machine, name="etl pipeline", lineage_namespaces=["etl", PG])
    run_id = str(uuid.uuid4())
    start, complete = events(run_id)

    client_for(live_server.url, key).emit(start)
    client_for(live_server.url, key, gzip=True).emit(complete)

    assert LineageEvent.objects.filter(received_by=machine).count() == 2
    run = Run.objects.get(run_id=run_id)
    assert run.state == "COMPLETE"
    mart = Dataset.objects.get(namespace=PG, name="mart.customers")
    assert sorted(mart.fields.values_list("name", flat=True)) == ["email", "email_hash"]
    assert LineageEdge.objects.get(source__name="crm.customers", target=mart).has_column_lineage
    masked = ColumnEdge.objects.get(target_field__dataset=mart, target_field__name="email_hash")
    assert (masked.transformation_type, masked.subtype, masked.masking) == ("DIRECT", "TRANSFORMATION", True)


@pytest.mark.django_db(transaction=True)
def test_openlineage_python_client_sees_a_refusal(live_server):
    reader = make_user("viewer", Role.EXECUTIVE)
    _, key = api_token_create(user=reader)
    start, _ = events(str(uuid.uuid4()))

    with pytest.raises(requests.HTTPError) as refused:
        client_for(live_server.url, key).emit(start)

    assert refused.value.response.status_code == 403
    assert LineageEvent.objects.count() == 0


def big_spark_event(copies: int) -> dict:
    """The real Spark CTAS COMPLETE (spark_cll/8.json) with its logical plan repeated: the shape of a
    large job's event, about 1.5 MB, nearly all of it the `spark.logicalPlan` run facet."""
    body = json.loads(SPARK_CLL.read_text())
    facet = body["run"]["facets"]["spark.logicalPlan"]
    facet["plan"] = [copy.deepcopy(node) for _ in range(copies) for node in facet["plan"]]
    body["run"]["runId"] = str(uuid.uuid4())
    return body


@pytest.mark.django_db(transaction=True)
def test_openlineage_python_client_posts_a_1_5_mb_spark_event_gzipped(live_server):
    machine = make_user("spark-bot", Role.TEAM_LEAD)
    _, key = api_token_create(user=machine, name="spark", lineage_namespaces=["testColumnLevelLineage", "file"])
    body = big_spark_event(copies=118)
    size = len(json.dumps(body).encode())
    assert 1_500_000 < size < 1_600_000

    # The transport serialises with the client's Serde, which takes the event as a dict as well as an object.
    client_for(live_server.url, key, gzip=True).transport.emit(body)

    stored = LineageEvent.objects.get(received_by=machine)
    plan = stored.payload["run"]["facets"]["spark.logicalPlan"]
    assert plan["_keelTrimmed"]["bytes"] > 1_300_000  # the client drops null values
    assert plan["_keelTrimmed"]["kept"] <= 65_536
    output = Dataset.objects.get(namespace="file", name="/tmp/cll_test/tbl1")  # noqa: S108 - a name in the event
    assert sorted(output.fields.values_list("name", flat=True)) == ["agg", "ident", "trans"]
    assert ColumnEdge.objects.filter(target_field__dataset=output).exists()
