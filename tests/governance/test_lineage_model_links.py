"""Ingest links, moves and un-labels only what the poster may change (#13 part 3): the manual link's rule,
never over a manual link; refusals are audited and told in the POST's response (`refused`); a producer
event never removes a person's classification.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from core.services import api_token_create
from governance.lineage import model_links
from governance.models import (
    AuditEvent,
    Classification,
    Dataset,
    DataSource,
    LineageEvent,
    Obligation,
    Origin,
    PendingModelLink,
)
from tests.model_link_events import (
    MLFLOW,
    PG,
    F,
    customers,
    keel_doc,
    model_doc,
    post,
    run_event,
    schema,
    tags,
    training_set,
)
from tests.query_counts import capture_queries
from tests.registry_factories import ModelVersionFactory, RegisteredModelFactory, RegistryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry():
    return RegistryFactory(name="mlflow-prod", base_url=MLFLOW)


@pytest.fixture
def fraud(registry, project):
    return RegisteredModelFactory(registry=registry, name="fraud", project=project)


@pytest.fixture
def lead_client(client, team_lead):
    client.force_login(team_lead)
    return client


# --- part 3: only what the poster may change ------------------------------------------------------


def test_a_team_lead_cannot_link_another_teams_model_the_event_is_stored_and_the_refusal_said(
    client, other_lead, fraud
):
    ModelVersionFactory(registered_model=fraud, version="6")
    _, key = api_token_create(user=other_lead, name="marketing etl", lineage_namespaces=["*"])  # the pipeline's token
    token = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    post(client, run_event(1, "build_features", [customers()], [training_set()]), **token)
    body = post(client, run_event(2, "train", [{"namespace": PG, "name": "features.train"}], [model_doc()]), **token)

    assert body["status"] == "accepted"
    assert LineageEvent.objects.count() == 2
    ds = Dataset.objects.get(name="models:/fraud/6")
    assert ds.model_version is None
    assert body["refused"] == [
        f"{MLFLOW}/models:/fraud/6: not linked to fraud version 6, because fraud v6 belongs to project Fraud "
        "scoring, which is not one of your team's projects."
    ]
    refused = AuditEvent.objects.get(action="dataset.model_link_refused", object_id=str(ds.pk))
    assert refused.actor_id == other_lead.pk
    assert refused.after["version"] == "fraud v6"
    assert not Obligation.objects.filter(project=fraud.project).exists()
    assert not PendingModelLink.objects.filter(resolved_at=None).exists()


def test_a_team_lead_cannot_move_or_unlabel_a_dataset_linked_to_another_teams_model(
    client, team_lead, other_lead, fraud, other_project, registry
):
    v3 = ModelVersionFactory(registered_model=fraud, version="3")
    theirs = ModelVersionFactory(
        registered_model=RegisteredModelFactory(registry=registry, name="churn", project=other_project), version="1"
    )
    client.force_login(team_lead)
    tagged = tags(("email", "email"))
    post(client, run_event(1, "train", [], [keel_doc("fraud.pkl", "fraud", "3", tags=tagged, schema=schema("email"))]))
    ds = Dataset.objects.get(name="fraud.pkl")
    assert ds.model_version == v3
    assert Classification.objects.filter(dataset=ds, origin=Origin.PRODUCER).count() == 1

    client.force_login(other_lead)
    moved = keel_doc("fraud.pkl", "churn", "1", tags={**F, "tags": []}, schema=schema("other"))
    body = post(client, run_event(2, "train", [], [moved]))

    ds.refresh_from_db()
    assert ds.model_version == v3  # not moved
    assert ds.facets["keelModelVersion"]["model"] == "fraud"  # facets (tags, schema) left as they were
    assert sorted(ds.fields.values_list("name", flat=True)) == ["email"]
    assert Classification.objects.filter(dataset=ds, origin=Origin.PRODUCER).count() == 1  # not un-labelled
    assert body["counts"]["facets_refused"] == 1
    assert len(body["refused"]) == 1
    assert "facets not applied" in body["refused"][0]
    audit = AuditEvent.objects.get(action="dataset.facets_refused", object_id=str(ds.pk))
    assert audit.actor_id == other_lead.pk
    assert "Fraud scoring" in audit.after["why"]
    assert not theirs.lineage_datasets.exists()


def test_an_admin_can_link_move_and_unlabel(client, admin_user, fraud, registry, other_project):
    v3 = ModelVersionFactory(registered_model=fraud, version="3")
    churn = ModelVersionFactory(
        registered_model=RegisteredModelFactory(registry=registry, name="churn", project=other_project), version="1"
    )
    client.force_login(admin_user)
    post(client, run_event(1, "train", [], [keel_doc("m.pkl", "fraud", "3", tags=tags(("", "email")))]))
    ds = Dataset.objects.get(name="m.pkl")
    assert ds.model_version == v3
    assert Classification.objects.filter(dataset=ds, origin=Origin.PRODUCER).count() == 1

    body = post(client, run_event(2, "train", [], [keel_doc("m.pkl", "churn", "1", tags={**F, "tags": []})]))

    ds.refresh_from_db()
    assert ds.model_version == churn
    assert not Classification.objects.filter(dataset=ds, origin=Origin.PRODUCER).exists()
    assert body["refused"] == []


def test_ingest_never_overrides_a_manual_link_and_says_so(client, admin_user, risk_officer, fraud):
    v3, v4 = (ModelVersionFactory(registered_model=fraud, version=v) for v in ("3", "4"))
    client.force_login(admin_user)
    post(client, run_event(1, "train", [], [keel_doc("m.pkl", "fraud", "3")]))
    ds = Dataset.objects.get(name="m.pkl")
    model_links.dataset_model_link(dataset=ds, model_version=v4, by=risk_officer)

    body = post(client, run_event(2, "train", [], [keel_doc("m.pkl", "fraud", "3", schema=schema("x"))]))

    ds.refresh_from_db()
    assert (ds.model_version, ds.model_link_source) == (v4, "manual")
    assert body["refused"] == [
        "s3://models/m.pkl: not linked to fraud version 3 in registry mlflow-prod, because the dataset was "
        "linked to fraud v4 by hand; ingest never changes a manual link."
    ]
    assert v3.lineage_datasets.count() == 0


def test_a_producer_event_never_removes_a_manual_classification(lead_client, risk_officer):
    from governance.compliance.services import classification_assert

    post(lead_client, run_event(1, "load", [], [customers()]))
    ds = Dataset.objects.get(name="crm.customers")
    manual = classification_assert(by=risk_officer, dataset=ds, field=ds.fields.get(name="id"), pii_kind="national_id")
    assert Classification.objects.filter(dataset=ds, origin=Origin.PRODUCER).count() == 1

    empty = {"namespace": PG, "name": "crm.customers", "facets": {"tags": {**F, "tags": []}}}
    post(lead_client, run_event(2, "load", [], [empty]))
    assert not Classification.objects.filter(dataset=ds, origin=Origin.PRODUCER).exists()  # the producer's own
    assert Classification.objects.filter(pk=manual.pk).exists()

    changed = {"namespace": PG, "name": "crm.customers", "facets": {"tags": tags(("id", "phone"))}}
    post(lead_client, run_event(3, "load", [], [changed]))
    assert Classification.objects.filter(pk=manual.pk, origin=Origin.MANUAL, pii_kind="national_id").exists()


def test_refusals_for_an_event_naming_no_model_costs_one_query(team_lead):
    docs = [{"namespace": PG, "name": f"t{i}", "facets": {"schema": schema("a")}} for i in range(20)]
    with capture_queries() as queries:
        assert model_links.refusals_for(docs, team_lead) == []
    assert int(queries) == 1, queries.count.listing()  # the stored datasets of these names


def test_link_documents_never_moves_a_link_away_from_a_version_the_poster_may_not_link(
    team_lead, other_lead, fraud, registry, other_project
):
    """The rule itself, whatever the writer does with facets: moving needs both ends to be the poster's."""
    theirs = ModelVersionFactory(
        registered_model=RegisteredModelFactory(registry=registry, name="churn", project=other_project), version="1"
    )
    mine = ModelVersionFactory(registered_model=fraud, version="3")
    post_as_admin = keel_doc("m.pkl", "churn", "1")
    model_links.link_documents([_dataset(post_as_admin)], now=timezone.now(), by=None)
    ds = Dataset.objects.get(name="m.pkl")
    assert ds.model_version == theirs

    ds.facets = keel_doc("m.pkl", "fraud", "3")["facets"]  # as if a writer had applied team_lead's facets
    assert model_links.link_documents([ds], now=timezone.now(), by=team_lead) == set()
    ds.refresh_from_db()
    assert ds.model_version == theirs
    refused = AuditEvent.objects.get(action="dataset.model_link_refused", object_id=str(ds.pk))
    assert refused.actor_id == team_lead.pk
    assert refused.after["why"] == (
        "the dataset is linked to churn v1 of project Churn model, which is not one of your team's projects"
    )
    assert model_links.link_documents([ds], now=timezone.now(), by=other_lead) == set()  # V is not theirs either
    assert not mine.lineage_datasets.exists()


def _dataset(doc: dict) -> Dataset:
    source, _ = DataSource.objects.get_or_create(namespace=doc["namespace"])
    return Dataset.objects.create(source=source, namespace=doc["namespace"], name=doc["name"], facets=doc["facets"])
