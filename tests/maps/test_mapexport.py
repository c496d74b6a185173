"""The shareable map (issue 15 item 5): one HTML file, plotly inlined, hover images, opens with the network blocked."""

import base64
import io
import re

import numpy as np
import pytest

from conftest import ROOT
from msdash.mapexport import map_html, thumbnail_uris
from msdash.plots import map_figure

HOSTILE = "</script><script>document.title='pwned'</script>"


def _study(n=40):
    rng = np.random.default_rng(0)
    names = [f"s{i:02d}" for i in range(n - 1)] + [HOSTILE]
    images = {name: (rng.random((16, 16)) < 0.3 + 0.01 * i).astype(np.float32) for i, name in enumerate(names)}
    coords = rng.normal(size=(n, 2))
    colour = np.array([images[name].mean() for name in names])
    return names, images, coords, colour


def test_thumbnails_decode_to_the_images_they_show():
    from PIL import Image

    from msdash.display import thumbnail

    names, images, _, _ = _study(3)
    uris = thumbnail_uris(images, names, size=32)
    for name in names:
        png = base64.b64decode(uris[name].split(",", 1)[1])
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), thumbnail(images[name], size=32))


def test_plotly_is_inlined_and_names_cannot_break_out():
    names, images, coords, colour = _study()
    fig = map_figure(coords, names, color=colour, color_label="volume fraction", selected=[HOSTILE, "s01"])
    page = map_html(fig, thumbnails=thumbnail_uris(images, names), selected=[HOSTILE, "s01"],
                    title="<b>map</b>", caption="two-point PCA")
    scripts = re.findall(r"<script[^>]*\bsrc=", page)
    assert scripts == []  # plotly.js is inlined, not loaded (the browser test blocks the network to prove it)
    assert HOSTILE not in page  # the name appears only escaped (JSON "<\/script>" or HTML entities)
    assert "&lt;/script&gt;" in page and "<\\/script>" in page
    assert "<title>&lt;b&gt;map&lt;/b&gt;</title>" in page


@pytest.mark.browser
def test_exported_map_opens_offline_shows_points_and_hover_image(tmp_path):
    from playwright.sync_api import sync_playwright

    from msdash._testing import CHROMIUM, CHROMIUM_ARGS

    names, images, coords, colour = _study()
    fig = map_figure(coords, names, color=colour, color_label="volume fraction")
    path = tmp_path / "map.html"
    path.write_text(map_html(fig, thumbnails=thumbnail_uris(images, names)), encoding="utf-8")
    outside = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()

            def block(route):
                if not route.request.url.startswith(("file:", "data:", "blob:")):
                    outside.append(route.request.url)
                    return route.abort()
                return route.continue_()

            page.route("**/*", block)
            page.goto(path.as_uri())
            page.wait_for_function("() => document.querySelector('.js-plotly-plot')?._fullData?.length > 0")
            drawn = page.evaluate("""() => document.querySelector('.js-plotly-plot')._fullData
                                       .reduce((n, t) => n + t._length, 0)""")
            assert drawn == len(names)
            # hover the point of the last sample (the hostile name): its micrograph shows, its name as text
            page.evaluate("""() => { const gd = document.querySelector('.js-plotly-plot');
                gd.emit('plotly_hover', {points: [{customdata: gd.data[0].customdata.at(-1)}]}); }""")
            box = page.locator("#msdash-hover")
            assert box.is_visible()
            assert page.locator("#msdash-hover img").get_attribute("src").startswith("data:image/png;base64,")
            assert page.locator("#msdash-hover span").text_content() == HOSTILE
            assert page.title() != "pwned"
            (ROOT / "test-artifacts").mkdir(exist_ok=True)
            page.screenshot(path=str(ROOT / "test-artifacts" / "map-export.png"))
        finally:
            browser.close()
    assert outside == []
