"""An approval covers exactly what was reviewed. Each way it stops being valid — the tier answers
changed, a new high or critical risk, the version's digest or source changed in the registry, the
re-certification date passed — gives the new status, a finding, mail to the people concerned, and a
gate that says no with the matching reason. And a version seen serving production without a valid
approval opens a finding, which the approval resolves.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core.roles import Role
from governance.models import AuditEvent, Finding, FindingKind, RiskCategory, SignOffRequest
from governance.risks import assessments
from governance.risks import services as governance_services
from governance.signoff import gate
from governance.signoff.invalidation import signoffs_expire
from tests.factories import make_user
from tests.registry_factories import RegistryFactory
from tests.signoff_factories import (
    MINIMAL_OTHER,
    TIER_ANSWERS,
    approve,
    approved_request,
    assess,
    compliance_officer,
    linked_version,
    new_signing_key_pem,
    pending_request,
    remote_snapshot,
    sync,
    synced_version,
)
from tests.tier_answers import complete

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def gate_key(settings):
    settings.KEEL_GATE_SIGNING_KEY = new_signing_key_pem()


def ask_gate(user, version, environment="production"):
    model = version.registered_model
    return gate.evaluate(
        user=user, registry=model.registry.name, model=model.name, version=version.version, environment=environment
    )


def ask_gate_api(client, user, version, environment="production"):
    client.force_login(user)
    model = version.registered_model
    response = client.get(
        "/api/v1/gate",
        {"registry": model.registry.name, "model": model.name, "version": version.version, "environment": environment},
    )
    assert response.status_code == 200, response.content
    return response.json()


def codes(answer) -> list[str]:
    reasons = answer.reasons if hasattr(answer, "reasons") else answer["reasons"]
    return [r["code"] for r in reasons]


def open_findings(kind: str) -> list[Finding]:
    return list(Finding.objects.filter(kind=kind, resolved_at=None))


def assert_denied_by_gate(client, user, version, code: str) -> None:
    answer = ask_gate(user, version)
    assert (answer.allowed, codes(answer)) == (False, [code])
    body = ask_gate_api(client, user, version)
    assert (body["allowed"], body["decision"], codes(body)) == (False, "denied", [code])


@pytest.fixture
def approved(team_lead, project, risk_officer):
    """A minimal-tier version, approved by one risk officer; the gate says yes."""
    assess(project, "minimal")
    version = linked_version(project)
    request = approved_request(version, team_lead, risk_officer)
    assert ask_gate(team_lead, version).allowed
    return request


def assert_invalidated(request, code_sentence: str, mailoutbox, recipients) -> Finding:
    request.refresh_from_db()
    assert request.status == "invalidated"
    assert code_sentence in request.status_reason
    assert request.closed_at is not None
    [finding] = open_findings(FindingKind.SIGNOFF_INVALIDATED)
    assert (finding.subject_type, finding.subject_id, finding.project_id, finding.assignee_id) == (
        "governance.signoffrequest", str(request.pk), request.project_id, request.requested_by_id,
    )  # fmt: skip
    assert finding.detail == request.status_reason
    event = AuditEvent.objects.get(action="signoff.invalidated", object_id=str(request.pk))
    assert (event.actor_id, event.before, event.after["status"]) == (None, {"status": "approved"}, "invalidated")
    assert AuditEvent.objects.filter(action="finding.opened", object_id=str(finding.pk)).count() == 1
    assert sorted(m.to[0] for m in mailoutbox) == sorted(recipients)
    assert all(len(m.to) == 1 for m in mailoutbox)  # one message each: nobody learns who else was told
    assert all("invalidated" in m.subject for m in mailoutbox)
    assert all(request.status_reason in m.body for m in mailoutbox)
    return finding


# --- tier answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answers", [TIER_ANSWERS["limited"], MINIMAL_OTHER], ids=["tier-moved-to-limited", "same-tier-other-answers"]
)
def test_changed_tier_answers_invalidate_the_approval(
    client, approved, team_lead, risk_officer, answers, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assessments.tier_assessment_submit(by=team_lead, project=approved.project, answers=complete(answers))

    finding = assert_invalidated(
        approved, "The EU AI Act tier assessment changed", mailoutbox, [team_lead.email, risk_officer.email]
    )
    assert finding.severity == "medium"  # a minimal-tier approval
    assert "assessment v1 → v2" in approved.status_reason
    assert_denied_by_gate(client, team_lead, approved.model_version, gate.SIGNOFF_INVALIDATED)


def test_the_same_tier_answers_again_leave_the_approval_valid(approved, team_lead):
    answers = complete(TIER_ANSWERS["minimal"])
    assessments.tier_assessment_submit(by=team_lead, project=approved.project, answers=answers)
    approved.refresh_from_db()
    assert approved.status == "approved"
    assert Finding.objects.count() == 0
    assert ask_gate(team_lead, approved.model_version).allowed


def test_a_tier_change_invalidates_a_pending_request_too(team_lead, project):
    assess(project, "minimal")
    request = pending_request(linked_version(project), team_lead)
    assess(project, "high")
    request.refresh_from_db()
    assert request.status == "invalidated"
    assert "tier minimal → high" in request.status_reason
    assert open_findings(FindingKind.SIGNOFF_INVALIDATED)[0].severity == "medium"


# --- a new high or critical risk ---------------------------------------------------------------


def test_a_new_high_risk_invalidates_the_approval(
    client, approved, team_lead, risk_officer, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        risk = governance_services.risk_create(
            by=team_lead, project=approved.project, title="Disparate impact on older applicants",
            description="Age is a proxy in the training data.", category=RiskCategory.FAIRNESS, likelihood=4,
            impact=4,
        )  # fmt: skip

    assert risk.residual_level == "high"
    assert_invalidated(
        approved, f"A high or critical risk was opened since it was reviewed: #{risk.pk} Disparate impact",
        mailoutbox, [team_lead.email, risk_officer.email],
    )  # fmt: skip
    assert_denied_by_gate(client, team_lead, approved.model_version, gate.SIGNOFF_INVALIDATED)


def test_a_new_low_risk_leaves_the_approval_valid(approved, team_lead):
    governance_services.risk_create(
        by=team_lead, project=approved.project, title="Typo in the model card", description="Cosmetic.",
        category=RiskCategory.TRANSPARENCY,
        likelihood=2, impact=2,
    )  # fmt: skip
    approved.refresh_from_db()
    assert approved.status == "approved"
    assert ask_gate(team_lead, approved.model_version).allowed


def test_a_risk_raised_to_critical_counts_as_a_new_severe_risk(approved, team_lead):
    risk = governance_services.risk_create(
        by=team_lead, project=approved.project, title="Drift", description="Inputs drift.",
        category=RiskCategory.FAIRNESS, likelihood=2, impact=2,
    )  # fmt: skip
    approved.refresh_from_db()
    assert approved.status == "approved"

    governance_services.risk_update(
        by=team_lead, risk=risk, likelihood=5, impact=5, residual_likelihood=5, residual_impact=5
    )

    approved.refresh_from_db()
    assert approved.status == "invalidated"
    assert "(critical)" in approved.status_reason


# --- the version changed in the registry -------------------------------------------------------


@pytest.fixture
def registry(db):
    return RegistryFactory(name="mlflow-prod")


@pytest.fixture
def approved_synced(registry, team_lead, project, risk_officer):
    """A version the sync brought in (with a digest tag), approved."""
    assess(project, "minimal")
    version = synced_version(registry, project, tags={"keel.digest": "sha256:aaa"}, run_id="run-1")
    request = approved_request(version, team_lead, risk_officer)
    assert request.fingerprint["digest"] == "sha256:aaa"
    return request


@pytest.mark.parametrize(
    ("changed", "words"),
    [
        ({"tags": {"keel.digest": "sha256:bbb"}}, "digest 'sha256:aaa' → 'sha256:bbb'"),
        ({"source": "s3://models/fraud-model/retrained"}, "source 's3://models/fraud-model/1' → "),
        ({"run_id": "run-2"}, "run_id 'run-1' → 'run-2'"),
    ],
    ids=["digest-tag", "source", "run"],
)
def test_a_sync_that_sees_the_version_changed_invalidates_the_approval(
    client, registry, project, approved_synced, team_lead, risk_officer, changed, words, mailoutbox,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    mailoutbox.clear()
    fields = {"tags": {"keel.digest": "sha256:aaa"}, "run_id": "run-1", **changed}
    with django_capture_on_commit_callbacks(execute=True):
        run = sync(registry, remote_snapshot(project, versions={"1": fields}))

    assert (run.status, run.updated) == ("succeeded", 1)
    assert_invalidated(
        approved_synced, "The model version changed in the registry since it was reviewed", mailoutbox,
        [team_lead.email, risk_officer.email],
    )  # fmt: skip
    assert words in approved_synced.status_reason
    assert_denied_by_gate(client, team_lead, approved_synced.model_version, gate.SIGNOFF_INVALIDATED)


def test_a_sync_that_changes_only_the_description_leaves_the_approval_valid(
    registry, project, approved_synced, team_lead
):
    fields = {"tags": {"keel.digest": "sha256:aaa"}, "run_id": "run-1", "description": "Better docs."}
    run = sync(registry, remote_snapshot(project, versions={"1": fields}))
    assert run.updated == 1
    approved_synced.refresh_from_db()
    assert approved_synced.status == "approved"
    assert ask_gate(team_lead, approved_synced.model_version).allowed


def test_an_invalidated_version_still_serving_production_also_opens_a_deployed_without_approval_finding(
    registry, project, approved_synced
):
    version = approved_synced.model_version
    fields = {"tags": {"keel.digest": "sha256:aaa"}, "run_id": "run-1"}
    sync(registry, remote_snapshot(project, versions={"1": fields}, aliases={"production": "1"}))
    assert Finding.objects.count() == 0  # approved: production is fine

    sync(registry, remote_snapshot(project, versions={"1": {**fields, "run_id": "run-2"}}, aliases={"production": "1"}))

    approved_synced.refresh_from_db()
    assert approved_synced.status == "invalidated"
    assert sorted(Finding.objects.filter(resolved_at=None).values_list("kind", "subject_id")) == [
        (FindingKind.DEPLOYED_WITHOUT_APPROVAL, str(version.pk)),
        (FindingKind.SIGNOFF_INVALIDATED, str(approved_synced.pk)),
    ]


# --- re-certification --------------------------------------------------------------------------


def test_an_approval_past_its_recertification_date_expires(
    client, team_lead, project, risk_officer, mailoutbox, django_capture_on_commit_callbacks
):
    assess(project, "high")
    compliance = compliance_officer()
    version = linked_version(project)
    request = approved_request(version, team_lead, risk_officer, compliance)
    assert ask_gate(team_lead, version).allowed
    mailoutbox.clear()

    assert signoffs_expire(now=request.valid_until - dt.timedelta(seconds=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert signoffs_expire(now=request.valid_until + dt.timedelta(seconds=1)) == 1

    request.refresh_from_db()
    assert request.status == "expired"
    assert request.status_reason.startswith("The approval needed re-certification by ")
    assert request.closed_at is not None
    [finding] = open_findings(FindingKind.SIGNOFF_EXPIRED)
    assert (finding.subject_id, finding.severity, finding.assignee) == (str(request.pk), "high", team_lead)
    assert "Request sign-off again to re-certify." in finding.detail
    event = AuditEvent.objects.get(action="signoff.expired")
    assert (event.actor_id, event.before, event.after["status"]) == (None, {"status": "approved"}, "expired")
    assert sorted(m.to[0] for m in mailoutbox) == sorted([team_lead.email, risk_officer.email, compliance.email])
    assert all("expired" in m.subject for m in mailoutbox)
    assert_denied_by_gate(client, team_lead, version, gate.SIGNOFF_EXPIRED)
    # Running the rule again changes nothing.
    assert signoffs_expire(now=request.valid_until + dt.timedelta(days=1)) == 0
    assert Finding.objects.count() == 1


def test_an_approval_without_a_recertification_period_never_expires(approved):
    assert signoffs_expire(now=approved.decided_at + dt.timedelta(days=3650)) == 0
    approved.refresh_from_db()
    assert approved.status == "approved"


def test_the_expiry_task_runs_the_rule(team_lead, project, risk_officer):
    from governance.tasks import expire_signoffs

    assess(project, "high")
    request = approved_request(linked_version(project), team_lead, risk_officer, compliance_officer())
    SignOffRequest.objects.filter(pk=request.pk).update(valid_until=request.decided_at - dt.timedelta(seconds=1))
    assert expire_signoffs() == 1
    request.refresh_from_db()
    assert request.status == "expired"


# --- in production without a valid approval ----------------------------------------------------


@pytest.mark.parametrize("alias", ["production", "champion"])
def test_a_version_seen_serving_production_without_approval_opens_a_finding_that_approval_resolves(
    registry, project, team_lead, risk_officer, alias
):
    assess(project, "minimal")
    run = sync(registry, remote_snapshot(project, aliases={alias: "1"}))
    assert run.deployments_started == 1

    [finding] = open_findings(FindingKind.DEPLOYED_WITHOUT_APPROVAL)
    version = finding_version = registry.models.get().versions.get()
    assert (finding.subject_type, finding.subject_id, finding.project, finding.assignee) == (
        "projects.modelversion", str(finding_version.pk), project, project.owner,
    )  # fmt: skip
    assert finding.severity == "high"
    assert f"fraud-model v1 is in production without a valid sign-off ({project.name})" == finding.title
    assert AuditEvent.objects.filter(action="finding.opened", object_id=str(finding.pk)).count() == 1
    # Syncing again does not open a second one.
    sync(registry, remote_snapshot(project, aliases={alias: "1"}))
    assert Finding.objects.count() == 1

    approved_request(version, team_lead, risk_officer)

    finding.refresh_from_db()
    assert finding.resolved_at is not None
    assert finding.resolution == "A sign-off for this version was approved."
    assert AuditEvent.objects.filter(action="finding.resolved", object_id=str(finding.pk)).count() == 1


def test_a_version_under_a_non_production_alias_opens_no_finding(registry, project):
    assess(project, "minimal")
    sync(registry, remote_snapshot(project, aliases={"staging": "1"}))
    assert Finding.objects.count() == 0


def test_an_approved_version_taking_the_production_alias_opens_no_finding(registry, project, team_lead, risk_officer):
    assess(project, "minimal")
    version = synced_version(registry, project)
    approved_request(version, team_lead, risk_officer)
    sync(registry, remote_snapshot(project, aliases={"production": "1"}))
    assert Finding.objects.count() == 0


def test_the_legacy_production_stage_counts_as_production(registry, project):
    assess(project, "limited")
    sync(registry, remote_snapshot(project, versions={"1": {"stage": "Production"}}))
    assert [f.kind for f in Finding.objects.all()] == [FindingKind.DEPLOYED_WITHOUT_APPROVAL]


def test_a_pending_request_does_not_cover_production(registry, project, team_lead):
    assess(project, "minimal")
    version = synced_version(registry, project)
    pending_request(version, team_lead)
    sync(registry, remote_snapshot(project, aliases={"production": "1"}))
    assert [f.kind for f in Finding.objects.all()] == [FindingKind.DEPLOYED_WITHOUT_APPROVAL]


def test_approving_one_version_does_not_resolve_another_versions_finding(registry, project, team_lead, risk_officer):
    assess(project, "minimal")
    sync(registry, remote_snapshot(project, versions={"1": {}, "2": {}}, aliases={"production": "1"}))
    v2 = registry.models.get().versions.get(version="2")
    approve(pending_request(v2, team_lead), make_user("risk2", Role.RISK_OFFICER))
    assert len(open_findings(FindingKind.DEPLOYED_WITHOUT_APPROVAL)) == 1


def test_the_gate_denies_an_approval_past_its_date_even_before_the_expiry_rule_has_run(
    client, team_lead, project, risk_officer
):
    assess(project, "high")
    version = linked_version(project)
    request = approved_request(version, team_lead, risk_officer, compliance_officer())
    SignOffRequest.objects.filter(pk=request.pk).update(valid_until=request.decided_at - dt.timedelta(seconds=1))

    answer = ask_gate(team_lead, version)

    assert (answer.allowed, codes(answer)) == (False, [gate.SIGNOFF_EXPIRED])
    assert "needed re-certification by" in answer.reasons[0]["message"]
    request.refresh_from_db()
    assert request.status == "approved"  # the gate only reads; the hourly rule records the expiry
