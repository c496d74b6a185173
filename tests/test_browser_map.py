"""A 50,000-point microstructure map in headless Chromium: it draws, and a click shows the micrograph."""

import re

import pytest

from conftest import ROOT, require_chromium
from msdash.devserver import CHROMIUM, CHROMIUM_ARGS, Server, saved_random_maps

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"

require_chromium()


def test_fifty_thousand_point_map_click_shows_micrograph(workspace, tmp_path):
    dataset_id = saved_random_maps()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, Server(ROOT / "app.py", workspace) as server:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{server.url}/map?ds={dataset_id}")
        plot = page.locator(".js-plotly-plot").first
        plot.wait_for()
        page.get_by_text(re.compile("50000 of 50000 samples on the map")).wait_for()
        box = plot.locator(".nsewdrag").first.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.get_by_text("Selected samples: 1").wait_for()
        page.locator('[data-testid="stImage"] img').first.wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "05-map-50k-click.png"), full_page=True)
        browser.close()
