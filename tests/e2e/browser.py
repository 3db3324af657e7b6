"""Helpers for browser tests (plain functions; the fixtures are in tests/e2e/conftest.py)."""

from __future__ import annotations

import io
import json

from django.contrib.auth import get_user_model
from django.core.management import call_command

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


def seed_demo(settings, tmp_path, *, commands=("seed_demo", "seed_demo_roi", "seed_demo_governance")) -> None:
    """The demo data `make run` seeds, without its MLflow server (a journey that needs the registry's
    versions adds them and runs seed_demo_governance again). The demo passwords go to `tmp_path`."""
    settings.VAR_DIR = tmp_path
    settings.KEEL_DEMO_MLFLOW = False
    for command in commands:
        call_command(command, stdout=io.StringIO())


def demo_users(tmp_path) -> dict:
    """username -> (user, password) of the demo's personas, as seed_demo wrote them."""
    passwords = json.loads((tmp_path / "demo-credentials.json").read_text())
    users = get_user_model().objects.in_bulk(list(passwords), field_name="username")
    return {username: (users[username], password) for username, password in passwords.items()}
