"""Pages name people through one filter; a write with no person (the system) reads as such, never a 500."""

from __future__ import annotations

from django.template import Context, Template

from tests.factories import make_user
from tests.signoff_factories import assess


def test_person_filter_names_a_user_or_says_who_is_missing(db):
    user = make_user("ravi", first_name="Ravi", last_name="Lindqvist")
    plain = make_user("plain", first_name="", last_name="")
    template = Template('{{ a|person }}|{{ b|person }}|{{ c|person }}|{{ c|person:"nobody" }}')
    assert template.render(Context({"a": user, "b": plain, "c": None})) == (
        'Ravi Lindqvist|plain|<span class="muted">unknown</span>|<span class="muted">nobody</span>'
    )


def test_a_tier_assessed_by_the_system_shows_on_the_project_pages(client, risk_officer, project):
    assess(project, "minimal")  # by=None: Keel itself, as the dated-rule task does
    client.force_login(risk_officer)
    for url in (f"/governance/projects/{project.slug}/risks/", f"/governance/projects/{project.slug}/tier/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<span class="muted">Keel (system)</span>' in response.content.decode(), url
