"""A 50,000-point microstructure map in headless Chromium: it draws, a click shows the micrograph, a box selects
exactly the points inside it."""

import re

import numpy as np
import pytest

from conftest import ROOT, require_chromium
from msdash._testing import CHROMIUM, CHROMIUM_ARGS, canvas_map, saved_random_maps
from msdash.launcher import Server

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"

require_chromium()


def page_map_coords(dataset_id):
    """The PCA coordinates the Map page draws (default settings: two-point features, not standardised)."""
    from msdash.data.datastore import load_dataset
    from msdash.features import extract
    from msdash.maps import pca_map

    table = extract(load_dataset(dataset_id), "two_point", cutoff=1)  # read back from the store
    return pca_map(table.values, n_components=30).coords[:, :2]


def test_fifty_thousand_point_map_click_and_box_select(workspace, tmp_path):
    dataset_id = saved_random_maps()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, Server(ROOT / "app.py", workspace) as server:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{server.url}/map?ds={dataset_id}")
        page.get_by_text(re.compile("50000 of 50000 samples on the map")).wait_for()
        page.get_by_text("Renderer: fast canvas map").wait_for()
        fast_map = page.locator('.msdash-fastmap[data-drawn="1"]').first
        fast_map.wait_for()
        assert fast_map.get_attribute("data-n") == "50000"
        # The canvas map replaced plotly above the threshold. The page's other charts (scree plot, PC–property
        # heat map) are plotly and may already be drawn, so count the points plotly holds (``_length`` of its
        # decoded traces; ``data`` may hold base64 arrays), not its charts.
        plotly_points = page.evaluate("""() => Math.max(0, ...[...document.querySelectorAll('.js-plotly-plot')]
            .map(div => (div._fullData || []).reduce((n, trace) => n + (trace._length || 0), 0)))""")
        assert plotly_points < 1000, plotly_points
        left, top, width, height = (float(v) for v in fast_map.get_attribute("data-plot").split(","))
        fast_map.scroll_into_view_if_needed()
        canvas = page.locator(".msdash-fastmap canvas.over").first.bounding_box()
        x0, y0 = canvas["x"] + left, canvas["y"] + top

        page.mouse.click(x0 + width / 2, y0 + height / 2)
        page.get_by_text("Selected samples: 1").wait_for()
        page.locator('[data-testid="stImage"] img').first.wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "05-map-50k-click.png"))

        # Shift-drag a box: the page lists exactly the points whose coordinates lie inside the box drawn.
        page.keyboard.down("Shift")
        page.mouse.move(x0 + 0.40 * width, y0 + 0.40 * height)
        page.mouse.down()
        page.mouse.move(x0 + 0.55 * width, y0 + 0.60 * height, steps=8)
        page.mouse.up()
        page.keyboard.up("Shift")
        heading = page.locator("h3").filter(has_text=re.compile(r"Selected samples: (?!1\b)\d+")).first
        heading.wait_for()
        shown = int(re.search(r"Selected samples: (\d+)", heading.inner_text()).group(1))
        xa, xb, ya, yb = (float(v) for v in fast_map.get_attribute("data-box").split(","))
        view = [float(v) for v in fast_map.get_attribute("data-view").split(",")]
        # The reported box is the dragged one: 15 % of the view wide, 20 % high.
        assert xb - xa == pytest.approx(0.15 * (view[1] - view[0]), rel=0.02)
        assert yb - ya == pytest.approx(0.20 * (view[3] - view[2]), rel=0.02)
        xy = page_map_coords(dataset_id).astype(np.float32).astype(float)  # the browser holds float32
        inside = (xy[:, 0] >= xa) & (xy[:, 0] <= xb) & (xy[:, 1] >= ya) & (xy[:, 1] <= yb)
        assert shown == int(inside.sum()) > 1
        page.screenshot(path=str(ARTIFACTS / "05-map-50k-box.png"))
        browser.close()


def _selected_heading(page, previous=None):
    """The "Selected samples: n" heading once the page has settled (it changes only after a rerun)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(2500)
    return page.locator("h3").filter(has_text="Selected samples").first.inner_text()


def _open_map(playwright, server, dataset_id):
    """Chromium on the Map page of ``dataset_id``, once its maps are drawn; returns (browser, page)."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{server.url}/map?ds={dataset_id}")
    page.get_by_text("samples on the map").first.wait_for()
    return browser, page


def test_a_plotly_lasso_stays_selected_through_recolouring_and_a_visit_elsewhere(workspace):
    """The selection is ringed on the map it was lassoed on; recolouring (a new plotly figure, so a fresh widget
    with an empty selection) and a visit to the Gallery keep the selection, the colour and the feature set."""
    from playwright.sync_api import sync_playwright
    from conftest import papers_dataset

    dataset_id, _ = papers_dataset("19 papers", n=76)
    with sync_playwright() as playwright, Server(ROOT / "app.py", workspace) as server:
        browser, page = _open_map(playwright, server, dataset_id)
        plot = page.locator(".js-plotly-plot").first
        plot.scroll_into_view_if_needed()
        plot.hover()
        plot.locator('.modebar-btn[data-title="Lasso Select"]').click()
        area = plot.locator(".nsewdrag").first.bounding_box()
        page.mouse.move(area["x"] + 0.2 * area["width"], area["y"] + 0.2 * area["height"])
        page.mouse.down()
        for fx, fy in [(0.6, 0.2), (0.6, 0.8), (0.2, 0.8), (0.21, 0.21)]:
            page.mouse.move(area["x"] + fx * area["width"], area["y"] + fy * area["height"], steps=8)
        page.mouse.up()
        heading = _selected_heading(page)
        n = int(re.search(r"(\d+)", heading).group(1))
        assert n > 1

        def ringed():
            return page.evaluate("""() => (document.querySelector('.js-plotly-plot')._fullData || [])
                .filter(t => t.name === 'selected').reduce((k, t) => k + t._length, 0)""")

        assert ringed() == n  # shown on the map it was drawn on
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Colour by").locator("input").click()
        page.get_by_role("option", name="paper", exact=True).click()
        assert _selected_heading(page) == heading
        page.get_by_text("Standardise features").click()  # one more rerun: the redrawn chart's state arrives
        assert _selected_heading(page) == heading
        assert ringed() == n
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "17-map-lasso-recoloured.png"), full_page=True)
        page.get_by_role("link", name="Gallery").click()
        page.get_by_text("click a thumbnail").wait_for()
        page.get_by_role("link", name="Map").click()
        page.get_by_text("samples on the map").first.wait_for()
        assert _selected_heading(page) == heading
        colour = page.locator('[data-testid="stSelectbox"]').filter(has_text="Colour by")
        shown = colour.text_content() + " " + colour.locator("input").input_value()
        assert "paper" in shown, colour.inner_html()[:3000]
        browser.close()


def test_canvas_map_tooltip_shows_long_property_names_whole(workspace):
    """Two long property names that share a prefix are both readable in the canvas map's tooltip (no "…")."""
    import itertools

    from playwright.sync_api import sync_playwright
    from conftest import LONG_A, LONG_B, papers_dataset

    dataset_id, _ = papers_dataset("19 papers", n=300)
    with sync_playwright() as playwright, Server(ROOT / "app.py", workspace) as server:
        browser, page = _open_map(playwright, server, dataset_id)
        at, tip = canvas_map(page)
        for fx, fy in itertools.product([0.3, 0.4, 0.5, 0.6, 0.7], repeat=2):
            page.mouse.move(*at(fx, fy))
            page.wait_for_timeout(100)
            if tip.is_visible():
                break
        lines = tip.inner_text().splitlines()
        assert any(line.startswith(f"{LONG_A}: ") for line in lines)
        assert any(line.startswith(f"{LONG_B}: ") for line in lines)
        # Nothing is clipped: the box is as wide as its content and no line ends in an ellipsis.
        assert tip.evaluate("t => t.scrollWidth <= t.clientWidth && getComputedStyle(t).textOverflow !== 'ellipsis'")
        browser.close()
