"""Risk acceptance holds until a date: required for a high or critical residual risk, after today, at most
three years ahead. Accepting counts as a review; when the date passes, the nightly rule opens one
'acceptance expired' finding and the risk says so, until it is accepted again or moves on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from governance import tasks
from governance.models import AuditEvent, Finding, FindingKind, Risk, RiskStatus
from governance.risks import services
from governance.risks import services_acceptance as acceptance
from tests.risk_factories import RiskFactory, overdue_risk

pytestmark = pytest.mark.django_db
JSON = {"content_type": "application/json"}


def today() -> dt.date:
    return timezone.localdate()


def days(n: int) -> dt.date:
    return today() + dt.timedelta(days=n)


def accept(risk, by, until, why="Within appetite."):
    return services.risk_transition(by=by, risk=risk, status="accepted", justification=why, accept_until=until)


# --- validation ---------------------------------------------------------------------------------------


def expiry_message(kind: str) -> str:
    return {
        "required": acceptance.ACCEPT_EXPIRY_REQUIRED.format(level="high"),
        "past": acceptance.ACCEPT_EXPIRY_PAST.format(today=today()),
        "too far": acceptance.ACCEPT_EXPIRY_TOO_FAR.format(latest=days(3 * 365)),
    }[kind]


@pytest.mark.parametrize(("until", "kind"), [(None, "required"), (0, "past"), (-3, "past"), (3 * 365 + 1, "too far")])
def test_accepting_a_high_risk_needs_an_expiry_after_today_and_within_three_years(
    client, risk_officer, project, until, kind
):
    message = expiry_message(kind)
    risk = RiskFactory(project=project, likelihood=4, impact=4)
    before, events = Risk.objects.filter(pk=risk.pk).values().get(), AuditEvent.objects.count()
    client.force_login(risk_officer)
    body = {"status": "accepted", "justification": "Fine."}
    if until is not None:
        body["accept_until"] = days(until).isoformat()
    response = client.post(f"/api/v1/risks/{risk.pk}/transition/", body, **JSON)
    assert response.status_code == 400
    assert response.json()["accept_until"] == [message]
    assert Risk.objects.filter(pk=risk.pk).values().get() == before
    assert AuditEvent.objects.count() == events


def test_the_page_shows_the_expiry_error_next_to_its_field(client, risk_officer, project):
    risk = RiskFactory(project=project, likelihood=4, impact=4)
    client.force_login(risk_officer)
    response = client.post(f"/governance/risks/{risk.pk}/transition/", {"status": "accepted", "justification": "Fine."})
    assert response.status_code == 200
    assert response.context["transition_form"].errors["accept_until"] == [
        acceptance.ACCEPT_EXPIRY_REQUIRED.format(level="high")
    ]
    assert Risk.objects.get(pk=risk.pk).status == RiskStatus.OPEN


def test_a_low_risk_may_be_accepted_without_an_expiry_but_not_with_a_past_one(team_lead, project):
    risk = RiskFactory(project=project, likelihood=1, impact=2)
    with pytest.raises(ValidationError) as refused:
        accept(risk, team_lead, days(-1))
    assert refused.value.message_dict == {"accept_until": [acceptance.ACCEPT_EXPIRY_PAST.format(today=today())]}
    accepted = accept(risk, team_lead, None)
    assert (accepted.status, accepted.acceptance_expires_on) == ("accepted", None)


def test_an_expiry_date_is_refused_on_any_other_move(risk_officer, project):
    risk = RiskFactory(project=project)
    with pytest.raises(ValidationError) as refused:
        services.risk_transition(by=risk_officer, risk=risk, status="mitigating", accept_until=days(10))
    assert refused.value.message_dict == {"accept_until": [acceptance.ACCEPT_EXPIRY_NOT_ACCEPTING]}


# --- acceptance counts as a review ---------------------------------------------------------------------


def test_accepting_an_overdue_risk_counts_as_its_review_and_resolves_its_finding(risk_officer, project):
    risk = overdue_risk(project=project, likelihood=4, impact=4)
    services.risk_reviews_mark_overdue()
    finding = Finding.objects.get(kind=FindingKind.RISK_REVIEW_OVERDUE, subject_id=str(risk.pk))
    accepted = accept(risk, risk_officer, days(90))
    assert (accepted.review_overdue, accepted.next_review_date) == (False, days(90))  # high: a 90-day cadence
    assert accepted.last_reviewed_at is not None
    finding.refresh_from_db()
    assert (finding.is_open, finding.resolution) == (False, "The risk was accepted, which counts as a review.")


# --- expiry ---------------------------------------------------------------------------------------------


@pytest.fixture
def expired(risk_officer, project):
    """A high risk accepted until yesterday (the date set directly: the service refuses a past date)."""
    risk = accept(RiskFactory(project=project, likelihood=4, impact=4, title="Biased denials"), risk_officer, days(30))
    Risk.objects.filter(pk=risk.pk).update(acceptance_expires_on=days(-1))
    return Risk.objects.get(pk=risk.pk)


def test_a_passed_expiry_opens_one_finding_audited_however_often_the_rule_runs(expired, risk_officer):
    assert expired.acceptance_expired
    assert acceptance.risk_acceptances_expire() == {"expired": 1, "opened": 1}
    assert acceptance.risk_acceptances_expire() == {"expired": 1, "opened": 0}
    assert tasks.expire_risk_acceptances() == {"expired": 1, "opened": 0}
    [finding] = Finding.objects.filter(kind=FindingKind.RISK_ACCEPTANCE_EXPIRED)
    assert (finding.subject_type, finding.subject_id, finding.severity) == ("governance.risk", str(expired.pk), "high")
    assert finding.title == "Acceptance expired: Biased denials (Fraud scoring)"
    assert finding.assignee == risk_officer  # who accepted it decides again
    assert finding.due_at - finding.opened_at == dt.timedelta(days=14)
    assert list(
        AuditEvent.objects.filter(action__in=["risk.acceptance_expired", "finding.opened"])
        .order_by("seq")
        .values_list("action", "object_id")
    ) == [("risk.acceptance_expired", str(expired.pk)), ("finding.opened", str(finding.pk))]


def test_a_finding_resolved_by_hand_is_not_opened_again_for_the_same_acceptance(expired, risk_officer):
    from governance.findings.services import finding_resolve

    acceptance.risk_acceptances_expire()
    finding_resolve(by=risk_officer, finding=Finding.objects.get(), resolution="Board extended it on paper.")
    assert acceptance.risk_acceptances_expire() == {"expired": 1, "opened": 0}
    assert Finding.objects.filter(resolved_at__isnull=True).count() == 0


def test_accepting_again_renews_and_resolves_the_finding(client, expired, risk_officer):
    acceptance.risk_acceptances_expire()
    client.force_login(risk_officer)
    response = client.post(
        f"/api/v1/risks/{expired.pk}/transition/",
        {"status": "accepted", "justification": "Re-assessed: still within appetite.", "accept_until": days(180)},
        **JSON,
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["acceptance_expires_on"], response.json()["acceptance_expired"]) == (
        days(180).isoformat(),
        False,
    )
    finding = Finding.objects.get(kind=FindingKind.RISK_ACCEPTANCE_EXPIRED)
    assert (finding.is_open, finding.resolution) == (False, "The risk was accepted again.")
    # The new acceptance is a new period: when it passes in turn, a new finding opens.
    Risk.objects.filter(pk=expired.pk).update(acceptance_expires_on=days(-1))
    assert acceptance.risk_acceptances_expire() == {"expired": 1, "opened": 1}


@pytest.mark.parametrize("status", ["mitigating", "closed"])
def test_moving_an_expired_acceptance_on_resolves_its_finding_and_clears_the_date(expired, risk_officer, status):
    acceptance.risk_acceptances_expire()
    risk = services.risk_transition(by=risk_officer, risk=expired, status=status, justification="Moving on.")
    assert (risk.acceptance_expires_on, risk.accepted_by, risk.acceptance_expired) == (None, None, False)
    assert Finding.objects.get(kind=FindingKind.RISK_ACCEPTANCE_EXPIRED).resolution == f"The risk moved to {status}."


def test_rescoring_an_accepted_risk_withdraws_the_acceptance_and_its_expiry(expired, risk_officer):
    acceptance.risk_acceptances_expire()
    risk = services.risk_update(by=risk_officer, risk=expired, residual_likelihood=3)
    assert (risk.status, risk.acceptance_expires_on) == ("open", None)
    assert not Finding.objects.get(kind=FindingKind.RISK_ACCEPTANCE_EXPIRED).is_open


def test_the_risk_page_and_register_say_acceptance_expired(client, expired, executive):
    client.force_login(executive)
    page = client.get(f"/governance/risks/{expired.pk}/").content.decode()
    assert '<span class="badge overdue">acceptance expired</span>' in page
    assert f'Acceptance expired after <time datetime="{days(-1):%Y-%m-%d}">' in page
    register = client.get("/governance/risks/").content.decode()
    assert '<span class="badge overdue">acceptance expired</span>' in register


def test_the_beat_runs_the_expiry_rule_daily():
    from config.celery import app

    entry = app.conf.beat_schedule["keel-expire-risk-acceptances"]
    assert entry["task"] == "governance.tasks.expire_risk_acceptances"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {15})
