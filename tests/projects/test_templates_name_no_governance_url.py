"""The one-way rule (governance → projects) holds in templates too: projects' pages show governance's
tabs and fragments through projects/extensions.py, never by naming a governance URL."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.test import Client

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_no_projects_template_names_a_governance_url():
    files = [*sorted((TEMPLATES / "projects").rglob("*.html")), TEMPLATES / "partials" / "_project_tabs.html"]
    assert len(files) > 10
    offenders = [str(f.relative_to(TEMPLATES)) for f in files if "governance:" in f.read_text()]
    assert offenders == []


def test_project_tabs_are_the_same_tabs_in_the_same_order(client: Client, admin_user, project):
    client.force_login(admin_user)

    html = client.get(f"/projects/{project.slug}/").content.decode()

    nav = html[html.index('<nav class="tabs"') : html.index("</nav>", html.index('<nav class="tabs"'))]
    slug = project.slug
    expected = [
        (f"/projects/{slug}/", "Overview"),
        (f"/governance/projects/{slug}/risks/", "Risks"),
        (f"/governance/projects/{slug}/tier/", "EU AI Act tier"),
        (f"/projects/{slug}/roi/", "ROI"),
        (f"/governance/projects/{slug}/signoffs/", "Sign-off"),
        (f"/governance/projects/{slug}/compliance/", "Compliance"),
    ]
    positions = [nav.index(f'<a href="{href}"') for href, _ in expected]
    assert positions == sorted(positions)
    labels = [nav[position:].split(">", 1)[1].split("</a>", 1)[0] for position in positions]
    assert labels == [label for _, label in expected]
    assert f'<a href="/projects/{slug}/" aria-current="page">Overview</a>' in nav
    assert nav.count('aria-current="page"') == 1


def test_project_page_shows_the_tier_row_and_the_audit_link_from_governance(client: Client, admin_user, project):
    client.force_login(admin_user)

    html = client.get(f"/projects/{project.slug}/").content.decode()

    assert f'<a href="/governance/projects/{project.slug}/tier/">why, and the questionnaire</a>' in html
    assert "Audit history of this project</a>" in html
