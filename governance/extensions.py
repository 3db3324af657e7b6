"""Governance's pages shown by projects (tabs of a project, fragments of the home and project pages),
registered in projects/extensions.py so that no projects template names a governance URL."""

from __future__ import annotations

from projects.extensions import (
    HOME_STAGES,
    HOME_TOP,
    PROJECT_FACTS,
    PROJECT_FOOTER,
    register_home_widget,
    register_project_tab,
    register_project_widget,
)


def register() -> None:
    """Called once from GovernanceConfig.ready(). Tab orders place them around projects' Overview (0) and ROI (30)."""
    register_project_tab("Risks", "governance:project-risks", current=("project-risks",), order=10)
    register_project_tab("EU AI Act tier", "governance:tier", current=("tier",), order=20)
    register_project_tab(
        "Sign-off", "governance:project-signoffs", current=("project-signoffs", "signoff-request"), order=40
    )
    register_project_tab(
        "Compliance", "governance:project-compliance", current=("project-compliance", "evidence-add"), order=50
    )
    register_project_tab("Monitoring", "governance:project-monitoring", current=("project-monitoring",), order=45)
    register_home_widget("governance/partials/_home_reviewer.html", slot=HOME_TOP)
    register_home_widget("governance/partials/_home_dashboard_link.html", slot=HOME_STAGES)
    register_project_widget("governance/partials/_project_tier_fact.html", slot=PROJECT_FACTS)
    register_project_widget("governance/partials/_project_champion_challenger.html", slot=PROJECT_FOOTER, order=50)
    register_project_widget("governance/partials/_project_audit_link.html", slot=PROJECT_FOOTER)
