"""The real app in headless Chromium: demo, upload through the file input, refresh, server restart."""

import re

import pytest

from conftest import ROOT, phase_maps, png_bytes, require_chromium, zip_bytes
from msdash._testing import CHROMIUM, CHROMIUM_ARGS
from msdash.launcher import Server

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"

require_chromium()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_demo_upload_refresh_restart(browser, tmp_path):
    home = tmp_path / "home"
    maps = phase_maps(5, size=24)
    archive = tmp_path / "micrographs.zip"
    archive.write_bytes(zip_bytes({f"{name}.png": png_bytes(a) for name, a in maps.items()}))
    table = tmp_path / "hardness.csv"
    table.write_text("sample,hardness (HV)\n" + "\n".join(f"{n},{400 + i}" for i, n in enumerate(maps)) + "\nextra,1\n")

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    with Server(ROOT / "app.py", home) as server:
        page.goto(server.url)
        page.get_by_text("Demo: 300 two-phase").first.wait_for()
        shot(page, "01-demo-open")

        uploaders = page.locator('[data-testid="stFileUploader"]')
        uploaders.filter(has_text="Images (PNG").locator("input[type=file]").set_input_files(str(archive))
        page.get_by_text("Read 5 image(s)").wait_for()
        uploaders.filter(has_text="Property table").locator("input[type=file]").set_input_files(str(table))
        page.get_by_text("Match report").wait_for()
        assert page.get_by_text("5 of 5 images matched").count() or page.get_by_text("Rows without an image").count()
        name_box = page.get_by_label("Name of the data set")
        name_box.fill("Browser upload")
        name_box.press("Enter")
        shot(page, "02-match-report")
        page.get_by_role("button", name="Save and open data set").click()
        page.get_by_text(re.compile("Saved “Browser upload”")).wait_for()
        dataset_id = re.search(r"ds=([0-9a-f]{16})", page.url).group(1)

        page.get_by_role("link", name="Gallery").click()
        page.locator('[data-testid="stImage"] img').first.wait_for()
        assert page.get_by_text("5 of 5 samples").count() == 1
        shot(page, "03-gallery-upload")

        page.reload()
        page.get_by_text("Open data set:").wait_for()
        assert page.get_by_text("Browser upload").count() >= 1
        assert dataset_id in page.url

    with Server(ROOT / "app.py", home) as server:  # a restart: same workspace, new process
        page.goto(server.url)
        page.get_by_text("Saved data sets").wait_for()
        page.get_by_text(re.compile("Open data set:")).wait_for()
        page.get_by_text(re.compile(f"Browser upload · 5 samples .* {dataset_id}")).wait_for()
        shot(page, "04-after-restart")
        page.goto(f"{server.url}/?ds={dataset_id}")
        page.get_by_text("Browser upload").first.wait_for()
    page.close()
