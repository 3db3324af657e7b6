"""/api/v1/risk-assessments/: submit answers, get the tier and why; versions, scope, filters, refusals.

Each write is checked in the response, the database and the audit trail; each refusal changes nothing.
"""

from __future__ import annotations

import pytest

from core.roles import Role
from governance.models import AuditEvent, RiskTierAssessment
from governance.risks import assessments
from governance.risks.tiering import QUESTIONS, UNANSWERED, normalise
from projects.models import AIProject
from tests.api_errors import NOT_A_CHOICE, field_errors
from tests.factories import AIProjectFactory, UserFactory
from tests.query_counts import QueryCount, assert_queries, get_counting_queries
from tests.tier_answers import complete

URL = "/api/v1/risk-assessments/"
CV_SCREENING = {"D1": "4a", "D3": "yes"}  # regulation.md §13 example 1: high via Annex III 4(a)
CHATBOT = {"E1": "yes", "E2": "yes"}  # example 2: limited via Art. 50


def post(client, project, answers, *, fill: bool = True):
    """POST answers; `fill` answers every other question with its neutral answer (nothing is defaulted)."""
    body = {"project": project.slug, "answers": complete(answers) if fill else answers}
    return client.post(URL, body, content_type="application/json")


def assess(project, by, answers):
    return assessments.tier_assessment_submit(by=by, project=project, answers=complete(answers))


def state(project):
    """What a refused submission must leave as it was."""
    return (
        AIProject.objects.get(pk=project.pk).risk_tier,
        list(RiskTierAssessment.objects.values_list("project__slug", "version", "tier").order_by("id")),
        AuditEvent.objects.count(),
    )


def test_team_lead_submits_answers_and_gets_the_tier_route_flags_and_explanation(client, team_lead, project):
    client.force_login(team_lead)
    response = post(client, project, {**CV_SCREENING, "E1": "yes"})

    assert response.status_code == 201, response.content
    body = response.json()
    assessment = RiskTierAssessment.objects.get()
    assert {k: body[k] for k in ("project", "project_name", "version", "is_current", "tier", "route", "flags")} == {
        "project": "fraud-scoring", "project_name": "Fraud scoring", "version": 1, "is_current": True,
        "tier": "high", "route": "Annex III 4(a)", "flags": ["ART50_1"],
    }  # fmt: skip
    assert body["explanation"][:2] == [
        "High risk: Annex III 4(a) Recruitment and selection of candidates, and it profiles natural persons, so the "
        "Art. 6(3) derogation is unavailable; applies from 2 Dec 2027.",
        "Transparency duty — Art. 50(1): people must be told they are interacting with an AI system.",
    ]
    assert (body["id"], body["url"], body["assessed_by"]) == (
        assessment.pk, f"http://testserver{URL}{assessment.pk}/", "lead",
    )  # fmt: skip
    # Only the questions asked: D2 (no carve-out for 4(a)), D4/D5 (it profiles), F2/F3 (no GPAI model) are not.
    assert body["answers"] == normalise(complete(CV_SCREENING, E1="yes"))
    assert set(complete()) - set(body["answers"]) == {"C2", "D2", "D4", "D5", "F2", "F3"}
    assert body["unanswered"] == []
    assert body["flag_meanings"] == {"ART50_1": "Tell people they are interacting with an AI system (Art. 50(1))"}
    assert body["answers_hash"] == assessment.answers_hash
    assert len(assessment.answers_hash) == 64
    assert (assessment.tier, assessment.assessed_by, assessment.explanation) == ("high", team_lead, body["explanation"])
    project.refresh_from_db()
    assert project.risk_tier == "high"
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_repr, event.object_type, event.object_id, event.before) == (
        "tier_assessment.submitted", "lead", "governance.risktierassessment", str(assessment.pk), None,
    )  # fmt: skip
    assert event.after == {
        "project": project.pk, "version": 1, "tier": "high", "route": "Annex III 4(a)", "flags": ["ART50_1"],
        "answers_hash": assessment.answers_hash,
    }  # fmt: skip


def test_reassessment_adds_a_version_keeps_the_history_and_moves_the_project_tier(client, team_lead, project):
    client.force_login(team_lead)
    first = post(client, project, CV_SCREENING).json()
    second = post(client, project, CHATBOT)

    assert second.status_code == 201
    assert {k: second.json()[k] for k in ("version", "tier", "route", "flags", "is_current")} == {
        "version": 2, "tier": "limited", "route": "Art. 50", "flags": ["ART50_1", "ART50_2"], "is_current": True,
    }  # fmt: skip
    assert list(RiskTierAssessment.objects.order_by("version").values_list("version", "tier", "answers__D1")) == [
        (1, "high", "4a"), (2, "limited", "none"),
    ]  # fmt: skip
    assert AIProject.objects.get(pk=project.pk).risk_tier == "limited"
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.before, event.after["version"], event.after["tier"]) == (
        "tier_assessment.submitted", {"tier": "high"}, 2, "limited",
    )  # fmt: skip

    listed = client.get(URL).json()["results"]
    assert [(r["version"], r["tier"], r["is_current"]) for r in listed] == [(2, "limited", True), (1, "high", False)]
    earlier = client.get(f"{URL}{first['id']}/").json()
    assert (earlier["version"], earlier["tier"], earlier["is_current"], earlier["explanation"]) == (
        1, "high", False, first["explanation"],
    )  # fmt: skip


def test_project_api_shows_the_tier_and_refuses_to_set_it(client, team_lead, project):
    client.force_login(team_lead)
    assert client.get(f"/api/v1/projects/{project.slug}/").json()["risk_tier"] == ""
    assess(project, team_lead, CV_SCREENING)
    assert client.get("/api/v1/projects/").json()["results"][0]["risk_tier"] == "high"

    patched = client.patch(
        f"/api/v1/projects/{project.slug}/", {"risk_tier": "minimal"}, content_type="application/json"
    )

    assert (patched.status_code, patched.json()["risk_tier"]) == (200, "high")
    assert AIProject.objects.get(pk=project.pk).risk_tier == "high"


@pytest.mark.parametrize("user_fixture", ["risk_officer", "admin_user"])
def test_risk_officers_and_admins_assess_any_project(client, request, user_fixture, project, other_project):
    user = request.getfixturevalue(user_fixture)
    client.force_login(user)
    for target in (project, other_project):
        response = post(client, target, {"B3": "yes"})
        assert (response.status_code, response.json()["tier"], response.json()["route"]) == (
            201, "prohibited", "Art. 5(1)(c)",
        )  # fmt: skip
    assert set(AIProject.objects.values_list("risk_tier", flat=True)) == {"prohibited"}
    assert list(AuditEvent.objects.filter(action="tier_assessment.submitted").values_list("actor_id", flat=True)) == [
        user.pk, user.pk,
    ]  # fmt: skip


def test_an_executive_reads_but_cannot_submit(client, executive, team_lead, project):
    assess(project, team_lead, CV_SCREENING)
    client.force_login(executive)
    before = state(project)

    response = post(client, project, CHATBOT)

    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Your role does not allow this operation.", "code": "permission_denied"},
    )
    assert state(project) == before
    assert [r["tier"] for r in client.get(URL).json()["results"]] == ["high"]


def test_a_lead_of_another_team_cannot_assess_a_project_they_cannot_see(client, other_lead, project):
    client.force_login(other_lead)
    before = state(project)

    response = post(client, project, CHATBOT)

    assert (response.status_code, response.json()) == (
        400, {"detail": "Invalid input: project.", "code": "invalid",
              "project": ["Object with slug=fraud-scoring does not exist."]},
    )  # fmt: skip
    assert state(project) == before


def test_a_team_member_without_the_team_lead_role_is_refused(client, no_role_user, project):
    project.team.members.add(no_role_user)
    client.force_login(no_role_user)
    assert post(client, project, CHATBOT).status_code == 403
    assert client.get(URL).status_code == 403
    assert RiskTierAssessment.objects.count() == 0


# --- bad input: 400 naming each question, nothing changed --------------------------------------------------

BAD_ANSWERS = [
    (
        {"Z9": "yes", "B1": "maybe", "E1": "yes"},
        {"Z9": ["Unknown question 'Z9'."], "B1": ["'maybe' is not an answer to B1; choose one of: no, yes."]},
    ),
    (
        {"D1": "4a", "D2": "fraud_detection"},
        {"D2": ["'fraud_detection' is a carve-out of Annex III 5(b) only; answer D1 = 5(b), or D2 = none."]},
    ),
    ({"B1": ["yes"], "B2": None}, {"B1": ["Not a valid string."], "B2": ["This field may not be null."]}),
    ({"B1": True}, {"B1": ["Not a valid string."]}),
]


@pytest.mark.parametrize(("answers", "errors"), BAD_ANSWERS, ids=["unknown+invalid", "carve-out", "types", "boolean"])
def test_bad_answers_are_refused_per_question_and_change_nothing(client, team_lead, project, answers, errors):
    assess(project, team_lead, CV_SCREENING)
    client.force_login(team_lead)
    before = state(project)

    response = post(client, project, answers)

    assert (response.status_code, field_errors(response)) == (400, {"answers": errors})
    assert state(project) == before


def test_a_number_is_read_as_its_text(client, team_lead, project):
    """JSON clients may send an Annex I item as a number; 11 means item 11."""
    client.force_login(team_lead)
    response = post(client, project, {"C1": 11, "C2": "yes"})
    assert (response.status_code, response.json()["answers"]["C1"], response.json()["route"]) == (
        201, "11", "Art. 6(1), Annex I item 11",
    )  # fmt: skip


def test_an_untouched_or_incomplete_questionnaire_is_refused_per_question_and_changes_nothing(
    client, team_lead, project
):
    client.force_login(team_lead)
    before = state(project)
    empty = post(client, project, {}, fill=False)
    assert empty.status_code == 400
    assert set(field_errors(empty)["answers"]) == {
        "A1", "A3", "A4", "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "C1", "D1", "E1", "E2", "E3", "E4",
        "E5", "F1",
    }  # fmt: skip
    almost = complete(D1="4a")
    del almost["D3"]  # D3 follows from D1 and is left open
    response = post(client, project, almost, fill=False)
    assert (response.status_code, field_errors(response)) == (400, {"answers": {"D3": [UNANSWERED]}})
    assert state(project) == before
    project.refresh_from_db()
    assert project.risk_tier == ""


NOT_A_DICT = 'Expected a dictionary of items but got type "list".'


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"project": "fraud-scoring", "answers": ["B1"]}, {"answers": [NOT_A_DICT]}),
        ({"answers": complete()}, {"project": ["This field is required."]}),
        ({"project": "nope", "answers": complete()}, {"project": ["Object with slug=nope does not exist."]}),
    ],
    ids=["answers not an object", "no project", "unknown project"],
)  # fmt: skip
def test_a_malformed_body_is_refused_and_changes_nothing(client, team_lead, project, body, errors):
    client.force_login(team_lead)
    before = state(project)
    response = client.post(URL, body, content_type="application/json")
    assert (response.status_code, field_errors(response)) == (400, errors)
    assert state(project) == before


def test_assessments_cannot_be_changed_or_deleted(client, risk_officer, team_lead, project):
    assessment = assess(project, team_lead, CV_SCREENING)
    client.force_login(risk_officer)
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(f"{URL}{assessment.pk}/").status_code == 405
    assert RiskTierAssessment.objects.get().tier == "high"


# --- reads: scope and filters --------------------------------------------------------------------------------


@pytest.fixture
def assessed(team_lead, other_lead, project, other_project):
    """fraud-scoring: v1 high, v2 limited; churn-model: v1 prohibited."""
    assess(project, team_lead, CV_SCREENING)
    assess(project, team_lead, CHATBOT)
    assess(other_project, other_lead, {"B3": "yes"})


SCOPES = [
    ("executive", [("churn-model", 1), ("fraud-scoring", 2), ("fraud-scoring", 1)]),
    ("risk_officer", [("churn-model", 1), ("fraud-scoring", 2), ("fraud-scoring", 1)]),
    ("admin_user", [("churn-model", 1), ("fraud-scoring", 2), ("fraud-scoring", 1)]),
    ("team_lead", [("fraud-scoring", 2), ("fraud-scoring", 1)]),
    ("other_lead", [("churn-model", 1)]),
]


@pytest.mark.parametrize(("user_fixture", "rows"), SCOPES, ids=[s for s, _ in SCOPES])
def test_the_list_holds_only_the_assessments_of_projects_the_user_may_see(
    client, request, assessed, user_fixture, rows
):
    client.force_login(request.getfixturevalue(user_fixture))
    body = client.get(URL).json()
    assert [(r["project"], r["version"]) for r in body["results"]] == rows
    assert body["count"] == len(rows)


def test_another_teams_assessment_is_not_found(client, other_lead, assessed, project):
    client.force_login(other_lead)
    theirs = RiskTierAssessment.objects.filter(project=project).first()
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404


FILTERS = [
    ({"project": "fraud-scoring"}, [("fraud-scoring", 2), ("fraud-scoring", 1)]),
    ({"tier": "high"}, [("fraud-scoring", 1)]),
    ({"tier": ["high", "prohibited"]}, [("churn-model", 1), ("fraud-scoring", 1)]),
    ({"current": "true"}, [("churn-model", 1), ("fraud-scoring", 2)]),
    ({"current": "false"}, [("fraud-scoring", 1)]),
    ({"project": "fraud-scoring", "current": "true"}, [("fraud-scoring", 2)]),
]


@pytest.mark.parametrize(("params", "rows"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_the_list_filters_by_project_tier_and_current_version(client, executive, assessed, params, rows):
    client.force_login(executive)
    body = client.get(URL, params).json()
    assert [(r["project"], r["version"]) for r in body["results"]] == rows


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"project": "churn-model"}, {"project": [NOT_A_CHOICE]}),
        ({"tier": "severe"}, {"tier": ["Select a valid choice. severe is not one of the available choices."]}),
    ],
    ids=["another team's project", "unknown tier"],
)  # fmt: skip
def test_a_filter_that_cannot_apply_is_a_400(client, team_lead, assessed, params, errors):
    client.force_login(team_lead)
    response = client.get(URL, params)
    assert (response.status_code, field_errors(response)) == (400, errors)


# --- the questionnaire ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("user_fixture", ["executive", "risk_officer", "team_lead", "other_lead", "admin_user"])
def test_every_role_reads_the_questionnaire(client, request, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    body = client.get(f"{URL}questions/").json()

    assert [(s["id"], s["title"], len(s["questions"])) for s in body["sections"]] == [
        ("scope", "Scope", 3), ("prohibited", "Prohibited practices (Art. 5)", 9),
        ("product", "Products under Annex I (Art. 6(1))", 2), ("use_case", "High-risk use cases (Annex III)", 7),
        ("transparency", "Transparency duties (Art. 50)", 5), ("gpai", "General-purpose AI models", 3),
    ]  # fmt: skip
    questions = {q["id"]: q for s in body["sections"] for q in s["questions"]}
    assert list(questions) == [q.id for q in QUESTIONS]
    assert "default" not in questions["A1"]
    assert questions["C2"]["asked_when"] == "C1 names an Annex I item"
    assert questions["B6"] == {
        "id": "B6",
        "text": "Does it infer the emotions of people at the workplace or in education?",
        "ref": "Art. 5(1)(f)",
        "choices": [
            {"value": "no", "label": "No"},
            {"value": "medical_safety", "label": "Yes, for medical or safety reasons"},
            {"value": "other", "label": "Yes, for another purpose"},
        ],
        "asked_when": "",
    }
    assert len(questions["D1"]["choices"]) == 26
    assert questions["D1"]["choices"][9] == {"value": "4a", "label": "4(a) Recruitment and selection of candidates"}


def test_the_questionnaire_is_not_for_anonymous_or_role_less_callers(client, no_role_user):
    assert client.get(f"{URL}questions/").status_code == 401
    client.force_login(no_role_user)
    assert client.get(f"{URL}questions/").status_code == 403


# --- query counts ----------------------------------------------------------------------------------------------

SMALL, LARGE = 1, 50


def assessor():
    """A risk officer of their own, so every row has a distinct assessor to join."""
    return UserFactory(roles=[Role.RISK_OFFICER])


def add_assessments(n: int, team, lead) -> None:
    """n projects of `team`, each assessed once."""
    for _ in range(n):
        assess(AIProjectFactory(team=team, owner=lead), assessor(), CHATBOT)


def list_queries(client, expect_rows: int, params=None) -> QueryCount:
    queries, response = get_counting_queries(client, URL, params)
    assert len(response.json()["results"]) == expect_rows
    return queries


# session, user, roles, COUNT, the rows (project, team and assessor joined, is_current a subquery);
# a team lead's scope costs 1 more (teams led and belonged to), a project filter 1 (the project).
@pytest.mark.parametrize(
    ("user_fixture", "params", "budget"),
    [("executive", None, 5), ("team_lead", None, 6), ("admin_user", {"current": "true"}, 5),
     ("team_lead", {"project": "fraud-scoring"}, 7)],
    ids=["executive", "team lead", "admin, current only", "team lead, one project"],
)  # fmt: skip
def test_the_assessment_list_costs_the_same_queries_for_one_or_fifty(
    client, request, team, team_lead, project, user_fixture, params, budget
):
    client.force_login(request.getfixturevalue(user_fixture))
    one_project = params and "project" in params
    if one_project:
        for _ in range(SMALL):
            assess(project, assessor(), CHATBOT)
    else:
        add_assessments(SMALL, team, team_lead)
    small = list_queries(client, 1, params)
    if one_project:
        for _ in range(LARGE - SMALL):
            assess(project, assessor(), CV_SCREENING)
    else:
        add_assessments(LARGE - SMALL, team, team_lead)
    large = list_queries(client, LARGE, params)
    assert_queries(small, large, equal=budget, what=f"{URL} {params or ''}")
