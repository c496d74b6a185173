"""The Map page colours and hovers px columns in µm when the set has a pixel size (issue 15 item 3)."""

import json

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from msdash.data.dataset import Dataset
from msdash.data.datastore import save_dataset, set_pixel_size


def _map(dataset_id):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ds"] = dataset_id
    at.run()
    at.switch_page("msdash/app/screens/map.py").run()
    if any(b.key == "map_quickstart" for b in at.button):  # the first visit: no feature set yet
        at.button(key="map_quickstart").click().run()
    assert not at.exception
    return at


def _values(encoded):
    """A plotly array as sent to the browser: a list, or base64 bytes with their dtype."""
    if isinstance(encoded, dict):
        import base64

        return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"])
    return np.asarray(encoded, dtype=float)


def test_a_px_column_colours_the_map_in_micrometres():
    rng = np.random.default_rng(0)
    images = {f"s{i}": (rng.random((32, 32)) < 0.2 + 0.04 * i).astype(np.float32) for i in range(12)}
    table = pd.DataFrame({"correlation_length (px)": np.arange(12, dtype=float) + 2.0}, index=list(images))
    dataset_id = save_dataset(Dataset("lengths", images, table))
    at = _map(dataset_id)
    assert "correlation_length (px)" in at.selectbox(key="map_color").options
    set_pixel_size(dataset_id, 0.25)
    import streamlit as st

    st.cache_resource.clear()  # as the Data page's "Set" does (state.forget_cached_datasets)
    at = _map(dataset_id)
    options = at.selectbox(key="map_color").options
    assert "correlation_length (µm)" in options and "correlation_length (px)" not in options
    at.selectbox(key="map_color").set_value("correlation_length (µm)").run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    colours = np.concatenate([_values(t["marker"]["color"]) for t in spec["data"] if t.get("name") != "selected"])
    np.testing.assert_allclose(np.sort(colours), (np.arange(12) + 2.0) * 0.25)  # 2–13 px × 0.25 µm
