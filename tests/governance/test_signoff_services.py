"""Sign-off requests and decisions through the services: who may ask, who may decide, separation of
duties in the service and in the database, and versioned policies.

Each write is checked in the returned object, the database and the audit trail; each refusal leaves
exactly one "signoff.decision_refused" audit event and no decision row.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.errors import ConflictError, DomainError, PermissionDeniedError
from core.roles import Role
from governance.audit.chain import verify_chain
from governance.models import (
    AuditEvent,
    RiskTierAssessment,
    SignOffDecision,
    SignOffPolicy,
    SignOffRequest,
    Verdict,
)
from governance.signoff import fingerprint as fp
from governance.signoff import services as signoff
from governance.signoff.deployments import valid_approval
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.signoff_factories import (
    approve,
    assess,
    compliance_officer,
    linked_version,
    pending_request,
    unlinked_version,
)

pytestmark = pytest.mark.django_db


def actions(since: int = 0) -> list[str]:
    return list(AuditEvent.objects.filter(seq__gt=since).order_by("seq").values_list("action", flat=True))


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def refusals(request) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="signoff.decision_refused", object_id=str(request.pk)).order_by("seq"))


@pytest.fixture
def minimal_version(project):
    assess(project, "minimal")
    return linked_version(project)


@pytest.fixture
def high_version(project):
    assess(project, "high")
    return linked_version(project)


@pytest.fixture
def compliance(db):
    return compliance_officer()


# --- requests ------------------------------------------------------------------------------------


def test_a_team_lead_requests_sign_off_and_the_request_records_the_fingerprint_and_policy(
    team_lead, project, minimal_version, risk_officer, mailoutbox, django_capture_on_commit_callbacks
):
    seq = last_seq()
    with django_capture_on_commit_callbacks(execute=True):
        request = signoff.signoff_request(by=team_lead, version=minimal_version, justification="  Passed review.  ")

    request.refresh_from_db()
    policy = SignOffPolicy.objects.get(tier="minimal", version=1)
    assessment = RiskTierAssessment.objects.get(project=project)
    assert (request.status, request.project, request.model_version, request.policy) == (
        "pending", project, minimal_version, policy,
    )  # fmt: skip
    assert (request.requested_by, request.version_author, request.justification) == (team_lead, None, "Passed review.")
    registry = minimal_version.registered_model.registry
    assert request.fingerprint == {
        "registry": registry.name, "model": "fraud-model", "version": "1", "source": minimal_version.source,
        "run_id": "", "digest": "", "project": project.slug, "tier": "minimal", "tier_assessment_version": 1,
        "tier_answers_hash": request.fingerprint["tier_answers_hash"], "open_high_risks": [],
        "policy": {"tier": "minimal", "version": 1},
    }  # fmt: skip
    assert request.fingerprint["tier_answers_hash"] == assessment.answers_hash
    assert request.fingerprint_hash == fp.digest_of(request.fingerprint)
    assert actions(seq) == ["signoff.requested"]
    event = AuditEvent.objects.get(action="signoff.requested")
    assert (event.actor_id, event.object_type, event.object_id) == (
        team_lead.pk, "governance.signoffrequest", str(request.pk),
    )  # fmt: skip
    assert event.after["fingerprint"] == request.fingerprint
    assert event.after["justification"] == "Passed review."
    # The reviewers of the policy's role are told; the requester is not a reviewer.
    assert [m.to for m in mailoutbox] == [[risk_officer.email]]
    assert "fraud-model v1" in mailoutbox[0].subject
    assert reverse("governance:signoff", kwargs={"pk": request.pk}) in mailoutbox[0].body


def test_a_version_of_a_model_not_linked_to_a_project_cannot_be_signed_off(admin_user):
    version = unlinked_version()
    seq = last_seq()
    with pytest.raises(DomainError, match="not linked to an AI project"):
        signoff.signoff_request(by=admin_user, version=version)
    assert SignOffRequest.objects.count() == 0
    assert actions(seq) == []


def test_a_project_without_a_tier_assessment_cannot_be_signed_off(team_lead, project):
    version = linked_version(project)
    with pytest.raises(DomainError, match="Assess the project's EU AI Act risk tier first"):
        signoff.signoff_request(by=team_lead, version=version)
    assert SignOffRequest.objects.count() == 0


def test_a_prohibited_system_can_never_be_requested(team_lead, project):
    assess(project, "prohibited")
    version = linked_version(project)
    seq = last_seq()
    with pytest.raises(DomainError, match="prohibited tier can never be approved"):
        signoff.signoff_request(by=team_lead, version=version)
    assert SignOffRequest.objects.count() == 0
    assert actions(seq) == []


def test_a_second_pending_request_for_the_same_version_is_a_conflict(team_lead, minimal_version):
    first = pending_request(minimal_version, team_lead)
    seq = last_seq()
    with pytest.raises(ConflictError, match=f"Sign-off request #{first.pk} for this version is already waiting"):
        signoff.signoff_request(by=team_lead, version=minimal_version)
    assert ConflictError.status_code == 409
    assert list(SignOffRequest.objects.values_list("pk", "status")) == [(first.pk, "pending")]
    assert actions(seq) == []


def test_a_new_request_is_possible_once_the_last_one_is_closed(team_lead, minimal_version):
    first = pending_request(minimal_version, team_lead)
    signoff.signoff_withdraw(by=team_lead, request=first, reason="Wrong version.")
    second = pending_request(minimal_version, team_lead)
    assert list(SignOffRequest.objects.order_by("pk").values_list("pk", "status")) == [
        (first.pk, "withdrawn"), (second.pk, "pending"),
    ]  # fmt: skip
    assert AuditEvent.objects.get(action="signoff.withdrawn").after == {
        "status": "withdrawn",
        "reason": "Wrong version.",
    }


def test_a_lead_of_another_team_cannot_request_sign_off_for_a_project_that_is_not_theirs(other_lead, minimal_version):
    seq = last_seq()
    with pytest.raises(PermissionDeniedError, match="Only the project's team lead"):
        signoff.signoff_request(by=other_lead, version=minimal_version)
    assert PermissionDeniedError.status_code == 403
    assert SignOffRequest.objects.count() == 0
    assert actions(seq) == []


def test_a_risk_officer_cannot_request_sign_off_for_a_team_project(risk_officer, minimal_version):
    with pytest.raises(PermissionDeniedError):
        signoff.signoff_request(by=risk_officer, version=minimal_version)
    assert SignOffRequest.objects.count() == 0


def test_a_version_the_registry_no_longer_lists_cannot_be_signed_off(team_lead, minimal_version):
    minimal_version.deleted_at = timezone.now()
    minimal_version.save(update_fields=["deleted_at"])
    with pytest.raises(DomainError, match="no longer lists this version"):
        signoff.signoff_request(by=team_lead, version=minimal_version)
    assert SignOffRequest.objects.count() == 0


# --- decisions -----------------------------------------------------------------------------------


def test_one_risk_officer_approves_a_minimal_tier_request(
    team_lead, risk_officer, minimal_version, mailoutbox, django_capture_on_commit_callbacks
):
    request = pending_request(minimal_version, team_lead)
    seq = last_seq()

    with django_capture_on_commit_callbacks(execute=True):
        decision = signoff.signoff_decide(by=risk_officer, request=request, verdict="approve", comment="Fine.")

    request.refresh_from_db()
    assert (decision.reviewer, decision.role, decision.verdict, decision.comment) == (
        risk_officer, Role.RISK_OFFICER, "approve", "Fine.",
    )  # fmt: skip
    assert (decision.requested_by, decision.version_author) == (team_lead, None)
    assert (request.status, request.valid_until, request.closed_at) == ("approved", None, None)
    assert request.decided_at is not None
    assert actions(seq) == ["signoff.decided", "signoff.approved"]
    approved = AuditEvent.objects.get(action="signoff.approved")
    assert (approved.actor_id, approved.before, approved.after) == (
        risk_officer.pk, {"status": "pending"}, {"status": "approved", "reason": "", "valid_until": None},
    )  # fmt: skip
    decided = AuditEvent.objects.get(action="signoff.decided")
    assert decided.after == {"decision": decision.pk, "verdict": "approve", "role": "Risk Officer", "comment": "Fine."}
    # The requester (also the project's owner here) learns the outcome.
    assert [m.to for m in mailoutbox] == [[team_lead.email]]
    assert "approved" in mailoutbox[0].subject
    assert valid_approval(minimal_version) == request
    assert verify_chain().ok


def test_a_high_risk_request_needs_a_risk_officer_and_then_a_distinct_compliance_officer(
    team_lead, risk_officer, compliance, high_version
):
    request = pending_request(high_version, team_lead)
    assert (request.policy.tier, request.policy.version, request.policy.required_roles) == (
        "high", 1, ["Risk Officer", "Compliance Officer"],
    )  # fmt: skip
    assert request.fingerprint["policy"] == {"tier": "high", "version": 1}

    signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    request.refresh_from_db()
    assert (request.status, request.valid_until) == ("pending", None)
    assert valid_approval(high_version) is None

    before = timezone.now()
    signoff.signoff_decide(by=compliance, request=request, verdict="approve", comment="DPIA on file.")
    after = timezone.now()

    request.refresh_from_db()
    assert request.status == "approved"
    assert before + dt.timedelta(days=365) <= request.valid_until <= after + dt.timedelta(days=365)
    assert list(request.decisions.order_by("pk").values_list("reviewer__username", "role", "verdict")) == [
        ("risk", "Risk Officer", "approve"), ("compliance", "Compliance Officer", "approve"),
    ]  # fmt: skip
    assert AuditEvent.objects.filter(action="signoff.decided").count() == 2
    approved = AuditEvent.objects.get(action="signoff.approved")
    assert (approved.actor_id, approved.after["valid_until"]) == (compliance.pk, request.valid_until.isoformat())


def test_a_compliance_officer_alone_is_not_a_reviewer_of_a_minimal_tier_request(team_lead, compliance, minimal_version):
    request = pending_request(minimal_version, team_lead)
    with pytest.raises(PermissionDeniedError, match="needs a Risk Officer; your roles do not include one"):
        signoff.signoff_decide(by=compliance, request=request, verdict="approve")
    assert request.decisions.count() == 0
    assert len(refusals(request)) == 1


def test_a_rejection_needs_a_comment_and_changes_nothing(team_lead, risk_officer, minimal_version):
    request = pending_request(minimal_version, team_lead)
    seq = last_seq()
    with pytest.raises(ValidationError) as exc:
        signoff.signoff_decide(by=risk_officer, request=request, verdict="reject", comment="   ")
    assert exc.value.message_dict == {"comment": [signoff.COMMENT_NEEDED]}
    request.refresh_from_db()
    assert (request.status, request.decisions.count(), actions(seq)) == ("pending", 0, [])


def test_a_rejection_with_a_comment_closes_the_request(
    team_lead, risk_officer, minimal_version, mailoutbox, django_capture_on_commit_callbacks
):
    request = pending_request(minimal_version, team_lead)
    seq = last_seq()
    with django_capture_on_commit_callbacks(execute=True):
        signoff.signoff_decide(by=risk_officer, request=request, verdict="reject", comment="No bias test.")
    request.refresh_from_db()
    assert (request.status, request.valid_until) == ("rejected", None)
    assert request.decided_at is not None
    assert list(request.decisions.values_list("verdict", "comment")) == [("reject", "No bias test.")]
    assert actions(seq) == ["signoff.decided", "signoff.rejected"]
    assert AuditEvent.objects.get(action="signoff.rejected").after["reason"] == "No bias test."
    assert [m.to for m in mailoutbox] == [[team_lead.email]]
    assert "No bias test." in mailoutbox[0].body
    assert valid_approval(minimal_version) is None


def test_a_request_for_changes_keeps_the_request_pending_and_the_reviewer_may_approve_later(
    team_lead, risk_officer, minimal_version
):
    request = pending_request(minimal_version, team_lead)
    signoff.signoff_decide(by=risk_officer, request=request, verdict="request_changes", comment="Add the model card.")
    request.refresh_from_db()
    assert request.status == "pending"
    assert list(request.decisions.values_list("verdict", "role")) == [("request_changes", "Risk Officer")]

    signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    request.refresh_from_db()
    assert request.status == "approved"


def test_an_unknown_verdict_is_refused(team_lead, risk_officer, minimal_version):
    request = pending_request(minimal_version, team_lead)
    with pytest.raises(ValidationError, match="Unknown verdict"):
        signoff.signoff_decide(by=risk_officer, request=request, verdict="maybe")
    assert request.decisions.count() == 0


# --- separation of duties in the service ---------------------------------------------------------


def test_a_team_lead_who_is_also_a_risk_officer_cannot_approve_their_own_request(db):
    lead = make_user("leadro", Role.TEAM_LEAD, Role.RISK_OFFICER)
    project = AIProjectFactory(name="Own work", team=TeamFactory(name="Own", lead=lead), owner=lead)
    assess(project, "minimal")
    request = pending_request(linked_version(project), lead)
    seq = last_seq()

    with pytest.raises(PermissionDeniedError, match="You requested this sign-off") as exc:
        signoff.signoff_decide(by=lead, request=request, verdict="approve")

    assert exc.value.code == "separation_of_duties"
    request.refresh_from_db()
    assert (request.status, request.decisions.count()) == ("pending", 0)
    assert actions(seq) == ["signoff.decision_refused"]
    [event] = refusals(request)
    assert (event.actor_id, event.after) == (
        lead.pk,
        {"verdict": "approve", "role": None, "reason": signoff.SELF_REVIEW, "code": "separation_of_duties"},
    )


def test_the_author_of_the_model_version_cannot_approve_it(team_lead, project, risk_officer):
    assess(project, "minimal")
    # The registry names its creator by email; Keel matches it to the user.
    version = linked_version(project, created_by=risk_officer.email.upper())
    request = pending_request(version, team_lead)
    assert request.version_author == risk_officer
    seq = last_seq()

    with pytest.raises(PermissionDeniedError, match="You created this model version") as exc:
        signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")

    assert exc.value.code == "separation_of_duties"
    assert request.decisions.count() == 0
    assert actions(seq) == ["signoff.decision_refused"]
    assert refusals(request)[0].after["reason"] == signoff.AUTHOR_REVIEW
    # Someone else still can.
    other = make_user("risk2", Role.RISK_OFFICER)
    assert approve(request, other).status == "approved"


def test_one_person_holding_both_roles_cannot_fill_both_on_a_high_risk_request(team_lead, high_version):
    both = make_user("both", Role.RISK_OFFICER, Role.COMPLIANCE)
    request = pending_request(high_version, team_lead)
    first = signoff.signoff_decide(by=both, request=request, verdict="approve")
    assert first.role == "Risk Officer"
    seq = last_seq()

    with pytest.raises(PermissionDeniedError, match="one person fills one role") as exc:
        signoff.signoff_decide(by=both, request=request, verdict="approve", role="Compliance Officer")

    assert exc.value.code == "separation_of_duties"
    request.refresh_from_db()
    assert request.status == "pending"
    assert list(request.decisions.values_list("pk", flat=True)) == [first.pk]
    assert actions(seq) == ["signoff.decision_refused"]
    assert refusals(request)[0].after["role"] == "Compliance Officer"


def test_a_second_risk_officer_cannot_fill_a_role_already_filled(team_lead, risk_officer, high_version):
    request = pending_request(high_version, team_lead)
    signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    seq = last_seq()
    other = make_user("risk2", Role.RISK_OFFICER)

    with pytest.raises(ConflictError, match="The Risk Officer approval was already given by risk"):
        signoff.signoff_decide(by=other, request=request, verdict="approve")

    assert request.decisions.count() == 1
    assert actions(seq) == ["signoff.decision_refused"]


def test_deciding_a_closed_request_is_a_conflict(team_lead, risk_officer, minimal_version):
    request = approve(pending_request(minimal_version, team_lead), risk_officer)
    other = make_user("risk2", Role.RISK_OFFICER)
    seq = last_seq()

    with pytest.raises(ConflictError, match="already approved; it takes no more decisions"):
        signoff.signoff_decide(by=other, request=request, verdict="reject", comment="Too late.")

    assert request.decisions.count() == 1
    assert actions(seq) == ["signoff.decision_refused"]
    assert refusals(request)[0].after["code"] == "conflict"


def test_a_withdrawn_request_takes_no_decision(team_lead, risk_officer, minimal_version):
    request = pending_request(minimal_version, team_lead)
    signoff.signoff_withdraw(by=team_lead, request=request)
    with pytest.raises(ConflictError, match="already withdrawn"):
        signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    assert request.decisions.count() == 0
    assert len(refusals(request)) == 1


def test_only_the_requester_or_the_team_lead_may_withdraw(team_lead, risk_officer, minimal_version):
    request = pending_request(minimal_version, team_lead)
    with pytest.raises(PermissionDeniedError):
        signoff.signoff_withdraw(by=risk_officer, request=request)
    request.refresh_from_db()
    assert request.status == "pending"


# --- separation of duties in the database --------------------------------------------------------


def direct_decision(request: SignOffRequest, reviewer, **overrides) -> SignOffDecision:
    fields = {
        "request": request, "reviewer": reviewer, "role": Role.RISK_OFFICER, "verdict": Verdict.APPROVE,
        "requested_by_id": request.requested_by_id, "version_author_id": request.version_author_id,
        **overrides,
    }  # fmt: skip
    with transaction.atomic():
        return SignOffDecision.objects.create(**fields)


def test_the_database_refuses_a_decision_by_the_requester(team_lead, minimal_version):
    request = pending_request(minimal_version, team_lead)
    with pytest.raises(IntegrityError):
        direct_decision(request, team_lead)
    assert SignOffDecision.objects.count() == 0


def test_the_database_refuses_a_decision_by_the_version_author(team_lead, project, risk_officer):
    assess(project, "minimal")
    request = pending_request(linked_version(project, created_by=risk_officer.username), team_lead)
    with pytest.raises(IntegrityError):
        direct_decision(request, risk_officer)
    assert SignOffDecision.objects.count() == 0


def test_the_database_refuses_forged_copies_of_the_requester(team_lead, risk_officer, minimal_version):
    """Naming someone else as requester would dodge the check constraint; the trigger catches it."""
    request = pending_request(minimal_version, team_lead)
    someone = make_user("someone")
    with pytest.raises(IntegrityError, match="separation of duties"):
        direct_decision(request, team_lead, requested_by_id=someone.pk)
    with pytest.raises(IntegrityError, match="separation of duties"):
        direct_decision(request, risk_officer, version_author_id=someone.pk)
    assert SignOffDecision.objects.count() == 0


def test_the_database_refuses_a_decision_on_a_request_that_is_no_longer_pending(
    team_lead, risk_officer, minimal_version
):
    request = approve(pending_request(minimal_version, team_lead), risk_officer)
    other = make_user("risk2", Role.RISK_OFFICER)
    with pytest.raises(IntegrityError, match="no longer pending"):
        direct_decision(request, other, verdict=Verdict.REJECT)
    assert SignOffDecision.objects.count() == 1


def test_the_database_refuses_a_second_verdict_by_the_same_reviewer(team_lead, high_version):
    both = make_user("both", Role.RISK_OFFICER, Role.COMPLIANCE)
    request = pending_request(high_version, team_lead)
    signoff.signoff_decide(by=both, request=request, verdict="approve")
    with pytest.raises(IntegrityError):
        direct_decision(request, both, role=Role.COMPLIANCE)
    assert SignOffDecision.objects.count() == 1


def test_a_second_approval_in_a_filled_role_is_refused_when_the_author_is_known(team_lead, risk_officer, high_version):
    request = pending_request(high_version, team_lead)
    signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    with pytest.raises(ConflictError, match="already given by"):
        signoff.signoff_decide(by=make_user("risk2", Role.RISK_OFFICER), request=request, verdict="approve")
    assert SignOffDecision.objects.count() == 1


def test_a_decision_is_never_updated(team_lead, risk_officer, high_version):
    request = pending_request(high_version, team_lead)
    decision = signoff.signoff_decide(by=risk_officer, request=request, verdict="approve", comment="ok")
    with pytest.raises(IntegrityError, match="final"), transaction.atomic():
        SignOffDecision.objects.filter(pk=decision.pk).update(verdict=Verdict.REJECT)
    decision.comment = "rewritten"
    with pytest.raises(IntegrityError, match="final"), transaction.atomic():
        decision.save()
    assert SignOffDecision.objects.get(pk=decision.pk).comment == "ok"


# --- policies ------------------------------------------------------------------------------------


def test_the_default_policies_are_version_1_of_each_tier():
    rows = {
        p.tier: (p.version, p.required_roles, p.min_approvers, p.recertify_days, p.approvable)
        for p in SignOffPolicy.objects.all()
    }
    assert rows == {
        "minimal": (1, ["Risk Officer"], 1, None, True),
        "limited": (1, ["Risk Officer"], 1, None, True),
        "high": (1, ["Risk Officer", "Compliance Officer"], 2, 365, True),
        "prohibited": (1, [], 1, None, False),
    }


def test_publishing_a_new_policy_version_leaves_earlier_requests_on_theirs(
    admin_user, team_lead, project, risk_officer, compliance
):
    assess(project, "minimal")
    old_version, new_version = linked_version(project, version="1"), linked_version(project, version="2")
    old = pending_request(old_version, team_lead)
    seq = last_seq()

    policy = signoff.signoff_policy_publish(
        by=admin_user, tier="minimal", required_roles=["Risk Officer", "Compliance Officer"], min_approvers=2,
        recertify_days=90, note="Stricter after the audit.",
    )  # fmt: skip

    assert (policy.tier, policy.version, policy.created_by) == ("minimal", 2, admin_user)
    assert actions(seq) == ["signoff_policy.published"]
    assert AuditEvent.objects.get(action="signoff_policy.published").after == {
        "tier": "minimal", "version": 2, "required_roles": ["Risk Officer", "Compliance Officer"],
        "min_approvers": 2, "recertify_days": 90, "approvable": True, "note": "Stricter after the audit.",
    }  # fmt: skip
    new = pending_request(new_version, team_lead)
    assert (new.policy, new.fingerprint["policy"]) == (policy, {"tier": "minimal", "version": 2})
    old.refresh_from_db()
    assert (old.policy.version, old.fingerprint["policy"]) == (1, {"tier": "minimal", "version": 1})
    # The old request still needs only its one risk officer; the new one needs both roles.
    assert approve(old, risk_officer).status == "approved"
    assert approve(new, risk_officer).status == "pending"
    assert approve(new, compliance).status == "approved"
    assert new.valid_until is not None


def test_a_published_policy_never_changes(admin_user):
    policy = SignOffPolicy.objects.get(tier="minimal", version=1)
    policy.min_approvers = 3
    with pytest.raises(ValidationError, match="never changes"):
        policy.save()
    assert SignOffPolicy.objects.get(pk=policy.pk).min_approvers == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"tier": "minimal", "required_roles": ["Executive"], "min_approvers": 1}, "required_roles"),
        ({"tier": "minimal", "required_roles": ["Risk Officer", "Risk Officer"], "min_approvers": 2}, "required_roles"),
        (
            {"tier": "high", "required_roles": ["Risk Officer", "Compliance Officer"], "min_approvers": 1},
            "min_approvers",
        ),
        ({"tier": "prohibited", "required_roles": ["Risk Officer"], "min_approvers": 1}, "approvable"),
        ({"tier": "nonsense", "required_roles": ["Risk Officer"], "min_approvers": 1}, "tier"),
    ],
    ids=["not-a-reviewer-role", "role-twice", "too-few-approvers", "prohibited-approvable", "unknown-tier"],
)
def test_a_bad_policy_is_refused_and_publishes_nothing(admin_user, fields, error):
    count = SignOffPolicy.objects.count()
    with pytest.raises(ValidationError) as exc:
        signoff.signoff_policy_publish(by=admin_user, recertify_days=None, **fields)
    assert error in exc.value.message_dict
    assert SignOffPolicy.objects.count() == count


def test_only_risk_officers_and_admins_publish_policies(team_lead, risk_officer):
    with pytest.raises(PermissionDeniedError, match=signoff.CANNOT_PUBLISH):
        signoff.signoff_policy_publish(
            by=team_lead, tier="minimal", required_roles=["Risk Officer"], min_approvers=1, recertify_days=None
        )
    assert SignOffPolicy.objects.filter(tier="minimal").count() == 1
    signoff.signoff_policy_publish(
        by=risk_officer, tier="minimal", required_roles=["Risk Officer"], min_approvers=1, recertify_days=None
    )
    assert SignOffPolicy.objects.filter(tier="minimal").count() == 2


def test_approving_evidence_that_moved_unnoticed_invalidates_the_request_instead(
    team_lead, risk_officer, minimal_version
):
    """A change no rule has seen yet (here a raw UPDATE of the version's source) is caught at
    decision time: the approval is refused, and the request is invalidated for good."""
    from governance.models import Finding, FindingKind
    from projects.models import ModelVersion

    request = pending_request(minimal_version, team_lead)
    ModelVersion.objects.filter(pk=minimal_version.pk).update(source="s3://models/fraud-model/retrained")
    seq = last_seq()

    with pytest.raises(ConflictError, match="The evidence changed since the request was made"):
        signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")

    request.refresh_from_db()
    assert request.status == "invalidated"
    assert "retrained" in request.status_reason
    assert request.decisions.count() == 0
    assert actions(seq) == ["signoff.invalidated", "finding.opened", "signoff.decision_refused"]
    assert Finding.objects.get(subject_id=str(request.pk)).kind == FindingKind.SIGNOFF_INVALIDATED
