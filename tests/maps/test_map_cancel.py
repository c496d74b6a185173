"""Progress and Cancel inside PCA and UMAP maps; UMAP reduced by PCA when the table is over the memory budget."""

import numpy as np
import pytest

from msdash.maps import (MapCancelled, REDUCED_DIMS, pca_map, umap_embedding, umap_map, umap_peak_bytes)


def _table(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * np.linspace(3, 0.5, d) + 5.0


def _recorder(stop_at=None):
    seen = []

    def callback(fraction):
        seen.append(fraction)
        return not (stop_at is not None and fraction >= stop_at)
    return seen, callback


class TestPcaMapCallback:
    @pytest.mark.parametrize("shape", [(600, 40), (40, 600)], ids=["tall (covariance)", "wide (Gram)"])
    @pytest.mark.parametrize("standardize", [False, True])
    def test_reports_rising_fractions_and_changes_nothing(self, shape, standardize, monkeypatch):
        X = _table(*shape, seed=1)
        X[3, 2] = np.nan
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "65536")  # blocks of 16 rows or columns: many stop points
        seen, callback = _recorder()
        got = pca_map(X, n_components=8, standardize=standardize, callback=callback)
        plain = pca_map(X, n_components=8, standardize=standardize)
        np.testing.assert_array_equal(got.coords, plain.coords)
        np.testing.assert_array_equal(got.components, plain.components)
        assert seen[0] == 0.0 and seen[-1] == 1.0
        assert all(0.0 <= f <= 1.0 for f in seen) and seen == sorted(seen)
        assert len(seen) > 20  # every block, not only start and end
        # the Gram/covariance build (0.1–0.7) reports between its blocks
        assert sum(0.1 < f < 0.7 for f in seen) >= 2

    @pytest.mark.parametrize("shape", [(600, 40), (40, 600)], ids=["tall", "wide"])
    def test_false_stops_in_the_middle(self, shape, monkeypatch):
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "65536")
        seen, callback = _recorder(stop_at=0.3)
        with pytest.raises(MapCancelled):
            pca_map(_table(*shape), n_components=5, callback=callback)
        assert seen[-1] >= 0.3 and max(seen) < 0.7  # stopped at the first False, inside the Gram build
        assert sum(f >= 0.3 for f in seen) == 1

    def test_svd_solver_reports_start_and_end(self):
        seen, callback = _recorder()
        pca_map(_table(50, 6), n_components=3, solver="svd", callback=callback)
        assert seen == [0.0, 1.0]

    def test_cancel_is_not_an_exception_handlers_swallow(self):
        assert issubclass(MapCancelled, BaseException) and not issubclass(MapCancelled, Exception)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(1)
    return np.vstack([rng.normal(0, 1, (40, 8)), rng.normal(10, 1, (40, 8))])


class TestUmapCallback:
    def test_epochs_report_progress_and_the_map_is_unchanged(self, blobs):
        seen, callback = _recorder()
        got = umap_map(blobs, n_neighbors=10, callback=callback)
        np.testing.assert_allclose(got, umap_map(blobs, n_neighbors=10), rtol=0, atol=1e-6)
        assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
        epochs = [f for f in seen if 0.5 <= f < 1.0]
        assert len(epochs) >= 100  # umap-learn runs 500 epochs on small sets: one call per epoch

    def test_false_during_the_epochs_stops_umap(self, blobs):
        seen, callback = _recorder(stop_at=0.6)
        with pytest.raises(MapCancelled):
            umap_map(blobs, n_neighbors=10, callback=callback)
        assert 0.6 <= seen[-1] < 0.7 and sum(f >= 0.6 for f in seen) == 1


class TestUmapBudget:
    def test_peak_estimate_grows_with_the_table(self):
        assert umap_peak_bytes(1000, 100) < umap_peak_bytes(1000, 1000) < umap_peak_bytes(2000, 1000)
        # the approximate-neighbour path holds hyperplanes of d floats per tree node, not n² distances
        assert umap_peak_bytes(50_000, 4225) < 8 * 50_000**2
        assert umap_peak_bytes(50_000, 4225) > 12 * 50_000 * 4225  # float64 rows + umap's float32 copy at least

    def test_small_budget_reduces_to_principal_components(self, monkeypatch):
        X = _table(120, 80, seed=3)
        X[7, 0] = np.nan
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "100000")
        result = umap_embedding(X, n_neighbors=10)
        assert result.reduced_to == REDUCED_DIMS and result.peak_bytes > result.budget_bytes == 100_000
        assert result.coords.shape == (120, 2) and np.isnan(result.coords[7]).all()
        assert np.isfinite(np.delete(result.coords, 7, axis=0)).all()
        # independently: the variance share of the first 50 components from an SVD of the centred valid rows
        valid = np.delete(X, 7, axis=0)
        s = np.linalg.svd(valid - valid.mean(axis=0), compute_uv=False)
        assert result.variance_kept == pytest.approx((s[:50] ** 2).sum() / (s ** 2).sum(), rel=1e-9)
        assert "50 principal components" in result.note and "memory budget" in result.note
        # the map is UMAP of those components (same seed): nothing else changed
        import umap

        scores = pca_map(X, n_components=REDUCED_DIMS).coords[~np.isnan(X).any(axis=1)]
        direct = umap.UMAP(n_neighbors=10, random_state=42, n_jobs=1).fit_transform(scores)
        np.testing.assert_allclose(result.coords[~np.isnan(X).any(axis=1)], direct, atol=1e-6)

    def test_default_budget_keeps_the_table(self):
        X = _table(60, 80, seed=3)
        result = umap_embedding(X, n_neighbors=10)
        assert result.reduced_to is None and result.note == "" and result.metric == "euclidean"
        np.testing.assert_allclose(result.coords, umap_map(X, n_neighbors=10), atol=1e-6)

    def test_cosine_is_reduced_on_unit_rows_with_euclidean_distances(self, monkeypatch):
        X = np.abs(_table(80, 70, seed=4))
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "100000")
        result = umap_embedding(X, n_neighbors=10, metric="cosine")
        assert result.reduced_to == REDUCED_DIMS and result.metric == "euclidean"
        assert np.isfinite(result.coords).all()
