"""An ImageJ TIFF at 0.0125 µm per pixel, uploaded in a real browser: the pixel size is read, the Gallery's
thumbnails and viewer carry a scale bar, and lengths read in nm/µm (issue 15 item 3)."""

import io
import re

import numpy as np
import pytest

from conftest import ROOT, require_chromium
from msdash._testing import CHROMIUM, CHROMIUM_ARGS
from msdash.launcher import Server

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"

require_chromium()


def _imagej_tiff(seed):
    import tifffile

    rng = np.random.default_rng(seed)
    grey = (rng.random((96, 96)) * 200 + 20).astype(np.uint8)  # grey texture: not a two-level phase map
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, grey, imagej=True, resolution=(80.0, 80.0), metadata={"unit": "micron"})
    return buffer.getvalue()


def _longest_white_run(rows):
    """Longest horizontal run of near-white pixels (>= 240) in any of ``rows`` (2-D uint8), in pixels."""
    best = 0
    for row in rows >= 240:
        run = 0
        for bright in row:
            run = run + 1 if bright else 0
            best = max(best, run)
    return best


def test_an_imagej_tiff_shows_scale_bars_and_lengths_in_micrometres(tmp_path):
    from playwright.sync_api import sync_playwright

    files = []
    for i in range(3):
        path = tmp_path / f"sem_{i}.tif"
        path.write_bytes(_imagej_tiff(i))
        files.append(str(path))
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright, Server(ROOT / "app.py", tmp_path / "home") as server:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(60_000)
        page.goto(server.url)
        page.get_by_text("Demo: 300 two-phase").first.wait_for()
        uploaders = page.locator('[data-testid="stFileUploader"]')
        uploaders.filter(has_text="Images (PNG").locator("input[type=file]").set_input_files(files)
        page.get_by_text("Read 3 image(s)").wait_for()
        # the pixel size the files state is read and offered before saving
        page.get_by_text(re.compile(r"Pixel size 12\.5 nm, from the files. ImageJ metadata")).wait_for()
        name_box = page.get_by_label("Name of the data set")
        name_box.fill("ImageJ set")
        name_box.press("Enter")
        page.get_by_role("button", name="Save and open data set").click()
        page.get_by_text(re.compile("Saved “ImageJ set”")).wait_for()

        page.get_by_role("link", name="Gallery").click()
        page.locator('[data-testid="stImage"] img').first.wait_for()
        # the viewer's caption gives the width in µm: 96 px × 12.5 nm = 1.2 µm
        page.get_by_text(re.compile(r"1\.2 µm wide")).first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "units-gallery.png"), full_page=True)
        # a thumbnail carries the drawn bar: its label names a length in nm or µm
        thumb = page.locator('[data-testid="stImage"] img').first
        thumb.screenshot(path=str(ARTIFACTS / "units-thumbnail.png"))
        from PIL import Image

        picture = np.asarray(Image.open(ARTIFACTS / "units-thumbnail.png").convert("L"))
        h, w = picture.shape
        # the bar: a white run about a quarter of the width, bottom right; the texture above has none (the
        # element's rounded white corners are left out of both looks)
        assert _longest_white_run(picture[int(0.8 * h):int(0.97 * h), w // 2:int(0.97 * w)]) >= 0.12 * w
        assert _longest_white_run(picture[h // 8:h // 2, w // 8:7 * w // 8]) < 0.12 * w

        page.get_by_role("link", name="Features").click()
        page.get_by_text("Extractor").first.wait_for()
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Extractor").click()
        page.get_by_role("option", name="Two-point correlation", exact=True).click()
        page.get_by_text("4,225 features per sample").wait_for()  # the default cutoff (32 px) for 96-px images
        page.get_by_role("button", name="Compute features").click()
        page.get_by_text(re.compile(r"Two-point lags .* px in steps of 1 px: .* nm")).first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "units-features.png"), full_page=True)
        browser.close()
