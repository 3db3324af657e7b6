"""Each obligation rule of governance/compliance/rules.py, evaluated on real lineage rows: when it
applies, how it is met (records on the datasets, or evidence against the current facts), the findings
it opens and resolves, and the project's coverage."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import DomainError
from governance.compliance import rules, selectors, services
from governance.models import AuditEvent, Finding, FindingKind, Obligation
from tests.factories import make_user
from tests.pii_factories import dataset, fld, flow, model_dataset
from tests.signoff_factories import assess

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def dpo(db):
    return make_user("dpo", "Compliance Officer")


@pytest.fixture
def pipeline(project):
    """raw.customers.{email,diagnosis} → stg.customers.{email,diagnosis} → model churn v1 of `project`."""
    raw = dataset("raw.customers", "email", "diagnosis", "segment")
    stg = dataset("stg.customers", "email", "diagnosis", "segment")
    flow(raw, stg, [("email", "email"), ("diagnosis", "diagnosis"), ("segment", "segment")])
    model = model_dataset(project, "churn", inputs=[stg])
    return raw, stg, model


def statuses(project) -> dict[str, str]:
    return dict(Obligation.objects.filter(project=project).values_list("rule_id", "status"))


def open_findings(project) -> set[tuple[str, str]]:
    return {
        (f.kind, Obligation.objects.get(pk=f.subject_id).rule_id)
        for f in Finding.objects.filter(project=project, resolved_at=None, subject_type="governance.obligation")
    }


def classify(by, ds, field_name, kind):
    return services.classification_assert(by=by, dataset=ds, field=fld(ds, field_name), pii_kind=kind)


def test_no_pii_and_a_minimal_tier_ask_for_nothing(project, pipeline):
    assess(project, "minimal")
    services.obligations_evaluate(project_ids=[project.pk])
    assert statuses(project) == {}
    assert selectors.compliance_coverage(project=project) == {"met": 0, "required": 0, "stale": 0, "unmet": 0,
                                                              "percent": None}  # fmt: skip


def test_personal_data_needs_a_legal_basis_and_a_retention_period_on_every_dataset_carrying_it(project, pipeline, dpo):
    raw, stg, model = pipeline
    assess(project, "minimal")
    classify(dpo, raw, "email", "email")

    assert statuses(project) == {"GDPR-6-BASIS": "unmet", "GDPR-5-RETENTION": "unmet"}
    basis = Obligation.objects.get(project=project, rule_id="GDPR-6-BASIS")
    names = [d["name"] for d in basis.facts["datasets"]]
    assert names == [str(model), str(raw), str(stg)]
    assert basis.detail == f"Missing on: {', '.join(names)}."
    assert open_findings(project) == {("obligation_unmet", "GDPR-6-BASIS"), ("obligation_unmet", "GDPR-5-RETENTION")}

    for ds in (raw, stg):
        services.dataset_compliance_update(by=dpo, dataset=ds, legal_basis="contract", retention_days=365)
    assert statuses(project) == {"GDPR-6-BASIS": "unmet", "GDPR-5-RETENTION": "unmet"}  # the model still lacks them
    services.dataset_compliance_update(by=dpo, dataset=model, legal_basis="contract", retention_days=730)

    assert statuses(project) == {"GDPR-6-BASIS": "met", "GDPR-5-RETENTION": "met"}
    assert open_findings(project) == set()
    assert selectors.compliance_coverage(project=project)["percent"] == 100
    resolved = Finding.objects.get(project=project, kind=FindingKind.OBLIGATION_UNMET, subject_id=str(basis.pk))
    assert resolved.resolution == "Obligation GDPR-6-BASIS is now met."


def test_a_dataset_upstream_whose_pii_does_not_reach_the_model_needs_no_legal_basis(project, pipeline, dpo):
    assess(project, "minimal")
    side = dataset("raw.newsletter", "email")
    flow(side, dataset("crm.contacts", "email"), [("email", "email")])
    classify(dpo, side, "email", "email")
    services.obligations_evaluate(project_ids=[project.pk])
    assert statuses(project) == {}


def test_special_categories_need_an_art9_condition_and_a_dpia(project, pipeline, dpo):
    raw, stg, model = pipeline
    assess(project, "minimal")
    classify(dpo, raw, "diagnosis", "health")

    assert statuses(project) == {"GDPR-6-BASIS": "unmet", "GDPR-5-RETENTION": "unmet", "GDPR-9-CONDITION": "unmet",
                                 "GDPR-35-DPIA": "unmet"}  # fmt: skip
    for ds in (raw, stg, model):
        services.dataset_compliance_update(by=dpo, dataset=ds, legal_basis="consent", retention_days=90,
                                           art9_condition="a_explicit_consent")  # fmt: skip
    dpia = Obligation.objects.get(project=project, rule_id="GDPR-35-DPIA")
    services.evidence_add(by=dpo, obligation=dpia, link="https://dms.example/dpia/churn-v1", note="Signed by the DPO.")

    assert set(statuses(project).values()) == {"met"}
    assert selectors.compliance_coverage(project=project) == {"met": 4, "required": 4, "stale": 0, "unmet": 0,
                                                              "percent": 100}  # fmt: skip


def test_criminal_offence_data_needs_an_art10_authorisation_and_a_dpia(project, pipeline, dpo):
    raw, _, _ = pipeline
    assess(project, "minimal")
    classify(dpo, raw, "segment", "criminal_offence")
    got = statuses(project)
    assert (got["GDPR-10-CRIMINAL"], got["GDPR-35-DPIA"]) == ("unmet", "unmet")
    assert "GDPR-9-CONDITION" not in got


def test_a_high_risk_system_needs_data_governance_documentation_oversight_and_logging(project, pipeline, dpo):
    assess(project, "high")
    services.obligations_evaluate(project_ids=[project.pk])
    high = {"AIA-10-DATA-GOVERNANCE", "AIA-11-TECHNICAL-DOCUMENTATION", "AIA-14-HUMAN-OVERSIGHT", "AIA-12-LOGGING"}
    assert statuses(project) == dict.fromkeys(high, "unmet")  # no PII: no GDPR obligation, no DPIA

    raw, _, _ = pipeline
    classify(dpo, raw, "email", "email")  # a high-risk system processing personal data: DPIA too
    assert set(statuses(project)) == high | {"GDPR-6-BASIS", "GDPR-5-RETENTION", "GDPR-35-DPIA"}
    oversight = Obligation.objects.get(project=project, rule_id="AIA-14-HUMAN-OVERSIGHT")
    assert oversight.facts == {"rule": "AIA-14-HUMAN-OVERSIGHT", "tier": "high"}


def test_an_obligation_that_stops_applying_is_kept_as_not_applicable_and_its_finding_resolved(project, pipeline, dpo):
    raw, _, _ = pipeline
    assess(project, "minimal")
    email = classify(dpo, raw, "email", "email")
    services.classification_retract(by=dpo, classification=email)

    assert statuses(project) == {"GDPR-6-BASIS": "not_applicable", "GDPR-5-RETENTION": "not_applicable"}
    assert open_findings(project) == set()
    assert selectors.compliance_coverage(project=project)["required"] == 0


def test_evidence_goes_stale_when_the_facts_change_and_is_met_again_with_new_evidence(project, pipeline, dpo):
    raw, _, _ = pipeline
    assess(project, "high")
    classify(dpo, raw, "email", "email")
    dpia = Obligation.objects.get(project=project, rule_id="GDPR-35-DPIA")
    upload = SimpleUploadedFile("dpia.pdf", b"%PDF-1.4 the assessment", content_type="application/pdf")
    evidence = services.evidence_add(by=dpo, obligation=dpia, file=upload)
    dpia.refresh_from_db()
    assert (dpia.status, evidence.is_stale, evidence.size, evidence.file_name) == ("met", False, 23, "dpia.pdf")
    assert len(evidence.sha256) == 64

    classify(dpo, raw, "diagnosis", "health")

    dpia.refresh_from_db()
    evidence.refresh_from_db()
    assert (dpia.status, evidence.is_stale) == ("stale", True)
    assert ("evidence_stale", "GDPR-35-DPIA") in open_findings(project)
    services.evidence_add(by=dpo, obligation=dpia, link="https://dms.example/dpia/v2")
    dpia.refresh_from_db()
    assert dpia.status == "met"
    assert ("evidence_stale", "GDPR-35-DPIA") not in open_findings(project)


def test_evidence_needs_a_link_or_a_file_and_a_small_enough_file(project, pipeline, dpo, settings):
    from django.core.exceptions import ValidationError

    assess(project, "high")
    services.obligations_evaluate(project_ids=[project.pk])
    logging = Obligation.objects.get(project=project, rule_id="AIA-12-LOGGING")
    with pytest.raises(ValidationError) as exc:
        services.evidence_add(by=dpo, obligation=logging)
    assert exc.value.message_dict == {"link": [services.NO_EVIDENCE]}
    settings.KEEL_EVIDENCE_MAX_BYTES = 10
    with pytest.raises(ValidationError) as exc:
        services.evidence_add(by=dpo, obligation=logging, file=SimpleUploadedFile("log.txt", b"x" * 11))
    assert exc.value.message_dict == {"file": ["The file is 11 bytes; evidence files may be at most 10 bytes."]}
    with pytest.raises(ValidationError) as exc:
        services.evidence_add(by=dpo, obligation=logging, file=SimpleUploadedFile("run.exe", b"MZ"))
    assert "file" in exc.value.message_dict
    assert not logging.evidence.exists()


def test_evidence_is_given_by_the_projects_team_or_a_reviewer_role_only(project, pipeline, team_lead, other_lead):
    assess(project, "high")
    services.obligations_evaluate(project_ids=[project.pk])
    logging = Obligation.objects.get(project=project, rule_id="AIA-12-LOGGING")
    with pytest.raises(DomainError):
        services.evidence_add(by=other_lead, obligation=logging, link="https://wiki.example/logging")
    evidence = services.evidence_add(by=team_lead, obligation=logging, link="https://wiki.example/logging")
    event = AuditEvent.objects.get(action="evidence.given")
    assert (event.actor_id, event.object_id, event.after["rule"]) == (team_lead.pk, str(evidence.pk), "AIA-12-LOGGING")


def test_every_rule_has_an_id_a_description_and_a_basis_and_ids_are_unique():
    assert len(rules.RULES_BY_ID) == len(rules.RULES) == 9
    for rule in rules.RULES:
        assert rule.id
        assert rule.title
        assert len(rule.description) > 40
        assert rule.basis
        assert (rule.kind == rules.RECORD) == (rule.missing is not None)


def test_coverage_over_the_portfolio_sums_the_projects(project, other_project, pipeline, dpo):
    assess(project, "minimal")
    raw, _, _ = pipeline
    classify(dpo, raw, "email", "email")
    assess(other_project, "high")
    services.obligations_evaluate(project_ids=[other_project.pk])
    for ds in pipeline:
        services.dataset_compliance_update(by=dpo, dataset=ds, legal_basis="contract")
    from projects.models import AIProject

    assert selectors.compliance_coverage(projects=AIProject.objects.all()) == {
        "met": 1, "required": 6, "stale": 0, "unmet": 5, "percent": 17,
    }  # fmt: skip


def test_the_hourly_task_catches_a_tier_change_that_no_lineage_event_announces(project, pipeline):
    from governance.tasks import evaluate_obligations

    assess(project, "minimal")
    assert evaluate_obligations() == 1  # the one project
    assert statuses(project) == {}
    assess(project, "high")  # the questionnaire does not call the compliance services
    evaluate_obligations()
    assert set(statuses(project)) == {
        "AIA-10-DATA-GOVERNANCE", "AIA-11-TECHNICAL-DOCUMENTATION", "AIA-14-HUMAN-OVERSIGHT", "AIA-12-LOGGING",
    }  # fmt: skip
    events = AuditEvent.objects.filter(action="obligation.evaluated").count()
    evaluate_obligations()  # idempotent: nothing changed, nothing written
    assert AuditEvent.objects.filter(action="obligation.evaluated").count() == events


def test_coverage_by_project_counts_required_and_met_per_project(project, other_project, pipeline, dpo):
    from projects.models import AIProject

    assess(project, "high")
    services.obligations_evaluate(project_ids=[project.pk, other_project.pk])
    logging = Obligation.objects.get(project=project, rule_id="AIA-12-LOGGING")
    services.evidence_add(by=dpo, obligation=logging, link="https://wiki.example/logging")
    rows = selectors.coverage_by_project(AIProject.objects.order_by("slug"))
    assert [(p.slug, p.obligations_required, p.obligations_met) for p in rows] == [
        ("churn-model", 0, 0),
        ("fraud-scoring", 4, 1),
    ]


def test_a_changed_detail_with_the_same_status_and_facts_is_one_audited_change(project, pipeline):
    """The detail of an obligation (why it is in its status) used to be rewritten without an event when the
    status and the facts stayed — e.g. after a release that words it differently. Now it is one event
    naming the old and the new detail; evaluating again writes nothing."""
    from governance.audit.chain import verify_chain

    assess(project, "high")
    services.obligations_evaluate(project_ids=[project.pk])
    obligation = Obligation.objects.filter(project=project).order_by("rule_id").first()
    status, facts_hash, detail = obligation.status, obligation.facts_hash, obligation.detail
    Obligation.objects.filter(pk=obligation.pk).update(detail="An older wording.")  # as a previous release left it
    events = AuditEvent.objects.count()

    services.obligations_evaluate(project_ids=[project.pk])

    obligation.refresh_from_db()
    assert (obligation.status, obligation.facts_hash, obligation.detail) == (status, facts_hash, detail)
    [event] = AuditEvent.objects.filter(seq__gt=events).order_by("seq")
    assert AuditEvent.objects.count() == events + 1
    assert (event.action, event.object_id) == ("obligation.evaluated", str(obligation.pk))
    assert event.before == {"status": status, "facts_hash": facts_hash, "detail": "An older wording."}
    assert event.after == {"rule": obligation.rule_id, "status": status, "facts_hash": facts_hash, "detail": detail}
    services.obligations_evaluate(project_ids=[project.pk])
    assert AuditEvent.objects.count() == events + 1
    assert verify_chain().ok
