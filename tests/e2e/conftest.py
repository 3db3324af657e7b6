"""Browser fixtures shared by every e2e module: the system Chromium, driven through Playwright.

Pages run against pytest-django's live_server (a real HTTP server in a thread, static files through
the finders, the same CSP headers as production). `page` records every console error, uncaught page
error, CSP violation and HTTP error response in `page.problems`; tests assert it stays empty
(tests/e2e/browser.py has the checks every browser test makes).

`browser` is set up after `lead_with_team`, the module's test data, so no ORM call happens while
Playwright's event loop runs in this thread: a module that needs other data overrides
`lead_with_team` (the default below is a team lead and her team).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from core.roles import Role
from tests.conftest import need_service
from tests.factories import TeamFactory, make_user

CHROMIUM = Path(os.environ.get("KEEL_CHROMIUM", "/usr/bin/chromium"))
# The flags that work on a machine with no screen and a closed network (see docs on the CI machine).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
VIEWPORT = {"width": 1280, "height": 800}

# Reported to the console by the page itself, so CSP violations show up even when Chromium's own
# "Refused to ..." message is worded differently between versions.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}`);
});
"""


@pytest.fixture
def lead_with_team(transactional_db):
    """Lena, a team lead, and her team. Modules override this fixture with the data they need."""
    for role in Role:
        Group.objects.get_or_create(name=role)
    lead = make_user("lena", Role.TEAM_LEAD, first_name="Lena", last_name="Lindqvist")
    team = TeamFactory(name="Claims Automation", lead=lead)
    return lead, team


@pytest.fixture
def browser(lead_with_team, live_server):
    """The system Chromium (Playwright's own browser download does not work here). Set up after the
    test data, so no ORM call happens while Playwright's event loop runs in this thread."""
    need_service(CHROMIUM.exists(), f"system Chromium ({CHROMIUM})")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.problems = []  # console errors, page errors, CSP violations, HTTP errors, in order
    page.on("console", lambda msg: msg.type == "error" and page.problems.append(f"console: {msg.text} @ {page.url}"))
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc} @ {page.url}"))
    page.on(
        "response",
        lambda r: r.status >= 400 and page.problems.append(f"HTTP {r.status} {r.request.method} {r.url}"),
    )
    yield page
    context.close()
