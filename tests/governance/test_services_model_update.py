"""Governance's update services edit through core.services.model_update: an update that changes nothing
writes nothing and audits nothing; one that changes something audits exactly what changed, under the
service's own action name."""

from __future__ import annotations

import pytest

from governance.compliance import services as compliance_services
from governance.findings import services as finding_services
from governance.models import AuditEvent, Dataset, Finding, FindingKind, Mitigation, Risk, Severity
from governance.risks import services as risk_services
from tests.pii_factories import dataset


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def events_since(seq: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))


@pytest.fixture
def risk(team_lead, project) -> Risk:
    return risk_services.risk_create(
        by=team_lead, project=project, title="Drift", category="robustness", likelihood=3, impact=3
    )


def test_risk_update_with_nothing_changed_writes_and_audits_nothing(team_lead, risk):
    seq, stamp = last_seq(), Risk.objects.get(pk=risk.pk).updated_at
    same = {"title": "Drift", "category": "robustness", "likelihood": 3, "impact": 3, "owner": team_lead}
    risk_services.risk_update(by=team_lead, risk=risk, **same)
    assert events_since(seq) == []
    assert Risk.objects.get(pk=risk.pk).updated_at == stamp


def test_risk_update_audits_exactly_the_changed_fields(team_lead, risk):
    seq = last_seq()
    risk_services.risk_update(by=team_lead, risk=risk, title="Data drift", likelihood=3)
    [event] = events_since(seq)
    assert (event.action, event.before, event.after) == ("risk.updated", {"title": "Drift"}, {"title": "Data drift"})
    assert Risk.objects.get(pk=risk.pk).title == "Data drift"


def test_risk_update_of_the_inherent_scores_audits_the_scores_and_what_follows_from_them(team_lead, risk):
    seq = last_seq()
    risk_services.risk_update(by=team_lead, risk=risk, likelihood=5)
    [event] = events_since(seq)
    assert event.before == {"likelihood": 3, "inherent_score": 9}
    assert event.after == {"likelihood": 5, "inherent_score": 15}


def test_mitigation_update_with_nothing_changed_writes_and_audits_nothing(team_lead, risk):
    mitigation = risk_services.mitigation_create(by=team_lead, risk=risk, action="Retrain monthly")
    seq = last_seq()
    risk_services.mitigation_update(by=team_lead, mitigation=mitigation, action="Retrain monthly", status="planned")
    assert events_since(seq) == []


def test_mitigation_update_audits_exactly_the_changed_fields(team_lead, risk):
    mitigation = risk_services.mitigation_create(by=team_lead, risk=risk, action="Retrain monthly")
    seq = last_seq()
    risk_services.mitigation_update(by=team_lead, mitigation=mitigation, action="Retrain monthly", status="done")
    [event] = events_since(seq)
    assert (event.action, event.before, event.after) == (
        "mitigation.updated", {"status": "planned"}, {"status": "done"},
    )  # fmt: skip
    assert Mitigation.objects.get(pk=mitigation.pk).status == "done"


def test_mitigation_update_refuses_a_field_it_may_not_change(team_lead, risk):
    from django.core.exceptions import ValidationError

    mitigation = risk_services.mitigation_create(by=team_lead, risk=risk, action="Retrain monthly")
    with pytest.raises(ValidationError) as exc:
        risk_services.mitigation_update(by=team_lead, mitigation=mitigation, risk=None)
    assert exc.value.message_dict == {"risk": ["This field cannot be changed here."]}


def test_finding_assign_audits_the_assignee_and_nothing_when_it_is_unchanged(risk_officer, team_lead, project):
    finding = Finding.objects.create(
        kind=FindingKind.RISK_REVIEW_OVERDUE, severity=Severity.HIGH, title="Overdue", subject_type="governance.risk",
        subject_id="1", project=project,
    )  # fmt: skip
    seq = last_seq()
    finding_services.finding_assign(by=risk_officer, finding=finding, assignee=team_lead)
    finding_services.finding_assign(by=risk_officer, finding=finding, assignee=team_lead)
    [event] = events_since(seq)
    assert (event.action, event.before, event.after) == (
        "finding.assigned", {"assignee": None}, {"assignee": team_lead.pk},
    )  # fmt: skip


def test_dataset_compliance_update_audits_the_change_once_and_keeps_updated_at_when_nothing_changed(risk_officer):
    ds = dataset("raw.customers", "email")
    seq = last_seq()
    compliance_services.dataset_compliance_update(by=risk_officer, dataset=ds, legal_basis="contract")
    stamp = Dataset.objects.get(pk=ds.pk).updated_at
    compliance_services.dataset_compliance_update(by=risk_officer, dataset=ds, legal_basis="contract")
    [event] = events_since(seq)
    assert (event.action, event.before, event.after) == (
        "dataset.compliance_updated", {"legal_basis": ""}, {"legal_basis": "contract"},
    )  # fmt: skip
    assert Dataset.objects.get(pk=ds.pk).updated_at == stamp
