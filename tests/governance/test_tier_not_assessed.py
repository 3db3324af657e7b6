"""An unanswered question stays unanswered: an untouched or incomplete questionnaire is refused on the
page (the project stays "not assessed"), follow-up questions appear only when an earlier answer makes
them relevant, an assessment whose answers were once defaulted becomes "not assessed" (the data
migration), and "not assessed" is treated conservatively by the gate (refused in every environment)
and by sign-off (it cannot be asked for)."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps

from core.errors import DomainError
from governance.models import AuditEvent, RiskTierAssessment
from governance.risks.forms import NOT_ALL_ANSWERED
from governance.risks.tiering import UNANSWERED
from governance.signoff import services as signoff
from governance.signoff.gate import NOT_ASSESSED
from projects.models import AIProject
from tests.signoff_factories import assess, linked_version, new_signing_key_pem
from tests.tier_answers import complete

pytestmark = pytest.mark.django_db
TOP_LEVEL = [
    "A1", "A3", "A4", "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "C1", "D1", "E1", "E2", "E3", "E4", "E5",
    "F1",
]  # fmt: skip
migration = importlib.import_module("governance.migrations.0011_tier_assessment_unanswered_not_assessed")


def url(project) -> str:
    return f"/governance/projects/{project.slug}/tier/"


def state(project):
    return (
        AIProject.objects.get(pk=project.pk).risk_tier,
        list(RiskTierAssessment.objects.values_list("version", "tier")),
        AuditEvent.objects.count(),
    )


def test_an_untouched_submit_is_refused_per_question_and_the_project_stays_not_assessed(client, team_lead, project):
    client.force_login(team_lead)
    before = state(project)
    response = client.post(url(project), {})

    assert response.status_code == 200
    errors = dict(response.context["form"].errors)
    assert errors.pop("__all__") == [NOT_ALL_ANSWERED.format(count=20, ids=", ".join(TOP_LEVEL))]
    assert errors == {qid: [UNANSWERED] for qid in TOP_LEVEL}
    html = response.content.decode()
    assert html.count("Not answered yet: choose an answer (nothing is taken as &#x27;no&#x27;).") == 20
    assert '<span class="badge tier-none">Not assessed</span>' in html
    assert state(project) == before == ("", [], before[2])


def test_a_follow_up_question_appears_once_the_answer_it_follows_from_is_given(client, team_lead, project):
    client.force_login(team_lead)
    answers = {k: v for k, v in complete(D1="4a").items() if k in TOP_LEVEL}
    response = client.post(url(project), answers)

    # D3 (does it profile people?) follows from D1 = 4(a): now asked, and required.
    assert response.status_code == 200
    form = response.context["form"]
    assert "D3" in form.fields
    assert "D2" not in form.fields
    assert form.errors["D3"] == [UNANSWERED]
    assert "asked when D1 names an Annex III point other than 6(e)" in response.content.decode()
    assert RiskTierAssessment.objects.count() == 0

    response = client.post(url(project), {**answers, "D3": "yes", "D6": "no", "D7": "no"})
    assert response.status_code == 302
    assessment = RiskTierAssessment.objects.get()
    assert (assessment.tier, assessment.answers["D3"], "D4" in assessment.answers) == ("high", "yes", False)


def test_show_the_follow_up_questions_saves_nothing_keeps_the_answers_and_shows_no_error(client, team_lead, project):
    client.force_login(team_lead)
    before = state(project)
    response = client.post(url(project), {"_preview": "1", "D1": "5b", "C1": "11", "F1": "yes", "A1": "yes"})

    assert response.status_code == 200
    form = response.context["form"]
    assert not form.is_bound
    assert not form.errors
    assert {"C2", "D2", "F2"} <= set(form.fields)
    assert {name: form.fields[name].initial for name in ("A1", "C1", "D1", "F1", "D2")} == {
        "A1": "yes", "C1": "11", "D1": "5b", "F1": "yes", "D2": None,
    }  # fmt: skip
    # The carve-out question offers only the carve-out of the point chosen (5(b): fraud detection).
    assert list(form.fields["D2"].choices) == [("none", "None"), ("fraud_detection", "Detection of financial fraud")]
    html = response.content.decode()
    assert "nothing is saved until you submit" in html
    # Annex I items by name, not number.
    assert '<option value="11" selected>11. Medical devices, Regulation (EU) 2017/745 (MDR)</option>' in html
    assert state(project) == before


def test_an_out_of_scope_answer_skips_the_sections_it_makes_irrelevant(client, team_lead, project):
    client.force_login(team_lead)
    response = client.post(url(project), {"_preview": "1", "A1": "no"})
    assert set(response.context["form"].fields) == {"A1", "F1"}
    assert response.content.decode().count("Not asked: the scope answers above take the system out of the AI Act.") == 4
    response = client.post(url(project), {"A1": "no", "F1": "no"})
    assert response.status_code == 302
    assert AIProject.objects.get(pk=project.pk).risk_tier == "minimal"


# --- the data migration: defaulted answers become "not assessed" ------------------------------------------------


def defaulted_assessment(project, *, explanation_ids: str, answers: dict, tier: str = "minimal"):
    """An assessment as the old code stored it: every answer filled in, and the line naming the defaulted ones."""
    return RiskTierAssessment.objects.create(
        project=project, version=1, answers=answers, answers_hash="x" * 64, tier=tier, route="Art. 4, 95",
        explanation=["Minimal risk: ...", f"Not answered, so taken as 'no': {explanation_ids}."],
    )  # fmt: skip


def test_the_migration_marks_a_defaulted_assessment_not_assessed_with_a_new_audited_version(project):
    old = defaulted_assessment(project, explanation_ids="B1, B2, E1", answers=complete())
    AIProject.objects.filter(pk=project.pk).update(risk_tier="minimal")

    migration.mark_defaulted_not_assessed(apps, None)

    new = RiskTierAssessment.objects.get(project=project, version=2)
    assert (new.tier, new.unanswered, new.assessed_by, new.flags) == ("", ["B1", "B2", "E1"], None, [])
    assert "B1" not in new.answers
    assert new.answers["A1"] == "yes"
    assert "answer B1, B2, E1 to set the tier" in new.explanation[0]
    assert AIProject.objects.get(pk=project.pk).risk_tier == ""
    assert RiskTierAssessment.objects.get(pk=old.pk).tier == "minimal"  # history kept
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.object_id, event.before, event.after["unanswered"]) == (
        "tier_assessment.marked_not_assessed", str(new.pk), {"tier": "minimal", "version": 1}, ["B1", "B2", "E1"],
    )  # fmt: skip
    # Run again: nothing more (the current version is already not assessed).
    migration.mark_defaulted_not_assessed(apps, None)
    assert RiskTierAssessment.objects.filter(project=project).count() == 2


def test_the_migration_keeps_an_assessment_whose_defaulted_questions_were_never_asked(project):
    # Out of scope (A1 = no): the defaulted B and E questions would not be asked today.
    defaulted_assessment(project, explanation_ids="B1, E1", answers=complete(A1="no"))
    migration.mark_defaulted_not_assessed(apps, None)
    assert list(RiskTierAssessment.objects.values_list("version", "tier")) == [(1, "minimal")]


# --- conservative downstream: the gate and sign-off ---------------------------------------------------------------


@pytest.fixture
def not_assessed_version(project):
    """A linked model version of a project whose current assessment is not assessed (migrated)."""
    assess(project, "minimal")
    current = RiskTierAssessment.objects.get(project=project)
    RiskTierAssessment.objects.create(
        project=project, version=2, answers={}, answers_hash="y" * 64, tier="", unanswered=["A1"], explanation=[]
    )
    AIProject.objects.filter(pk=project.pk).update(risk_tier="")
    assert current.tier == "minimal"
    return linked_version(project)


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_the_gate_refuses_a_not_assessed_project_in_every_environment(
    client, settings, team_lead, not_assessed_version, environment
):
    settings.KEEL_GATE_SIGNING_KEY = new_signing_key_pem()
    client.force_login(team_lead)
    model = not_assessed_version.registered_model
    body = client.get(
        "/api/v1/gate",
        {"registry": model.registry.name, "model": model.name, "version": not_assessed_version.version,
         "environment": environment},
    ).json()  # fmt: skip
    assert body["allowed"] is False
    assert NOT_ASSESSED in [r["code"] for r in body["reasons"]]
    assert body["tier"] is None


def test_a_sign_off_cannot_be_asked_for_a_not_assessed_project(team_lead, not_assessed_version):
    with pytest.raises(DomainError, match=re.escape(signoff.NOT_ASSESSED)):
        signoff.signoff_request(by=team_lead, version=not_assessed_version, justification="Ready.")
