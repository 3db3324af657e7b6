"""The sign-off pages end to end: a team lead asks on the project's Sign-off tab, reviewers decide from
the queue, and the refusals of separation of duties show on the page, are audited and change nothing.

Each flow is checked in the response, the database and the audit trail.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from core.roles import Role
from governance.models import AuditEvent, SignOffDecision, SignOffRequest
from governance.risks.assessments import tier_assessment_submit
from governance.risks.services import risk_transition
from governance.signoff import services as signoff_services
from projects.models import LinkSource
from tests.factories import AIProjectFactory, make_user
from tests.query_counts import QueryCount, assert_queries, get_counting_queries
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, RegistryFactory, hold
from tests.risk_factories import RiskFactory
from tests.tier_answers import complete

MINIMAL: dict = {}  # every answer at its default
HIGH = {"D1": "4a", "D3": "yes"}  # Annex III 4(a), profiling: high
PROHIBITED = {"B3": "yes"}  # Art. 5(1)(c)

QUEUE = "/governance/signoffs/"


@pytest.fixture
def model(project):
    registry = RegistryFactory(name="mlflow-prod")
    return RegisteredModelFactory(registry=registry, name="fraud-detector", project=project, link_source=LinkSource.TAG)


@pytest.fixture
def version(model):
    v = ModelVersionFactory(
        registered_model=model, version="3", tags={"keel.digest": "sha256:abc123", "metric.auc": "0.91"}
    )
    hold(v, "challenger", T0)
    return v


@pytest.fixture
def compliance(db):
    return make_user("dpo", Role.COMPLIANCE, first_name="Dana", last_name="Petrov")


def assess(project, answers, by):
    return tier_assessment_submit(by=by, project=project, answers=complete(answers))


def page_url(signoff) -> str:
    return f"/governance/signoffs/{signoff.pk}/"


def request_signoff(client, project, version, justification="AUC up 2 points on the holdout."):
    return client.post(
        f"/governance/projects/{project.slug}/signoffs/new/",
        {"version": version.pk, "justification": justification},
    )


def decide(client, signoff, verdict, comment="", role=None):
    data = {"verdict": verdict, "comment": comment, **({"role": role} if role else {})}
    return client.post(f"/governance/signoffs/{signoff.pk}/decide/", data)


def actions_since(seq: int) -> list[str]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq").values_list("action", flat=True))


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def state():
    """What a refused write must leave as it was (the audit trail aside)."""
    return (
        list(SignOffRequest.objects.order_by("pk").values_list("pk", "status", "status_reason", "decided_at")),
        list(SignOffDecision.objects.order_by("pk").values_list("pk", "reviewer_id", "role", "verdict")),
    )


# --- the happy paths --------------------------------------------------------------------------------


def test_team_lead_requests_and_a_risk_officer_approves_from_the_queue(
    client, team_lead, risk_officer, project, version
):
    assess(project, MINIMAL, team_lead)
    client.force_login(team_lead)
    tab = client.get(f"/governance/projects/{project.slug}/signoffs/")
    assert tab.status_code == 200
    html = tab.content.decode()
    assert "Request sign-off" in html
    assert f'<option value="{version.pk}">fraud-detector v3 (mlflow-prod) — challenger</option>' in html
    assert "after approval by <strong>Risk Officer</strong>" in html
    assert "No sign-off has been requested for this project yet." in html

    seq = last_seq()
    response = request_signoff(client, project, version)

    signoff = SignOffRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page_url(signoff)
    assert (signoff.status, signoff.requested_by, signoff.model_version, signoff.justification) == (
        "pending", team_lead, version, "AUC up 2 points on the holdout.",
    )  # fmt: skip
    assert (signoff.fingerprint["digest"], signoff.fingerprint["tier"]) == ("sha256:abc123", "minimal")
    assert actions_since(seq) == ["signoff.requested"]
    followed = client.get(response["Location"])
    assert messages_of(followed) == [
        f"Sign-off #{signoff.pk} requested for fraud-detector v3: it waits for approval by Risk Officer."
    ]
    assert "decision_form" not in followed.context
    assert "You requested this sign-off" not in followed.content.decode()  # a team lead is no reviewer at all
    assert "withdraw_form" in followed.context

    # The risk officer finds it in the queue, opens it and approves it.
    client.force_login(risk_officer)
    queue = client.get(QUEUE)
    assert queue.context["tab"] == "queue"
    assert [s.pk for s in queue.context["signoffs"]] == [signoff.pk]
    assert f'href="/governance/signoffs/{signoff.pk}/">#{signoff.pk} fraud-detector v3</a>' in queue.content.decode()
    detail = client.get(page_url(signoff))
    assert detail.status_code == 200
    assert "role" not in detail.context["decision_form"].fields  # one required role held: no choice to make
    seq = last_seq()
    response = decide(client, signoff, "approve", comment="Evidence reviewed.")

    assert response.status_code == 302
    assert response["Location"] == page_url(signoff)
    signoff.refresh_from_db()
    assert signoff.status == "approved"
    assert signoff.valid_until is None  # the minimal policy needs no re-certification
    assert list(signoff.decisions.values_list("reviewer__username", "role", "verdict", "comment")) == [
        ("risk", "Risk Officer", "approve", "Evidence reviewed.")
    ]
    assert actions_since(seq) == ["signoff.decided", "signoff.approved"]
    followed = client.get(response["Location"])
    assert messages_of(followed) == [
        f"Sign-off #{signoff.pk} approved: the deployment gate now allows fraud-detector v3 to production."
    ]
    assert "This request is approved: it takes no more decisions." in followed.content.decode()
    assert list(client.get(QUEUE).context["signoffs"]) == []


def test_a_high_tier_sign_off_needs_a_risk_officer_and_then_a_distinct_compliance_officer(
    client, team_lead, risk_officer, compliance, project, version
):
    assess(project, HIGH, team_lead)
    client.force_login(team_lead)
    request_signoff(client, project, version)
    signoff = SignOffRequest.objects.get()
    assert signoff.policy.required_roles == ["Risk Officer", "Compliance Officer"]

    # Both reviewers see it waiting; the risk officer approves first.
    client.force_login(compliance)
    assert [s.pk for s in client.get(QUEUE).context["signoffs"]] == [signoff.pk]
    client.force_login(risk_officer)
    response = decide(client, signoff, "approve")
    assert messages_of(client.get(response["Location"])) == [
        f"Your approval as Risk Officer is recorded; sign-off #{signoff.pk} still waits for: Compliance Officer."
    ]
    signoff.refresh_from_db()
    assert signoff.status == "pending"
    assert list(client.get(QUEUE).context["signoffs"]) == []  # their role is filled
    page = client.get(page_url(signoff))
    assert page.context["missing_roles"] == ["Compliance Officer"]
    assert "Waiting for: Compliance Officer" in page.content.decode()

    # The compliance officer completes it.
    client.force_login(compliance)
    queue = client.get(QUEUE)
    assert [(s.pk, s.missing_roles) for s in queue.context["signoffs"]] == [(signoff.pk, ["Compliance Officer"])]
    seq = last_seq()
    response = decide(client, signoff, "approve", comment="DPIA on file.")
    assert response.status_code == 302
    signoff.refresh_from_db()
    assert signoff.status == "approved"
    assert list(signoff.decisions.values_list("reviewer__username", "role")) == [
        ("risk", "Risk Officer"), ("dpo", "Compliance Officer"),
    ]  # fmt: skip
    assert abs(signoff.valid_until - (timezone.now() + dt.timedelta(days=365))) < dt.timedelta(minutes=1)
    assert actions_since(seq) == ["signoff.decided", "signoff.approved"]


def test_a_rejection_needs_a_reason_and_the_pages_show_it(client, team_lead, risk_officer, project, version):
    assess(project, MINIMAL, team_lead)
    signoff = signoff_services.signoff_request(by=team_lead, version=version, justification="")
    client.force_login(risk_officer)
    before, seq = state(), last_seq()

    response = decide(client, signoff, "reject")  # no comment

    assert response.status_code == 200
    assert response.context["decision_form"].errors == {"comment": [signoff_services.COMMENT_NEEDED]}
    assert (state(), last_seq()) == (before, seq)  # bad input: nothing written, nothing to audit

    response = decide(client, signoff, "reject", comment="No fairness test on the new postcode feature.")
    assert response.status_code == 302
    signoff.refresh_from_db()
    assert signoff.status == "rejected"
    assert list(signoff.decisions.values_list("verdict", "comment")) == [
        ("reject", "No fairness test on the new postcode feature.")
    ]
    assert actions_since(seq) == ["signoff.decided", "signoff.rejected"]
    page = client.get(page_url(signoff))
    assert messages_of(page) == [f"Sign-off #{signoff.pk} rejected: the deployment gate denies fraud-detector v3."]
    html = page.content.decode()
    assert "No fairness test on the new postcode feature." in html
    assert '<span class="verdict-reject">Reject</span>' in html
    client.force_login(team_lead)
    history = client.get(f"/governance/projects/{project.slug}/signoffs/").content.decode()
    assert '<span class="badge signoff-rejected">Rejected</span>' in history
    assert "No fairness test on the new postcode feature." in history


def test_the_requester_withdraws_a_pending_request(client, team_lead, risk_officer, project, version):
    assess(project, MINIMAL, team_lead)
    signoff = signoff_services.signoff_request(by=team_lead, version=version)
    client.force_login(team_lead)
    seq = last_seq()
    response = client.post(f"/governance/signoffs/{signoff.pk}/withdraw/", {"reason": "Retraining first."})
    assert response.status_code == 302
    signoff.refresh_from_db()
    assert (signoff.status, signoff.status_reason) == ("withdrawn", "Retraining first.")
    assert actions_since(seq) == ["signoff.withdrawn"]
    client.force_login(risk_officer)
    assert list(client.get(QUEUE).context["signoffs"]) == []


# --- refusals: shown, audited, nothing changed --------------------------------------------------------


def assert_refused(response, message: str, before, seq: int, *, by) -> None:
    assert response.status_code == 200
    assert response.context["refusal"] == message
    html = response.content.decode()
    assert "Refused:" in html
    assert message.replace("'", "&#x27;") in html
    assert state() == before
    refused = AuditEvent.objects.filter(seq__gt=seq).order_by("seq")
    assert [(e.action, e.actor_id, e.after["reason"]) for e in refused] == [
        ("signoff.decision_refused", by.pk, message)
    ]


def test_a_requester_who_is_also_a_risk_officer_cannot_approve_their_own_request(client, team, project, version):
    lead_and_officer = make_user("lars", Role.TEAM_LEAD, Role.RISK_OFFICER)
    team.members.add(lead_and_officer)
    assess(project, MINIMAL, lead_and_officer)
    client.force_login(lead_and_officer)
    request_signoff(client, project, version)
    signoff = SignOffRequest.objects.get()
    page = client.get(page_url(signoff))
    assert "decision_form" not in page.context
    assert signoff_services.SELF_REVIEW in page.content.decode()  # the page says why there is no form
    assert list(client.get(QUEUE).context["signoffs"]) == []
    before, seq = state(), last_seq()

    response = decide(client, signoff, "approve")

    assert_refused(response, signoff_services.SELF_REVIEW, before, seq, by=lead_and_officer)
    assert AuditEvent.objects.get(seq__gt=seq).after["code"] == "separation_of_duties"


def test_the_author_of_the_model_version_cannot_approve_it(client, team_lead, risk_officer, project, model):
    authored = ModelVersionFactory(registered_model=model, version="4", created_by="risk")  # risk_officer's username
    assess(project, MINIMAL, team_lead)
    signoff = signoff_services.signoff_request(by=team_lead, version=authored)
    assert signoff.version_author == risk_officer
    client.force_login(risk_officer)
    assert list(client.get(QUEUE).context["signoffs"]) == []
    before, seq = state(), last_seq()

    response = decide(client, signoff, "approve")

    assert_refused(response, signoff_services.AUTHOR_REVIEW, before, seq, by=risk_officer)


def test_one_person_holding_both_roles_cannot_fill_both(client, team_lead, project, version):
    both = make_user("rodpo", Role.RISK_OFFICER, Role.COMPLIANCE)
    assess(project, HIGH, team_lead)
    signoff = signoff_services.signoff_request(by=team_lead, version=version)
    client.force_login(both)
    form = client.get(page_url(signoff)).context["decision_form"]
    assert form.fields["role"].choices == [
        ("", "Any role of mine still needed"), ("Risk Officer", "Risk Officer"),
        ("Compliance Officer", "Compliance Officer"),
    ]  # fmt: skip
    assert decide(client, signoff, "approve", role="Risk Officer").status_code == 302
    page = client.get(page_url(signoff))
    assert "decision_form" not in page.context
    assert "You already approved this request as Risk Officer; one person fills one role." in page.content.decode()
    before, seq = state(), last_seq()

    response = decide(client, signoff, "approve", role="Compliance Officer")

    message = signoff_services.ONE_ROLE_EACH.format(
        verdict="approved", role="Risk Officer", missing="Compliance Officer"
    )
    assert_refused(response, message, before, seq, by=both)
    assert SignOffRequest.objects.get().status == "pending"


def test_a_decision_on_a_closed_request_is_refused(client, team_lead, risk_officer, project, version):
    assess(project, MINIMAL, team_lead)
    signoff = signoff_services.signoff_request(by=team_lead, version=version)
    signoff_services.signoff_decide(by=risk_officer, request=signoff, verdict="approve")
    second = make_user("risk2", Role.RISK_OFFICER)
    client.force_login(second)
    assert "decision_form" not in client.get(page_url(signoff)).context
    before, seq = state(), last_seq()

    response = decide(client, signoff, "reject", comment="Too late, but no.")

    assert_refused(response, signoff_services.NOT_PENDING.format(status="approved"), before, seq, by=second)
    assert AuditEvent.objects.get(seq__gt=seq).after["code"] == "conflict"


def test_only_reviewers_may_post_a_decision_and_only_requesters_a_withdrawal(
    client, team_lead, executive, risk_officer, project, version
):
    assess(project, MINIMAL, team_lead)
    signoff = signoff_services.signoff_request(by=team_lead, version=version)
    before, seq = state(), last_seq()
    for user, url in ((team_lead, "decide"), (executive, "decide"), (risk_officer, "withdraw")):
        client.force_login(user)
        response = client.post(f"/governance/signoffs/{signoff.pk}/{url}/", {"verdict": "approve", "reason": "x"})
        assert response.status_code == 403, (user, url)
    assert (state(), last_seq()) == (before, seq)


# --- requesting: clear refusals ---------------------------------------------------------------------


def test_requesting_before_the_tier_is_assessed_is_refused_with_the_reason(client, team_lead, project, version):
    client.force_login(team_lead)
    before, seq = state(), last_seq()
    response = request_signoff(client, project, version)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [signoff_services.NOT_ASSESSED]
    assert signoff_services.NOT_ASSESSED.replace("'", "&#x27;") in response.content.decode()
    assert (state(), last_seq()) == (before, seq)


def test_requesting_for_a_prohibited_system_is_refused(client, team_lead, project, version):
    assess(project, PROHIBITED, team_lead)
    client.force_login(team_lead)
    before, seq = state(), last_seq()
    response = request_signoff(client, project, version)
    assert response.context["form"].non_field_errors() == [signoff_services.NEVER_APPROVABLE]
    assert "can never be approved for deployment" in response.content.decode()
    assert (state(), last_seq()) == (before, seq)


def test_a_second_request_while_one_is_pending_is_refused(client, team_lead, project, version):
    assess(project, MINIMAL, team_lead)
    first = signoff_services.signoff_request(by=team_lead, version=version)
    client.force_login(team_lead)
    tab = client.get(f"/governance/projects/{project.slug}/signoffs/").content.decode()
    assert f"fraud-detector v3 (mlflow-prod) — challenger — sign-off #{first.pk} pending" in tab
    before, seq = state(), last_seq()
    response = request_signoff(client, project, version)
    assert response.context["form"].non_field_errors() == [signoff_services.ALREADY_PENDING.format(pk=first.pk)]
    assert (state(), last_seq()) == (before, seq)


def test_someone_who_sees_a_project_but_does_not_lead_it_cannot_request(client, project, version):
    outsider = make_user("olga", Role.TEAM_LEAD, Role.EXECUTIVE)  # reads everything, leads no team of it
    assess(project, MINIMAL, None)
    client.force_login(outsider)
    tab = client.get(f"/governance/projects/{project.slug}/signoffs/")
    assert tab.status_code == 200
    assert "form" not in tab.context
    before, seq = state(), last_seq()
    response = request_signoff(client, project, version)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [signoff_services.NOT_YOUR_PROJECT]
    assert (state(), last_seq()) == (before, seq)


def test_a_version_the_registry_no_longer_lists_is_not_offered(client, team_lead, project, model, version):
    gone = ModelVersionFactory(registered_model=model, version="2", deleted_at=timezone.now())
    assess(project, MINIMAL, team_lead)
    client.force_login(team_lead)
    tab = client.get(f"/governance/projects/{project.slug}/signoffs/")
    assert list(tab.context["form"].fields["version"].queryset) == [version]
    response = request_signoff(client, project, gone)
    assert response.status_code == 200
    assert "version" in response.context["form"].errors
    assert SignOffRequest.objects.count() == 0


# --- scope, lists, evidence -------------------------------------------------------------------------


def test_the_request_page_shows_the_evidence_pack(client, team_lead, executive, project, version):
    assess(project, HIGH, team_lead)
    closed = RiskFactory(project=project, title="Closed leak", category="privacy", likelihood=2, impact=2)
    risk_transition(by=None, risk=closed, status="closed", justification="Data deleted.")
    RiskFactory(project=project, title="Postcode bias", category="fairness", likelihood=4, impact=4)
    signoff = signoff_services.signoff_request(by=team_lead, version=version, justification="Ready.")
    client.force_login(executive)
    response = client.get(page_url(signoff))
    assert response.status_code == 200
    ctx = response.context
    assert "decision_form" not in ctx
    assert "withdraw_form" not in ctx
    assert [r.title for r in ctx["risks"]] == ["Postcode bias", "Closed leak"]  # live risks first
    assert [(d.signal, d.name) for d in ctx["deployments"]] == [("alias", "challenger")]
    assert [(m.name, m.value) for m in ctx["metric_rows"]] == [("auc", "0.91")]
    assert ctx["fingerprint_changes"] == []
    html = response.content.decode()
    for text in (
        "No personal data is recorded as reaching this version",
        "mlflow-prod",
        "s3://models/fraud-detector/3",
        "sha256:abc123",
        "ci-bot",
        "Still matches the present state.",
        "Annex III 4(a)",
        "Risk Officer, Compliance Officer",
        "every 365 days",
        "EUR 250,000.00",
        "Scores incoming claims for fraud.",
        "Postcode bias",
        "No decision yet.",
        "/api/v1/gate?registry=mlflow-prod&amp;model=fraud-detector&amp;version=3",
    ):
        assert text in html, text

    # A new high risk since the request: the page says the fingerprint no longer matches.
    RiskFactory(project=project, title="Model inverts for one region", category="robustness", likelihood=5, impact=5)
    changes = client.get(page_url(signoff)).context["fingerprint_changes"]
    assert len(changes) == 1
    assert changes[0].startswith("A high or critical risk was opened since it was reviewed")


def test_another_teams_lead_cannot_see_a_request(client, other_lead, team_lead, project, version):
    assess(project, MINIMAL, team_lead)
    signoff = signoff_services.signoff_request(by=team_lead, version=version)
    client.force_login(other_lead)
    assert client.get(page_url(signoff)).status_code == 404
    listing = client.get(QUEUE)
    assert listing.context["tab"] == "all"  # not a reviewer: the list of their scope
    assert list(listing.context["signoffs"]) == []
    assert "No sign-off has been requested yet." in listing.content.decode()
    assert client.post(f"/governance/signoffs/{signoff.pk}/withdraw/").status_code == 404


def test_the_list_of_all_requests_filters_by_status_project_and_tier(
    client, team, team_lead, risk_officer, project, model, version
):
    assess(project, MINIMAL, team_lead)
    other = AIProjectFactory(name="Claims triage", team=team, owner=team_lead)
    assess(other, HIGH, team_lead)
    other_version = ModelVersionFactory(
        registered_model=RegisteredModelFactory(registry=model.registry, name="triage", project=other)
    )
    approved = signoff_services.signoff_request(by=team_lead, version=version)
    signoff_services.signoff_decide(by=risk_officer, request=approved, verdict="approve")
    pending = signoff_services.signoff_request(by=team_lead, version=other_version)
    client.force_login(risk_officer)

    def shown(query):
        return [s.pk for s in client.get(QUEUE + query).context["signoffs"]]

    assert shown("?tab=all") == [pending.pk, approved.pk]
    assert shown("?status=approved") == [approved.pk]  # filters alone mean the list of all requests
    assert shown("?tab=all&project=claims-triage") == [pending.pk]
    assert shown("?tab=all&tier=minimal") == [approved.pk]
    assert shown("?tab=all&status=rejected") == []
    assert "No sign-off request matches these filters." in client.get(QUEUE + "?status=rejected").content.decode()
    assert shown("") == [pending.pk]  # the queue: only what waits
    empty = client.get(QUEUE + "?tab=queue&page=1")
    assert empty.context["queue_count"] == 1


# --- query counts -----------------------------------------------------------------------------------


def _queries(client, url) -> QueryCount:
    return get_counting_queries(client, url)[0]


def test_the_request_page_costs_the_same_queries_for_few_or_many_risks_and_decisions(
    client, team_lead, risk_officer, project, version
):
    owner = make_user("owner")
    assess(project, MINIMAL, team_lead)
    signoff = signoff_services.signoff_request(by=team_lead, version=version)
    reviewers = [make_user(f"ro{i}", Role.RISK_OFFICER) for i in range(20)]

    def grow(risks: int, decisions: int):
        for i in range(risks):
            RiskFactory(project=project, title=f"Risk {RiskFactory._meta.model.objects.count()}-{i}", owner=owner)
        for i in range(decisions):
            signoff_services.signoff_decide(
                by=reviewers[i % len(reviewers)], request=signoff, verdict="request_changes", comment=f"Check {i}."
            )

    client.force_login(risk_officer)
    grow(3, 2)
    small = _queries(client, page_url(signoff))
    grow(37, 28)
    large_response = client.get(page_url(signoff))
    large = _queries(client, page_url(signoff))
    assert (len(large_response.context["risks"]), len(large_response.context["decisions"])) == (40, 30)
    assert_queries(small, large, what="the request page at 3 risks and 2 decisions, then 40 and 30")


def test_the_queue_and_the_list_cost_the_same_queries_for_2_or_30_requests(
    client, team_lead, risk_officer, project, model
):
    assess(project, MINIMAL, team_lead)

    def add(n: int):
        for _ in range(n):
            v = ModelVersionFactory(registered_model=model)
            s = signoff_services.signoff_request(by=team_lead, version=v)
            signoff_services.signoff_decide(
                by=make_user(None, Role.RISK_OFFICER), request=s, verdict="request_changes", comment="More tests."
            )

    client.force_login(risk_officer)
    add(2)
    small = [_queries(client, QUEUE + q) for q in ("", "?tab=all", "?status=pending")]
    small_project = _queries(client, f"/governance/projects/{project.slug}/signoffs/")
    add(28)
    assert len(client.get(QUEUE).context["signoffs"]) == 25  # a full page
    large = [_queries(client, QUEUE + q) for q in ("", "?tab=all", "?status=pending")]
    large_project = _queries(client, f"/governance/projects/{project.slug}/signoffs/")
    for q, small_count, large_count in zip(("", "?tab=all", "?status=pending"), small, large, strict=True):
        assert_queries(small_count, large_count, what=QUEUE + q)
    assert_queries(small_project, large_project, what="the project's sign-off tab")


def test_the_project_tab_and_nav_link_lead_to_the_sign_off_pages(client, team_lead, project, version):
    assess(project, MINIMAL, team_lead)
    client.force_login(team_lead)
    html = client.get(f"/projects/{project.slug}/").content.decode()
    assert f'<a href="/governance/projects/{project.slug}/signoffs/">Sign-off</a>' in html
    assert re.search(r'<a href="/governance/signoffs/"\s*>Sign-offs</a>', html)
