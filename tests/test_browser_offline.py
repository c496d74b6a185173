"""The app on an offline lab PC: every page loads in headless Chromium with every request to another host
blocked, and not one request fails (favicon, logo and stylesheet come from the app's own ``assets/``)."""

import re
from urllib.parse import urlsplit

import pytest

from conftest import ROOT, require_chromium
from msdash.devserver import CHROMIUM, CHROMIUM_ARGS, Server

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"
#: Every page of the app and a heading it shows once it has run.
PAGES = {"": "Open data set:", "gallery": "Gallery", "features": "Open data set:", "map": "Microstructure map",
         "models": "Open data set:", "learn": "Open data set:", "predict": "Open data set:"}

require_chromium()


def _local(url):
    if url.startswith(("data:", "blob:", "about:")):
        return True
    return urlsplit(url).hostname in {"127.0.0.1", "localhost"}


def test_every_page_loads_with_the_network_blocked(workspace):
    from playwright.sync_api import sync_playwright

    blocked, failed = [], []
    with sync_playwright() as playwright, Server(ROOT / "app.py", workspace) as server:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})

        def guard(route):
            if _local(route.request.url):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort("internetdisconnected")

        context.route("**/*", guard)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.on("requestfailed", lambda request: failed.append((request.url, request.failure)))
        for path, heading in PAGES.items():
            page.goto(f"{server.url}/{path}")
            page.get_by_text(heading).first.wait_for()
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(1500)  # late requests (favicon, icons) of the page just drawn
            icon = page.evaluate("() => [...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)")
            assert icon and all(_local(href) for href in icon), icon
            assert page.locator('[data-testid="stSidebarLogo"], [data-testid="stHeaderLogo"]').count() >= 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "17-offline-predict.png"))
        # The stylesheet of assets/ is on the page (its multiselect rule lets long option names show whole).
        styles = page.evaluate("() => [...document.querySelectorAll('style')].map(s => s.textContent).join('\\n')")
        assert re.search(r"stMultiSelect \[data-baseweb=\"tag\"\] \{ max-width: none", styles)
        browser.close()
    assert blocked == [], f"pages asked for outside hosts: {sorted(set(blocked))}"
    assert failed == [], failed
