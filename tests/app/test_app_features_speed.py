"""The Features page does on a rerun only what the rerun changed: no CSV, no full frame, no image scans.

Timings live in ``bench/interaction.py``; here each test counts the work that used to be repeated.
"""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT

APP = str(ROOT / "app.py")


def _counting(monkeypatch, module, name):
    """Replace ``module.name`` by a wrapper that counts its calls (and still does the work)."""
    calls = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


@pytest.fixture
def shown():
    """The Features page showing the demo's physFeat2 table (300 × 64)."""
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("msdash/app/screens/features.py").run()
    at.selectbox(key="extractor").set_value("phys_feat2").run()
    at.button(key="compute_features").click().run()
    assert not at.exception and {m.label: m.value for m in at.metric}["Features per sample"] == "64"
    return at


class TestDownloadOnDemand:
    def test_reruns_never_write_the_csv(self, shown, monkeypatch):
        from msdash.app import panels
        from msdash.features.table import FeatureTable

        csv = _counting(monkeypatch, panels, "csv_bytes")
        frames = _counting(monkeypatch, FeatureTable, "to_frame")  # the whole table as a DataFrame
        for extractor in ("radial_psd", "two_point", "phys_feat2"):
            shown.selectbox(key="extractor").set_value(extractor).run()
            assert not shown.exception
        assert csv == [] and frames == []
        (button,) = shown.get("download_button")
        assert button.proto.label == "Download features (CSV)"
        assert button.proto.deferred_file_id and not button.proto.url  # made by a callable when clicked
        assert button.proto.ignore_rerun  # the click does not rerun the page either

    def test_preview_is_the_corner_of_the_table(self, shown):
        from msdash.app.panels import preview_frame
        from msdash.data.datastore import load_dataset
        from msdash.features import extract

        table = extract(load_dataset(shown.query_params["ds"]), "phys_feat2")
        preview = preview_frame(table)
        expected = table.to_frame().iloc[:50, :40]
        assert preview.shape == (50, 40)
        np.testing.assert_array_equal(preview.to_numpy(), expected.to_numpy())
        assert list(preview.columns) == list(expected.columns) and list(preview.index) == list(expected.index)
        assert preview.index.name == "sample"
        grid = shown.dataframe[0].value
        assert grid.shape == (50, 40) and list(grid.columns) == list(expected.columns)


class TestImageScansOncePerDataSet:
    def test_segmentation_preview_scans_the_images_once(self, monkeypatch):
        from msdash.data.dataset import Dataset
        from msdash.data.datastore import save_dataset
        from msdash.features import segmentation

        rng = np.random.default_rng(0)
        images = {f"g{k}": rng.random((24, 24)).astype(np.float32) for k in range(5)}  # grey: segmented
        dataset_id = save_dataset(Dataset("grey", images))
        scans = _counting(monkeypatch, segmentation, "is_binary")
        at = AppTest.from_file(APP, default_timeout=120)
        at.query_params["ds"] = dataset_id
        at.run()
        at.switch_page("msdash/app/screens/features.py").run()
        at.selectbox(key="extractor").set_value("two_point").run()
        assert any("5 grey image(s) are thresholded" in e.label for e in at.expander)
        first = len(scans)
        assert first == 5
        for _ in range(3):
            at.run()
        at.selectbox(key="extractor").set_value("volume_fraction").run()
        assert len(scans) == first  # reruns and another extractor reuse the answer
        assert not at.exception
