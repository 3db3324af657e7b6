"""PII propagation on real lineage rows: the dbt csv_to_postgres example ingested through the real
ingest service (raw_customers → stg_customers → customer_analytics), incremental updates on
lineage_changed, retraction of an assertion and of an edge, producer tags, and the link to a model
version and its project."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from core.errors import DomainError
from governance.compliance import services
from governance.lineage.ingest import lineage_event_ingest
from governance.lineage.signals import lineage_changed
from governance.models import AuditEvent, Classification, ColumnEdge, Dataset, DatasetField, LineageEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db

FIXTURES = Path(settings.BASE_DIR) / "tests" / "fixtures" / "openlineage" / "dbt_csv_to_postgres"
NS = "postgres://localhost:5432"
RAW, STG, MART = "dbt_test.main.raw_customers", "dbt_test.main.stg_customers", "dbt_test.main.customer_analytics"
STG_JOB = "dbt_test.main.openlineage_compatibility_test.stg_customers"
MART_JOB = "dbt_test.main.openlineage_compatibility_test.customer_analytics"


def complete(event: dict) -> dict:
    """The compatibility-test expectation made a complete event: the envelope fields it leaves out."""
    event = copy.deepcopy(event)
    event.update(
        eventTime="2026-11-27T10:00:00Z",
        producer="https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/dbt",
        schemaURL="https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        run={"runId": str(uuid.uuid4())},
    )
    return event


def dbt_event(name: str) -> dict:
    return complete(json.loads((FIXTURES / name / "column_lineage_event.json").read_text()))


def dataset_event(name: str, tags: list[dict]) -> dict:
    return {
        "eventTime": "2026-11-27T11:00:00Z",
        "producer": "https://example.org/catalog",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": NS, "name": name, "facets": {"tags": {
            "_producer": "https://example.org/catalog",
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet",
            "tags": tags,
        }}},
    }  # fmt: skip


def field(dataset: str, name: str) -> DatasetField:
    return DatasetField.objects.get(dataset__namespace=NS, dataset__name=dataset, name=name)


def labels(root: Classification) -> dict[str, tuple]:
    """dataset.field → (treatment, verified, hops, path as dataset.field (job) strings)."""
    out = {}
    for c in Classification.objects.filter(derived_from=root).select_related("dataset", "field"):
        key = c.dataset.name.rsplit(".", 1)[-1] + ("." + c.field.name if c.field_id else "")
        path = [h["dataset_name"].rsplit(".", 1)[-1] + ("." + h["field_name"] if h["field_name"] else "")
                + (f" ({h['job_name'].rsplit('.', 1)[-1]})" if h["job_name"] else "") for h in c.path]  # fmt: skip
        out[key] = (c.treatment, c.verified, c.hops, path)
    return out


@pytest.fixture
def officer(db):
    return make_user("dpo", "Risk Officer")


@pytest.fixture
def dbt(db):
    lineage_event_ingest(payload=dbt_event("customers"), by=None)
    lineage_event_ingest(payload=dbt_event("analytics"), by=None)


def assert_email(officer) -> Classification:
    return services.classification_assert(by=officer, dataset=field(RAW, "email").dataset, field=field(RAW, "email"),
                                          pii_kind="email")  # fmt: skip


def test_email_and_name_flow_from_raw_to_staging_to_analytics_with_their_paths(dbt, officer):
    email = assert_email(officer)
    name = services.classification_assert(by=officer, dataset=field(RAW, "name").dataset, field=field(RAW, "name"),
                                          pii_kind="name")  # fmt: skip

    assert labels(email) == {
        "stg_customers.email": ("plain", True, 1, ["raw_customers.email", "stg_customers.email (stg_customers)"]),
        "customer_analytics.email": ("plain", True, 2, [
            "raw_customers.email", "stg_customers.email (stg_customers)",
            "customer_analytics.email (customer_analytics)",
        ]),
    }  # fmt: skip
    assert labels(name) == {
        "stg_customers.customer_name": ("plain", True, 1,
                                        ["raw_customers.name", "stg_customers.customer_name (stg_customers)"]),
        "customer_analytics.customer_name": ("plain", True, 2, [
            "raw_customers.name", "stg_customers.customer_name (stg_customers)",
            "customer_analytics.customer_name (customer_analytics)",
        ]),
    }  # fmt: skip
    # Columns that were not fed by the email or the name carry nothing (column lineage, not dataset-wide).
    assert not Classification.objects.filter(field__name__in=["segment", "value_tier", "total_orders"]).exists()
    row = Classification.objects.get(derived_from=email, dataset__name=MART)
    assert (row.origin, row.pii_kind, row.gdpr_class) == ("derived", "email", "personal")
    event = AuditEvent.objects.filter(action="classification.asserted").order_by("seq").first()
    assert event.after["propagated"] == {"roots": 1, "created": 2, "updated": 0, "deleted": 0}


def test_a_new_event_propagates_incrementally_only_the_roots_at_the_changed_datasets(db, officer, monkeypatch):
    from governance.compliance import propagation

    lineage_event_ingest(payload=dbt_event("customers"), by=None)
    email = assert_email(officer)
    assert set(labels(email)) == {"stg_customers.email"}
    # An unrelated assertion elsewhere must not be walked again by the next event.
    orders = Dataset.objects.create(
        source=field(RAW, "email").dataset.source, namespace=NS, name="dbt_test.main.orders"
    )
    unrelated = services.classification_assert(by=officer, dataset=orders, pii_kind="financial")
    # Every walk, whether a recompute of a root or an extension over new edges, starts at its root's node.
    starts = []
    real = propagation.spread
    monkeypatch.setattr(propagation, "spread", lambda start, *a, **kw: starts.append(start) or real(start, *a, **kw))

    result = lineage_event_ingest(payload=dbt_event("analytics"), by=None)

    assert result.status == "accepted"
    assert set(starts) == {(email.dataset_id, email.field_id)}
    assert (unrelated.dataset_id, unrelated.field_id) not in starts
    assert set(labels(email)) == {"stg_customers.email", "customer_analytics.email"}


def test_retracting_an_assertion_removes_exactly_what_derived_from_it(dbt, officer):
    email = assert_email(officer)
    name = services.classification_assert(by=officer, dataset=field(RAW, "name").dataset, field=field(RAW, "name"),
                                          pii_kind="name")  # fmt: skip
    # A second, independent assertion of email on staging survives the retraction of the first.
    other = services.classification_assert(by=officer, dataset=field(STG, "email").dataset, field=field(STG, "email"),
                                           pii_kind="email")  # fmt: skip

    removed = services.classification_retract(by=officer, classification=email)

    assert removed == 3
    assert not Classification.objects.filter(pk=email.pk).exists()
    assert set(labels(name)) == {"stg_customers.customer_name", "customer_analytics.customer_name"}
    assert set(labels(other)) == {"customer_analytics.email"}
    event = AuditEvent.objects.filter(action="classification.retracted").get()
    assert (event.actor_id, event.after) == (officer.pk, {"derived_removed": 2})


def test_removing_an_edge_retracts_what_flowed_through_it_and_keeps_the_rest(dbt, officer):
    email = assert_email(officer)
    name = services.classification_assert(by=officer, dataset=field(RAW, "name").dataset, field=field(RAW, "name"),
                                          pii_kind="name")  # fmt: skip
    ColumnEdge.objects.filter(source_field=field(STG, "email"), target_field=field(MART, "email")).delete()

    lineage_changed.send(sender=None, dataset_ids={field(STG, "email").dataset_id, field(MART, "email").dataset_id})

    assert set(labels(email)) == {"stg_customers.email"}
    assert set(labels(name)) == {"stg_customers.customer_name", "customer_analytics.customer_name"}


def test_producer_tags_become_producer_assertions_and_removing_the_tag_retracts_them(dbt):
    lineage_event_ingest(payload=dataset_event(RAW, [{"key": "pii", "value": "email", "field": "email"},
                                                     {"key": "classification", "value": "PII", "field": "name"},
                                                     {"key": "owner", "value": "crm-team"}]), by=None)  # fmt: skip
    roots = {(c.field.name, c.pii_kind): c for c in Classification.objects.filter(origin="producer")}
    assert set(roots) == {("email", "email"), ("name", "personal_data")}
    assert set(labels(roots["email", "email"])) == {"stg_customers.email", "customer_analytics.email"}

    lineage_event_ingest(payload=dataset_event(RAW, [{"key": "pii", "value": "email", "field": "email"}]), by=None)

    assert {(c.field.name, c.pii_kind) for c in Classification.objects.filter(origin="producer")} == {
        ("email", "email")
    }
    assert not Classification.objects.filter(pii_kind="personal_data").exists()


def test_an_event_naming_an_unknown_pii_kind_is_refused_and_nothing_of_it_is_applied(dbt):
    events, classifications = LineageEvent.objects.count(), Classification.objects.count()
    with pytest.raises(DomainError) as exc:
        lineage_event_ingest(payload=dataset_event(RAW, [{"key": "pii", "value": "shoe_size", "field": "email"}]),
                             by=None)  # fmt: skip
    assert "Unknown PII kind 'shoe_size'" in exc.value.message
    assert "raw_customers" in exc.value.message
    # The raw event is kept, marked refused when applied; nothing of it was applied.
    assert (LineageEvent.objects.count(), Classification.objects.count()) == (events + 1, classifications)
    assert "Unknown PII kind 'shoe_size'" in LineageEvent.objects.order_by("id").last().apply_error


def test_a_manual_assertion_of_an_unknown_kind_is_refused(dbt, officer):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.classification_assert(by=officer, dataset=field(RAW, "email").dataset, pii_kind="shoe size")
    assert "Unknown PII kind 'shoe size'" in exc.value.message_dict["pii_kind"][0]
    assert not Classification.objects.exists()


def test_a_cycle_in_the_stored_lineage_terminates(dbt, officer):
    from governance.models import Job, LineageEdge

    # An incremental model reading its own output: analytics.email -> raw.email closes a cycle.
    job = Job.objects.create(namespace="dbt", name="merge_back")
    LineageEdge.objects.create(job=job, source=field(MART, "email").dataset, target=field(RAW, "email").dataset,
                               has_column_lineage=True)  # fmt: skip
    ColumnEdge.objects.create(job=job, source_field=field(MART, "email"), target_field=field(RAW, "email"),
                              transformation_type="DIRECT", subtype="IDENTITY")  # fmt: skip
    email = assert_email(officer)
    assert set(labels(email)) == {"stg_customers.email", "customer_analytics.email"}


def test_the_same_assertion_twice_is_refused_and_a_producer_assertion_is_retracted_by_the_producer(dbt, officer):
    email = assert_email(officer)
    with pytest.raises(DomainError) as exc:
        assert_email(officer)
    assert exc.value.message == "email is already asserted on dbt_test.main.raw_customers.email."
    assert Classification.objects.filter(derived_from__isnull=True).count() == 1

    lineage_event_ingest(payload=dataset_event(STG, [{"key": "pii", "value": "email", "field": "email"}]), by=None)
    producer = Classification.objects.get(origin="producer")
    with pytest.raises(DomainError) as exc:
        services.classification_retract(by=officer, classification=producer)
    assert exc.value.message == services.PRODUCER_NOT_RETRACTED
    # The producer's assertion and the person's are independent roots on staging and analytics.
    assert set(labels(producer)) == {"customer_analytics.email"}
    assert set(labels(email)) == {"stg_customers.email", "customer_analytics.email"}


def test_a_field_of_another_dataset_is_refused(dbt, officer):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.classification_assert(by=officer, dataset=field(STG, "email").dataset, field=field(RAW, "email"),
                                       pii_kind="email")  # fmt: skip
    assert exc.value.message_dict == {"field": ["The field 'email' belongs to another dataset."]}
    assert not Classification.objects.exists()
