"""`seed_demo_governance`'s lineage: the credit-scoring pipeline posted through the real ingest, so personal
data reaches the Credit scoring project and its obligations are unmet on first start; once however often
it runs; and without the demo registry's versions it still seeds, saying the model link waits."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from governance.management import demo_lineage
from governance.models import Classification, Dataset, LineageEvent, Obligation, Origin
from projects.models import AIProject
from tests.registry_factories import demo_registry_versions

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.KEEL_DEMO_MLFLOW = False
    call_command("seed_demo", stdout=io.StringIO())


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo_governance", stdout=out)
    return out.getvalue()


def test_the_pipeline_carries_pii_to_credit_scoring_and_its_obligations_are_unmet(demo):
    demo_registry_versions()
    out = seed()
    assert "Demo lineage:" in out
    assert "(4 events ingested now)" in out
    assert LineageEvent.objects.count() == 4
    model = Dataset.objects.get(name="models:/credit-scorecard/3")
    assert model.model_version.registered_model.project.name == "Credit scoring"
    roots = {(c.field.name, c.pii_kind, c.origin) for c in Classification.objects.filter(derived_from=None)}
    assert roots == {("email", "email", Origin.PRODUCER), ("date_of_birth", "date_of_birth", Origin.MANUAL)}
    # The birth date reaches the model (as age → age band); the email only as a hash no feature uses.
    assert set(Classification.objects.filter(dataset=model).values_list("pii_kind", flat=True)) == {"date_of_birth"}
    # The consents table was read only to filter: processed, no label on a column of the output.
    clean = Dataset.objects.get(name=demo_lineage.CLEAN)
    assert clean.fields.get(name="email_sha256").classifications.get().treatment == "pseudonymised"
    credit = AIProject.objects.get(name="Credit scoring")
    assert Obligation.objects.filter(project=credit, status="unmet").exists()
    # Left for the DPO's workspace: suggestions on the raw source.
    customers = Dataset.objects.get(name=demo_lineage.CUSTOMERS)
    assert not Classification.objects.filter(dataset=customers, field__name__in=["phone", "iban", "last_name"])


def test_seeding_again_ingests_nothing_twice(demo):
    demo_registry_versions()
    seed()
    labels = Classification.objects.count()
    out = seed()
    assert "(0 events ingested now)" in out
    assert LineageEvent.objects.count() == 4
    assert Classification.objects.count() == labels


def test_without_the_registry_versions_the_lineage_is_seeded_and_the_link_waits(demo):
    out = seed()
    assert "is not in Keel yet; it is linked when the demo registry syncs that version" in out
    assert Dataset.objects.get(name="models:/credit-scorecard/3").model_version is None
    assert Classification.objects.filter(origin=Origin.MANUAL).count() == 1
