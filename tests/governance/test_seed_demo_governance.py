"""`manage.py seed_demo_governance`: tiers, risk registers and findings for the demo, once however often it runs."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from governance.models import AuditEvent, Finding, Risk, RiskCategory
from projects.models import AIProject, Stage


@pytest.fixture
def demo(db, settings, tmp_path, monkeypatch):
    """seed_demo's projects and users, without the MLflow registry, its credentials file under tmp_path."""
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("KEEL_DEMO_MLFLOW", "false")
    call_command("seed_demo", stdout=io.StringIO())


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo_governance", stdout=out)
    return out.getvalue()


def test_seed_refuses_to_run_before_seed_demo(db):
    with pytest.raises(CommandError, match=r"run `manage\.py seed_demo` first"):
        seed()


def test_seed_assesses_every_project_and_gives_the_documented_tiers(demo):
    seed()
    tiers = dict(AIProject.objects.values_list("name", "risk_tier"))
    assert all(tiers.values())
    assert {name: tiers[name] for name in ("Credit scoring", "Support chatbot", "Voice emotion detection")} == {
        "Credit scoring": "high",
        "Support chatbot": "limited",
        "Voice emotion detection": "prohibited",
    }
    assert Counter(tiers.values()) == {"minimal": 21, "limited": 3, "high": 1, "prohibited": 1}
    credit = AIProject.objects.get(name="Credit scoring").tier_assessments.get()
    assert credit.route == "Annex III 5(b)"


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
