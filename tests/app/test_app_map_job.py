"""The Map page's background job stops inside PCA and UMAP when Cancel is pressed (issue 13)."""

import numpy as np
import pytest


@pytest.mark.parametrize("method", ["PCA", "UMAP"])
def test_cancel_stops_the_map_inside_the_computation(method, monkeypatch):
    from msdash.app import mapview

    monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "400000")  # blocks of a few rows: many stop points
    values = np.random.default_rng(0).normal(size=(300, 40))
    settings = {"n_neighbors": 10, "min_dist": 0.1, "metric": "euclidean", "seeded": True}
    calls = []

    def cancel_after_three(event):
        calls.append(event)
        return len(calls) < 3

    assert mapview._map_job(values, method, False, settings, callback=cancel_after_three) is None
    assert len(calls) == 3 and calls[-1]["phase"] == "computing" and 0 < calls[-1]["fraction"] < 1

    seen = []
    result = mapview._map_job(values, method, False, settings, callback=lambda e: seen.append(e) or True)
    assert result is not None and seen[-1]["phase"] == "done"
    assert len(seen) > 3  # the whole run reports more steps than the cancelled one was allowed


def test_pca_map_of_a_small_window_with_fewer_distinct_columns_than_components():
    """A 5×5 two-point window has 13 distinct columns of 25: at most 13 components, as a plain SVD finds."""
    from msdash.features import extract
    from msdash.maps import pca_map

    rng = np.random.default_rng(0)
    images = {f"s{i}": (rng.random((16, 16)) < 0.4).astype(np.float32) for i in range(40)}
    X = extract(images, "two_point", cutoff=2, store=False).values
    result = pca_map(X, n_components=30)
    singular = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    rank = int((singular > singular[0] * 1e-9).sum())
    assert result.n_components <= 13 and rank <= 13
    np.testing.assert_allclose(result.explained_variance[:rank], singular[:rank] ** 2 / (len(X) - 1), rtol=1e-8)


def test_the_map_page_says_when_umap_ran_on_principal_components(monkeypatch):
    """Under a small memory budget UMAP runs on 50 PCs (issue 13) and the Map page says so beside the map."""
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT
    from msdash.data.dataset import Dataset
    from msdash.data.datastore import save_dataset
    from msdash.features import extract
    from msdash.features.store import save_table_meta

    rng = np.random.default_rng(1)
    ds = Dataset("u", {f"s{i:03d}": (rng.random((24, 24)) < 0.4).astype(np.float32) for i in range(120)})
    dataset_id = save_dataset(ds)
    save_table_meta(dataset_id, extract(ds, "two_point", cutoff=8))  # 289 features > 50 PCs
    monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "1000000")  # 1 MB: UMAP on all 289 columns would not fit
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ds"] = dataset_id
    at.run()
    at.switch_page("msdash/app/screens/map.py").run()
    at.button_group(key="map_method").set_value("UMAP").run()
    assert not at.exception
    notes = [i.value for i in at.info if "principal components" in i.value]
    assert notes and "UMAP ran on the first 50 principal components" in notes[0]
