"""/api/v1/signoffs/, /api/v1/signoff-policies/ and /api/v1/gate end to end: request → approve by
the required roles → the gate allows with a token that verifies offline; reject → the gate denies
with the reason; separation-of-duties refusals answer 403/409 and are audited; every gate answer
is audited with its token id; bad gate questions are 400; the gate is no oracle across teams.
"""

from __future__ import annotations

import pytest

from core.roles import Role
from governance.models import AuditEvent, SignOffDecision, SignOffPolicy, SignOffRequest
from governance.signoff import services as signoff
from governance.signoff import tokens
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.query_counts import QueryCount, assert_queries, capture_queries
from tests.registry_factories import T0, hold
from tests.signoff_factories import (
    approve,
    assess,
    compliance_officer,
    linked_version,
    new_signing_key_pem,
    pending_request,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/signoffs/"
GATE = "/api/v1/gate"


@pytest.fixture(autouse=True)
def gate_key(settings):
    settings.KEEL_GATE_SIGNING_KEY = new_signing_key_pem()


@pytest.fixture
def compliance(db):
    return compliance_officer()


def post(client, user, url, data=None):
    client.force_login(user)
    return client.post(url, data or {}, content_type="application/json")


def ask_gate(client, user, mv=None, **params):
    """GET the gate about model version `mv`, or with the query given as keywords."""
    client.force_login(user)
    if mv is not None:
        model = mv.registered_model
        params = {"registry": model.registry.name, "model": model.name, "version": mv.version, **params}
    params.setdefault("environment", "production")
    return client.get(GATE, params)


def gate_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__startswith="gate.").order_by("seq"))


def refusals(request_pk: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="signoff.decision_refused", object_id=str(request_pk)))


def assert_verifies_offline(client, body: dict) -> dict:
    """The token checks out against the served public key alone, and says what the body says."""
    client.logout()
    doc = client.get(f"{GATE}/public-key").json()
    verified = tokens.verify(body["token"], tokens.load_public_key(doc["public_key_pem"]))
    assert verified.header["kid"] == body["kid"] == doc["kid"]
    assert verified.payload == {k: v for k, v in body.items() if k not in ("token", "kid")}
    return verified.payload


# --- the whole flow ----------------------------------------------------------------------------


def test_request_then_approval_by_both_required_roles_then_the_gate_allows_with_a_verifiable_token(
    client, team_lead, project, risk_officer, compliance
):
    assess(project, "high")
    version = linked_version(project, version="3")

    created = post(client, team_lead, URL, {"model_version": version.pk, "justification": "Bias audit passed."})

    assert created.status_code == 201, created.content
    body = created.json()
    request = SignOffRequest.objects.get()
    assert (body["id"], body["status"], body["project"], body["model"], body["version"]) == (
        request.pk, "pending", project.slug, "fraud-model", "3",
    )  # fmt: skip
    assert (body["requested_by"], body["justification"], body["missing_roles"]) == (
        "lead", "Bias audit passed.", ["Risk Officer", "Compliance Officer"],
    )  # fmt: skip
    assert (body["policy"]["tier"], body["policy"]["version"]) == ("high", 1)
    assert body["fingerprint"] == request.fingerprint
    pending = ask_gate(client, team_lead, version).json()
    assert (pending["allowed"], [r["code"] for r in pending["reasons"]]) == (False, ["signoff_pending"])

    first = post(client, risk_officer, f"{URL}{request.pk}/approve/", {"comment": "Risks acceptable."})
    assert first.status_code == 200, first.content
    assert (first.json()["status"], first.json()["missing_roles"]) == ("pending", ["Compliance Officer"])

    second = post(client, compliance, f"{URL}{request.pk}/approve/", {"comment": "DPIA on file."})
    assert second.status_code == 200, second.content
    assert (second.json()["status"], second.json()["missing_roles"]) == ("approved", [])
    assert [(d["reviewer"], d["role"], d["verdict"]) for d in second.json()["decisions"]] == [
        ("risk", "Risk Officer", "approve"), ("compliance", "Compliance Officer", "approve"),
    ]  # fmt: skip
    request.refresh_from_db()
    assert (request.status, second.json()["valid_until"]) == (
        "approved",
        request.valid_until.isoformat().replace("+00:00", "Z"),
    )

    answer = ask_gate(client, team_lead, version)

    assert answer.status_code == 200
    gate_body = answer.json()
    assert (gate_body["allowed"], gate_body["decision"], gate_body["reasons"]) == (True, "allowed", [])
    assert (gate_body["signoff"], gate_body["project"], gate_body["tier"], gate_body["version"]) == (
        request.pk, project.slug, "high", "3",
    )  # fmt: skip
    assert (gate_body["fingerprint"], gate_body["fingerprint_hash"]) == (request.fingerprint, request.fingerprint_hash)
    assert [(a["reviewer"], a["role"], a["comment"]) for a in gate_body["approvals"]] == [
        ("risk", "Risk Officer", "Risks acceptable."), ("compliance", "Compliance Officer", "DPIA on file."),
    ]  # fmt: skip
    assert gate_body["exp"] - gate_body["iat"] == 900
    payload = assert_verifies_offline(client, gate_body)
    assert payload["allowed"] is True
    trail = AuditEvent.objects.filter(object_type="governance.signoffrequest").order_by("seq")
    assert list(trail.values_list("action", "actor_id")) == [
        ("signoff.requested", team_lead.pk), ("signoff.decided", risk_officer.pk),
        ("signoff.decided", compliance.pk), ("signoff.approved", compliance.pk),
    ]  # fmt: skip
    event = gate_events()[-1]
    assert (event.action, event.actor_id, event.object_type, event.object_id) == (
        "gate.allowed", team_lead.pk, "projects.modelversion", str(version.pk),
    )  # fmt: skip
    assert event.after == {
        "jti": gate_body["jti"], "environment": "production", "registry": version.registered_model.registry.name,
        "model": "fraud-model", "version": "3", "alias": None, "reasons": [], "signoff": request.pk,
        "fingerprint_hash": request.fingerprint_hash,
    }  # fmt: skip


def test_the_gate_answers_for_the_version_holding_an_alias(client, team_lead, project, risk_officer):
    assess(project, "minimal")
    v1, v2 = linked_version(project, version="1"), linked_version(project, version="2")
    hold(v1, "production", T0, T0.replace(hour=10))
    hold(v2, "production", T0.replace(hour=10))
    approve(pending_request(v2, team_lead), risk_officer)
    model = v2.registered_model

    body = ask_gate(client, team_lead, registry=model.registry.name, model=model.name, alias="production").json()

    assert (body["allowed"], body["version"], body["alias"]) == (True, "2", "production")
    missing = ask_gate(client, team_lead, registry=model.registry.name, model=model.name, alias="shadow").json()
    assert (missing["allowed"], [r["code"] for r in missing["reasons"]]) == (False, ["unknown_alias"])


def test_a_rejection_makes_the_gate_deny_with_the_reviewers_reason(client, team_lead, project, risk_officer):
    assess(project, "minimal")
    version = linked_version(project)
    request = pending_request(version, team_lead)

    response = post(
        client, risk_officer, f"{URL}{request.pk}/reject/", {"comment": "No bias test on older applicants."}
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"
    request.refresh_from_db()
    assert request.status == "rejected"
    assert list(SignOffDecision.objects.values_list("verdict", "comment")) == [
        ("reject", "No bias test on older applicants."),
    ]
    body = ask_gate(client, team_lead, version).json()
    assert (body["allowed"], body["decision"], body["signoff"], body["token"] != "") == (False, "denied", None, True)
    assert body["reasons"] == [
        {
            "code": "signoff_rejected",
            "message": f"Sign-off #{request.pk} was rejected: No bias test on older applicants.",
        }
    ]
    assert assert_verifies_offline(client, body)["allowed"] is False
    event = gate_events()[-1]
    assert (event.action, event.after["jti"], event.after["reasons"]) == (
        "gate.denied",
        body["jti"],
        ["signoff_rejected"],
    )


def test_a_rejection_without_a_comment_is_a_400_and_changes_nothing(client, team_lead, project, risk_officer):
    assess(project, "minimal")
    request = pending_request(linked_version(project), team_lead)
    events = AuditEvent.objects.count()

    response = post(client, risk_officer, f"{URL}{request.pk}/reject/", {})

    assert (response.status_code, response.json()) == (
        400,
        {"detail": "Invalid input: comment.", "code": "invalid", "comment": [signoff.COMMENT_NEEDED]},
    )
    assert SignOffDecision.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_a_request_for_changes_keeps_the_request_pending(client, team_lead, project, risk_officer):
    assess(project, "minimal")
    request = pending_request(linked_version(project), team_lead)
    response = post(client, risk_officer, f"{URL}{request.pk}/request-changes/", {"comment": "Add the model card."})
    assert (response.status_code, response.json()["status"]) == (200, "pending")
    assert response.json()["decisions"][0]["verdict"] == "request_changes"


def test_the_requester_withdraws_a_pending_request(client, team_lead, project):
    assess(project, "minimal")
    request = pending_request(linked_version(project), team_lead)
    response = post(client, team_lead, f"{URL}{request.pk}/withdraw/", {"reason": "Wrong version."})
    assert (response.status_code, response.json()["status"], response.json()["status_reason"]) == (
        200, "withdrawn", "Wrong version.",
    )  # fmt: skip
    assert AuditEvent.objects.filter(action="signoff.withdrawn", object_id=str(request.pk)).count() == 1


# --- refusals: 403 / 409, audited, nothing changed -------------------------------------------------


def test_self_approval_is_403_and_audited(client):
    lead = make_user("leadro", Role.TEAM_LEAD, Role.RISK_OFFICER)
    project = AIProjectFactory(name="Own work", team=TeamFactory(name="Own", lead=lead), owner=lead)
    assess(project, "minimal")
    request = pending_request(linked_version(project), lead)

    response = post(client, lead, f"{URL}{request.pk}/approve/", {})

    assert (response.status_code, response.json()) == (
        403, {"detail": signoff.SELF_REVIEW, "code": "separation_of_duties"},
    )  # fmt: skip
    request.refresh_from_db()
    assert (request.status, request.decisions.count()) == ("pending", 0)
    [event] = refusals(request.pk)
    assert (event.actor_id, event.after["reason"]) == (lead.pk, signoff.SELF_REVIEW)


def test_one_person_approving_in_both_roles_is_403_and_audited(client, team_lead, project):
    assess(project, "high")
    both = make_user("both", Role.RISK_OFFICER, Role.COMPLIANCE)
    request = pending_request(linked_version(project), team_lead)
    assert post(client, both, f"{URL}{request.pk}/approve/", {"role": "Risk Officer"}).status_code == 200

    response = post(client, both, f"{URL}{request.pk}/approve/", {"role": "Compliance Officer"})

    assert response.status_code == 403
    assert response.json()["code"] == "separation_of_duties"
    assert "one person fills one role" in response.json()["detail"]
    request.refresh_from_db()
    assert (request.status, request.decisions.count()) == ("pending", 1)
    assert len(refusals(request.pk)) == 1


def test_deciding_a_closed_request_is_409_and_audited(client, team_lead, project, risk_officer):
    assess(project, "minimal")
    request = approve(pending_request(linked_version(project), team_lead), risk_officer)
    other = make_user("risk2", Role.RISK_OFFICER)

    response = post(client, other, f"{URL}{request.pk}/reject/", {"comment": "Too late?"})

    assert (response.status_code, response.json()) == (
        409, {"detail": "This sign-off request is already approved; it takes no more decisions.", "code": "conflict"},
    )  # fmt: skip
    assert SignOffDecision.objects.count() == 1
    [event] = refusals(request.pk)
    assert event.actor_id == other.pk


def test_an_executive_may_not_decide_and_the_attempt_is_audited(client, executive, team_lead, project):
    assess(project, "minimal")
    request = pending_request(linked_version(project), team_lead)
    response = post(client, executive, f"{URL}{request.pk}/approve/", {})
    assert response.status_code == 403
    assert SignOffDecision.objects.count() == 0
    assert len(refusals(request.pk)) == 1


def test_requesting_a_second_time_for_a_pending_version_is_409(client, team_lead, project):
    assess(project, "minimal")
    version = linked_version(project)
    first = pending_request(version, team_lead)
    response = post(client, team_lead, URL, {"model_version": version.pk})
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    assert f"#{first.pk}" in response.json()["detail"]
    assert SignOffRequest.objects.count() == 1


def test_requesting_sign_off_for_another_teams_version_reads_as_unknown(client, other_lead, team_lead, project):
    assess(project, "minimal")
    version = linked_version(project)
    response = post(client, other_lead, URL, {"model_version": version.pk})
    assert response.status_code == 400
    assert "model_version" in response.json()
    assert SignOffRequest.objects.count() == 0


def test_requesting_sign_off_for_a_prohibited_system_is_400(client, team_lead, project):
    assess(project, "prohibited")
    response = post(client, team_lead, URL, {"model_version": linked_version(project).pk})
    assert response.status_code == 400
    assert response.json()["detail"] == signoff.NEVER_APPROVABLE
    assert SignOffRequest.objects.count() == 0


# --- the gate: audited, validated, scoped ------------------------------------------------------


def test_every_gate_call_is_audited_with_the_id_of_its_token(client, team_lead, project, risk_officer):
    assess(project, "minimal")
    version = linked_version(project)
    answers = [
        ask_gate(client, team_lead, version).json(),  # no sign-off
        ask_gate(client, team_lead, registry="nowhere", model="nothing", version="1").json(),  # unknown
        ask_gate(client, team_lead, version, environment="staging").json(),  # no approval needed
    ]
    approve(pending_request(version, team_lead), risk_officer)
    answers.append(ask_gate(client, risk_officer, version).json())

    events = gate_events()
    assert [(e.action, e.actor_id, e.after["jti"]) for e in events] == [
        ("gate.denied", team_lead.pk, answers[0]["jti"]),
        ("gate.denied", team_lead.pk, answers[1]["jti"]),
        ("gate.allowed", team_lead.pk, answers[2]["jti"]),
        ("gate.allowed", risk_officer.pk, answers[3]["jti"]),
    ]
    assert [e.after["reasons"] for e in events] == [["no_signoff"], ["unknown_model"], [], []]
    assert (events[1].object_type, events[1].object_id) == ("gate", "nowhere/nothing")
    assert len({a["jti"] for a in answers}) == 4
    for answer in answers:
        assert_verifies_offline(client, answer)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"model": "fraud-model", "version": "1", "environment": "production"}, "registry"),
        ({"registry": "r", "version": "1", "environment": "production"}, "model"),
        ({"registry": "r", "model": "fraud-model", "environment": "production"}, "version"),
        (
            {"registry": "r", "model": "fraud-model", "version": "1", "alias": "prod", "environment": "production"},
            "version",
        ),
        ({"registry": "r", "model": "fraud-model", "version": "1"}, "environment"),
        ({"registry": "r", "model": "fraud-model", "version": "1", "environment": "prod uction"}, "environment"),
    ],
    ids=["no-registry", "no-model", "neither-version-nor-alias", "both-version-and-alias", "no-environment", "bad-env"],
)
def test_a_malformed_gate_question_is_400_and_not_audited(client, team_lead, params, field):
    events = AuditEvent.objects.count()
    client.force_login(team_lead)
    response = client.get(GATE, params)
    assert response.status_code == 400
    assert field in response.json()
    assert AuditEvent.objects.count() == events


def test_a_team_lead_asking_about_another_teams_model_learns_nothing(
    client, other_lead, team_lead, project, risk_officer
):
    """The same answer as for a model that does not exist: the gate is no oracle."""
    assess(project, "minimal")
    version = linked_version(project)
    approve(pending_request(version, team_lead), risk_officer)
    registry = version.registered_model.registry.name

    theirs = ask_gate(client, other_lead, version).json()
    nothing = ask_gate(client, other_lead, registry=registry, model="no-such-model", version="1").json()

    assert theirs["allowed"] is False
    assert theirs["reasons"] == [
        {"code": "unknown_model", "message": f"Keel knows no model 'fraud-model' in registry {registry!r}."}
    ]
    assert [r["code"] for r in nothing["reasons"]] == ["unknown_model"]
    for body in (theirs, nothing):
        assert (body["project"], body["tier"], body["signoff"], body["fingerprint"], body["approvals"]) == (
            None, None, None, None, [],
        )  # fmt: skip
    # Its own team's lead gets the real answer.
    assert ask_gate(client, team_lead, version).json()["allowed"] is True


def test_the_gate_denies_a_prohibited_system_in_any_environment(client, team_lead, project):
    assess(project, "prohibited")
    version = linked_version(project)
    body = ask_gate(client, team_lead, version, environment="staging").json()
    assert (body["allowed"], [r["code"] for r in body["reasons"]]) == (False, ["prohibited"])


def test_the_gate_says_why_when_the_project_has_no_tier(client, team_lead, project):
    version = linked_version(project)
    body = ask_gate(client, team_lead, version).json()
    assert [r["code"] for r in body["reasons"]] == ["not_assessed", "no_signoff"]


def test_an_anonymous_caller_gets_no_gate_answer(client):
    response = client.get(GATE, {"registry": "r", "model": "m", "version": "1", "environment": "production"})
    assert response.status_code in (401, 403)
    assert not AuditEvent.objects.filter(action__startswith="gate.").exists()


# --- policies ----------------------------------------------------------------------------------


def test_everyone_reads_the_policies_and_an_admin_publishes_the_next_version(client, admin_user, team_lead):
    client.force_login(team_lead)
    listed = client.get("/api/v1/signoff-policies/").json()["results"]
    assert {(p["tier"], p["version"]) for p in listed} == {
        ("high", 1),
        ("limited", 1),
        ("minimal", 1),
        ("prohibited", 1),
    }

    response = post(
        client, admin_user, "/api/v1/signoff-policies/",
        {"tier": "limited", "required_roles": ["Risk Officer", "Compliance Officer"], "min_approvers": 2,
         "recertify_days": 180, "note": "Chatbots need a DPO too."},
    )  # fmt: skip

    assert response.status_code == 201, response.content
    assert (response.json()["version"], response.json()["created_by"]) == (2, "admin")
    assert SignOffPolicy.objects.filter(tier="limited").count() == 2
    assert AuditEvent.objects.filter(action="signoff_policy.published").count() == 1
    refused = post(client, team_lead, "/api/v1/signoff-policies/", {"tier": "limited", "required_roles": []})
    assert refused.status_code == 403
    assert SignOffPolicy.objects.filter(tier="limited").count() == 2


# --- query counts ------------------------------------------------------------------------------


def make_requests(n: int, lead, project, reviewers) -> None:
    start = SignOffRequest.objects.count()
    for i in range(start, start + n):
        request = pending_request(linked_version(project, model=f"model-{i:03d}"), lead)
        if i % 2:
            approve(request, reviewers[i % len(reviewers)])


def list_queries(client, user) -> tuple[QueryCount, int]:
    client.force_login(user)
    with capture_queries() as captured:
        response = client.get(URL, {"page_size": 200})
    assert response.status_code == 200
    return captured.count, response.json()["count"]


def test_the_signoff_list_costs_the_same_number_of_queries_for_4_and_40_requests(client, team_lead, project):
    assess(project, "minimal")
    reviewers = [make_user(f"ro{i}", Role.RISK_OFFICER) for i in range(3)]
    make_requests(4, team_lead, project, reviewers)
    small, count = list_queries(client, team_lead)
    assert count == 4
    make_requests(36, team_lead, project, reviewers)
    large, count = list_queries(client, team_lead)
    assert count == 40
    assert_queries(small, large, what=URL)


def test_the_review_queue_shows_each_reviewer_what_waits_for_their_role_oldest_first(
    client, team_lead, project, risk_officer, compliance
):
    assess(project, "high")
    older = pending_request(linked_version(project, model="older"), team_lead)
    newer = pending_request(linked_version(project, model="newer"), team_lead)

    def queue(user) -> list[int]:
        client.force_login(user)
        return [r["id"] for r in client.get(f"{URL}queue/").json()["results"]]

    assert queue(risk_officer) == queue(compliance) == [older.pk, newer.pk]
    assert queue(team_lead) == []
    approve(older, risk_officer)
    # The risk officer has done their part on `older`; the compliance officer still has it.
    assert (queue(risk_officer), queue(compliance)) == ([newer.pk], [older.pk, newer.pk])
    approve(older, compliance)
    assert queue(compliance) == [newer.pk]
