"""Re-certifying a version: a new request may be made while an approval stands; approving it keeps the
gate open, rejecting it withdraws the earlier approval (the gate must not allow what was just refused)."""

from __future__ import annotations

import pytest

from governance.models import AuditEvent, Finding, FindingKind, SignOffStatus
from governance.signoff import gate
from governance.signoff import services as signoff
from tests.signoff_factories import approved_request, assess, linked_version, new_signing_key_pem, pending_request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def gate_key(settings):
    settings.KEEL_GATE_SIGNING_KEY = new_signing_key_pem()


def ask(user, version):
    model = version.registered_model
    return gate.evaluate(
        user=user, registry=model.registry.name, model=model.name, version=version.version, environment="production"
    )


def test_a_rejected_recertification_invalidates_the_earlier_approval(team_lead, risk_officer, project, executive):
    assess(project, "minimal")
    version = linked_version(project)
    first = approved_request(version, team_lead, risk_officer)
    assert ask(executive, version).allowed

    second = pending_request(version, team_lead)
    assert ask(executive, version).allowed  # the standing approval still covers it while the new one waits
    signoff.signoff_decide(by=risk_officer, request=second, verdict="reject", comment="Drift since March.")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (SignOffStatus.INVALIDATED, SignOffStatus.REJECTED)
    assert first.status_reason == f"Re-certification request #{second.pk} was rejected: Drift since March."
    assert second.status_reason == "Drift since March."
    answer = ask(executive, version)
    assert not answer.allowed
    assert [r["code"] for r in answer.reasons] == ["signoff_rejected"]
    assert Finding.objects.filter(kind=FindingKind.SIGNOFF_INVALIDATED, subject_id=str(first.pk)).count() == 1
    assert AuditEvent.objects.filter(action="signoff.invalidated", object_id=str(first.pk)).count() == 1


def test_an_approved_recertification_keeps_the_gate_open(team_lead, risk_officer, project, executive):
    assess(project, "minimal")
    version = linked_version(project)
    first = approved_request(version, team_lead, risk_officer)
    second = approved_request(version, team_lead, risk_officer)

    first.refresh_from_db()
    assert (first.status, second.status) == (SignOffStatus.APPROVED, SignOffStatus.APPROVED)
    answer = ask(executive, version)
    assert answer.allowed
    assert answer.payload["signoff"] == second.pk
