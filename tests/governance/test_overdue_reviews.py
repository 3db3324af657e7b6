"""The daily overdue-review rule: flags every active risk past its review date, opens exactly one
finding per overdue high or critical risk however often it runs, and lets go of it when the risk is
reviewed or closed. Run through the task function, the Celery task (apply), and the service."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import tasks
from governance.findings import services as finding_services
from governance.models import AuditEvent, Finding, FindingKind, Risk
from governance.risks import services
from tests.factories import AIProjectFactory, TeamFactory, make_user
from tests.governance.test_audit_concurrency import run_writers
from tests.risk_factories import RiskFactory, overdue_risk

RUNNERS = {
    "task function": lambda: tasks.mark_overdue_reviews(),
    "celery apply": lambda: tasks.mark_overdue_reviews.apply().get(),
}


@pytest.fixture(params=list(RUNNERS))
def run_rule(request):
    return RUNNERS[request.param]


@pytest.fixture
def register(project, team_lead):
    """Four overdue risks, one per level; a high one not due yet; an overdue high one that is closed."""
    risks = {
        "critical": overdue_risk(project=project, title="Leak of claims data", likelihood=5, impact=5),
        "high": overdue_risk(project=project, title="Unfair denials", likelihood=4, impact=4, days_overdue=3),
        "medium": overdue_risk(project=project, title="Slow answers", likelihood=3, impact=3),
        "low": overdue_risk(project=project, title="Typo in letters", likelihood=1, impact=2),
        "not_due": RiskFactory(project=project, title="Model drift", likelihood=4, impact=4),
        "closed": overdue_risk(project=project, title="Retired vendor", likelihood=4, impact=5),
    }
    services.risk_transition(by=None, risk=risks["closed"], status="closed")
    return risks


def open_findings() -> list[tuple[str, str, str]]:
    return sorted(
        Finding.objects.filter(resolved_at=None).values_list("subject_id", "severity", "kind"), key=lambda r: r[1]
    )


def flagged(register) -> dict[str, bool]:
    return {name: Risk.objects.get(pk=r.pk).review_overdue for name, r in register.items()}


def test_the_rule_opens_one_finding_per_overdue_high_or_critical_risk_however_often_it_runs(register, run_rule):
    events = AuditEvent.objects.count()

    results = [run_rule() for _ in range(3)]

    assert results == [
        {"marked": 4, "opened": 2, "reassessed": 0},
        {"marked": 0, "opened": 0, "reassessed": 0},
        {"marked": 0, "opened": 0, "reassessed": 0},
    ]
    assert open_findings() == [
        (str(register["critical"].pk), "critical", FindingKind.RISK_REVIEW_OVERDUE),
        (str(register["high"].pk), "high", FindingKind.RISK_REVIEW_OVERDUE),
    ]
    assert Finding.objects.count() == 2
    # Low and medium risks are flagged overdue too, but only high and critical ones are findings.
    assert flagged(register) == {
        "critical": True, "high": True, "medium": True, "low": True, "not_due": False, "closed": False,
    }  # fmt: skip
    # One event per flag and per finding, all from the first run; the repeats wrote nothing.
    new = AuditEvent.objects.filter(seq__gt=events).order_by("seq")
    assert sorted((e.action, e.object_id, e.actor_repr) for e in new) == sorted(
        [("risk.review_overdue", str(register[n].pk), "system") for n in ("critical", "high", "medium", "low")]
        + [("finding.opened", str(f.pk), "system") for f in Finding.objects.all()]
    )


def test_a_finding_says_what_is_overdue_since_when_and_whose_it_is(register, team_lead, project):
    tasks.mark_overdue_reviews()
    finding = Finding.objects.get(subject_id=str(register["high"].pk))
    due = timezone.localdate() - dt.timedelta(days=3)
    assert (finding.title, finding.detail) == (
        "Review overdue: Unfair denials (Fraud scoring)",
        f"The high residual risk was due for review on {due:%Y-%m-%d}.",
    )
    assert (finding.subject_type, finding.project, finding.assignee, finding.is_open) == (
        "governance.risk",
        project,
        team_lead,
        True,
    )


def test_reviewing_the_risk_resolves_its_finding_and_the_next_run_opens_none(register, run_rule, team_lead):
    run_rule()
    risk = register["high"]
    finding = Finding.objects.get(subject_id=str(risk.pk))

    services.risk_review(by=team_lead, risk=risk, note="Checked with the claims team.")

    finding.refresh_from_db()
    assert finding.resolved_at is not None
    assert finding.resolution == "The risk was reviewed."
    assert Risk.objects.get(pk=risk.pk).review_overdue is False
    assert AuditEvent.objects.filter(action="finding.resolved", object_id=str(finding.pk)).count() == 1
    assert run_rule() == {"marked": 0, "opened": 0, "reassessed": 0}
    assert open_findings() == [(str(register["critical"].pk), "critical", FindingKind.RISK_REVIEW_OVERDUE)]


def test_reviewing_through_the_api_resolves_the_finding(client, register, team_lead):
    tasks.mark_overdue_reviews()
    client.force_login(team_lead)
    response = client.post(f"/api/v1/risks/{register['critical'].pk}/review/", {}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["overdue"] is False
    finding = Finding.objects.get(subject_id=str(register["critical"].pk))
    assert (finding.is_open, finding.resolution) == (False, "The risk was reviewed.")


def test_closing_the_risk_resolves_its_finding(register, run_rule, risk_officer):
    run_rule()
    services.risk_transition(by=risk_officer, risk=register["critical"], status="closed", justification="Retired.")
    finding = Finding.objects.get(subject_id=str(register["critical"].pk))
    assert (finding.is_open, finding.resolution) == (False, "The risk was closed.")
    assert run_rule() == {"marked": 0, "opened": 0, "reassessed": 0}
    assert Finding.objects.filter(subject_id=str(register["critical"].pk)).count() == 1


def test_a_low_or_medium_risk_is_flagged_and_unflagged_by_a_review_without_any_finding(register, team_lead):
    tasks.mark_overdue_reviews()
    services.risk_review(by=team_lead, risk=register["medium"])
    assert Risk.objects.get(pk=register["medium"].pk).review_overdue is False
    assert not Finding.objects.filter(subject_id__in=[str(register["medium"].pk), str(register["low"].pk)]).exists()


def test_a_new_overdue_period_after_a_review_opens_a_new_finding(register, team_lead):
    risk = register["high"]
    tasks.mark_overdue_reviews()
    services.risk_review(by=team_lead, risk=risk)
    reviewed = Risk.objects.get(pk=risk.pk)
    assert reviewed.next_review_date == timezone.localdate() + dt.timedelta(days=90)

    # The day after the next review date, the rule finds it overdue again, once.
    later = reviewed.next_review_date + dt.timedelta(days=1)
    counts = [services.risk_reviews_mark_overdue(today=later) for _ in range(3)]

    # Opened: this risk, and "Model drift" (high, due 90 days after today); the critical one's finding is still open.
    assert [c["opened"] for c in counts] == [2, 0, 0]
    findings = Finding.objects.filter(subject_id=str(risk.pk)).order_by("opened_at", "id")
    assert [(f.is_open, f.resolution) for f in findings] == [(False, "The risk was reviewed."), (True, "")]


def test_the_database_refuses_a_second_open_finding_for_the_same_risk(register):
    tasks.mark_overdue_reviews()
    existing = Finding.objects.get(subject_id=str(register["high"].pk))
    with pytest.raises(IntegrityError), transaction.atomic():
        Finding.objects.create(
            kind=existing.kind, severity="high", title="Duplicate", subject_type=existing.subject_type,
            subject_id=existing.subject_id,
        )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_doubled_tick_run_by_concurrent_workers_flags_and_opens_each_thing_once():
    """Six workers run the rule at the same moment (a doubled beat tick, a catch-up run): one of them
    does the work, the others find nothing left to do. Each thread has its own connection."""
    owner = make_user("owner")
    project = AIProjectFactory(team=TeamFactory(lead=owner), owner=owner)
    for n in range(3):
        overdue_risk(project=project, title=f"High {n}", likelihood=4, impact=4)
        overdue_risk(project=project, title=f"Low {n}", likelihood=1, impact=2)
    events = AuditEvent.objects.count()

    errors = run_writers(6, 1, lambda thread_no, i: tasks.mark_overdue_reviews())

    assert errors == []
    actions = Counter(AuditEvent.objects.filter(seq__gt=events).values_list("action", flat=True))
    assert actions == {"risk.review_overdue": 6, "finding.opened": 3}
    assert Finding.objects.count() == 3
    assert Risk.objects.filter(review_overdue=True).count() == 6


def test_re_scoring_an_overdue_risk_does_not_postpone_its_review(client, register, team_lead):
    risk = register["high"]
    due = Risk.objects.get(pk=risk.pk).next_review_date
    tasks.mark_overdue_reviews()
    client.force_login(team_lead)

    response = client.patch(
        f"/api/v1/risks/{risk.pk}/", {"residual_likelihood": 1, "residual_impact": 2}, content_type="application/json"
    )

    assert response.status_code == 200
    data = response.json()
    assert (data["residual_level"], data["next_review_date"], data["overdue"]) == ("low", due.isoformat(), True)
    assert Finding.objects.get(subject_id=str(risk.pk)).is_open
    # The review that was due sets the next date by the new (low) level's cadence and resolves the finding.
    reviewed = client.post(f"/api/v1/risks/{risk.pk}/review/", {}, content_type="application/json").json()
    assert (reviewed["next_review_date"], reviewed["overdue"]) == (
        (timezone.localdate() + dt.timedelta(days=365)).isoformat(),
        False,
    )
    assert not Finding.objects.get(subject_id=str(risk.pk)).is_open


def test_closing_an_overdue_risk_clears_its_overdue_flag_and_resolves_its_finding(risk_officer, project):
    from governance.models import Finding
    from governance.risks import services as governance_services
    from tests.risk_factories import overdue_risk

    risk = overdue_risk(project=project, likelihood=4, impact=4)
    governance_services.risk_reviews_mark_overdue()
    assert Finding.objects.filter(subject_id=str(risk.pk), resolved_at=None).count() == 1

    governance_services.risk_transition(by=risk_officer, risk=risk, status="closed", justification="Retired model")

    risk.refresh_from_db()
    assert (risk.status, risk.review_overdue) == ("closed", False)
    assert Finding.objects.filter(subject_id=str(risk.pk), resolved_at=None).count() == 0


def test_a_finding_resolved_by_hand_is_not_reopened_in_the_same_overdue_period(risk_officer, project):
    from governance.models import Finding
    from governance.risks import services as governance_services
    from tests.risk_factories import overdue_risk

    risk = overdue_risk(project=project, likelihood=4, impact=4)
    governance_services.risk_reviews_mark_overdue()
    finding = Finding.objects.get(subject_id=str(risk.pk))
    finding_services.finding_resolve(by=risk_officer, finding=finding, resolution="Review booked for Monday")

    assert governance_services.risk_reviews_mark_overdue()["opened"] == 0
    assert Finding.objects.filter(subject_id=str(risk.pk)).count() == 1
