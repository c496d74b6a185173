"""PCA and UMAP maps, PC–property correlations and reading map selections."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from conftest import ROOT
from msdash.errors import InputError
from msdash.maps import pc_property_correlation, pca_map, selection_from_event, umap_map, warm_umap


def _table(n, d, seed=0):
    rng = np.random.default_rng(seed)
    # correlated columns with a decaying spectrum, so components are well separated
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * np.linspace(3, 0.5, d) + 5.0


def _same_up_to_sign(a, b, atol):
    signs = np.sign(np.sum(a * b, axis=0))
    np.testing.assert_allclose(a, b * signs, atol=atol)


class TestPcaMap:
    @pytest.mark.parametrize("shape", [(200, 12), (40, 300), (30, 30)])
    @pytest.mark.parametrize("standardize", [False, True])
    @pytest.mark.parametrize("solver", ["auto", "svd"])
    def test_matches_sklearn_full_svd(self, shape, standardize, solver):
        X = _table(*shape)
        result = pca_map(X, n_components=10, standardize=standardize, solver=solver)
        Z = StandardScaler().fit_transform(X) if standardize else X
        reference = PCA(n_components=10, svd_solver="full").fit(Z)
        np.testing.assert_allclose(result.explained_variance_ratio, reference.explained_variance_ratio_,
                                   rtol=0, atol=1e-10)
        np.testing.assert_allclose(result.explained_variance, reference.explained_variance_, rtol=1e-8)
        _same_up_to_sign(result.coords, reference.transform(Z), atol=1e-8 * np.abs(result.coords).max())
        _same_up_to_sign(result.components.T, reference.components_.T, atol=1e-8)

    def test_sign_convention_largest_loading_positive(self):
        result = pca_map(_table(50, 8), n_components=5)
        rows = np.arange(5)
        assert np.all(result.components[rows, np.argmax(np.abs(result.components), axis=1)] > 0)
        # same convention as scikit-learn: not even a sign flip
        np.testing.assert_allclose(result.coords, PCA(5, svd_solver="full").fit_transform(_table(50, 8)),
                                   atol=1e-8)

    def test_wide_gram_route_equals_plain_svd(self):
        X = _table(60, 2000, seed=3)
        gram, plain = pca_map(X, n_components=20, solver="gram"), pca_map(X, n_components=20, solver="svd")
        np.testing.assert_allclose(gram.explained_variance_ratio, plain.explained_variance_ratio, atol=1e-12)
        np.testing.assert_allclose(gram.components, plain.components, atol=1e-8)
        np.testing.assert_allclose(gram.coords, plain.coords, atol=1e-8 * np.abs(plain.coords).max())

    @pytest.mark.parametrize("shape", [(300, 20), (25, 400)], ids=["tall", "wide"])
    def test_small_memory_budget_gives_the_same_map(self, shape, monkeypatch):
        X = _table(*shape, seed=4)
        X[5, 3] = np.nan
        default = pca_map(X, n_components=6, standardize=True)
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "4096")  # blocks of 16 rows or columns
        small = pca_map(X, n_components=6, standardize=True)
        np.testing.assert_allclose(small.coords, default.coords, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(small.components, default.components, rtol=1e-10, atol=1e-12)

    def test_tall_map_holds_no_copy_of_the_table(self, monkeypatch):
        import tracemalloc

        X = _table(4000, 150, seed=5)  # 4.8 MB
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(2 * 1024**2))
        tracemalloc.start()
        try:
            result = pca_map(X, n_components=10, standardize=True)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        # covariance 0.18 MB, eigen workspace, two 0.25 MB blocks, coords 0.3 MB; a centred copy would be 4.8
        assert peak < 0.4 * X.nbytes
        reference = PCA(10, svd_solver="full").fit(StandardScaler().fit_transform(X))
        np.testing.assert_allclose(result.explained_variance_ratio, reference.explained_variance_ratio_, atol=1e-10)

    @pytest.mark.parametrize("standardize", [False, True])
    def test_repeated_columns_are_merged_and_give_the_full_table_pca(self, standardize):
        base = _table(300, 9, seed=6)
        X = base[:, [0, 1, 2, 3, 1, 4, 5, 6, 7, 8, 4, 4, 0]]  # two-point windows repeat every value
        X[[4, 50]] = np.nan
        result = pca_map(X, n_components=6, standardize=standardize)
        valid = ~np.isnan(X).any(axis=1)
        Z = StandardScaler().fit_transform(X[valid]) if standardize else X[valid]
        reference = PCA(6, svd_solver="full").fit(Z)
        _same_up_to_sign(result.coords[valid], reference.transform(Z), atol=1e-8)
        _same_up_to_sign(result.components.T, reference.components_.T, atol=1e-10)
        np.testing.assert_allclose(result.explained_variance_ratio, reference.explained_variance_ratio_, rtol=1e-10)
        np.testing.assert_allclose(result.mean, X[valid].mean(axis=0), rtol=1e-12)
        expected_scale = X[valid].std(axis=0) if standardize else np.ones(13)
        np.testing.assert_allclose(result.scale, expected_scale, rtol=1e-12)
        np.testing.assert_allclose(result.transform(X[valid]), result.coords[valid], atol=1e-9)

    def test_nan_rows_are_left_out_and_get_nan_coords(self):
        X = _table(80, 6)
        X_bad = X.copy()
        X_bad[[3, 10]] = np.nan
        X_bad[20, 2] = np.inf
        result = pca_map(X_bad, n_components=4)
        keep = np.ones(80, bool)
        keep[[3, 10, 20]] = False
        np.testing.assert_array_equal(result.valid, keep)
        assert np.isnan(result.coords[~keep]).all() and np.isfinite(result.coords[keep]).all()
        clean = pca_map(X[keep], n_components=4)
        np.testing.assert_allclose(result.coords[keep], clean.coords)
        np.testing.assert_allclose(result.mean, X[keep].mean(axis=0))

    def test_number_of_components_is_capped_by_rank(self):
        assert pca_map(_table(10, 50), n_components=30).n_components == 9  # n_valid - 1
        assert pca_map(_table(100, 6), n_components=30).n_components == 6  # n_features
        result = pca_map(_table(100, 6), n_components=3)
        assert result.coords.shape == (100, 3) and result.components.shape == (3, 6)

    def test_ratio_is_share_of_total_variance(self):
        result = pca_map(_table(100, 6), n_components=6)
        assert result.explained_variance_ratio.sum() == pytest.approx(1.0)
        assert np.all(np.diff(result.explained_variance_ratio) <= 0)

    def test_standardize_keeps_constant_columns_unscaled(self):
        X = _table(30, 5)
        X[:, 1] = 7.0
        result = pca_map(X, standardize=True)
        assert result.scale[1] == 1.0 and np.isfinite(result.coords).all()

    def test_transform_reproduces_coords_and_propagates_nan(self):
        X = _table(50, 7)
        result = pca_map(X, n_components=3, standardize=True)
        np.testing.assert_allclose(result.transform(X), result.coords, atol=1e-10)
        X[0, 0] = np.nan
        assert np.isnan(result.transform(X)[0]).all()
        with pytest.raises(InputError, match="7 feature columns"):
            result.transform(X[:, :4])

    @pytest.mark.parametrize("X, match", [(np.zeros(5), "2-D"), (np.full((3, 2), np.nan), "at least 2"),
                                          ([["a", "b"]], "numeric")])
    def test_rejects_bad_tables(self, X, match):
        with pytest.raises(InputError, match=match):
            pca_map(X)

    def test_rejects_bad_options(self):
        with pytest.raises(InputError, match="solver"):
            pca_map(_table(5, 3), solver="arpack")
        with pytest.raises(InputError, match="n_components"):
            pca_map(_table(5, 3), n_components=0)


@pytest.fixture(scope="module")
def two_clusters():
    """Two well separated blobs in 8-D with two failed rows, embedded once (numba compiles here)."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (30, 8)), rng.normal(12, 1, (30, 8))])
    labels = np.repeat([0, 1], 30)
    X[[5, 40]] = np.nan
    return X, labels, umap_map(X, n_neighbors=10)


class TestUmapMap:
    def test_shape_nan_rows_and_separation(self, two_clusters):
        X, labels, coords = two_clusters
        assert coords.shape == (60, 2)
        bad = np.isnan(X).any(axis=1)
        assert np.isnan(coords[bad]).all() and np.isfinite(coords[~bad]).all()
        good, lab = coords[~bad], labels[~bad]
        distance = np.linalg.norm(good[:, None] - good[None], axis=-1)
        same = lab[:, None] == lab[None]
        off_diagonal = ~np.eye(len(good), dtype=bool)
        assert distance[same & off_diagonal].mean() < distance[~same].mean()

    def test_seed_makes_it_reproducible(self, two_clusters):
        X, _, coords = two_clusters
        np.testing.assert_allclose(umap_map(X, n_neighbors=10), coords, atol=1e-5)

    def test_caps_neighbours_and_standardizes_small_tables(self, two_clusters):
        X = np.random.default_rng(2).normal(size=(6, 3)) * [1, 100, 0]
        coords = umap_map(X, n_neighbors=15, standardize=True)
        assert coords.shape == (6, 2) and np.isfinite(coords).all()

    def test_warm_umap_reports_seconds(self, two_clusters):
        assert 0 <= warm_umap() < 60

    def test_needs_four_valid_samples(self):
        X = np.ones((6, 3))
        X[:3] = np.nan
        with pytest.raises(InputError, match="at least 4 samples"):
            umap_map(X)

    def test_import_of_maps_does_not_load_umap_or_numba(self):
        code = "import sys, msdash.maps; print([m for m in ('umap', 'numba', 'streamlit') if m in sys.modules])"
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "[]"


class TestPcPropertyCorrelation:
    def test_matches_scipy_pearson_on_pairwise_complete_rows(self):
        rng = np.random.default_rng(4)
        coords = rng.normal(size=(40, 6))
        coords[3] = np.nan
        props = pd.DataFrame({"vf": coords[:, 0] * 2 + rng.normal(0, 0.3, 40),
                              "E (GPa)": rng.normal(size=40), "paper": ["p"] * 40})
        props.loc[[1, 7, 9], "E (GPa)"] = np.nan
        table = pc_property_correlation(coords, props, n_pcs=4)
        assert list(table.index) == ["vf", "E (GPa)"] and list(table.columns) == ["PC1", "PC2", "PC3", "PC4"]
        for name in table.index:
            for j in range(4):
                ok = np.isfinite(coords[:, j]) & props[name].notna().to_numpy()
                expected = abs(scipy.stats.pearsonr(coords[ok, j], props[name][ok]).statistic)
                assert table.loc[name, f"PC{j + 1}"] == pytest.approx(expected, abs=1e-12)
        assert table.loc["vf", "PC1"] > 0.9

    def test_too_few_pairs_or_constant_give_nan(self):
        coords = np.arange(10.0).reshape(5, 2)
        props = pd.DataFrame({"sparse": [1.0, np.nan, np.nan, np.nan, 2.0], "flat": [0.1] * 5,
                              "ok": [1.0, 3.0, 2.0, 5.0, 4.0], "flag": [True, False] * 2 + [True]})
        table = pc_property_correlation(coords, props, n_pcs=5)
        assert list(table.columns) == ["PC1", "PC2"] and "flag" not in table.index
        assert table.loc[["sparse", "flat"]].isna().all().all()
        assert table.loc["ok"].notna().all()

    def test_rows_must_align(self):
        with pytest.raises(InputError, match="aligned"):
            pc_property_correlation(np.zeros((4, 2)), pd.DataFrame({"a": [1.0, 2.0]}))


class TestSelectionFromEvent:
    def test_reads_names_from_customdata(self):
        event = {"selection": {"points": [{"curve_number": 0, "point_index": 3, "customdata": ["demo_003", 0.4]},
                                          {"curve_number": 1, "point_index": 3, "customdata": ["demo_010", 0.1]}],
                               "point_indices": [3, 3], "box": [], "lasso": []}}
        assert selection_from_event(event) == ["demo_003", "demo_010"]

    def test_plain_name_customdata_and_duplicates(self):
        points = [{"customdata": "a"}, {"customdata": ("b", 1)}, {"customdata": ["a"]}, {"point_index": 2}]
        assert selection_from_event({"selection": {"points": points}}) == ["a", "b"]

    @pytest.mark.parametrize("event", [None, {}, {"selection": None}, {"selection": {}},
                                       {"selection": {"point_indices": [1, 2]}}, {"selection": {"points": []}}])
    def test_tolerates_empty_events(self, event):
        assert selection_from_event(event) == []

    def test_attribute_style_event(self):
        class AttrDict(dict):
            __getattr__ = dict.get

        event = AttrDict(selection=AttrDict(points=[AttrDict(customdata=["x1"])]))
        assert selection_from_event(event) == ["x1"]
