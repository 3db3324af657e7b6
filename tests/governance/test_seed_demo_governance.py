"""`manage.py seed_demo_governance`: tiers, risk registers and findings for the demo, once however often it runs."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from governance.management.demo_tier_answers import UNASSESSED
from governance.models import AuditEvent, Finding, Risk, RiskCategory, RiskTierAssessment, SignOffRequest
from governance.risks.tiering import unanswered
from projects.models import AIProject, Stage


@pytest.fixture
def demo(db, settings, tmp_path):
    """seed_demo's projects and users, without the MLflow registry, its credentials file under tmp_path."""
    settings.VAR_DIR = tmp_path
    settings.KEEL_DEMO_MLFLOW = False
    call_command("seed_demo", stdout=io.StringIO())


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo_governance", stdout=out)
    return out.getvalue()


def test_seed_refuses_to_run_before_seed_demo(db):
    with pytest.raises(CommandError, match=r"run `manage\.py seed_demo` first"):
        seed()


def test_seed_answers_every_demo_assessment_deliberately_and_leaves_one_project_not_assessed(demo):
    seed()
    tiers = dict(AIProject.objects.values_list("name", "risk_tier"))
    assert {name: tiers[name] for name in ("Credit scoring", "Support chatbot", "Voice emotion detection")} == {
        "Credit scoring": "high",
        "Support chatbot": "limited",
        "Voice emotion detection": "prohibited",
    }
    assert Counter(tiers.values()) == {"minimal": 20, "limited": 3, "high": 1, "prohibited": 1, "": 1}
    assert tiers[UNASSESSED] == ""
    credit = AIProject.objects.get(name="Credit scoring").tier_assessments.get()
    assert (credit.route, credit.flags) == ("Annex III 5(b)", ["FRIA"])
    # Every question each assessment asked was answered: nothing defaulted, no "not answered" line.
    for assessment in RiskTierAssessment.objects.all():
        assert unanswered(assessment.answers) == [], assessment
        assert not any("Not answered" in line for line in assessment.explanation)
    maintenance = AIProject.objects.get(name="Predictive maintenance").tier_assessments.get()
    assert maintenance.answers["C1"] == "21"
    assert "Annex I item 21 (Machinery, Regulation (EU) 2023/1230" in maintenance.explanation[0]


def test_seed_assesses_a_project_left_not_assessed_by_the_migration_but_not_the_deliberate_one(demo):
    seed()
    credit = AIProject.objects.get(name="Credit scoring")
    RiskTierAssessment.objects.create(
        project=credit, version=2, answers={}, answers_hash="z" * 64, tier="", unanswered=["A1"], explanation=[]
    )
    AIProject.objects.filter(pk=credit.pk).update(risk_tier="")
    seed()
    assert AIProject.objects.get(pk=credit.pk).risk_tier == "high"
    assert credit.tier_assessments.count() == 3
    assert AIProject.objects.get(name=UNASSESSED).risk_tier == ""


def test_seed_gives_every_project_in_validation_or_production_two_to_five_risks_across_all_categories(demo):
    seed()
    live = AIProject.objects.filter(stage__in=[Stage.VALIDATION, Stage.PRODUCTION])
    per_project = {p.name: p.risks.count() for p in live}
    assert len(per_project) == 12
    assert all(2 <= n <= 5 for n in per_project.values()), per_project
    assert Risk.objects.exclude(project__in=live).count() == 0
    assert set(Risk.objects.values_list("category", flat=True)) == set(RiskCategory.values)
    assert set(Risk.objects.values_list("status", flat=True)) == {"open", "mitigating", "accepted", "closed"}
    # The one accepted high residual risk was accepted by the risk officer.
    accepted_high = Risk.objects.get(status="accepted", residual_level__in=["high", "critical"])
    assert accepted_high.accepted_by.username == "risk"


def test_seed_leaves_overdue_high_risks_whose_findings_are_open(demo):
    output = seed()
    findings = Finding.objects.filter(resolved_at=None)
    assert sorted(findings.values_list("severity", flat=True)) == ["critical"] + ["high"] * 5
    assert "6 open findings" in output
    for finding in findings:
        assert Risk.objects.get(pk=finding.subject_id).review_overdue


def test_a_second_run_changes_nothing(demo):
    seed()
    events, risks, findings = AuditEvent.objects.count(), Risk.objects.count(), Finding.objects.count()
    output = seed()
    assert (AuditEvent.objects.count(), Risk.objects.count(), Finding.objects.count()) == (events, risks, findings)
    assert "(0 now)" in output


# --- sign-offs --------------------------------------------------------------------------------------


@pytest.fixture
def demo_versions(demo):
    """The demo registry's models as a sync of the demo MLflow server leaves them (no server needed):
    the credit scorecard and the fraud scorer, linked to their projects, 3 and 4 versions."""
    from projects.models import LinkSource
    from tests.registry_factories import ModelVersionFactory, RegisteredModelFactory, RegistryFactory

    registry = RegistryFactory(name="Local MLflow (demo)", base_url="http://127.0.0.1:9")
    for name, project, n in (
        ("credit-scorecard", "Credit scoring", 3),
        ("claims-fraud-scorer", "Claims fraud scoring", 4),
    ):
        model = RegisteredModelFactory(
            registry=registry, name=name, project=AIProject.objects.get(name=project), link_source=LinkSource.TAG
        )
        for v in range(1, n + 1):
            # seed_demo_mlflow trains each version in a run by the team's data scientist (not a Keel user).
            ModelVersionFactory(registered_model=model, version=str(v), created_by="ds-demo")
    return registry


def test_seed_adds_a_compliance_officer_who_can_sign_in(demo):
    from django.contrib.auth import get_user_model

    dpo = get_user_model().objects.get(username="dpo")
    assert list(dpo.groups.values_list("name", flat=True)) == ["Compliance Officer"]
    assert dpo.has_usable_password()


def test_seed_leaves_sign_offs_out_when_the_demo_registry_has_no_versions(demo):
    output = seed()
    assert SignOffRequest.objects.count() == 0
    assert "Demo sign-offs: left out" in output


def test_seed_approves_the_credit_scorecard_and_leaves_the_fraud_scorer_waiting_for_the_risk_officer(
    demo_versions,
):
    from governance.signoff.selectors import review_queue_for_user

    output = seed()

    approved = SignOffRequest.objects.get(status="approved")
    assert (approved.project.name, approved.fingerprint["model"], approved.fingerprint["version"]) == (
        "Credit scoring", "credit-scorecard", "3",
    )  # fmt: skip
    assert approved.requested_by.username == "omar"
    assert approved.policy.tier == "high"
    assert list(approved.decisions.values_list("reviewer__username", "role", "verdict")) == [
        ("risk", "Risk Officer", "approve"), ("dpo", "Compliance Officer", "approve"),
    ]  # fmt: skip
    assert approved.valid_until is not None
    pending = SignOffRequest.objects.get(status="pending")
    assert (pending.project.name, pending.fingerprint["model"], pending.fingerprint["version"]) == (
        "Claims fraud scoring", "claims-fraud-scorer", "4",
    )  # fmt: skip
    assert (pending.requested_by.username, pending.decisions.count()) == ("lead", 0)
    risk = pending.requested_by.__class__.objects.get(username="risk")
    assert list(review_queue_for_user(user=risk)) == [pending]
    assert "Demo sign-offs: 1 pending, 1 approved (2 now)." in output
    actions = list(AuditEvent.objects.filter(object_type="governance.signoffrequest").values_list("action", flat=True))
    assert sorted(actions) == sorted(
        ["signoff.requested", "signoff.decided", "signoff.decided", "signoff.approved", "signoff.requested"]
    )

    # Idempotent: a second run asks for nothing again.
    events = AuditEvent.objects.count()
    assert "Demo sign-offs: 1 pending, 1 approved (0 now)." in seed()
    assert AuditEvent.objects.count() == events


def test_seed_syncs_the_demo_registry_first_when_it_never_was_and_the_approval_resolves_its_finding(demo, monkeypatch):
    """As `make run` has it: the demo MLflow server is seeded but Keel has not synced it yet. The sync
    (here over a fake adapter with the demo's shape) sees the scorecard's v3 in production without a
    sign-off, which opens a finding; the seeded approval resolves it."""
    from governance.management.commands import seed_demo_governance as command
    from projects.registries.sync import registry_sync
    from tests.registry_factories import FakeAdapter, RegistryFactory, snapshot

    RegistryFactory(name="Local MLflow (demo)", base_url="http://127.0.0.1:9")
    demo_snapshot = snapshot(
        {
            "credit-scorecard": {"tags": {"keel.project": "credit-scoring"}, "aliases": {"production": "3"}},
            "claims-fraud-scorer": {"tags": {"keel.project": "claims-fraud-scoring"}, "aliases": {"challenger": "4"}},
        },
        {"credit-scorecard": ["1", "2", "3"], "claims-fraud-scorer": ["1", "2", "3", "4"]},
        created_by="ds-demo",
    )
    synced = []

    def sync(*, registry):
        synced.append(registry.name)
        return registry_sync(registry=registry, adapter=FakeAdapter(demo_snapshot))

    monkeypatch.setattr(command, "registry_sync", sync)
    output = seed()

    assert synced == ["Local MLflow (demo)"]
    assert "Demo sign-offs: 1 pending, 1 approved (2 now)." in output
    scorecard = Finding.objects.get(kind="deployed_without_approval")
    assert scorecard.title.startswith("credit-scorecard v3 is in production without a valid sign-off")
    assert scorecard.resolved_at is not None
    assert scorecard.resolution == "A sign-off for this version was approved."
    seed()
    assert synced == ["Local MLflow (demo)"]  # the versions are there now: no second sync


def test_seed_leaves_the_credit_scorecard_challenger_waiting_for_the_dpo(demo_versions):
    """With the demo registry's fourth credit-scorecard version (the challenger), the high-tier request is
    approved by the risk officer and waits in the DPO's queue, not the risk officer's."""
    from django.contrib.auth import get_user_model

    from governance.signoff.selectors import review_queue_for_user
    from projects.models import RegisteredModel
    from tests.registry_factories import ModelVersionFactory

    ModelVersionFactory(
        registered_model=RegisteredModel.objects.get(name="credit-scorecard"), version="4", created_by=""
    )
    output = seed()
    challenger = SignOffRequest.objects.get(model_version__version="4", project__name="Credit scoring")
    assert (challenger.status, challenger.policy.tier) == ("pending", "high")
    assert list(challenger.decisions.values_list("reviewer__username", "role", "verdict")) == [
        ("risk", "Risk Officer", "approve")
    ]
    users = get_user_model().objects.in_bulk(["risk", "dpo"], field_name="username")
    assert list(review_queue_for_user(user=users["dpo"])) == [challenger]
    assert challenger not in review_queue_for_user(user=users["risk"])
    assert SignOffRequest.objects.get(status="approved").fingerprint["version"] == "3"  # still approved
    assert "Demo sign-offs: 2 pending, 1 approved (3 now)." in output
