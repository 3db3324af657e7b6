"""A person signs in through the organisation's OpenID Connect provider in Chromium, at phone width, and
signs out of Keel and the provider: a real provider process (tests/oidc_provider.py), Keel's live server,
no stubs in between. The roles and audit rows behind it are checked in tests/core/test_oidc_sign_in.py."""

from __future__ import annotations

import pytest

from core.roles import Role
from tests.e2e.browser import assert_page_sound
from tests.factories import TeamFactory
from tests.oidc_provider import PROVIDER_NAME, oidc_provider, use_provider  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PHONE = {"width": 390, "height": 900}


@pytest.fixture
def lead_with_team(role_groups, settings, oidc_provider, live_server):  # noqa: F811 - the imported fixture
    """No local user at all: the provider's account becomes one at its first sign-in."""
    use_provider(
        settings,
        oidc_provider,
        role_map={"keel-risk": Role.RISK_OFFICER.value},
        team_lead_map={"claims-leads": "claims-automation"},
    )
    oidc_provider.set_user(
        "sub-rita", preferred_username="rita", given_name="Rita", family_name="Ruiz",
        email="rita@example.org", groups=["keel-risk", "claims-leads"],
    )  # fmt: skip
    return None, TeamFactory(name="Claims Automation")


def forget_provider_pages(page, provider) -> None:
    """The mock provider's own pages load a stylesheet from the internet and have no favicon: not Keel's
    problems. Everything Keel's pages record stays."""
    page.problems[:] = [problem for problem in page.problems if provider.url not in problem]


def test_a_person_signs_in_and_out_through_the_provider_in_the_browser(page, live_server, oidc_provider):  # noqa: F811
    page.set_viewport_size(PHONE)
    page.goto("/projects/")  # deny by default: to the sign-in page, remembering where the person was going
    button = page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}")
    assert_page_sound(page, width=PHONE["width"])
    button.click()

    page.wait_for_url(f"{oidc_provider.url}/oauth2/authorize?**")
    page.get_by_placeholder("sub").fill("sub-rita")
    page.get_by_role("button", name="Authorize").click()

    page.wait_for_url(f"{live_server.url}/projects/")
    whoami = page.locator(".whoami")
    assert "Rita Ruiz" in whoami.inner_text()
    assert "Risk Officer" in whoami.inner_text()
    assert "Team Lead" in whoami.inner_text()
    forget_provider_pages(page, oidc_provider)
    assert_page_sound(page, width=PHONE["width"])

    # Sign-out posts to Keel, which sends the browser to the provider's end-session page (CSP allows it).
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{oidc_provider.url}/oauth2/end_session?**")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{live_server.url}/login/")
    assert page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").is_visible()
    page.goto("/projects/")
    page.wait_for_url(f"{live_server.url}/login/?next=/projects/")
    forget_provider_pages(page, oidc_provider)
    assert_page_sound(page, width=PHONE["width"])
