"""Helpers for browser tests (plain functions; the fixtures are in tests/e2e/conftest.py)."""

from __future__ import annotations

from tests.factories import PASSWORD

# How far the document is wider than the window, in CSS pixels (0 or less: no horizontal scroll bar).
HORIZONTAL_OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def sign_in(page, user, password: str = PASSWORD) -> None:
    """Through the real login form."""
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def assert_page_sound(page, *, width: int, height: int = 900) -> None:
    """The checks every browser test makes of the page it is on, at a window `width` px wide: nothing
    went wrong in the browser so far (no console error, page error, CSP violation or HTTP error, as the
    `page` fixture records them), and the page fits the width (no horizontal scroll)."""
    assert page.problems == [], "\n".join(page.problems)
    if page.viewport_size != {"width": width, "height": height}:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(100)  # let the layout settle after the resize
    overflow = page.evaluate(HORIZONTAL_OVERFLOW)
    assert overflow <= 0, f"{page.url} scrolls sideways at {width} px: the document is {overflow} px wider"
    assert page.problems == [], "\n".join(page.problems)
