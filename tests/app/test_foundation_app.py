"""Features page with foundation models (AppTest): a local folder, the download button, the offline case."""

import huggingface_hub
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from foundation_tiny import DIM, fake_snapshot_download


def features_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at = at.switch_page("msdash/app/screens/features.py").run()
    return at.selectbox(key="extractor").set_value("dinov2").run()


def test_local_folder_computes_on_the_demo(tiny, hub_cache):
    at = features_page()
    assert at.button(key="compute_features").disabled
    at.text_input(key="param_dinov2_folder").set_value(tiny["dinov2"]).run()
    assert not at.warning and not at.button(key="compute_features").disabled
    assert any(tiny["dinov2"] in c.value for c in at.caption)
    rows = at.dataframe[0].value
    assert rows["present"].iloc[-1] and rows["path"].iloc[-1] == tiny["dinov2"]
    at.button(key="compute_features").click().run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Features per sample"] == str(DIM) and metrics["Failed samples"] == "0"


def test_folder_of_another_family_is_named(tiny, hub_cache):
    at = features_page()
    at.text_input(key="param_dinov2_folder").set_value(tiny["clip"]).run()
    assert any("holds clip weights" in w.value for w in at.warning) and at.button(key="compute_features").disabled


def test_download_button_fetches_a_missing_preset(tiny, hub_cache, monkeypatch):
    calls = []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download(tiny["dinov2"], calls))
    at = features_page()
    assert any("facebook/dinov2-small" in w.value for w in at.warning)
    at.button(key="download_weights").click().run()
    assert not at.exception and [c["repo_id"] for c in calls] == ["facebook/dinov2-small"]
    assert any("Downloaded facebook/dinov2-small" in s.value for s in at.success)
    assert not at.warning and not at.button(key="compute_features").disabled


def test_offline_disables_the_download(hub_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = features_page()
    assert at.button(key="download_weights").disabled
    assert any("HF_HUB_OFFLINE" in c.value for c in at.caption)


def test_map_shows_foundation_and_classical_maps_side_by_side(tiny, hub_cache):
    import json

    at = features_page()
    at.text_input(key="param_dinov2_folder").set_value(tiny["dinov2"]).run()
    at.button(key="compute_features").click().run()
    at.selectbox(key="extractor").set_value("two_point_paper_a").run()
    at.button(key="compute_features").click().run()
    assert not at.exception and not at.error
    at.switch_page("msdash/app/screens/map.py").run()
    labels = at.multiselect(key="map_sets").options
    dino = next(label for label in labels if "dinov2" in label)
    classical = next(label for label in labels if "two_point_paper_a" in label)
    at.multiselect(key="map_sets").set_value([dino, classical]).run()
    assert not at.exception
    titles = [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")[:2]]
    assert titles == [dino, classical]
    assert sum("300 of 300 samples on the map" in c.value for c in at.caption) == 2
