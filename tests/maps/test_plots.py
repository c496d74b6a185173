"""Plotly figure builders: assertions on fig.data and fig.layout."""

import subprocess
import sys

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from conftest import ROOT
from msdash.errors import InputError
from msdash.maps import pc_property_correlation, selection_from_event
from msdash.plots import correlation_figure, histogram_figure, loadings_figure, map_figure, scree_figure


def _points(n=12, seed=0):
    coords = np.random.default_rng(seed).normal(size=(n, 3))
    names = np.array([f"s{i:03d}" for i in range(n)])
    return coords, names


def _plotted(fig):
    """Names drawn in the data traces (everything but the 'selected' overlay)."""
    return [name for t in fig.data if t.name != "selected" for name in t.customdata[:, 0]]


class TestMapFigure:
    def test_plain_map_is_one_scattergl_with_names_in_customdata(self):
        coords, names = _points()
        fig = map_figure(coords, names, title="DINOv2 map")
        assert len(fig.data) == 1 and isinstance(fig.data[0], go.Scattergl)
        assert list(fig.data[0].customdata[:, 0]) == list(names)
        np.testing.assert_array_equal(fig.data[0].x, coords[:, 0])
        np.testing.assert_array_equal(fig.data[0].y, coords[:, 1])
        assert fig.layout.title.text == "DINOv2 map"
        assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("PC1", "PC2")

    def test_layout_keeps_zoom_and_emits_selection_events(self):
        fig = map_figure(*_points())
        assert fig.layout.dragmode == "zoom" and fig.layout.clickmode == "event+select"
        assert fig.layout.uirevision == map_figure(*_points(seed=1)).layout.uirevision
        assert not fig.layout.images

    def test_nan_coords_are_left_out(self):
        coords, names = _points()
        coords[[2, 7], 1] = np.nan
        fig = map_figure(coords, names, color=np.arange(12.0))
        assert _plotted(fig) == [n for i, n in enumerate(names) if i not in (2, 7)]

    def test_categorical_colour_gives_one_trace_per_category_with_legend(self):
        coords, names = _points()
        papers = np.array(["Smith 2019", "Lee 2021", "Wu 2020"] * 4)
        fig = map_figure(coords, names, color=papers, color_label="paper")
        assert [t.name for t in fig.data] == ["Lee 2021", "Smith 2019", "Wu 2020"]
        assert all(isinstance(t, go.Scattergl) for t in fig.data)
        assert list(fig.data[1].customdata[:, 0]) == list(names[papers == "Smith 2019"])
        assert len({t.marker.color for t in fig.data}) == 3
        assert all(t.showlegend is not False for t in fig.data)

    def test_integer_labels_forced_categorical_sort_numerically_and_missing_last(self):
        coords, names = _points()
        clusters = np.array([10, 2, 2, 10, 1, 1, 2, 10, 1, 2, np.nan, 1])
        fig = map_figure(coords, names, color=clusters, categorical=True)
        assert [t.name for t in fig.data] == ["1", "2", "10", "missing"]
        assert list(fig.data[-1].customdata[:, 0]) == ["s010"]

    def test_numeric_colour_gives_one_trace_with_titled_colour_bar(self):
        coords, names = _points()
        stiffness = np.linspace(10, 20, 12)
        fig = map_figure(coords, names, color=stiffness, color_label="E_x plane strain Voigt bound (GPa)")
        assert len(fig.data) == 1
        marker = fig.data[0].marker
        assert marker.showscale and marker.colorbar.title.text == "E_x plane strain Voigt bound (GPa)"
        np.testing.assert_array_equal(marker.color, stiffness)
        assert (marker.cmin, marker.cmax) == (10.0, 20.0)
        assert "Viridis" in str(marker.colorscale) or marker.colorscale[0][1] == "#440154"

    def test_samples_without_a_colour_value_go_to_a_grey_trace(self):
        coords, names = _points()
        values = np.arange(12.0)
        values[4] = np.nan
        fig = map_figure(coords, names, color=values, color_label="HV")
        assert [t.name for t in fig.data] == ["HV", "missing"]
        assert list(fig.data[1].customdata[:, 0]) == ["s004"]

    def test_hover_columns_travel_in_customdata_and_template(self):
        coords, names = _points(4)
        hover = pd.DataFrame({"vf": [0.1, 0.2, 0.3, 0.4], "paper": list("abcd")}, index=[9, 8, 7, 6])
        fig = map_figure(coords, names, hover=hover)
        assert fig.data[0].customdata.tolist() == [[n, v, p] for n, v, p in zip(names, hover.vf, hover.paper)]
        template = fig.data[0].hovertemplate
        assert "%{customdata[0]}" in template and "vf: %{customdata[1]:.4g}" in template
        assert "paper: %{customdata[2]}" in template

    def test_selected_names_are_drawn_on_top(self):
        coords, names = _points()
        coords[5] = np.nan
        fig = map_figure(coords, names, color=np.arange(12.0), selected=["s003", "s005", "s009", "unknown"])
        top = fig.data[-1]
        assert top.name == "selected" and isinstance(top, go.Scattergl)
        assert list(top.customdata[:, 0]) == ["s003", "s009"]
        assert top.marker.line.color == "black" and top.marker.size > fig.data[0].marker.size

    def test_selection_event_round_trip(self):
        coords, names = _points()
        fig = map_figure(coords, names, color=np.array(list("ab") * 6))
        trace = fig.data[1]
        event = {"selection": {"points": [{"curve_number": 1, "point_index": i, "customdata": list(trace.customdata[i])}
                                          for i in (0, 2)], "point_indices": [0, 2], "box": [], "lasso": []}}
        assert selection_from_event(event) == ["s001", "s005"]

    def test_max_points_thins_exactly_and_says_so(self):
        coords, names = _points(500)
        fig = map_figure(coords, names, color=np.arange(500) % 3, categorical=True, max_points=120,
                         selected=["s000"], title="UMAP")
        assert len(_plotted(fig)) == 120 and len(set(_plotted(fig))) == 120
        assert fig.layout.title.text == "UMAP — showing 120 of 500 points"
        assert list(fig.data[-1].customdata[:, 0]) == ["s000"]
        again = map_figure(coords, names, color=np.arange(500) % 3, categorical=True, max_points=120)
        assert _plotted(again) == _plotted(fig)

    def test_max_points_above_n_changes_nothing(self):
        fig = map_figure(*_points(), max_points=100, title="map")
        assert len(_plotted(fig)) == 12 and fig.layout.title.text == "map"

    def test_many_points_keep_every_point(self):
        # Speed is measured in bench/map_scale.py; here: 50,000 points, none dropped, names carried.
        coords, names = _points(50_000)
        fig = map_figure(coords, names, color=coords[:, 2], color_label="vf")
        assert len(fig.data[0].x) == 50_000
        assert fig.data[0].customdata[-1][0] == names[-1]

    @pytest.mark.parametrize("kwargs, match", [
        (dict(coords=np.zeros((3, 1))), "coords"), (dict(color=[1, 2]), "color"),
        (dict(hover=pd.DataFrame({"a": [1]})), "hover"), (dict(hover=[1, 2, 3]), "DataFrame")])
    def test_rejects_misaligned_inputs(self, kwargs, match):
        args = dict(coords=np.zeros((3, 2)), names=["a", "b", "c"]) | kwargs
        with pytest.raises(InputError, match=match):
            map_figure(args.pop("coords"), args.pop("names"), **args)


class TestScreeFigure:
    def test_bars_and_cumulative_in_percent(self):
        ratio = np.array([0.6, 0.2, 0.1, 0.05, 0.03])
        fig = scree_figure(ratio, n=4)
        bars, line = fig.data
        assert isinstance(bars, go.Bar) and isinstance(line, go.Scatter)
        np.testing.assert_allclose(bars.y, ratio[:4] * 100)
        assert line.y[-1] == pytest.approx(ratio[:4].sum() * 100)
        assert list(bars.x) == [1, 2, 3, 4]

    def test_shows_at_most_the_available_components(self):
        assert len(scree_figure([0.7, 0.3], n=30).data[0].y) == 2


class TestCorrelationFigure:
    def test_heatmap_of_table(self):
        coords = np.random.default_rng(0).normal(size=(20, 5))
        props = pd.DataFrame({"vf": coords[:, 0], "E (GPa)": np.arange(20.0), "HV": np.sin(np.arange(20.0))})
        fig = correlation_figure(pc_property_correlation(coords, props, n_pcs=4))
        heat = fig.data[0]
        assert isinstance(heat, go.Heatmap) and np.shape(heat.z) == (3, 4)
        assert list(heat.x) == ["PC1", "PC2", "PC3", "PC4"] and list(heat.y) == ["vf", "E (GPa)", "HV"]
        assert (heat.zmin, heat.zmax) == (0, 1) and heat.texttemplate == "%{z:.2f}"
        assert heat.z[0][0] == pytest.approx(1.0)

    def test_needs_a_dataframe(self):
        with pytest.raises(InputError, match="DataFrame"):
            correlation_figure(np.zeros((2, 2)))


class TestLoadingsFigure:
    def test_reshaped_diverging_heatmap_with_square_pixels(self):
        component = np.linspace(-1, 2, 41 * 41)
        fig = loadings_figure(component, (41, 41), title="PC1 loadings")
        heat = fig.data[0]
        assert np.shape(heat.z) == (41, 41) and heat.z[0][1] == component[1]
        assert heat.zmid == 0 and heat.colorscale[0][1] == go.Heatmap(colorscale="RdBu").colorscale[0][1]
        assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.title.text == "PC1 loadings"

    def test_shape_must_hold_the_loadings(self):
        with pytest.raises(InputError, match="shape"):
            loadings_figure(np.zeros(10), (3, 3))


class TestHistogramFigure:
    def test_histogram_with_marker_line(self):
        fig = histogram_figure([1.0, 2.0, np.nan, 2.5], label="HV", marker=2.2, marker_label="true value")
        assert isinstance(fig.data[0], go.Histogram) and list(fig.data[0].x) == [1.0, 2.0, 2.5]
        assert fig.layout.xaxis.title.text == "HV"
        assert fig.layout.shapes[0].x0 == 2.2 == fig.layout.shapes[0].x1
        assert fig.layout.annotations[0].text == "true value"

    def test_without_marker_no_shapes(self):
        assert not histogram_figure([1, 2, 3], label="E (GPa)").layout.shapes


def test_plots_module_never_imports_streamlit():
    code = "import sys, msdash.plots; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class TestModelFigures:
    def test_box_figure_one_box_per_model_grouped_by_feature_set(self):
        from msdash.models.figures import box_figure

        scores = pd.DataFrame({"feature_set": ["a"] * 4 + ["b"] * 4, "model": ["pr", "pr", "lr", "lr"] * 2,
                               "score": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
        fig = box_figure(scores)
        assert [t.name for t in fig.data] == ["pr", "lr"]
        assert list(fig.data[0].y) == [1.0, 2.0, 5.0, 6.0] and list(fig.data[0].x) == ["a", "a", "b", "b"]
        assert fig.layout.yaxis.title.text == "MAPE (%)"

    def test_parity_figure_drops_nan_and_rings_selection(self):
        from msdash.models.figures import parity_figure

        fig = parity_figure([1.0, 2.0, np.nan, 4.0], [1.1, 1.9, 3.0, 4.2], ["a", "b", "c", "d"],
                            label="HV", selected=["d"])
        points = fig.data[0]
        assert [row[0] for row in points.customdata] == ["a", "b", "d"]
        assert list(fig.data[1].x) == [1.0, 4.2]  # the y = x line spans the data
        assert fig.data[2].name == "selected" and list(fig.data[2].customdata[0]) == ["d"]

    def test_learning_curve_mean_and_band(self):
        from msdash.models.figures import learning_curve_figure

        curve = pd.DataFrame({"size": [10, 10, 20, 20], "score": [4.0, 6.0, 2.0, 3.0]})
        fig = learning_curve_figure(curve)
        line = fig.data[1]
        assert list(line.x) == [10, 20] and list(line.y) == [5.0, 2.5]
        assert list(fig.data[0].y) == [6.0, 3.0, 2.0, 4.0] and fig.layout.xaxis.type == "log"
