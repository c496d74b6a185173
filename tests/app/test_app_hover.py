"""The Map page sends the data set's hover atlas once and both renderers point at it (AppTest: no browser)."""

import json

import numpy as np
import pytest

from msdash.app.fastmap import COMPONENT_NAME, HOVER_COMPONENT_NAME
from msdash.atlas import atlas_cell, dataset_atlas, read_atlas
from test_app_maps import page, two_sets  # noqa: F401 — the fixture: two feature sets of the demo
from conftest import unpack


def _components(at, name):
    return [e.proto for e in at.get("bidi_component") if e.proto.component_name.endswith(name)]


@pytest.mark.usefixtures("two_sets")
def test_map_page_sends_the_atlas_and_both_renderers_draw_from_it():
    from msdash.data.datastore import load_dataset

    at = page("msdash/app/screens/map.py")
    assert not at.exception
    dataset_id = at.session_state["dataset_id"]
    dataset = load_dataset(dataset_id)
    hover = _components(at, HOVER_COMPONENT_NAME)
    (atlas,) = [p for p in hover if p.bytes]
    header, arrays, _ = read_atlas(atlas.bytes)
    # Cell i is sample i of the open data set, and it is the atlas cached in the workspace.
    assert header["n"] == len(dataset) == 300 and arrays["names"] == dataset.names
    assert atlas.bytes == dataset_atlas(dataset, dataset_id)
    # Plotly (300 samples): one hover helper per map, pointing at that atlas; the demo has no pixel size.
    helpers = [json.loads(p.json) for p in hover if not p.bytes]
    assert helpers == [{"plotly": {"atlas": header["token"], "pixel_um": None}}]

    (fast,) = [t for t in at.toggle if t.label == "Fast canvas map"]
    fast.set_value(True).run()
    assert not at.exception
    (fast_map,) = _components(at, COMPONENT_NAME)
    assert unpack(fast_map.bytes)[0]["images"] == {"atlas": header["token"], "pixel_um": None}
    assert [p.bytes for p in _components(at, HOVER_COMPONENT_NAME)] == [atlas.bytes]  # the same bytes again


@pytest.mark.usefixtures("two_sets")
def test_hover_images_can_be_left_out(monkeypatch):
    from msdash.app import mapview

    monkeypatch.setattr(mapview, "HOVER_IMAGES", False)
    at = page("msdash/app/screens/map.py")
    assert not at.exception and at.get("plotly_chart")
    assert _components(at, HOVER_COMPONENT_NAME) == []


def test_a_large_data_set_builds_its_atlas_in_the_background(workspace, monkeypatch):
    """Above ATLAS_INLINE_MAX the first call returns at once (no atlas yet); a child process builds it into the
    workspace cache, then the waiting thread reads it."""
    import time

    from msdash.app import mapview
    from msdash.atlas import atlas_path, atlas_settings
    from msdash.data.dataset import Dataset
    from msdash.data.datastore import save_dataset

    import msdash.atlas

    def not_here(*_, **__):
        raise AssertionError("built in the server's process")

    monkeypatch.setattr(mapview, "ATLAS_INLINE_MAX", 2)
    monkeypatch.setattr(msdash.atlas, "build_atlas", not_here)  # this process only: the child has its own
    dataset = Dataset("t", {f"s{i}": np.full((8, 8), i / 4) for i in range(5)})
    dataset_id = save_dataset(dataset)
    status = mapview._atlas(dataset_id, str(workspace), dataset)
    assert status["payload"] is None  # not built while the page runs
    for _ in range(600):
        if status["done"]:
            break
        time.sleep(0.05)
    assert status["error"] is None and read_atlas(status["payload"])[0]["n"] == 5
    assert atlas_path(dataset_id, *atlas_settings(5)).read_bytes() == status["payload"]
    np.testing.assert_array_equal(atlas_cell(status["payload"], 4), 255)  # sample s4 is all white
