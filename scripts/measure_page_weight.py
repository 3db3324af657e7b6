#!/usr/bin/env python
"""The executive dashboard as a browser loads it: bytes over the wire, bytes decoded, server time and load
time, with a cold cache and then twice warm (the figures in #12's closing note).

Run it against a Keel that is up, e.g. `make run` on its demo (KEEL_PORT, default 8000):

    .venv/bin/python scripts/measure_page_weight.py http://127.0.0.1:8000 var/demo-credentials.json

It signs in as the demo executive (`exec`) through the login form, in Debian's Chromium
(KEEL_CHROMIUM, default /usr/bin/chromium) driven by Playwright, and reads the browser's own navigation
and resource timing. Nothing is written.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGE = "/governance/dashboard/"


def measure(page, base: str) -> dict:
    started = time.perf_counter()
    page.goto(base + PAGE, wait_until="load")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0")
    charts_drawn = time.perf_counter() - started
    nav = json.loads(page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0].toJSON())"))
    resources = page.evaluate("performance.getEntriesByType('resource').map(r => [r.transferSize, r.decodedBodySize])")
    return {
        "server_ms": round(nav["responseStart"] - nav["requestStart"]),
        "load_event_ms": round(nav["loadEventEnd"]),
        "charts_drawn_ms": round(charts_drawn * 1000),
        "transferred_bytes": nav["transferSize"] + sum(t for t, _ in resources),
        "decoded_bytes": nav["decodedBodySize"] + sum(d for _, d in resources),
        "requests": 1 + len(resources),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="Keel's address, e.g. http://127.0.0.1:8000")
    parser.add_argument("credentials", help="the demo's var/demo-credentials.json")
    args = parser.parse_args()
    with open(args.credentials) as f:
        password = json.load(f)["exec"]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("KEEL_CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.goto(args.base + "/login/")
        page.fill("input[name=username]", "exec")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.clearBrowserCache")
        for label in ("cold", "warm", "warm"):
            print(label, json.dumps(measure(page, args.base)))
        browser.close()


if __name__ == "__main__":
    main()
