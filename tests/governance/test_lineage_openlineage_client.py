"""The real openlineage-python client's HTTP transport, pointed at a running Keel (pytest-django's
live_server on 127.0.0.1), posts events that Keel accepts: the path, the Bearer API key, gzip."""

from __future__ import annotations

import datetime as dt
import uuid

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
    _, key = api_token_create(user=machine, name="etl pipeline")
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
