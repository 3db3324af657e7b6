"""The questionnaire page /governance/projects/<slug>/tier/, and the tier wherever a project is shown.

Who may read and who may submit, versions kept with who and when, the project's tier moved and
audited, and answers that do not fit refused next to their question with nothing changed.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.template.loader import render_to_string

from core.roles import Role
from governance.models import AuditEvent, RiskTierAssessment
from governance.risks import assessments
from governance.risks.forms import NOT_ALL_ANSWERED
from governance.risks.selectors import tier_assessment_current
from governance.risks.tiering import SECTIONS, UNANSWERED, normalise
from projects.models import AIProject
from tests.factories import UserFactory
from tests.query_counts import QueryCount, assert_queries, capture_queries
from tests.tier_answers import complete

CV_SCREENING = {"D1": "4a", "D3": "yes"}
CHATBOT = {"E1": "yes", "E2": "yes"}


def url(project) -> str:
    return f"/governance/projects/{project.slug}/tier/"


def form_data(**answers: str) -> dict[str, str]:
    """What the page posts when every question is answered: the neutral answer unless given."""
    return complete(answers)


def assess(project, by, answers):
    return assessments.tier_assessment_submit(by=by, project=project, answers=complete(answers))


def state(project):
    return (
        AIProject.objects.get(pk=project.pk).risk_tier,
        list(RiskTierAssessment.objects.values_list("version", "tier").order_by("id")),
        AuditEvent.objects.count(),
    )


def text(response) -> str:
    """The page's text without tags or repeated whitespace, for sentences that cross markup."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_a_team_lead_answers_the_questionnaire_and_sees_the_tier_and_why(client, team_lead, project):
    client.force_login(team_lead)
    page = client.get(url(project))
    assert page.status_code == 200
    assert (page.context["current"], page.context["can_assess"]) == (None, True)
    assert "Not assessed" in text(page)
    # Nothing pre-answered, and only the questions asked before any answer (no follow-ups yet).
    fields = page.context["form"].fields
    assert {name: field.initial for name, field in fields.items()} == dict.fromkeys(fields)
    assert list(fields) == [
        "A1", "A3", "A4", "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "C1", "D1", "E1", "E2", "E3", "E4",
        "E5", "F1",
    ]  # fmt: skip
    assert "checked" not in page.content.decode().split('id="questions"')[1].split("</form>")[0]

    response = client.post(url(project), form_data(**CV_SCREENING, E3="yes"), follow=True)

    assert response.redirect_chain == [(url(project), 302)]
    page_text = text(response)
    assert "Assessed as high risk (version 1)." in page_text
    assert "High risk via Annex III 4(a)" in page_text
    assert (
        "High risk: Annex III 4(a) Recruitment and selection of candidates, and it profiles natural persons, so the "
        "Art. 6(3) derogation is unavailable; applies from 2 Dec 2027." in page_text
    )
    assert "Tell people exposed to emotion recognition or biometric categorisation (Art. 50(3))" in page_text
    assert "ART50_3" not in page_text  # the code stays in the API and in a title attribute, not in the text
    assessment = RiskTierAssessment.objects.get()
    assert (assessment.version, assessment.tier, assessment.route, assessment.flags, assessment.assessed_by) == (
        1, "high", "Annex III 4(a)", ["ART50_3"], team_lead,
    )  # fmt: skip
    assert assessment.answers == normalise(form_data(**CV_SCREENING, E3="yes"))
    assert "D4" not in assessment.answers  # not asked: it profiles, so no Art. 6(3) condition can apply
    assert AIProject.objects.get(pk=project.pk).risk_tier == "high"
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_repr, event.object_id, event.after["tier"], event.after["version"]) == (
        "tier_assessment.submitted", "lead", str(assessment.pk), "high", 1,
    )  # fmt: skip


def test_reassessing_starts_from_the_latest_answers_and_keeps_every_version(client, team_lead, risk_officer, project):
    assess(project, team_lead, CV_SCREENING)
    client.force_login(risk_officer)
    page = client.get(url(project))
    initial = {name: field.initial for name, field in page.context["form"].fields.items()}
    assert initial == normalise(form_data(**CV_SCREENING))

    response = client.post(url(project), form_data(**CHATBOT))

    assert (response.status_code, response["Location"]) == (302, url(project))
    page = client.get(url(project))
    assert [(a.version, a.tier, a.assessed_by.username) for a in page.context["history"]] == [
        (2, "limited", "risk"), (1, "high", "lead"),
    ]  # fmt: skip
    history = page.content.decode().split('id="history-h"')[1]
    assert re.search(r"v2 <span class=\"muted\">\(current\)</span>.*?Limited risk.*?v1.*?High risk", history, re.S)
    assert AIProject.objects.get(pk=project.pk).risk_tier == "limited"
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.actor_repr, event.before, event.after["tier"], event.after["version"]) == (
        "risk", {"tier": "high"}, "limited", 2,
    )  # fmt: skip


def test_the_admin_may_submit(client, admin_user, project):
    client.force_login(admin_user)
    assert client.post(url(project), form_data(B9="no", B1="yes")).status_code == 302
    assert AIProject.objects.get(pk=project.pk).risk_tier == "prohibited"


def test_an_executive_reads_the_answers_but_cannot_submit(client, executive, team_lead, project):
    assess(project, team_lead, CV_SCREENING)
    client.force_login(executive)
    page = client.get(url(project))

    assert (page.status_code, page.context["can_assess"]) == (200, False)
    assert all(field.disabled for field in page.context["form"].fields.values())
    html = page.content.decode()
    assert "Submit answers" not in html
    assert "a team lead of Claims, a risk officer or an admin submits them" in text(page)
    before = state(project)

    response = client.post(url(project), form_data(**CHATBOT))

    assert response.status_code == 403
    assert state(project) == before


def test_a_lead_of_another_team_cannot_see_the_page_or_submit(client, other_lead, project):
    client.force_login(other_lead)
    before = state(project)
    assert client.get(url(project)).status_code == 404
    assert client.post(url(project), form_data(**CHATBOT)).status_code == 404
    assert state(project) == before


def test_anonymous_goes_to_login_and_no_role_is_refused(client, no_role_user, project):
    assert client.get(url(project))["Location"] == f"/login/?next={url(project)}"
    client.force_login(no_role_user)
    assert client.post(url(project), form_data(**CHATBOT)).status_code == 403
    assert RiskTierAssessment.objects.count() == 0


# --- bad input ------------------------------------------------------------------------------------------------

BAD_FORMS = [
    ({"B1": "maybe"}, "B1", "Select a valid choice. maybe is not one of the available choices."),
    # D2 offers only the carve-out of the point chosen in D1 (the API refuses another one with its reason).
    ({"D1": "5b", "D2": "travel_documents"}, "D2",
     "Select a valid choice. travel_documents is not one of the available choices."),
    ({"C1": ""}, "C1", UNANSWERED),
]  # fmt: skip


@pytest.mark.parametrize(("answers", "question", "error"), BAD_FORMS, ids=[q for _, q, _ in BAD_FORMS])
def test_a_bad_answer_is_shown_at_its_question_and_nothing_changes(
    client, team_lead, project, answers, question, error
):
    assess(project, team_lead, CV_SCREENING)
    client.force_login(team_lead)
    before = state(project)

    response = client.post(url(project), {**form_data(), **answers})

    assert response.status_code == 200
    errors = dict(response.context["form"].errors)
    overall = errors.pop("__all__", None)
    assert errors == {question: [error]}
    if error == UNANSWERED:
        assert overall == [NOT_ALL_ANSWERED.format(count=1, ids=question)]
    html = response.content.decode()
    if overall is None:
        assert "Please correct the errors below; nothing was saved." in html
    else:
        assert "Nothing was saved: the tier is set only from a complete questionnaire" in html
    assert f'<p class="error" id="id_{question}_error" role="alert">' in html
    assert state(project) == before


# --- accessible markup ---------------------------------------------------------------------------------------


def test_each_section_is_a_fieldset_with_a_legend_and_each_answer_has_a_label(client, team_lead, project):
    client.force_login(team_lead)
    html = client.get(url(project)).content.decode()

    legends = re.findall(r'<fieldset class="card section" id="section-(\w+)">\s*<legend>([^<]+)</legend>', html)
    assert legends == list(SECTIONS.items())
    # Yes/no and short choices: a fieldset per question whose legend is the question, a label per radio.
    b6 = html.split('id="q-B6"')[1].split("</fieldset>")[0]
    assert '<legend><span class="qid">B6</span> Does it infer the emotions of people' in b6
    assert re.findall(r'<label for="(id_B6_\d)"><input type="radio" name="B6" value="(\w+)"', b6) == [
        ("id_B6_0", "no"), ("id_B6_1", "medical_safety"), ("id_B6_2", "other"),
    ]  # fmt: skip
    # Long lists: a select with its label, described by its legal reference.
    assert '<label for="id_D1"><span class="qid">D1</span> Does the intended purpose match' in html
    assert re.search(r'<select name="D1"[^>]*aria-describedby="id_D1_helptext"[^>]*id="id_D1"', html)
    assert '<small class="help" id="id_D1_helptext">Art. 6(2), Annex III</small>' in html


# --- the tier wherever a project is shown ----------------------------------------------------------------------


def test_project_list_detail_and_home_show_the_tier_badge(client, team_lead, project, other_project, other_lead):
    assess(project, team_lead, CV_SCREENING)
    client.force_login(team_lead)

    listed = client.get("/projects/").content.decode()
    assert '<th scope="col">EU AI Act tier</th>' in listed
    assert '<td><span class="badge tier-high">High risk</span></td>' in listed

    detail = client.get(f"/projects/{project.slug}/").content.decode()
    assert re.search(
        r'<dt>EU AI Act tier</dt><dd><span class="badge tier-high">High risk</span>\s*'
        rf'<a href="{url(project)}">why, and the questionnaire</a></dd>',
        detail,
    )
    home = client.get("/").content.decode()
    assert '<span class="badge tier-high">High risk</span>' in home

    client.force_login(other_lead)
    assert '<td><span class="badge tier-none">Not assessed</span></td>' in client.get("/projects/").content.decode()


@pytest.mark.parametrize(
    ("params", "slugs"),
    [({"tier": "high"}, ["fraud-scoring"]), ({"tier": ["high", "limited"]}, ["churn-model", "fraud-scoring"]),
     ({"tier": "minimal"}, [])],
)  # fmt: skip
def test_the_project_list_page_and_api_filter_by_tier(
    client, executive, team_lead, other_lead, project, other_project, params, slugs
):
    assess(project, team_lead, CV_SCREENING)
    assess(other_project, other_lead, CHATBOT)
    client.force_login(executive)
    assert [p.slug for p in client.get("/projects/", params).context["projects"]] == slugs
    assert [p["slug"] for p in client.get("/api/v1/projects/", params).json()["results"]] == slugs


def test_the_project_csv_export_carries_the_tier(client, executive, team_lead, project, other_project):
    assess(project, team_lead, {"E5": "yes"})
    client.force_login(executive)
    rows = b"".join(client.get("/projects/?export=csv").streaming_content).decode().splitlines()
    assert rows[0].endswith(",risk_tier")
    assert [row.rsplit(",", 1)[1] for row in rows[1:]] == ["", "limited"]  # churn-model, fraud-scoring


def test_the_tier_summary_partial_shows_badge_route_flags_explanation_and_link(team_lead, project):
    assess(project, team_lead, {"D1": "5b", "D2": "none", "D3": "yes", "D6": "yes"})
    current = tier_assessment_current(project=project)
    html = render_to_string(
        "governance/partials/_tier_summary.html", {"project": project, "assessment": current, "heading_level": 3}
    )
    assert '<h3 id="tier-summary-h">EU AI Act risk tier</h3>' in html
    assert '<span class="badge tier-high">High risk</span> via <strong>Annex III 5(b)</strong>' in html
    assert f'version 1, assessed <time datetime="{current.assessed_at.isoformat()}">' in html
    assert f"by {team_lead.get_full_name()}</span>" in html
    assert '<li title="FRIA">Fundamental rights impact assessment due before first use (Art. 27)</li>' in html
    assert [unescape(line) for line in re.findall(r"<li>([^<]+)</li>", html)] == current.explanation
    assert f'<a href="{url(project)}">The questionnaire, its answers and earlier versions</a>' in html

    empty = render_to_string("governance/partials/_tier_summary.html", {"project": project, "assessment": None})
    assert '<h2 id="tier-summary-h">' in empty
    assert '<span class="badge tier-none">Not assessed</span>' in empty
    assert f'<a href="{url(project)}">Answer the questionnaire</a>' in empty


# --- query count -----------------------------------------------------------------------------------------------


# session, user, roles, the project, its versions (assessor joined); a team lead 1 more (their teams, one
# query: their scope, and whether they may submit).
@pytest.mark.parametrize(("user_fixture", "budget"), [("executive", 5), ("risk_officer", 5), ("team_lead", 6)])
def test_the_questionnaire_page_costs_the_same_for_one_or_twenty_versions(
    client, request, project, user_fixture, budget
):
    client.force_login(request.getfixturevalue(user_fixture))

    def queries() -> tuple[QueryCount, int]:
        with capture_queries() as captured:
            response = client.get(url(project))
        assert response.status_code == 200
        return captured.count, len(response.context["history"])

    assess(project, UserFactory(roles=[Role.RISK_OFFICER]), CHATBOT)
    small = queries()
    for _ in range(19):
        assess(project, UserFactory(roles=[Role.RISK_OFFICER]), CV_SCREENING)
    large = queries()
    assert (small[1], large[1]) == (1, 20)
    assert_queries(small[0], large[0], equal=budget, what=url(project))
