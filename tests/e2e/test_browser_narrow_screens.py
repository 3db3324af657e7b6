"""Every page a persona can reach from the navigation, and a project's tabs, on a 390 px phone.

Each demo persona signs in, opens every link of the main navigation and every tab of a project it
can see, at 390 px: no page may scroll sideways (wide tables scroll inside their own box) and none
may log a console error. Each page is measured at 1440 px too, so the phone's rules cannot break
it. Failures are collected and reported together (page and overflow in px), so one run shows them
all.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import HORIZONTAL_OVERFLOW, demo_users, seed_demo, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 900}
DESKTOP = {"width": 1440, "height": 900}
PERSONAS = ("exec", "risk", "dpo", "lead", "admin")


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    """The demo data `make run` seeds (without its MLflow server): users, portfolio, ROI, governance."""
    seed_demo(settings, tmp_path)
    return demo_users(tmp_path)


@pytest.fixture
def lead_with_team(demo):
    """Overrides the conftest fixture the browser starts after, so the demo is seeded before it."""
    return demo


def hrefs(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")


def pages_to_visit(page) -> list[str]:
    """The main navigation's links, then a project's page and each of its tabs."""
    paths = [h for h in hrefs(page, "header nav a") if h and h.startswith("/")]
    page.goto("/projects/")
    projects = [h for h in hrefs(page, "main table a") if re.fullmatch(r"/projects/[\w-]+/", h or "")]
    if projects:
        page.goto(projects[0])
        paths += [projects[0], *(h for h in hrefs(page, ".tabs a") if h and h != projects[0])]
    return list(dict.fromkeys(paths + pii_pages(page)))


def pii_pages(page) -> list[str]:
    """The DPO's workspace beyond its navigation link: filtered, every label, a dataset from the catalogue,
    and (for classifiers) the register-and-import page."""
    page.goto("/governance/pii/?pii=suggested")
    datasets = [h for h in hrefs(page, "article.dataset-card h3 a") if h]
    paths = ["/governance/pii/?pii=suggested", "/governance/pii/labels/", *datasets[:1]]
    paths += [h for h in hrefs(page, "main .page-head a") if h == "/governance/pii/inventory/"]
    return paths


# The outermost elements that reach past the window's right edge, as "tag#id.class" (to say what to fix).
CULPRITS = """() => {
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.right <= window.innerWidth + 1 || !r.width) continue;
    if (el.parentElement && el.parentElement.getBoundingClientRect().right > window.innerWidth + 1) continue;
    let clipped = false;  // inside a box that scrolls or clips (a wide table's own scroll box): not a culprit
    for (let a = el.parentElement; a && !clipped; a = a.parentElement) {
      clipped = a !== document.body && a !== document.documentElement && getComputedStyle(a).overflowX !== "visible";
    }
    if (clipped) continue;
    out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + [...el.classList].map(c => "." + c).join("")
             + " +" + Math.round(r.right - window.innerWidth) + "px");
  }
  return out.slice(0, 3);
}"""


def visit(page, path: str) -> list[str]:
    """What is wrong with one page at phone width: its overflow and the browser's complaints."""
    page.problems.clear()
    page.goto(path)
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate(HORIZONTAL_OVERFLOW)
    found = []
    if overflow > 0:
        found.append(f"{path}: {overflow} px wider than the phone ({', '.join(page.evaluate(CULPRITS))})")
    # The same page on a desktop (the phone's rules must not break the wide layout).
    page.set_viewport_size(DESKTOP)
    page.wait_for_timeout(100)  # let the layout settle after the resize
    if (wide := page.evaluate(HORIZONTAL_OVERFLOW)) > 0:
        found.append(f"{path}: {wide} px wider than a {DESKTOP['width']} px desktop")
    page.set_viewport_size(PHONE)
    return found + [f"{path}: {problem}" for problem in page.problems]


@pytest.mark.parametrize("username", PERSONAS)
def test_no_page_scrolls_sideways_or_logs_an_error_at_390_px(page, demo, username):
    user, password = demo[username]
    page.set_viewport_size(PHONE)
    sign_in(page, user, password)
    page.wait_for_url(re.compile(r"://[^/]+/$"))
    paths = pages_to_visit(page)
    assert len(paths) >= 10, paths  # the navigation and a project's tabs were found
    failures = [failure for path in paths for failure in visit(page, path)]
    if failures:
        pytest.fail(f"{username} at 390 px:\n" + "\n".join(failures), pytrace=False)
