"""Model links whatever the order (#13 part 2).

Lineage naming `models:/fraud/6` posted before the registry has version 6 is remembered and linked when
the sync brings it (projects.events.model_versions_synced), so PII reaches the project and its obligations
exist exactly as when the version came first; a reference nothing resolves opens a finding after
KEEL_LINEAGE_MODEL_REF_GRACE_MINUTES. (The same against a real MLflow server:
tests/integration/test_lineage_model_links_mlflow.py.)
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.roles import Role
from governance.lineage import model_links
from governance.lineage.pending_links import model_references_check
from governance.models import AuditEvent, Classification, Dataset, Finding, FindingKind, Obligation, PendingModelLink
from projects.registries.services import registered_model_link
from tests.factories import make_user
from tests.model_link_events import (
    MLFLOW,
    PG,
    post_pipeline,
    schema,
    synced,
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


def state(project) -> tuple:
    """The link, every classification row (where, what, how it got there) and the project's obligations."""
    ds = Dataset.objects.get(name="models:/fraud/6")
    rows = sorted(
        Classification.objects.values_list(
            "dataset__name", "field__name", "pii_kind", "origin", "treatment", "verified", "hops"
        ),
        key=str,
    )
    rules = sorted(Obligation.objects.filter(project=project).values_list("rule_id", "status", "facts_hash"))
    return (ds.model_version.version if ds.model_version else None, ds.model_link_source), rows, rules


# The same in both orders: the producer's root, its derivation over the column edge, and the model dataset's
# dataset-wide unverified label (training has no column lineage); the obligations personal data brings.
EXPECTED_ROWS = [
    ("crm.customers", "email", "email", "producer", "plain", True, 0),
    ("features.train", "email", "email", "derived", "plain", True, 1),
    ("models:/fraud/6", None, "email", "derived", "plain", False, 2),
]
EXPECTED_RULES = [("GDPR-5-RETENTION", "unmet"), ("GDPR-6-BASIS", "unmet")]

# --- part 2: whatever the order -------------------------------------------------------------------


@pytest.mark.parametrize("order", ["version first", "lineage first"])
def test_lineage_before_or_after_the_version_ends_in_the_same_state(order, lead_client, fraud, project):
    if order == "version first":
        v6 = ModelVersionFactory(registered_model=fraud, version="6")
        post_pipeline(lead_client)
    else:
        post_pipeline(lead_client)
        ds = Dataset.objects.get(name="models:/fraud/6")
        assert ds.model_version is None
        pending = PendingModelLink.objects.get(dataset=ds)
        assert (pending.model_name, pending.version, pending.resolved_at) == ("fraud", "6", None)
        assert pending.requested_by.username == "lead"
        assert not Obligation.objects.filter(project=project).exists()  # nothing reaches the project yet
        v6 = ModelVersionFactory(registered_model=fraud, version="6")
        synced(v6)
        pending.refresh_from_db()
        assert (pending.outcome, pending.resolved_at is not None) == ("linked", True)
        linked = AuditEvent.objects.get(action="dataset.model_linked", object_id=str(ds.pk))
        assert linked.actor_id is None
        assert linked.after["requested_by"] == "lead"

    link, rows, rules = state(project)
    assert link == ("6", "facet")
    assert rows == EXPECTED_ROWS
    assert [(rule, status) for rule, status, _ in rules] == EXPECTED_RULES
    assert v6.lineage_datasets.count() == 1


def test_a_sync_of_other_versions_leaves_the_reference_pending(lead_client, fraud):
    post_pipeline(lead_client)
    synced(ModelVersionFactory(registered_model=fraud, version="5"))
    pending = PendingModelLink.objects.get()
    assert pending.resolved_at is None
    assert "no registry has synced fraud version 6" in pending.reason


def test_a_version_whose_model_has_no_project_yet_links_when_the_model_is_linked(lead_client, registry, project):
    model = RegisteredModelFactory(registry=registry, name="fraud")  # no project yet
    ModelVersionFactory(registered_model=model, version="6")
    post_pipeline(lead_client)
    ds = Dataset.objects.get(name="models:/fraud/6")
    assert ds.model_version is None
    assert "belongs to no project yet" in PendingModelLink.objects.get().reason

    registered_model_link(by=None, model=model, project=project)

    ds.refresh_from_db()
    assert ds.model_version.version == "6"
    assert Obligation.objects.filter(project=project, rule_id="GDPR-6-BASIS").exists()


def test_an_unresolved_reference_opens_one_finding_after_the_grace_period_and_the_link_resolves_it(
    lead_client, fraud, settings
):
    settings.KEEL_LINEAGE_MODEL_REF_GRACE_MINUTES = 30
    post_pipeline(lead_client)
    ds = Dataset.objects.get(name="models:/fraud/6")
    assert model_references_check()["findings_opened"] == 0  # within the grace period

    later = timezone.now() + dt.timedelta(minutes=31)
    assert model_references_check(now=later)["findings_opened"] == 1
    assert model_references_check(now=later)["findings_opened"] == 0  # idempotent
    finding = Finding.objects.get(kind=FindingKind.MODEL_REFERENCE_UNRESOLVED)
    assert (finding.subject_type, finding.subject_id, finding.resolved_at) == ("governance.dataset", str(ds.pk), None)
    assert "fraud version 6" in finding.title
    assert AuditEvent.objects.filter(action="finding.opened", object_id=str(finding.pk)).count() == 1

    synced(ModelVersionFactory(registered_model=fraud, version="6"))

    finding.refresh_from_db()
    assert finding.resolved_at is not None
    assert "linked" in finding.resolution
    assert AuditEvent.objects.filter(action="finding.resolved", object_id=str(finding.pk)).count() == 1


def test_the_beat_check_links_a_version_no_event_announced(lead_client, fraud):
    post_pipeline(lead_client)
    ModelVersionFactory(registered_model=fraud, version="6")  # e.g. created while the receiver was not connected
    assert model_references_check()["linked"] == 1
    assert Dataset.objects.get(name="models:/fraud/6").model_version.version == "6"


def test_a_manual_link_settles_the_pending_reference_and_its_finding(lead_client, fraud, risk_officer):
    post_pipeline(lead_client)
    ds = Dataset.objects.get(name="models:/fraud/6")
    model_references_check(now=timezone.now() + dt.timedelta(days=1))
    v5 = ModelVersionFactory(registered_model=fraud, version="5")
    model_links.dataset_model_link(dataset=ds, model_version=v5, by=risk_officer)
    assert PendingModelLink.objects.get().outcome == "manual"
    assert Finding.objects.get(kind=FindingKind.MODEL_REFERENCE_UNRESOLVED).resolved_at is not None
    synced(ModelVersionFactory(registered_model=fraud, version="6"))
    ds.refresh_from_db()
    assert (ds.model_version, ds.model_link_source) == (v5, "manual")


def test_a_pending_reference_whose_poster_was_deleted_is_refused(client, fraud):
    bot = make_user("etl-bot", Role.ADMIN)
    client.force_login(bot)
    post_pipeline(client)
    client.logout()
    bot.delete()
    synced(ModelVersionFactory(registered_model=fraud, version="6"))
    assert Dataset.objects.get(name="models:/fraud/6").model_version is None
    assert PendingModelLink.objects.get().outcome == "refused"
    refused = AuditEvent.objects.get(action="dataset.model_link_refused")
    assert "no longer exists" in refused.after["why"]


def test_what_names_a_model_version():
    assert model_links.reference_of("mlflow", "models:/fraud/6", {}) == model_links.Reference(
        "fraud", "6", namespace="mlflow"
    )
    facet = {"keelModelVersion": {"registry": "r", "model": "m", "version": "v1"}}
    assert model_links.reference_of("s3://x", "m.pkl", facet) == model_links.Reference("m", "v1", "r")
    # A stage or alias is a moving target, not a version; other names are not references.
    assert model_links.reference_of("mlflow", "models:/fraud/Production", {}) is None
    assert model_links.reference_of("mlflow", "models:/fraud@champion", {}) is None
    assert model_links.reference_of("s3://x", "m.pkl", {"keelModelVersion": {"_deleted": True}}) is None


def test_linking_costs_no_query_for_datasets_that_name_no_model():
    datasets = [Dataset(pk=i, namespace=PG, name=f"t{i}", facets={"schema": schema("a")}) for i in range(1, 50)]
    with capture_queries() as queries:
        assert model_links.link_documents(datasets, now=timezone.now(), by=None) == set()
    assert int(queries) == 0, queries.count.listing()


def test_the_beat_runs_the_check_every_five_minutes_and_the_task_calls_it(lead_client, fraud, settings):
    from config.celery import app
    from governance.tasks import check_model_references

    entry = app.conf.beat_schedule["keel-check-model-references"]
    assert entry["task"] == "governance.tasks.check_model_references"
    assert entry["schedule"].minute == set(range(0, 60, 5))
    settings.KEEL_LINEAGE_MODEL_REF_GRACE_MINUTES = 0
    post_pipeline(lead_client)
    assert check_model_references() == {"linked": 0, "findings_opened": 1, "still_pending": 1}


def test_a_failure_to_link_never_fails_the_sync_and_the_beat_check_retries(lead_client, fraud, monkeypatch, caplog):
    from governance.lineage import receivers

    post_pipeline(lead_client)

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(receivers, "pending_links_resolve", broken)
    synced(ModelVersionFactory(registered_model=fraud, version="6"))  # does not raise
    assert "the beat check retries" in caplog.text
    assert Dataset.objects.get(name="models:/fraud/6").model_version is None

    monkeypatch.undo()
    assert model_references_check()["linked"] == 1
