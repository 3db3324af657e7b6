"""#13 part 1 on real events: Marquez's food_delivery seed (docker/metadata.template.json, 26 events of
13 jobs; tests/fixtures/openlineage/SOURCES.txt), ingested in order through the real ingest service,
with a column-level `pii` tag on `public.customers.email` from a DatasetEvent.

The email reaches exactly the columns derived from it: delivery_7_days.customer_email (1 hop), then
top_delivery_times.customer_email and discounts.customer_email (2 hops) — plain and verified, no
column lineage fed it anywhere else. `orders_popular_day_of_week` reads `customers` only to join: its
output's columnLineage names no customers column, so popular_orders_day_of_week gets "processed" on
the dataset and no label."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from governance.compliance import services
from governance.lineage.ingest import lineage_event_ingest
from governance.lineage.signals import lineage_changed
from governance.models import Classification, Dataset, LineageEdge, Origin

pytestmark = pytest.mark.django_db

SEED = Path(settings.BASE_DIR) / "tests" / "fixtures" / "openlineage" / "marquez_food_delivery"
NS = "food_delivery"
START = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
EXPECTED = {
    "public.delivery_7_days.customer_email": ("plain", True, 1),
    "public.top_delivery_times.customer_email": ("plain", True, 2),
    "public.discounts.customer_email": ("plain", True, 2),
    "public.popular_orders_day_of_week": ("processed", True, 1),
}


def seed_events() -> list[dict]:
    """The seed with its time placeholders filled: {{RUN_START_TIME}} and {{RUN_END_TIME_AFTER_N_MINUTES}}."""
    text = (SEED / "metadata.template.json").read_text()

    def when(match: re.Match) -> str:
        minutes = int(match.group(1) or 0)
        return (START + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")

    text = re.sub(r"\{\{RUN_(?:START_TIME|END_TIME_AFTER_(\d+)_MINUTES)\}\}", when, text)
    return json.loads(text)


def tag_email() -> dict:
    producer = "https://example.org/data-catalog"
    return {
        "eventTime": "2026-11-30T21:00:00Z", "producer": producer,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": NS, "name": "public.customers", "facets": {"tags": {
            "_producer": producer,
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet",
            "tags": [{"key": "pii", "value": "email", "field": "email"}],
        }}},
    }  # fmt: skip


def ingest(tag_first: bool) -> Classification:
    events = seed_events()
    assert len(events) == 26
    if tag_first:
        lineage_event_ingest(payload=tag_email(), by=None)
    for event in events:
        assert lineage_event_ingest(payload=event, by=None).status == "accepted"
    if not tag_first:
        lineage_event_ingest(payload=tag_email(), by=None)
    return Classification.objects.get(origin=Origin.PRODUCER, dataset__name="public.customers")


def derived(root: Classification) -> dict[str, tuple]:
    return {
        c.dataset.name + (f".{c.field.name}" if c.field_id else ""): (c.treatment, c.verified, c.hops)
        for c in Classification.objects.filter(derived_from=root).select_related("dataset", "field")
    }


@pytest.mark.parametrize("tag_first", [True, False], ids=["tag-before-lineage", "tag-after-lineage"])
def test_the_email_reaches_exactly_its_derived_columns_and_a_join_only_output_is_processed(tag_first):
    # Needs the writer to set LineageEdge.indirect from the output's columnLineage (#13's apply work).
    root = ingest(tag_first)
    assert (root.field.name, root.pii_kind) == ("email", "email")
    edge = LineageEdge.objects.get(source__name="public.customers", target__name="public.popular_orders_day_of_week")
    assert (edge.has_column_lineage, edge.indirect) == (False, True)
    assert derived(root) == EXPECTED
    processed = Classification.objects.get(derived_from=root, dataset__name="public.popular_orders_day_of_week")
    assert processed.field_id is None
    assert [(h["dataset_name"], h["edge"], h["type"]) for h in processed.path] == [
        ("public.customers", "", ""),
        ("public.popular_orders_day_of_week", "dataset", "INDIRECT"),
    ]


def test_with_the_join_only_edge_marked_the_output_is_processed_and_the_rest_unchanged():
    # The same, with the edge's flag set by hand after ingest (what the writer does): runs without it.
    root = ingest(tag_first=True)
    popular = Dataset.objects.get(namespace=NS, name="public.popular_orders_day_of_week")
    LineageEdge.objects.filter(source__name="public.customers", target=popular).update(indirect=True)
    lineage_changed.send(sender=None, dataset_ids={popular.pk, root.dataset_id})

    assert derived(root) == EXPECTED
    path = Classification.objects.get(derived_from=root, dataset=popular).path
    assert path[-1]["job_name"] == "orders_popular_day_of_week"


def test_the_dataset_page_captions_the_join_only_hop_and_never_calls_a_dataset_hop_direct(client, risk_officer):
    ingest(tag_first=True)
    popular = Dataset.objects.get(namespace=NS, name="public.popular_orders_day_of_week")
    LineageEdge.objects.filter(source__name="public.customers", target=popular).update(indirect=True)
    services.classifications_recompute_all()
    client.force_login(risk_officer)

    html = client.get(f"/governance/datasets/{popular.pk}/").content.decode()
    assert "via orders_popular_day_of_week (joined or filtered: processed)" in html
    assert "(direct)" not in html
    # An unverified carry over an edge without column lineage says so, not "direct".
    LineageEdge.objects.filter(source__name="public.customers", target=popular).update(indirect=False)
    services.classifications_recompute_all()
    html = client.get(f"/governance/datasets/{popular.pk}/").content.decode()
    assert "via orders_popular_day_of_week (dataset level, unverified)" in html
    assert "(direct)" not in html
    html = client.get(f"/governance/datasets/{Dataset.objects.get(name='public.discounts').pk}/").content.decode()
    assert "via delivery_times_7_days (direct)" in html  # column hops keep their transformation
