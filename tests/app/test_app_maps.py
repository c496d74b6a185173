"""Features and Map pages through AppTest: compute, map, linked selection, export, provenance."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT

APP = str(ROOT / "app.py")


def page(path):
    at = AppTest.from_file(APP, default_timeout=120).run()
    return at.switch_page(path).run()


def charts(at):
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def selected_names(spec):
    return [list(p) for t in spec["data"] if t.get("name") == "selected" for p in t["customdata"]]


@pytest.fixture
def two_sets():
    at = page("msdash/app/screens/features.py")
    at.selectbox(key="extractor").set_value("two_point").run()
    at.button(key="compute_features").click().run()
    assert not at.exception
    at.selectbox(key="extractor").set_value("phys_feat2").run()
    at.button(key="compute_features").click().run()
    assert not at.exception
    return at


class TestFeaturesPage:
    def test_compute_two_point_on_demo(self, two_sets):
        at = two_sets
        at.selectbox(key="extractor").set_value("two_point").run()
        at.button(key="compute_features").click().run()
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Samples"] == "300"
        assert metrics["Features per sample"] == str(65 * 65)  # cutoff 32 on 64×64 images
        assert metrics["Failed samples"] == "0"
        listed = "\n".join(m.value for m in at.markdown)
        assert "two_point" in listed and "phys_feat2" in listed


class TestMapPage:
    def test_map_draws_and_pc1_tracks_volume_fraction(self, two_sets):
        at = page("msdash/app/screens/map.py")
        assert not at.exception
        (spec, *rest) = charts(at)
        points = sum(len(t["customdata"]) for t in spec["data"] if t.get("name") != "selected")
        assert points == 300
        assert spec["data"][0]["type"] == "scattergl"

    def test_each_map_offers_an_offline_html_export_made_on_click(self, two_sets, monkeypatch):
        from msdash import mapexport

        built = []
        monkeypatch.setattr(mapexport, "map_html", lambda *a, **k: built.append(1) or "")
        at = page("msdash/app/screens/map.py")
        exports = [b for b in at.get("download_button") if b.proto.label.startswith("Map as HTML")]
        assert not at.exception and exports
        assert exports[0].proto.label == "Map as HTML (micrographs on hover)"  # 300 samples: with images
        assert all(b.proto.deferred_file_id and not b.proto.url for b in exports)  # built only when clicked
        assert built == []

    def test_selection_is_linked_across_maps_and_shown(self, two_sets):
        at = page("msdash/app/screens/map.py")
        labels = at.multiselect(key="map_sets").options
        at.multiselect(key="map_sets").set_value(labels[:2]).run()
        assert len(charts(at)) >= 2
        at.session_state["map_chart_0"] = {"selection": {"points": [
            {"curve_number": 0, "point_index": 5, "customdata": ["demo_005", 0.5]},
            {"curve_number": 0, "point_index": 9, "customdata": ["demo_009", 0.4]}],
            "point_indices": [5, 9], "box": [], "lasso": []}}
        at.run()
        assert not at.exception
        source, other = charts(at)[:2]
        # Both maps ring the selection, also the one it was drawn on (a redrawn plotly chart forgets its lasso).
        assert [row[0] for row in selected_names(other)] == ["demo_005", "demo_009"]
        assert [row[0] for row in selected_names(source)] == ["demo_005", "demo_009"]
        assert any("Selected samples: 2" in h.value for h in at.subheader)

    def test_pick_by_name_drives_the_same_panel(self, two_sets):
        at = page("msdash/app/screens/map.py")
        at.multiselect(key="map_pick").set_value(["demo_042"]).run()
        assert any("Selected samples: 1" in h.value for h in at.subheader)
        assert [row[0] for row in selected_names(charts(at)[0])] == ["demo_042"]


class TestImportAndSegmentation:
    def test_import_a_feature_table_then_map_it(self):
        from msdash.data.dataset import demo_dataset

        names = demo_dataset().names
        rows = "\n".join(f"{n},{i % 7},{(i * 3) % 11}" for i, n in enumerate(names))
        at = page("msdash/app/screens/features.py")
        at.file_uploader(key="import_features_file").set_value(
            [("embeddings.csv", f"sample,e0,e1\n{rows}\n".encode(), "text/csv")]).run()
        assert at.selectbox(key="import_name_column").value == "sample"
        at.button(key="import_features").click().run()
        assert not at.exception
        assert any("Imported 2 features for 300 samples" in s.value for s in at.success)
        at.switch_page("msdash/app/screens/map.py").run()
        assert "imported: embeddings.csv" in at.multiselect(key="map_sets").options

    def test_grey_images_show_their_segmentation_before_two_point(self):
        import numpy as np

        from msdash.data.dataset import Dataset
        from msdash.data.datastore import save_dataset

        rng = np.random.default_rng(0)
        grey = {f"g{i}": np.clip(0.5 + 0.3 * np.sign(rng.random((32, 32)) - 0.5) + 0.05 * rng.normal(size=(32, 32)),
                                 0, 1).astype(np.float32) for i in range(3)}
        dataset_id = save_dataset(Dataset("grey", grey))
        at = AppTest.from_file(APP, default_timeout=120)
        at.query_params["ds"] = dataset_id
        at.run().switch_page("msdash/app/screens/features.py").run()
        at.selectbox(key="extractor").set_value("two_point").run()
        assert not at.exception
        captions = [c for image in at.image for c in [i.caption for i in image.proto.imgs]]
        assert any(c.startswith("segmented (otsu)") for c in captions)
        assert any(c.endswith(": original") for c in captions)


class TestUmap:
    def test_umap_map_on_request(self, two_sets):
        at = page("msdash/app/screens/map.py")
        at.button_group(key="map_method").set_value("UMAP").run()
        assert not at.exception
        spec = charts(at)[0]
        assert spec["layout"]["xaxis"]["title"]["text"] == "UMAP 1"
        assert sum(len(t["customdata"]) for t in spec["data"] if t.get("name") != "selected") == 300


class TestFoundationOnFeaturesPage:
    def test_missing_weights_are_named_and_block_computing(self, monkeypatch, tmp_path):
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
        at = page("msdash/app/screens/features.py")
        at.selectbox(key="extractor").set_value("dinov2").run()
        assert not at.exception
        assert any("facebook/dinov2-small" in w.value for w in at.warning)
        assert at.button(key="compute_features").disabled
        rows = at.dataframe[0].value
        assert len(rows) >= 13 and not rows["present"].any()


def fast_maps(at):
    """Headers of the fast canvas maps on the page (AppTest cannot render components; their payload is there).

    The page's other component, the hover images (an atlas and plotly hover helpers), is left out."""
    from conftest import unpack

    from msdash.app.fastmap import COMPONENT_NAME

    return [unpack(element.proto.bytes)[0] for element in at.get("bidi_component")
            if element.proto.component_name.endswith(COMPONENT_NAME)]


class TestFastMapPage:
    def test_fast_map_selection_drives_the_panel_and_the_other_map(self, two_sets):
        at = page("msdash/app/screens/map.py")
        labels = at.multiselect(key="map_sets").options
        at.multiselect(key="map_sets").set_value(labels[:2]).run()
        (fast,) = [t for t in at.toggle if t.label == "Fast canvas map"]
        assert fast.value is False  # 300 demo samples: plotly by default
        fast.set_value(True).run()
        assert not at.exception
        assert len(fast_maps(at)) == 2
        assert not any(t.get("type") == "scattergl" for spec in charts(at) for t in spec["data"])
        assert any(c.value.startswith("Renderer: fast canvas map") for c in at.caption)
        # What fastmap.js sends on a click or box: row ids of the data set.
        at.session_state["map_fast_0"] = {"selection": {"ids": [5, 9], "seq": 1}}
        at.run()
        assert not at.exception
        assert any("Selected samples: 2" in h.value for h in at.subheader)
        assert [header["selected"] for header in fast_maps(at)] == [[5, 9], [5, 9]]
        # The same ids again, but a new user action (new stamp), after picking by name: the map wins again.
        at.multiselect(key="map_pick").set_value(["demo_042"]).run()
        assert [header["selected"] for header in fast_maps(at)] == [[42], [42]]
        at.session_state["map_fast_0"] = {"selection": {"ids": [5, 9], "seq": 2}}
        at.run()
        assert [header["selected"] for header in fast_maps(at)] == [[5, 9], [5, 9]]

    def test_fast_map_is_the_default_above_the_threshold(self, monkeypatch):
        from msdash.app import mapview

        monkeypatch.setattr(mapview, "FAST_MAP_MIN", 100)
        at = page("msdash/app/screens/features.py")
        at.selectbox(key="extractor").set_value("phys_feat2").run()
        at.button(key="compute_features").click().run()
        at.switch_page("msdash/app/screens/map.py").run()
        assert not at.exception
        (header,) = fast_maps(at)
        assert header["n"] == 300 and header["color"]["kind"] == "numeric"
        assert header["axis"][0].startswith("PC1 (")
