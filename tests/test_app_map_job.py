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
