"""Micrographs on hover in headless Chromium: on the canvas map and on the plotly map, the hovered sample's
thumbnail shows beside the numbers, its pixels are the sample's, and a scale bar gives its size in µm."""

import re

import numpy as np
import pytest

from conftest import ROOT, require_chromium
from msdash._testing import CHROMIUM, CHROMIUM_ARGS, canvas_map
from msdash.launcher import Server

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"
PIXEL_UM = 0.05  # 64 px samples: 3.2 µm wide

require_chromium()


def white_and_black():
    """A saved data set of 12 all-white and 12 all-black 64 px samples at 0.05 µm/px, with a feature set."""
    from msdash.data.dataset import Dataset
    from msdash.data.datastore import save_dataset
    from msdash.features import extract
    from msdash.features.store import save_table_meta

    images = {f"white_{i:02d}": np.ones((64, 64), np.float32) for i in range(12)}
    images |= {f"black_{i:02d}": np.zeros((64, 64), np.float32) for i in range(12)}
    dataset = Dataset("white and black", images, pixel_size_um=PIXEL_UM)
    dataset_id = save_dataset(dataset)
    save_table_meta(dataset_id, extract(dataset, "two_point", cutoff=1))
    return dataset_id


def _expected_bar():
    from msdash.data.pixelsize import format_length, scale_bar_length

    return format_length(scale_bar_length(PIXEL_UM, 64)[0]), format_length(64 * PIXEL_UM)


# Centre pixel of a hover canvas (the scale bar sits in the bottom-right corner) and its data attributes.
_CANVAS_CENTRE = """c => { const x = c.getContext('2d').getImageData(c.width >> 1, c.height >> 2, 1, 1).data;
    return {rgb: [x[0], x[1], x[2]], bar: c.dataset.bar || null, index: c.dataset.index, w: c.width}; }"""


def _open(playwright, server, dataset_id):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{server.url}/map?ds={dataset_id}")
    page.get_by_text("samples on the map").first.wait_for()
    page.locator('.msdash-atlas[data-ready="1"]').first.wait_for()  # the atlas arrived and is decoded
    return browser, page


def test_canvas_map_hover_shows_the_samples_micrograph_with_a_scale_bar(workspace):
    from playwright.sync_api import sync_playwright

    dataset_id = white_and_black()
    bar, width = _expected_bar()
    with sync_playwright() as playwright, Server(ROOT / "app.py", workspace) as server:
        browser, page = _open(playwright, server, dataset_id)
        at, tip = canvas_map(page)
        seen = {}
        # The two clusters lie on the PC1 strip: sweep across it and look at what the tooltip shows.
        for fx in np.linspace(0.02, 0.98, 97):
            for fy in (0.5, 0.45, 0.55):
                page.mouse.move(*at(fx, fy))
                if tip.is_visible() and tip.locator("canvas.thumb").count():
                    name = tip.locator("b").first.inner_text()
                    kind = name.split("_")[0]
                    if kind not in seen:
                        seen[kind] = (name, tip.locator("canvas.thumb").evaluate(_CANVAS_CENTRE), tip.inner_text())
                        ARTIFACTS.mkdir(exist_ok=True)
                        page.screenshot(path=str(ARTIFACTS / f"23-hover-canvas-{kind}.png"))
                    break
        assert set(seen) == {"white", "black"}, seen
        for kind, value in (("white", 255), ("black", 0)):
            name, pixel, text = seen[kind]
            assert pixel["rgb"] == [value] * 3, (kind, pixel)
            assert pixel["bar"] == bar  # the scale bar's label, as the sample viewer computes it
            assert f"width: {width}" in text.splitlines()
            assert int(pixel["index"]) == (int(name.split("_")[1]) + (0 if kind == "white" else 12))
        browser.close()


def test_plotly_map_hover_shows_the_samples_micrograph_and_keeps_the_selection(workspace):
    from playwright.sync_api import expect, sync_playwright

    dataset_id = white_and_black()
    bar, width = _expected_bar()
    with sync_playwright() as playwright, Server(ROOT / "app.py", workspace) as server:
        browser, page = _open(playwright, server, dataset_id)
        page.get_by_text("Renderer: plotly").wait_for()
        plot = page.locator(".js-plotly-plot").first
        plot.scroll_into_view_if_needed()
        page.locator('.msdash-plotly-hover[data-attached="1"]').first.wait_for(state="attached")
        # Screen position of one point of each kind, from plotly's own axes.
        where = plot.evaluate("""gd => { const fl = gd._fullLayout, r = gd.getBoundingClientRect(), out = {};
            for (const t of gd._fullData) for (let i = 0; i < (t._length || 0); i++) {
              const kind = String(t.customdata[i][0]).split('_')[0];
              out[kind] = out[kind] || [r.left + fl._size.l + fl.xaxis.d2p(t.x[i]),
                                        r.top + fl._size.t + fl.yaxis.d2p(t.y[i])];
            }
            return out; }""")
        assert set(where) == {"white", "black"}
        box = page.locator(".msdash-plotly-hover").first
        for kind, value in (("white", 255), ("black", 0)):
            x, y = where[kind]
            page.mouse.move(x + 30, y + 30)
            page.mouse.move(x, y, steps=5)
            box.wait_for(state="visible")
            expect(box.locator(".caption")).to_have_text(re.compile(f"^{kind}_"))
            pixel = box.locator("canvas").evaluate(_CANVAS_CENTRE)
            caption = box.locator(".caption").inner_text()
            assert caption.startswith(f"{kind}_") and caption.endswith(f"{width} wide"), caption
            assert pixel["rgb"] == [value] * 3 and pixel["bar"] == bar, pixel
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"23-hover-plotly-{kind}.png"))
        # A click still selects through plotly (the hover helper only listens).
        x, y = where["white"]
        page.mouse.click(x, y)
        page.get_by_text("Selected samples: 1").wait_for()
        browser.close()
