"""Who authored a version, for separation of duties: the registry's version user, else its run's user
(MLflow 3), else unknown — and an unknown author costs the request one more distinct approver."""

from __future__ import annotations

import pytest

from core.errors import PermissionDeniedError
from core.roles import Role
from governance.models import SignOffStatus
from governance.signoff import services as signoff
from governance.signoff.eligibility import approvals_outstanding
from governance.signoff.selectors import review_queue_for_user
from projects.models import AuthorSource, ModelVersion
from projects.registries.adapters.base import RemoteRun
from projects.registries.sync import registry_sync
from tests.factories import make_user
from tests.registry_factories import FakeAdapter, RegistryFactory, snapshot
from tests.signoff_factories import assess, compliance_officer, linked_version, pending_request

pytestmark = pytest.mark.django_db


class RunAdapter(FakeAdapter):
    """A registry whose versions name no user, and whose runs were started by `run_user`."""

    def __init__(self, snap, run_user: str):
        super().__init__(snap)
        self.run_user = run_user
        self.requests_made = 0

    def fetch_run(self, run_id: str) -> RemoteRun:
        self.requests_made += 1
        return RemoteRun(run_id=run_id, user_id=self.run_user, metrics={"auc": {"value": 0.9}})


def test_who_trained_the_run_and_registered_the_version_cannot_approve_it(project, team_lead, risk_officer):
    assess(project, "minimal")
    snap = snapshot({"scorer": {"tags": {"keel.project": project.slug}}}, {"scorer": ["1"]}, run_id="run-1")
    registry_sync(registry=RegistryFactory(), adapter=RunAdapter(snap, run_user=risk_officer.username))
    version = ModelVersion.objects.get()
    assert (version.created_by, version.author_source) == ("risk", AuthorSource.RUN)

    request = pending_request(version, team_lead)

    assert (request.version_author, request.author_unknown) == (risk_officer, False)
    with pytest.raises(PermissionDeniedError, match="You created this model version"):
        signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    request.refresh_from_db()
    assert (request.status, request.decisions.count()) == (SignOffStatus.PENDING, 0)
    assert list(review_queue_for_user(user=risk_officer)) == []


def test_an_unknown_author_needs_one_more_distinct_approver_than_the_policy(project, team_lead, risk_officer):
    assess(project, "minimal")  # policy: one risk officer
    request = pending_request(linked_version(project, created_by=""), team_lead)
    dpo = compliance_officer()
    assert request.author_unknown is True
    assert [r.pk for r in review_queue_for_user(user=dpo)] == [request.pk]

    signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")

    request.refresh_from_db()
    assert request.status == SignOffStatus.PENDING
    assert approvals_outstanding(request, list(request.decisions.all())) == [
        "1 more distinct approver (the version's author is unknown)"
    ]
    assert [r.pk for r in review_queue_for_user(user=dpo)] == [request.pk]
    decision = signoff.signoff_decide(by=dpo, request=request, verdict="approve")
    request.refresh_from_db()
    assert (decision.role, request.status) == (Role.COMPLIANCE, SignOffStatus.APPROVED)
    assert list(review_queue_for_user(user=dpo)) == []


def test_with_an_unknown_author_a_second_risk_officer_may_be_the_extra_approver(project, team_lead, risk_officer):
    assess(project, "high")  # policy: a risk officer and a compliance officer, two people
    request = pending_request(linked_version(project, created_by=""), team_lead)
    signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    signoff.signoff_decide(by=compliance_officer(), request=request, verdict="approve")
    request.refresh_from_db()
    assert request.status == SignOffStatus.PENDING

    signoff.signoff_decide(by=make_user("risk2", Role.RISK_OFFICER), request=request, verdict="approve")

    request.refresh_from_db()
    assert (request.status, request.decisions.count()) == (SignOffStatus.APPROVED, 3)


def test_a_known_author_needs_only_what_the_policy_asks(project, team_lead, risk_officer):
    assess(project, "minimal")
    request = pending_request(linked_version(project, created_by="someone-outside-keel"), team_lead)
    assert request.author_unknown is False
    signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    request.refresh_from_db()
    assert request.status == SignOffStatus.APPROVED
    assert list(review_queue_for_user(user=compliance_officer())) == []


def test_an_author_read_from_the_run_after_the_request_still_may_not_approve(project, team_lead, risk_officer):
    assess(project, "minimal")
    version = linked_version(project, created_by="")
    request = pending_request(version, team_lead)
    assert request.author_unknown is True
    # A later sync reads the run: the risk officer trained it.
    ModelVersion.objects.filter(pk=version.pk).update(created_by="RISK", author_source=AuthorSource.RUN)

    with pytest.raises(PermissionDeniedError, match="You created this model version"):
        signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    assert request.decisions.count() == 0


def test_the_api_says_a_request_waits_for_its_extra_approver(client, project, team_lead, risk_officer):
    assess(project, "minimal")
    request = pending_request(linked_version(project, created_by=""), team_lead)
    signoff.signoff_decide(by=risk_officer, request=request, verdict="approve")
    client.force_login(risk_officer)
    body = client.get(f"/api/v1/signoffs/{request.pk}/").json()
    assert body["status"] == "pending"
    assert body["missing_roles"] == []  # every required role has approved...
    assert body["author_unknown"] is True  # ...but the unknown author costs one more approver
    assert body["waiting_for"] == ["1 more distinct approver (the version's author is unknown)"]
