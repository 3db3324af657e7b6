"""A tier that waited for a dated rule changes on the day the rule applies, as a new, audited version."""

import datetime as dt

import pytest

from governance.models import AuditEvent, RiskTierAssessment
from governance.risks import assessments
from tests.factories import AIProjectFactory
from tests.tier_answers import complete

pytestmark = pytest.mark.django_db
BEFORE, ON = dt.date(2026, 11, 27), dt.date(2026, 12, 2)
NCII = {"B9": "yes", "E2": "yes"}  # a generator that can foreseeably produce intimate deep fakes


@pytest.fixture
def flagged(monkeypatch, risk_officer):
    project = AIProjectFactory(name="Face swap studio")
    monkeypatch.setattr(assessments, "_today", lambda: BEFORE)
    assessment = assessments.tier_assessment_submit(by=risk_officer, project=project, answers=complete(NCII))
    monkeypatch.undo()
    return assessment


def test_before_the_date_the_other_rules_set_the_tier_and_a_flag_marks_the_wait(flagged):
    assert (flagged.tier, "PROHIBITED_FROM_2026_12_02" in flagged.flags) == ("limited", True)
    assert assessments.tier_assessments_apply_dated_rules(today=BEFORE) == 0


def test_on_the_date_the_project_is_reassessed_as_prohibited_once(flagged):
    events = AuditEvent.objects.count()

    assert assessments.tier_assessments_apply_dated_rules(today=ON) == 1
    assert assessments.tier_assessments_apply_dated_rules(today=ON) == 0

    latest = RiskTierAssessment.objects.filter(project=flagged.project).order_by("-version").first()
    assert (latest.version, latest.tier, latest.assessed_by, latest.answers) == (2, "prohibited", None, flagged.answers)
    flagged.project.refresh_from_db()
    assert flagged.project.risk_tier == "prohibited"
    event = AuditEvent.objects.get(seq=events + 1)
    assert (event.action, event.actor_repr, event.before, event.after["tier"]) == (
        "tier_assessment.reassessed", "system", {"tier": "limited", "version": 1}, "prohibited",
    )  # fmt: skip
    assert AuditEvent.objects.count() == events + 1


def test_a_project_reassessed_by_a_person_meanwhile_is_left_alone(flagged, risk_officer):
    assessments.tier_assessment_submit(by=risk_officer, project=flagged.project, answers=complete(E2="yes"))
    assert assessments.tier_assessments_apply_dated_rules(today=ON) == 0
