"""The risk register through /api/v1/risks/ and /api/v1/mitigations/: scores and their explanation,
refusals that change nothing, guarded transitions, who may accept what, and the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from governance.api.risks import RISK_NOT_DELETED
from governance.models import AuditEvent, Mitigation, Risk, RiskStatus
from governance.risks import assessments, services
from governance.risks.scoring import OUT_OF_SCALE
from governance.risks.services import (
    ACCEPT_NEEDS_JUSTIFICATION,
    ACCEPT_NEEDS_RISK_OFFICER,
    ILLEGAL_RISK_TRANSITION,
    RESIDUAL_ABOVE_INHERENT,
    SAME_RISK_STATUS,
)
from tests.api_errors import NOT_A_CHOICE, invalid_input
from tests.factories import AIProjectFactory, UserFactory
from tests.query_counts import QueryCount, assert_queries, get_counting_queries
from tests.risk_factories import MitigationFactory, RiskFactory, on_day
from tests.tier_answers import complete

JSON = {"content_type": "application/json"}


def today_plus(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def row(risk: Risk) -> dict:
    """Every column of the risk as stored, to prove a refused request changed nothing."""
    return Risk.objects.values().get(pk=risk.pk)


@pytest.fixture
def as_lead(client, team_lead):
    client.force_login(team_lead)
    return client


@pytest.fixture
def as_officer(client, risk_officer):
    client.force_login(risk_officer)
    return client


def new_risk(project, **fields):
    return RiskFactory(**{"project": project, "title": "Unfair denials", "category": "fairness", **fields})


# --- create and read --------------------------------------------------------------------------------


def test_team_lead_creates_a_risk_and_the_response_shows_how_each_score_was_computed(as_lead, project, team_lead):
    body = {
        "project": project.slug, "title": "Unfair denials", "description": "Older applicants are denied more.",
        "category": "fairness", "likelihood": 4, "impact": 4, "residual_likelihood": 2, "residual_impact": 3,
    }  # fmt: skip
    response = as_lead.post("/api/v1/risks/", body, **JSON)

    assert response.status_code == 201, response.json()
    data = response.json()
    risk = Risk.objects.get()
    assert data["id"] == risk.pk
    assert {k: data[k] for k in (
        "project", "team", "project_tier", "title", "category", "category_label", "nist_functions", "likelihood",
        "impact", "inherent_score", "inherent_level", "inherent_computation", "residual_likelihood",
        "residual_impact", "residual_score", "residual_level", "residual_computation", "owner", "status",
        "allowed_transitions", "overdue", "next_review_date", "last_reviewed_at", "accepted_by", "mitigations",
    )} == {
        "project": "fraud-scoring", "team": "claims", "project_tier": "", "title": "Unfair denials",
        "category": "fairness", "category_label": "Fairness / bias",
        "nist_functions": ["GOVERN", "MAP", "MEASURE", "MANAGE"], "likelihood": 4, "impact": 4,
        "inherent_score": 16, "inherent_level": "high",
        "inherent_computation": "Likely (4) × Major (4) = 16: High (10–16), review every 90 days",
        "residual_likelihood": 2, "residual_impact": 3, "residual_score": 6, "residual_level": "medium",
        "residual_computation": "Unlikely (2) × Moderate (3) = 6: Medium (5–9), review every 180 days",
        "owner": "lead", "status": "open", "allowed_transitions": ["mitigating", "accepted", "closed"],
        "overdue": False, "next_review_date": today_plus(180), "last_reviewed_at": None, "accepted_by": None,
        "mitigations": [],
    }  # fmt: skip
    assert (risk.inherent_score, risk.residual_score, risk.residual_level) == (16, 6, "medium")
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_repr, event.object_type, event.object_id) == (
        "risk.created",
        "lead",
        "governance.risk",
        str(risk.pk),
    )
    assert event.after["residual_level"] == "medium"
    assert event.after["next_review_date"] == today_plus(180)


def test_residual_scores_default_to_the_inherent_ones(as_lead, project):
    body = {"project": project.slug, "title": "Leak", "category": "privacy", "likelihood": 5, "impact": 4}
    data = as_lead.post("/api/v1/risks/", body, **JSON).json()
    assert (data["residual_likelihood"], data["residual_impact"], data["residual_level"]) == (5, 4, "critical")
    assert data["nist_functions"] == ["GOVERN", "MAP", "MEASURE"]
    assert data["next_review_date"] == today_plus(30)


# --- refusals change nothing ---------------------------------------------------------------------------

LABELS = {
    "likelihood": "Likelihood", "impact": "Impact",
    "residual_likelihood": "Residual likelihood", "residual_impact": "Residual impact",
}  # fmt: skip
BAD_SCALE = [
    ("likelihood", 0), ("likelihood", 6), ("impact", -1), ("impact", 2.5), ("likelihood", "three"),
    ("impact", True), ("residual_likelihood", 0), ("residual_impact", 9), ("residual_likelihood", 1.5),
]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), BAD_SCALE, ids=[f"{f}={v!r}" for f, v in BAD_SCALE])
def test_creating_a_risk_with_a_score_off_the_scale_is_refused_and_writes_nothing(as_lead, project, field, value):
    body = {"project": project.slug, "title": "Leak", "category": "privacy", "likelihood": 3, "impact": 3}
    events = AuditEvent.objects.count()

    response = as_lead.post("/api/v1/risks/", {**body, field: value}, **JSON)

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Invalid input: {field}.",
        "code": "invalid",
        field: [OUT_OF_SCALE.format(name=LABELS[field], value=value)],
    }
    assert Risk.objects.count() == 0
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(("field", "value"), BAD_SCALE, ids=[f"{f}={v!r}" for f, v in BAD_SCALE])
def test_changing_a_risk_to_a_score_off_the_scale_is_refused_and_changes_nothing(as_lead, project, field, value):
    risk = new_risk(project, likelihood=3, impact=3)
    before, events = row(risk), AuditEvent.objects.count()

    response = as_lead.patch(f"/api/v1/risks/{risk.pk}/", {field: value}, **JSON)

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Invalid input: {field}.",
        "code": "invalid",
        field: [OUT_OF_SCALE.format(name=LABELS[field], value=value)],
    }
    assert row(risk) == before
    assert AuditEvent.objects.count() == events


def test_a_missing_likelihood_is_a_field_error(as_lead, project):
    response = as_lead.post("/api/v1/risks/", {"project": project.slug, "title": "Leak", "category": "privacy",
                                               "impact": 3}, **JSON)  # fmt: skip
    assert response.status_code == 400
    assert response.json() == invalid_input("likelihood", "This field is required.")


@pytest.mark.parametrize("justification", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_a_residual_score_above_the_inherent_one_needs_a_justification(as_lead, project, justification):
    body = {"project": project.slug, "title": "Leak", "category": "privacy", "likelihood": 2, "impact": 2,
            "residual_likelihood": 3, "residual_impact": 3}  # fmt: skip
    if justification is not None:
        body["residual_justification"] = justification
    events = AuditEvent.objects.count()

    response = as_lead.post("/api/v1/risks/", body, **JSON)

    assert response.status_code == 400
    assert response.json() == invalid_input(
        "residual_justification", RESIDUAL_ABOVE_INHERENT.format(residual=9, inherent=4)
    )
    assert Risk.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_a_residual_score_above_the_inherent_one_with_a_justification_is_kept(as_lead, project):
    why = "The vendor's new model is less accurate than the one we assessed."
    body = {"project": project.slug, "title": "Leak", "category": "privacy", "likelihood": 2, "impact": 2,
            "residual_likelihood": 3, "residual_impact": 3, "residual_justification": why}  # fmt: skip
    response = as_lead.post("/api/v1/risks/", body, **JSON)
    assert response.status_code == 201
    assert (response.json()["residual_score"], response.json()["residual_justification"]) == (9, why)


def test_raising_the_residual_above_the_inherent_score_without_a_justification_changes_nothing(as_lead, project):
    risk = new_risk(project, likelihood=2, impact=2)
    before, events = row(risk), AuditEvent.objects.count()

    response = as_lead.patch(f"/api/v1/risks/{risk.pk}/", {"residual_likelihood": 3, "residual_impact": 3}, **JSON)

    assert response.status_code == 400
    assert response.json() == invalid_input(
        "residual_justification", RESIDUAL_ABOVE_INHERENT.format(residual=9, inherent=4)
    )
    assert row(risk) == before
    assert AuditEvent.objects.count() == events


def test_lowering_the_residual_score_moves_the_review_date_to_the_new_levels_cadence(as_lead, project):
    with on_day(timezone.localdate() - dt.timedelta(days=10)):
        risk = new_risk(project, likelihood=4, impact=4)  # high: due 80 days from now
    response = as_lead.patch(f"/api/v1/risks/{risk.pk}/", {"residual_likelihood": 1, "residual_impact": 2}, **JSON)
    assert response.status_code == 200
    assert (response.json()["residual_level"], response.json()["next_review_date"]) == ("low", today_plus(365))
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "risk.updated"
    assert event.before["residual_level"] == "high"
    assert event.after["residual_level"] == "low"


def test_an_update_that_changes_nothing_records_nothing(as_lead, project):
    risk = new_risk(project, likelihood=3, impact=3)
    events = AuditEvent.objects.count()
    response = as_lead.patch(f"/api/v1/risks/{risk.pk}/", {"title": risk.title, "likelihood": 3}, **JSON)
    assert response.status_code == 200
    assert AuditEvent.objects.count() == events


# --- transitions ------------------------------------------------------------------------------------

STATUSES = ["open", "mitigating", "accepted", "closed"]
# The state machine as the issue describes it, written out here rather than read from the code.
ALLOWED = {
    "open": {"mitigating", "accepted", "closed"},
    "mitigating": {"open", "accepted", "closed"},
    "accepted": {"accepted", "mitigating", "closed"},  # accepting again renews the acceptance
    "closed": {"open"},
}
MOVES = [(a, b) for a in STATUSES for b in STATUSES]


def put_in(risk: Risk, status: str) -> Risk:
    if status != RiskStatus.OPEN:
        until = timezone.localdate() + dt.timedelta(days=365) if status == RiskStatus.ACCEPTED else None
        services.risk_transition(
            by=None, risk=risk, status=status, justification="Set up by the test.", accept_until=until
        )
    return Risk.objects.get(pk=risk.pk)


@pytest.mark.parametrize(("current", "target"), MOVES, ids=[f"{a}->{b}" for a, b in MOVES])
def test_every_transition_is_allowed_or_refused_as_the_state_machine_says(as_officer, project, current, target):
    risk = put_in(new_risk(project, likelihood=2, impact=2), current)
    before, events = row(risk), AuditEvent.objects.count()

    response = as_officer.post(
        f"/api/v1/risks/{risk.pk}/transition/", {"status": target, "justification": "Within appetite."}, **JSON
    )

    if target in ALLOWED[current]:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == target
        assert Risk.objects.get(pk=risk.pk).status == target
        assert list(AuditEvent.objects.filter(seq__gt=events).values_list("action", "actor_repr")) == [
            (f"risk.{target}", "risk")
        ]
        return
    if target == current:
        message = SAME_RISK_STATUS.format(status=current)
    else:
        allowed = ", ".join(s for s in STATUSES if s in ALLOWED[current] and s != current)
        message = ILLEGAL_RISK_TRANSITION.format(current=current, target=target, allowed=allowed)
    assert response.status_code == 400
    assert response.json() == {"detail": message, "status": [message], "code": "illegal_transition"}
    assert row(risk) == before
    assert AuditEvent.objects.count() == events


def test_the_illegal_transition_message_names_the_allowed_moves(as_officer, project):
    risk = put_in(new_risk(project, likelihood=2, impact=2), "closed")
    response = as_officer.post(f"/api/v1/risks/{risk.pk}/transition/", {"status": "accepted"}, **JSON)
    assert response.json()["status"] == ["A risk cannot move from closed to accepted. Allowed: open."]


def test_an_unknown_status_is_a_field_error(as_officer, project):
    risk = new_risk(project)
    response = as_officer.post(f"/api/v1/risks/{risk.pk}/transition/", {"status": "done"}, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("status", '"done" is not a valid choice.')


def test_status_cannot_be_changed_by_an_update(as_lead, project):
    risk = new_risk(project)
    response = as_lead.patch(f"/api/v1/risks/{risk.pk}/", {"status": "closed"}, **JSON)
    assert response.status_code == 200
    assert Risk.objects.get(pk=risk.pk).status == "open"


# --- acceptance -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "level"), [((4, 4), "high"), ((2, 5), "high"), ((5, 5), "critical")])
def test_team_lead_cannot_accept_a_high_or_critical_residual_risk(as_lead, project, cell, level):
    risk = new_risk(project, likelihood=cell[0], impact=cell[1])
    before, events = row(risk), AuditEvent.objects.count()

    response = as_lead.post(
        f"/api/v1/risks/{risk.pk}/transition/", {"status": "accepted", "justification": "We can live with it."}, **JSON
    )

    assert response.status_code == 403
    assert response.json() == {
        "detail": ACCEPT_NEEDS_RISK_OFFICER.format(level=level),
        "code": "permission_denied",
    }
    assert response.json()["detail"] == (
        f"Only a risk officer can accept a risk whose residual level is {level}; ask a risk officer to review it."
    )
    assert row(risk) == before
    assert AuditEvent.objects.count() == events


def test_an_admin_without_the_risk_officer_role_cannot_accept_a_high_residual_risk(client, admin_user, project):
    risk = new_risk(project, likelihood=4, impact=4)
    client.force_login(admin_user)
    response = client.post(
        f"/api/v1/risks/{risk.pk}/transition/", {"status": "accepted", "justification": "Fine."}, **JSON
    )
    assert response.status_code == 403
    assert Risk.objects.get(pk=risk.pk).status == "open"


def test_team_lead_may_accept_a_medium_residual_risk(as_lead, project, team_lead):
    risk = new_risk(project, likelihood=3, impact=3)
    response = as_lead.post(
        f"/api/v1/risks/{risk.pk}/transition/", {"status": "accepted", "justification": "Within appetite."}, **JSON
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["accepted_by"]) == ("accepted", "lead")


def test_risk_officer_accepts_a_high_residual_risk_and_the_audit_trail_shows_who_when_and_why(
    as_officer, project, risk_officer
):
    risk = new_risk(project, likelihood=4, impact=4)
    why = "Manual review of every denial until the retrained model ships in Q3."
    started = timezone.now()

    until = today_plus(180)
    response = as_officer.post(
        f"/api/v1/risks/{risk.pk}/transition/",
        {"status": "accepted", "justification": why, "accept_until": until},
        **JSON,
    )

    finished = timezone.now()
    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["accepted_by"], data["acceptance_justification"]) == ("accepted", "risk", why)
    assert (data["acceptance_expires_on"], data["acceptance_expired"]) == (until, False)
    assert data["allowed_transitions"] == ["mitigating", "closed"]
    risk.refresh_from_db()
    assert (risk.status, risk.accepted_by, risk.acceptance_justification) == ("accepted", risk_officer, why)
    assert started <= risk.accepted_at <= finished
    event = AuditEvent.objects.get(action="risk.accepted", object_id=str(risk.pk))
    assert (event.actor_id, event.actor_repr) == (risk_officer.pk, "risk")  # who
    assert started <= event.occurred_at <= finished  # when
    assert event.before == {
        "status": "open", "acceptance_expires_on": None, "next_review_date": today_plus(90), "review_overdue": False,
    }  # fmt: skip
    assert event.after == {  # why, what was accepted, until when, and (a review) the next review date
        "status": "accepted", "justification": why, "residual_level": "high", "residual_score": 16,
        "acceptance_expires_on": until, "next_review_date": today_plus(90), "review_overdue": False,
    }  # fmt: skip
    # The same answer through the audit API, which a risk officer reads.
    trail = as_officer.get("/api/v1/audit-events/", {"action": "risk.accepted", "object_id": str(risk.pk)}).json()
    assert [(e["actor_repr"], e["after"]["justification"]) for e in trail["results"]] == [("risk", why)]


def test_accepting_needs_a_written_justification_even_from_a_risk_officer(as_officer, project):
    risk = new_risk(project, likelihood=4, impact=4)
    before, events = row(risk), AuditEvent.objects.count()
    response = as_officer.post(f"/api/v1/risks/{risk.pk}/transition/", {"status": "accepted"}, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("justification", ACCEPT_NEEDS_JUSTIFICATION)
    assert row(risk) == before
    assert AuditEvent.objects.count() == events


def test_leaving_acceptance_withdraws_it_and_the_trail_keeps_it(as_officer, project):
    risk = put_in(new_risk(project, likelihood=4, impact=4), "accepted")
    response = as_officer.post(f"/api/v1/risks/{risk.pk}/transition/", {"status": "mitigating"}, **JSON)
    assert response.status_code == 200
    assert (response.json()["accepted_by"], response.json()["acceptance_justification"]) == (None, "")
    assert AuditEvent.objects.filter(action="risk.accepted", object_id=str(risk.pk)).count() == 1


# --- review, delete ---------------------------------------------------------------------------------


def test_a_review_moves_the_next_review_date_on_and_is_audited_with_its_note(as_lead, project, team_lead):
    with on_day(timezone.localdate() - dt.timedelta(days=100)):
        risk = new_risk(project, likelihood=4, impact=4)  # high: was due 10 days ago
    response = as_lead.post(f"/api/v1/risks/{risk.pk}/review/", {"note": "Drift monitor checked."}, **JSON)
    assert response.status_code == 200
    assert response.json()["next_review_date"] == today_plus(90)
    assert response.json()["last_reviewed_at"] is not None
    event = AuditEvent.objects.get(action="risk.reviewed")
    assert event.actor_repr == "lead"
    assert event.before["next_review_date"] == (timezone.localdate() - dt.timedelta(days=10)).isoformat()
    assert event.after == {
        "next_review_date": today_plus(90),
        "review_overdue": False,
        "note": "Drift monitor checked.",
    }


@pytest.mark.parametrize("status", STATUSES)
def test_a_risk_is_never_deleted_the_api_says_to_close_it(as_officer, project, status):
    risk = put_in(new_risk(project, likelihood=2, impact=2), status)
    before, events = row(risk), AuditEvent.objects.count()
    response = as_officer.delete(f"/api/v1/risks/{risk.pk}/")
    assert response.status_code == 400
    assert response.json() == {"detail": RISK_NOT_DELETED, "code": "not_deletable"}
    assert row(risk) == before
    assert AuditEvent.objects.count() == events


# --- mitigations ------------------------------------------------------------------------------------


def test_mitigation_flow_from_plan_to_a_lower_residual_risk(as_lead, project, team_lead):
    risk_id = as_lead.post("/api/v1/risks/", {"project": project.slug, "title": "Unfair denials",
                           "category": "fairness", "likelihood": 4, "impact": 4}, **JSON).json()["id"]  # fmt: skip

    created = as_lead.post("/api/v1/mitigations/", {"risk": risk_id, "action": "Reweigh the training data",
                           "due_date": today_plus(30)}, **JSON)  # fmt: skip
    assert created.status_code == 201, created.json()
    mitigation = created.json()
    assert {k: mitigation[k] for k in ("risk", "action", "owner", "due_date", "status", "overdue")} == {
        "risk": risk_id, "action": "Reweigh the training data", "owner": "lead", "due_date": today_plus(30),
        "status": "planned", "overdue": False,
    }  # fmt: skip
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_repr, event.after["risk"], event.after["status"]) == (
        "mitigation.created",
        "lead",
        risk_id,
        "planned",
    )

    assert as_lead.post(f"/api/v1/risks/{risk_id}/transition/", {"status": "mitigating"}, **JSON).status_code == 200
    for status in ("in_progress", "done"):
        response = as_lead.patch(f"/api/v1/mitigations/{mitigation['id']}/", {"status": status}, **JSON)
        assert (response.status_code, response.json()["status"]) == (200, status)
    updates = AuditEvent.objects.filter(action="mitigation.updated", object_id=str(mitigation["id"])).order_by("seq")
    assert [(e.before, e.after) for e in updates] == [
        ({"status": "planned"}, {"status": "in_progress"}),
        ({"status": "in_progress"}, {"status": "done"}),
    ]

    lowered = as_lead.patch(f"/api/v1/risks/{risk_id}/", {"residual_likelihood": 2, "residual_impact": 2}, **JSON)
    assert lowered.status_code == 200
    # Now low, so the team lead may accept it; the mitigation shows on the risk.
    accepted = as_lead.post(f"/api/v1/risks/{risk_id}/transition/",
                            {"status": "accepted", "justification": "Mitigated to low."}, **JSON).json()  # fmt: skip
    assert (accepted["status"], accepted["residual_level"], accepted["inherent_level"]) == ("accepted", "low", "high")
    assert [(m["action"], m["status"]) for m in accepted["mitigations"]] == [("Reweigh the training data", "done")]
    listed = as_lead.get("/api/v1/mitigations/", {"risk": risk_id}).json()
    assert [m["id"] for m in listed["results"]] == [mitigation["id"]]


def test_a_mitigation_past_its_due_date_and_not_done_is_overdue(as_lead, project):
    risk = new_risk(project)
    late = MitigationFactory(risk=risk, action="Bias audit", due_date=timezone.localdate() - dt.timedelta(days=1))
    MitigationFactory(risk=risk, action="Model card", due_date=timezone.localdate() - dt.timedelta(days=1),
                      status="done")  # fmt: skip
    MitigationFactory(risk=risk, action="Fairness metric in CI")  # no due date
    data = as_lead.get(f"/api/v1/risks/{risk.pk}/").json()
    assert [(m["action"], m["overdue"]) for m in data["mitigations"]] == [
        ("Bias audit", True), ("Model card", False), ("Fairness metric in CI", False),
    ]  # fmt: skip
    assert late.pk == data["mitigations"][0]["id"]


def test_a_team_lead_cannot_add_a_mitigation_to_another_teams_risk(client, other_lead, project):
    risk = new_risk(project)
    client.force_login(other_lead)
    events = AuditEvent.objects.count()
    response = client.post("/api/v1/mitigations/", {"risk": risk.pk, "action": "Something"}, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("risk", f'Invalid pk "{risk.pk}" - object does not exist.')
    assert Mitigation.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_an_executive_reads_mitigations_but_cannot_add_one(client, executive, project):
    risk = new_risk(project)
    MitigationFactory(risk=risk, action="Bias audit")
    client.force_login(executive)
    assert [m["action"] for m in client.get("/api/v1/mitigations/").json()["results"]] == ["Bias audit"]
    response = client.post("/api/v1/mitigations/", {"risk": risk.pk, "action": "Something"}, **JSON)
    assert response.status_code == 403
    assert Mitigation.objects.count() == 1


def test_a_mitigation_with_an_unknown_status_is_refused(as_lead, project):
    mitigation = MitigationFactory(risk=new_risk(project), action="Bias audit")
    response = as_lead.patch(f"/api/v1/mitigations/{mitigation.pk}/", {"status": "finished"}, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("status", '"finished" is not a valid choice.')
    assert Mitigation.objects.get(pk=mitigation.pk).status == "planned"


# --- scope and filters ------------------------------------------------------------------------------


@pytest.fixture
def register(project, other_project):
    """Four risks across two teams' projects, with distinct levels, categories and one overdue."""
    with on_day(timezone.localdate() - dt.timedelta(days=40)):
        overdue = new_risk(project, title="Critical leak", category="privacy", likelihood=5, impact=5)
    services.risk_reviews_mark_overdue()
    return {
        "overdue": overdue,
        "high": new_risk(project, title="Unfair denials", category="fairness", likelihood=4, impact=4),
        "low": new_risk(project, title="Typo in letters", category="reputational", likelihood=1, impact=2),
        "theirs": new_risk(other_project, title="Churn data leak", category="privacy", likelihood=3, impact=3),
    }


def titles(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [r["title"] for r in response.json()["results"]]


SCOPES = [
    ("executive", ["Critical leak", "Unfair denials", "Churn data leak", "Typo in letters"]),
    ("risk_officer", ["Critical leak", "Unfair denials", "Churn data leak", "Typo in letters"]),
    ("admin_user", ["Critical leak", "Unfair denials", "Churn data leak", "Typo in letters"]),
    ("team_lead", ["Critical leak", "Unfair denials", "Typo in letters"]),
    ("other_lead", ["Churn data leak"]),
]


@pytest.mark.parametrize(("user_fixture", "expected"), SCOPES)
def test_the_risk_list_holds_only_the_risks_the_user_may_see_worst_first(
    client, request, register, user_fixture, expected
):
    client.force_login(request.getfixturevalue(user_fixture))
    assert titles(client.get("/api/v1/risks/")) == expected


FILTERS = [
    ({"level": "critical"}, ["Critical leak"]),
    ({"level": ["high", "critical"]}, ["Critical leak", "Unfair denials"]),
    ({"overdue": "true"}, ["Critical leak"]),
    ({"overdue": "false"}, ["Unfair denials", "Churn data leak", "Typo in letters"]),
    ({"category": "privacy"}, ["Critical leak", "Churn data leak"]),
    ({"team": "marketing"}, ["Churn data leak"]),
    ({"project": "fraud-scoring", "status": "open"}, ["Critical leak", "Unfair denials", "Typo in letters"]),
    ({"likelihood": 4, "impact": 4}, ["Unfair denials"]),
    ({"residual_likelihood": 1, "residual_impact": 2}, ["Typo in letters"]),
    ({"q": "leak"}, ["Critical leak", "Churn data leak"]),
    ({"ordering": "review"}, ["Critical leak", "Unfair denials", "Churn data leak", "Typo in letters"]),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_risk_list_filters(as_officer, register, params, expected):
    assert titles(as_officer.get("/api/v1/risks/", params)) == expected


def test_risk_list_filters_by_the_projects_tier(as_officer, register, project, risk_officer):
    assessments.tier_assessment_submit(
        by=risk_officer, project=project, answers=complete(D1="5b", D2="none", D3="yes", D6="no", D7="no")
    )
    assert titles(as_officer.get("/api/v1/risks/", {"tier": "high"})) == [
        "Critical leak", "Unfair denials", "Typo in letters",
    ]  # fmt: skip
    assert as_officer.get(f"/api/v1/risks/{register['high'].pk}/").json()["project_tier"] == "high"


def test_a_bad_filter_value_is_a_400_not_an_empty_or_full_list(as_officer, register):
    response = as_officer.get("/api/v1/risks/", {"likelihood": 7})
    assert response.status_code == 400
    assert response.json() == invalid_input(
        "likelihood", "Select a valid choice. 7 is not one of the available choices."
    )


def test_a_team_lead_cannot_filter_by_a_team_they_cannot_see(as_lead, register):
    response = as_lead.get("/api/v1/risks/", {"team": "marketing"})
    assert response.status_code == 400
    assert response.json() == invalid_input("team", NOT_A_CHOICE)


def test_another_teams_risk_is_a_404_for_a_team_lead(as_lead, register):
    assert as_lead.get(f"/api/v1/risks/{register['theirs'].pk}/").status_code == 404
    response = as_lead.post(f"/api/v1/risks/{register['theirs'].pk}/transition/", {"status": "closed"}, **JSON)
    assert response.status_code == 404
    assert Risk.objects.get(pk=register["theirs"].pk).status == "open"


def test_a_team_lead_cannot_create_a_risk_in_another_teams_project(as_lead, other_project):
    body = {"project": other_project.slug, "title": "Leak", "category": "privacy", "likelihood": 3, "impact": 3}
    response = as_lead.post("/api/v1/risks/", body, **JSON)
    assert response.status_code == 400
    assert response.json() == invalid_input("project", "Object with slug=churn-model does not exist.")
    assert Risk.objects.count() == 0


# --- query counts -----------------------------------------------------------------------------------

SMALL, LARGE = 1, 50


def add_risks(n: int, project) -> None:
    """n risks, each with its own owner and two mitigations with their own owners."""
    for i in range(n):
        risk = new_risk(project, title=f"Risk {i}", likelihood=1 + i % 5, impact=1 + (i // 5) % 5, owner=UserFactory())
        MitigationFactory(risk=risk, owner=UserFactory())
        MitigationFactory(risk=risk, owner=UserFactory())


def queries_for(client, url: str, expect_rows: int) -> QueryCount:
    queries, response = get_counting_queries(client, url)
    assert len(response.json()["results"]) == expect_rows
    return queries


# Session, user, roles, COUNT, risks (with project, team, owner, acceptor), mitigations (with owners).
RISK_LIST_BUDGET = 6


@pytest.mark.parametrize(("user_fixture", "extra"), [("executive", 0), ("team_lead", 1)])
def test_risk_api_list_costs_the_same_queries_for_one_or_fifty_risks(
    client, request, project, team_lead, user_fixture, extra
):
    # A team lead's scope costs one more query (the teams they lead and those they belong to).
    client.force_login(request.getfixturevalue(user_fixture))
    add_risks(SMALL, project)
    small = queries_for(client, "/api/v1/risks/", SMALL)
    add_risks(LARGE - SMALL, AIProjectFactory(team=project.team))
    large = queries_for(client, "/api/v1/risks/", LARGE)
    assert_queries(small, large, equal=RISK_LIST_BUDGET + extra, what="/api/v1/risks/")


def test_mitigation_api_list_costs_the_same_queries_for_one_or_fifty_risks(client, executive, project):
    client.force_login(executive)
    add_risks(SMALL, project)
    small = queries_for(client, "/api/v1/mitigations/?page_size=200", 2 * SMALL)
    add_risks(LARGE - SMALL, project)
    large = queries_for(client, "/api/v1/mitigations/?page_size=200", 2 * LARGE)
    # Session, user, roles, COUNT, mitigations (with risk, project, owner).
    assert_queries(small, large, equal=5, what="/api/v1/mitigations/")


def test_changing_the_scores_of_an_accepted_risk_withdraws_the_acceptance(team_lead, project):
    """Otherwise a team lead could accept a low risk, then raise it to critical while it stays accepted."""
    from governance.models import AuditEvent
    from governance.risks import services as governance_services

    risk = governance_services.risk_create(
        by=team_lead, project=project, title="Drift", category="robustness", likelihood=5, impact=5,
        residual_likelihood=1, residual_impact=1,
    )  # fmt: skip
    governance_services.risk_transition(by=team_lead, risk=risk, status="accepted", justification="Low after fixes")

    risk = governance_services.risk_update(by=team_lead, risk=risk, residual_likelihood=5, residual_impact=5)

    assert (risk.status, risk.residual_level, risk.accepted_by, risk.acceptance_justification) == (
        "open", "critical", None, "",
    )  # fmt: skip
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.before["status"], event.after["status"]) == ("risk.updated", "accepted", "open")
    # The one event says what the withdrawal changed, field by field (core.services.model_update).
    assert (event.before["accepted_by"], event.after["accepted_by"]) == (team_lead.pk, None)
    assert (event.before["acceptance_justification"], event.after["acceptance_justification"]) == (
        "Low after fixes", "",
    )  # fmt: skip
    assert event.after["residual_level"] == "critical"


def test_editing_the_description_of_an_accepted_risk_keeps_the_acceptance(risk_officer, project):
    from governance.risks import services as governance_services

    risk = governance_services.risk_create(by=risk_officer, project=project, title="Bias", category="fairness",
                                           likelihood=4, impact=4)  # fmt: skip
    governance_services.risk_transition(by=risk_officer, risk=risk, status="accepted", justification="Signed off",
                                        accept_until=timezone.localdate() + dt.timedelta(days=30))  # fmt: skip
    risk = governance_services.risk_update(by=risk_officer, risk=risk, description="More detail")
    assert (risk.status, risk.accepted_by) == ("accepted", risk_officer)
