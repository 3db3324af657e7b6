"""#13 part 5 on a real event: OpenLineage's Hive CTAS with masking (integration/hive/.../
cllSimpleQueryMaskingComplete.json; tests/fixtures/openlineage/SOURCES.txt):

    CREATE TABLE xxx AS SELECT a as i, a + 1 as t, sha1(string(a + 1)) as mt, sum(b) as a,
                               sha1(string(sum(b))) as ma FROM t1 GROUP BY a

The treatment order is plain > pseudonymised > aggregated > processed, and a hop that masks and
aggregates caps at the less exposing of the two: the masked aggregate `ma` is *aggregated*, like the
plain aggregate `a` — never more exposing than it (it used to be pseudonymised)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from governance.compliance import propagation
from governance.lineage.ingest import lineage_event_ingest
from governance.models import Classification, Origin

pytestmark = pytest.mark.django_db

EVENT = Path(settings.BASE_DIR) / "tests" / "fixtures" / "openlineage" / "hive" / "cllSimpleQueryMaskingComplete.json"
NS = "hive://localhost:9083"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/hive"


def hive_event() -> dict:
    """The integration test's expectation made the event the hook sends: the envelope it leaves out,
    and real values where it has json-unit matchers (in the run facets only)."""
    event = copy.deepcopy(json.loads(EVENT.read_text()))
    event["run"]["runId"] = str(uuid.uuid4())
    event["run"]["facets"]["hive_query"]["queryId"] = "hive_20261201100000_1"
    event["run"]["facets"]["hive_session"].update(sessionId="7d1f", clientIp="10.0.0.7",
                                                  creationTime="2026-12-01T10:00:00Z")  # fmt: skip
    event.update(eventTime="2026-12-01T10:00:05Z", producer=PRODUCER,
                 schemaURL="https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent")  # fmt: skip
    return event


def tag(field: str, kind: str) -> dict:
    return {
        "eventTime": "2026-12-01T09:00:00Z", "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": NS, "name": "test.t1", "facets": {"tags": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet",
            "tags": [{"key": "pii", "value": kind, "field": field}],
        }}},
    }  # fmt: skip


def derived_of(field: str) -> dict[str, str]:
    root = Classification.objects.get(origin=Origin.PRODUCER, field__name=field)
    return {
        (c.field.name if c.field_id else "(dataset)"): c.treatment
        for c in Classification.objects.filter(derived_from=root).select_related("field")
    }


def test_a_masked_aggregate_is_aggregated_never_more_exposing_than_a_plain_aggregate():
    assert lineage_event_ingest(payload=hive_event(), by=None).status == "accepted"
    lineage_event_ingest(payload=tag("b", "financial"), by=None)

    labels = derived_of("b")
    assert labels == {"a": "aggregated", "ma": "aggregated"}
    assert not propagation.more_exposing(labels["ma"], labels["a"])


def test_identity_transformation_masking_and_the_dataset_wide_group_by_on_the_grouping_column():
    lineage_event_ingest(payload=tag("a", "location"), by=None)  # tagged first: the order does not matter
    assert lineage_event_ingest(payload=hive_event(), by=None).status == "accepted"

    # i = a, t = a + 1: plain; mt = sha1(a + 1): pseudonymised; GROUP BY a (the facet's dataset-wide
    # INDIRECT entry): processed, on the dataset.
    assert derived_of("a") == {"i": "plain", "t": "plain", "mt": "pseudonymised", "(dataset)": "processed"}
