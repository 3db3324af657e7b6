"""The issue's scenario: special-category data appears upstream of an approved project's model, so
the DPIA given against the earlier facts goes stale and the project's compliance coverage drops —
and the sign-off evidence pack's PII summary shows the new data and its path."""

from __future__ import annotations

import pytest

from governance.compliance import selectors, services
from governance.models import Finding, FindingKind, Obligation, SignOffStatus
from tests.pii_factories import dataset, fld, flow, model_dataset
from tests.signoff_factories import approved_request, assess, compliance_officer, linked_version

pytestmark = pytest.mark.django_db


def test_special_category_data_upstream_of_an_approved_model_makes_the_dpia_stale_and_coverage_drop(
    project, team_lead, risk_officer
):
    dpo = compliance_officer()
    assess(project, "high")
    version = linked_version(project, model="churn", version="3")
    raw = dataset("raw.patients", "email", "diagnosis")
    features = dataset("features.patients", "email_hash", "diagnosis_code")
    flow(raw, features, [("email", "email_hash", "DIRECT", "TRANSFORMATION", True)], job="build_features")
    model = model_dataset(project, "churn", version="3", inputs=[features], mv=version)
    services.classification_assert(by=dpo, dataset=raw, field=fld(raw, "email"), pii_kind="email")
    for ds in (raw, features, model):
        services.dataset_compliance_update(by=dpo, dataset=ds, legal_basis="contract", retention_days=365)
    for obligation in Obligation.objects.filter(project=project, status="unmet"):
        services.evidence_add(by=dpo, obligation=obligation, link=f"https://dms.example/{obligation.rule_id}")
    request = approved_request(version, team_lead, risk_officer, dpo)
    assert request.status == SignOffStatus.APPROVED
    before = selectors.compliance_coverage(project=project)
    assert before == {"met": 7, "required": 7, "stale": 0, "unmet": 0, "percent": 100}
    dpia = Obligation.objects.get(project=project, rule_id="GDPR-35-DPIA")
    evidence = dpia.evidence.get()
    assert dpia.facts["special_kinds"] == []

    # The feature job now also copies the diagnosis code, which the data team classifies as health data.
    flow(raw, features, [("diagnosis", "diagnosis_code")], job="build_features")
    services.lineage_propagate(dataset_ids={raw.pk, features.pk})
    services.classification_assert(by=dpo, dataset=raw, field=fld(raw, "diagnosis"), pii_kind="health")

    dpia.refresh_from_db()
    evidence.refresh_from_db()
    assert evidence.is_stale
    assert dpia.status == "stale"
    assert dpia.facts["special_kinds"] == ["health"]
    after = selectors.compliance_coverage(project=project)
    # DPIA and data governance evidence went stale; the Art. 9(2) condition is a new, unmet obligation.
    assert after == {"met": 5, "required": 8, "stale": 2, "unmet": 1, "percent": 62}
    assert after["percent"] < before["percent"]
    stale = Finding.objects.get(kind=FindingKind.EVIDENCE_STALE, subject_id=str(dpia.pk), resolved_at=None)
    assert stale.severity == "high"
    assert stale.project == project

    summary = selectors.pii_summary_for_version(version)
    health = [s for s in summary if s["kind"] == "health"]
    assert [(s["gdpr_class"], s["treatment"], s["verified"], s["path"]) for s in health] == [
        ("special", "plain", False, "raw.patients.diagnosis → features.patients.diagnosis_code (build_features) → "
                                    "models:/churn/3 (train churn)"),
    ]  # fmt: skip
    email = [s for s in summary if s["kind"] == "email"]
    assert [(s["treatment"], s["verified"]) for s in email] == [("pseudonymised", False)]
