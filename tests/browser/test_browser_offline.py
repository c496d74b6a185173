"""The app on an offline lab PC: every page loads in headless Chromium with every request to another host
blocked, and not one request fails (favicon, logo and stylesheet come from the app's own ``assets/``)."""

import re
from urllib.parse import urlsplit

import pytest

from conftest import ROOT, require_chromium
from msdash._testing import CHROMIUM, CHROMIUM_ARGS
from msdash.launcher import Server

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

    from conftest import papers_dataset

    dataset_id, names = papers_dataset("19 papers")  # with features: the Map page draws its charts
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
        # A data set with features: plotly maps, scree plot and heat map, the canvas map and a viewer dialog.
        page.goto(f"{server.url}/map?ds={dataset_id}")
        page.get_by_text("samples on the map").first.wait_for()
        page.locator(".js-plotly-plot").first.wait_for()
        page.get_by_text("Fast canvas map", exact=True).click()
        page.locator('.msdash-fastmap[data-drawn="1"]').first.wait_for()
        page.goto(f"{server.url}/gallery?ds={dataset_id}")
        page.get_by_text("click a thumbnail to open it").wait_for()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1000)  # the grid has settled: a click lands on the thumbnail it aims at
        page.locator('.st-key-gallery_thumbs_open_4 button').first.click()
        page.get_by_role("dialog").get_by_text(f"{names[4]} · shape (12, 12)").wait_for()
        page.keyboard.press("Escape")
        page.get_by_role("dialog").wait_for(state="hidden")
        # The stylesheet stretches the button over the picture: a click on the thumbnail itself opens it.
        picture = page.locator(".st-key-thumbcell_gallery_thumbs_1 img").first.bounding_box()
        page.mouse.click(picture["x"] + picture["width"] / 2, picture["y"] + picture["height"] / 2)
        page.get_by_role("dialog").get_by_text(f"{names[1]} · shape (12, 12)").wait_for()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1500)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "17-offline-gallery-viewer.png"))
        # The stylesheet of assets/ is on the page (its multiselect rule lets long option names show whole).
        styles = page.evaluate("() => [...document.querySelectorAll('style')].map(s => s.textContent).join('\\n')")
        assert re.search(r"stMultiSelect \[data-baseweb=\"tag\"\] \{ max-width: none", styles)
        browser.close()
    assert blocked == [], f"pages asked for outside hosts: {sorted(set(blocked))}"
    assert failed == [], failed
