"""Category colours that never repeat (both map renderers alike) and a |r| heat map that labels every row."""

import numpy as np
import pandas as pd
import pytest

from msdash.app.fastmap import pack_map
from msdash.plots import CLEARLY_APART, category_colours, correlation_figure, map_figure, palette_note
from conftest import unpack


def _rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def _closest_pair(colours):
    """Smallest CIELAB distance (ΔE 1976) between two of ``colours``, by scikit-image's conversion."""
    from skimage.color import rgb2lab

    lab = rgb2lab(np.array([[_rgb(c) for c in colours]], float) / 255)[0]
    distance = np.sqrt(((lab[:, None] - lab[None]) ** 2).sum(-1))
    np.fill_diagonal(distance, np.inf)
    return distance.min()


class TestCategoryColours:
    @pytest.mark.parametrize("n", [1, 5, 10, 11, 19, 24, 25, 35, 80, 400])
    def test_n_categories_get_n_different_colours(self, n):
        colours = category_colours(n)
        assert len(colours) == n == len(set(colours))
        assert all(len(c) == 7 and c.startswith("#") for c in colours)

    def test_small_maps_keep_plotlys_colours(self):
        import plotly.colors

        assert category_colours(10) == [c.lower() for c in plotly.colors.qualitative.Plotly]
        assert category_colours(19)[:10] == category_colours(10)

    @pytest.mark.parametrize("n", [19, CLEARLY_APART])
    def test_nineteen_papers_get_colours_further_apart_than_the_old_palette(self, n):
        import plotly.colors

        old = plotly.colors.qualitative.Plotly + plotly.colors.qualitative.D3  # the 20 colours used before
        new = category_colours(n)
        assert _closest_pair(new) > 20 > 1.5 * _closest_pair(old[:n])
        # No category looks like "missing" (light grey): every added colour has a clear hue.
        rgb = np.array([_rgb(c) for c in new], float)
        assert (rgb.max(1) - rgb.min(1)).min() > 40

    def test_a_note_only_where_colours_start_to_look_alike(self):
        assert palette_note(CLEARLY_APART) == ""
        note = palette_note(CLEARLY_APART + 7)
        assert note.startswith(f"{CLEARLY_APART + 7} categories") and "hover" in note


class TestBothRenderersAgree:
    @pytest.mark.parametrize("n_categories", [3, 19, 27])
    def test_plotly_and_fast_map_colour_each_category_alike_without_repeats(self, n_categories):
        rng = np.random.default_rng(0)
        n = 4 * n_categories
        coords = rng.normal(size=(n, 2))
        names = [f"s{i}" for i in range(n)]
        papers = np.array([f"paper {i % n_categories:02d}" for i in range(n)], dtype=object)
        papers[0] = None  # a missing value: grey, not a category
        figure = map_figure(coords, names, color=papers, categorical=True)
        plotly_colours = {t.name: t.marker.color for t in figure.data if t.name != "missing"}
        assert len(plotly_colours) == n_categories == len(set(plotly_colours.values()))
        header, arrays = unpack(pack_map(coords, names, color=papers, categorical=True))
        categories, palette = header["color"]["categories"], header["color"]["palette"]
        assert categories == sorted(plotly_colours) and len(palette) == n_categories == len(set(palette))
        assert {name: palette[k] for k, name in enumerate(categories)} == plotly_colours
        assert arrays["color"][0] == -1


class TestHeatMapLabels:
    def test_every_property_has_its_tick_and_its_row(self):
        rows = [f"property with a long name number {i}" for i in range(31)]
        table = pd.DataFrame(np.random.default_rng(0).random((31, 5)), index=rows,
                             columns=[f"PC{i + 1}" for i in range(5)])
        fig = correlation_figure(table)
        assert list(fig.layout.yaxis.tickvals) == rows == list(fig.data[0].y)
        # Each label whole, wrapped onto lines of at most 24 characters (a long one would squeeze the cells).
        ticktext = list(fig.layout.yaxis.ticktext)
        assert [t.replace("<br>", " ") for t in ticktext] == rows
        assert max(len(line) for t in ticktext for line in t.split("<br>")) <= 24
        assert fig.layout.yaxis.tickmode == "array" and fig.layout.yaxis.automargin
        assert fig.layout.height >= 31 * 20  # about 20 px per row or more: labels do not overlap
        np.testing.assert_allclose(np.asarray(fig.data[0].z), table.to_numpy())
