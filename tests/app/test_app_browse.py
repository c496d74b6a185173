"""Browsing and selection through AppTest on a small set with the traits of real folders: names with group
prefixes, a paper column with 19 papers, long property names that share a prefix, missing values."""

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import LONG_A, LONG_B, ROOT, papers_dataset

APP = str(ROOT / "app.py")
def open_page(dataset_id, path):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["ds"] = dataset_id
    return at.run().switch_page(path).run()


def subheaders(at):
    return [h.value for h in at.subheader]


def charts(at):
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def ringed(spec):
    return [p[0] for t in spec["data"] if t.get("name") == "selected" for p in t["customdata"]]


def plotly_event(*names):
    return {"selection": {"points": [{"curve_number": 0, "point_index": i, "customdata": [n]}
                                     for i, n in enumerate(names)], "point_indices": [], "box": [], "lasso": []}}


class TestSelectionBelongsToItsDataSet:
    def test_another_set_opens_without_the_old_names_and_going_back_restores_them(self):
        first, names = papers_dataset("first")
        second, other = papers_dataset("second", n=20, seed=1)
        other_names = set(other)
        at = open_page(first, "msdash/app/screens/map.py")
        at.multiselect(key="map_pick").set_value(names[:3]).run()
        assert "Selected samples: 3" in subheaders(at)
        at.session_state["dataset_id"] = second
        at.run()
        assert not at.exception
        assert "Selected samples: 0" in subheaders(at)
        assert at.multiselect(key="map_pick").value == []
        assert all(n in other_names for spec in charts(at) for n in ringed(spec))
        at.session_state["dataset_id"] = first
        at.run()
        assert not at.exception
        assert "Selected samples: 3" in subheaders(at)

    def test_models_page_of_the_next_set_gets_no_foreign_names(self):
        first, names = papers_dataset("first")
        second, _ = papers_dataset("second", n=20, seed=1)
        at = open_page(first, "msdash/app/screens/map.py")
        at.multiselect(key="map_pick").set_value(names[:2]).run()
        at.session_state["dataset_id"] = second
        at.switch_page("msdash/app/screens/map.py").run()
        assert not at.exception
        assert at.session_state["selected_samples"] == []


class TestSelectionSurvivesRedraws:
    @pytest.mark.parametrize("change", ["method", "colour"])
    def test_a_lasso_stays_selected_and_ringed_after_the_map_is_redrawn(self, change):
        dataset_id, names = papers_dataset()
        at = open_page(dataset_id, "msdash/app/screens/map.py")
        at.session_state["map_chart_0"] = plotly_event(names[4], names[7])
        at.run()
        assert ringed(charts(at)[0]) == [names[4], names[7]]  # shown on the map it was drawn on
        if change == "method":
            at.button_group(key="map_method").set_value("UMAP").run()
        else:
            at.selectbox(key="map_color").set_value("paper").run()
        at.run()  # the redrawn chart's fresh (empty) state arrives: not a user clearing the selection
        at.run()
        assert not at.exception
        assert "Selected samples: 2" in subheaders(at)
        assert ringed(charts(at)[0]) == [names[4], names[7]]
        if change == "method":
            at.button_group(key="map_method").set_value("PCA").run()
            at.run()
            assert "Selected samples: 2" in subheaders(at)

    def test_clear_button_empties_the_selection(self):
        dataset_id, names = papers_dataset()
        at = open_page(dataset_id, "msdash/app/screens/map.py")
        at.multiselect(key="map_pick").set_value(names[:2]).run()
        at.button(key="map_clear").click().run()
        assert "Selected samples: 0" in subheaders(at)
        assert ringed(charts(at)[0]) == []


class TestPickByName:
    def test_prefix_picks_exactly_the_names_that_start_with_it(self):
        dataset_id, names = papers_dataset()
        at = open_page(dataset_id, "msdash/app/screens/map.py")
        at.text_input(key="map_pick_pattern").input("P01_").run()
        expected = [n for n in names if n.startswith("P01_")]
        assert len(expected) == 2 and at.session_state["selected_samples"] == expected
        assert f"Selected samples: {len(expected)}" in subheaders(at)
        assert any(c.value.startswith("2 sample(s) picked") for c in at.caption)

    def test_regex_matches_whole_names_and_a_bad_one_is_said(self):
        dataset_id, _ = papers_dataset()
        at = open_page(dataset_id, "msdash/app/screens/map.py")
        at.button_group(key="map_pick_mode").set_value("regex").run()
        at.text_input(key="map_pick_pattern").input(r"P1[0-2]_00").run()
        assert at.session_state["selected_samples"] == ["P10_00", "P11_00", "P12_00"]
        at.text_input(key="map_pick_pattern").input("P1[").run()
        assert not at.exception
        assert any("is not a regular expression" in c.value for c in at.caption)
        assert at.session_state["selected_samples"] == ["P10_00", "P11_00", "P12_00"]  # kept, not lost

    def test_a_whole_group_is_picked(self):
        dataset_id, names = papers_dataset()
        at = open_page(dataset_id, "msdash/app/screens/map.py")
        assert at.selectbox(key="map_pick_group_column").value == "paper"
        at.selectbox(key="map_pick_group").set_value("paper 03").run()
        table = pd.Series([f"paper {i % 19:02d}" for i in range(len(names))], index=names)
        assert at.session_state["selected_samples"] == list(table.index[table == "paper 03"])
        assert "Selected samples: 2" in subheaders(at)


class TestMapSettingsSurviveAVisitElsewhere:
    def test_sets_method_and_colour_come_back(self):
        dataset_id, _ = papers_dataset()
        at = open_page(dataset_id, "msdash/app/screens/features.py")
        at.selectbox(key="extractor").set_value("phys_feat2").run()
        at.button(key="compute_features").click().run()
        at.switch_page("msdash/app/screens/map.py").run()
        labels = at.multiselect(key="map_sets").options
        at.multiselect(key="map_sets").set_value(labels).run()
        at.selectbox(key="map_color").set_value("paper").run()
        at.switch_page("msdash/app/screens/gallery.py").run()
        at.switch_page("msdash/app/screens/map.py").run()
        assert not at.exception
        assert at.multiselect(key="map_sets").value == labels
        assert at.selectbox(key="map_color").value == "paper"


class TestQuickStart:
    def test_the_button_opens_the_map_on_the_two_sets_it_names(self):
        from msdash.data.dataset import Dataset
        from msdash.data.datastore import save_dataset

        rng = np.random.default_rng(0)
        dataset_id = save_dataset(Dataset("fresh", {f"s{i}": (rng.random((64, 64)) < 0.5).astype(np.float32)
                                                    for i in range(6)}))
        at = open_page(dataset_id, "msdash/app/screens/map.py")
        at.button(key="map_quickstart").click().run()
        assert not at.exception
        chosen = at.multiselect(key="map_sets").value
        assert [label.split(" ")[0] for label in chosen] == ["two_point", "phys_feat2"]
        assert [spec["layout"]["title"]["text"] for spec in charts(at)[:2]] == chosen


class TestMapColours:
    def test_nineteen_papers_get_nineteen_colours_and_more_than_the_palette_holds_is_said(self):
        dataset_id, _ = papers_dataset()
        at = open_page(dataset_id, "msdash/app/screens/map.py")
        at.selectbox(key="map_color").set_value("paper").run()
        colours = {t["name"]: t["marker"]["color"] for t in charts(at)[0]["data"] if t["name"] != "selected"}
        assert len(colours) == 19 == len(set(colours.values()))
        assert not any("categories:" in c.value for c in at.caption)
        many, _ = papers_dataset("many papers", n=60, papers=30)
        at = open_page(many, "msdash/app/screens/map.py")
        at.selectbox(key="map_color").set_value("paper").run()
        colours = {t["name"]: t["marker"]["color"] for t in charts(at)[0]["data"] if t["name"] != "selected"}
        assert len(colours) == 30 == len(set(colours.values()))
        assert any(c.value.startswith("30 categories: more than the") for c in at.caption)


def gallery(dataset_id):
    return open_page(dataset_id, "msdash/app/screens/gallery.py")


def thumbnail_captions(at):
    return [img.caption for image in at.image for img in image.proto.imgs][:-1]  # the last is the viewer's


class TestGallery:
    def test_a_thumbnail_click_opens_that_sample(self):
        dataset_id, names = papers_dataset()
        at = gallery(dataset_id)
        assert at.selectbox(key="viewer_sample").value == names[0]
        at.button(key="gallery_thumbs_open_5").click().run()
        assert not at.exception
        assert at.selectbox(key="viewer_sample").value == names[5]
        # The dialog shows the clicked sample (its header line), as the page's viewer below does.
        assert sum(m.value.startswith(f"**{names[5]}** · shape (12, 12)") for m in at.markdown) == 2

    def test_missing_values_show_as_a_dash_and_long_names_whole(self):
        dataset_id, names = papers_dataset()
        at = gallery(dataset_id)
        at.multiselect(key="gallery_captions").set_value([LONG_A, LONG_B]).run()
        captions = thumbnail_captions(at)
        assert not any("nan" in c.lower() for c in captions)
        first = captions[0]  # names[0] has no hardness (every 4th sample)
        assert first.startswith(names[0]) and f"{LONG_A}: —" in first and f"{LONG_B}: —" in first
        assert f"{LONG_A}: 310" in captions[1] and f"{LONG_B}: 311" in captions[1]
        viewer = at.dataframe[-1].value
        assert list(viewer["value"])[:2] == ["—", "—"]

    def test_filter_by_papers(self):
        dataset_id, names = papers_dataset()
        at = gallery(dataset_id)
        options = at.selectbox(key="gallery_filter").options
        assert "paper" in options and options[:3] == ["(no filter)", LONG_A, LONG_B]
        at.selectbox(key="gallery_filter").set_value("paper").run()
        at.multiselect(key="gallery_values_paper").set_value(["paper 02", "paper 07"]).run()
        expected = [n for n in names if n.startswith(("P02_", "P07_"))]
        assert at.selectbox(key="viewer_sample").options == expected
        assert f"{len(expected)} of {len(names)} samples" in " ".join(c.value for c in at.caption)
        assert len(thumbnail_captions(at)) == len(expected)
