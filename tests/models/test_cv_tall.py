"""Nested CV on tall tables with repeated columns (two-point windows): merged columns, same numbers."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from msdash.features.correlation import two_point
from msdash.models import nested_cv
from msdash.models.pcscores import PCScores, _distinct_columns
from msdash.validation.statistics import latent_table
from test_models_cv import same_as_reference


def repeated_columns(n, r, seed):
    """A latent table of ``r`` columns widened to ``2r + 3`` by repeating every column once and three of
    them twice more (multiplicities 2 and 3, scattered), and its column map."""
    X_u, y = latent_table(n, r, seed)
    rng = np.random.default_rng(seed)
    source = rng.permutation(np.concatenate([np.arange(r), np.arange(r), [1, 4, 4]]))
    return X_u[:, source], y, source


def same_rows_up_to_sign(a, b, atol):
    signs = np.sign(np.sum(a * b, axis=1))
    np.testing.assert_allclose(a, b * signs[:, None], rtol=0, atol=atol)


def same_columns_up_to_sign(a, b, atol):
    same_rows_up_to_sign(a.T, b.T, atol)


class TestDistinctColumns:
    def test_finds_every_copy_and_weights_by_multiplicity(self):
        X, _, source = repeated_columns(60, 10, seed=1)
        Y, inverse, weights = _distinct_columns(X, budget=None)
        assert Y.shape == (60, 10)
        # columns j and j' are merged exactly when they came from the same source column
        np.testing.assert_array_equal(inverse[:, None] == inverse[None, :], source[:, None] == source[None, :])
        counts = np.bincount(source)
        np.testing.assert_allclose(np.sort(weights ** 2), np.sort(counts.astype(float)))
        np.testing.assert_allclose(Y / weights, X[:, [np.flatnonzero(inverse == u)[0] for u in range(10)]],
                                   rtol=1e-15, atol=0)

    def test_two_point_window_has_half_plus_one_distinct_columns(self):
        # S2(r) = S2(−r): a (2c+1)² window holds ((2c+1)² + 1) / 2 distinct values per image
        rng = np.random.default_rng(0)
        images = (rng.random((40, 24, 24)) < 0.4).astype(np.uint8)
        X = two_point(images, cutoff=5).reshape(40, -1)
        Y, inverse, _ = _distinct_columns(X, budget=None)
        assert Y.shape[1] == (11 * 11 + 1) // 2

    def test_no_repeats_or_too_small_a_budget_merges_nothing(self):
        X, _ = latent_table(50, 8, seed=2)
        assert _distinct_columns(X, budget=None) is None
        X, _, _ = repeated_columns(50, 8, seed=2)
        assert _distinct_columns(X, budget=4 * 8 * 50 * 8 - 1) is None  # Y would exceed a quarter of it

    def test_near_copies_are_not_merged(self):
        X, _ = latent_table(50, 6, seed=3)
        X = np.hstack([X, X[:, :1] + 1e-15 * np.arange(50)[:, None]])  # differs in the last bits of some rows
        assert _distinct_columns(X, budget=None) is None


class TestMergedPCScores:
    @pytest.mark.parametrize("standardize", [False, True])
    def test_components_and_scores_equal_sklearn_on_the_full_table(self, standardize):
        X, _, _ = repeated_columns(300, 12, seed=4)
        X[:, 7] = 2.5  # a constant column (and its copy, if any): StandardScaler leaves it unscaled
        scores = PCScores(X, standardize=standardize)
        assert scores.X.shape[1] < X.shape[1] and scores.n_features == X.shape[1]
        rows, test = np.arange(0, 300, 3), np.arange(1, 300, 3)
        mean, scale, components, variances, total = scores.components(rows, 5)
        pre = StandardScaler().fit(X[rows]) if standardize else None
        Z = pre.transform(X[rows]) if standardize else X[rows]
        reference = PCA(5, svd_solver="full").fit(Z)
        same_rows_up_to_sign(components, reference.components_, atol=1e-9)
        np.testing.assert_allclose(variances, reference.singular_values_ ** 2, rtol=1e-9)
        if standardize:
            np.testing.assert_allclose(mean, pre.mean_, rtol=1e-12)
            np.testing.assert_allclose(scale, pre.scale_, rtol=1e-12)
            np.testing.assert_allclose(total, ((Z - Z.mean(0)) ** 2).sum(), rtol=1e-9)
        else:
            np.testing.assert_allclose(mean, X[rows].mean(axis=0), rtol=1e-12)
            assert scale is None
        got_train, got_test = scores(rows, test, 5)
        same_columns_up_to_sign(got_train, reference.transform(Z), atol=1e-8)
        held_out = pre.transform(X[test]) if standardize else X[test]
        same_columns_up_to_sign(got_test, reference.transform(held_out), atol=1e-8)


class TestNestedCVOnRepeatedColumns:
    def test_fold_scores_and_chosen_pcs_equal_the_plain_grid_search(self):
        X, y, _ = repeated_columns(240, 14, seed=5)
        _, ref_chosen, _ = same_as_reference(X, y, model="pr", candidates=range(1, 9), outer=4, inner=3, pred_atol=1e-7)
        assert len(set(ref_chosen)) > 1 or min(ref_chosen) > 1

    def test_standardised_equals_the_plain_path(self):
        X, y, _ = repeated_columns(200, 10, seed=6)
        fast = nested_cv(X, y, model="lr", n_components=range(1, 10), outer=4, inner=3, standardize=True)
        plain = nested_cv(X, y, model="lr", n_components=range(1, 10), outer=4, inner=3, standardize=True,
                          fast=False)
        assert fast.fold_params == plain.fold_params
        np.testing.assert_allclose(fast.fold_scores, plain.fold_scores, rtol=0, atol=1e-6)

    def test_merging_changes_no_number(self, monkeypatch):
        from msdash.models import pcscores

        X, y, _ = repeated_columns(200, 10, seed=7)
        merged = nested_cv(X, y, model="pr", n_components=range(1, 7), outer=3, inner=3)
        monkeypatch.setattr(pcscores, "_distinct_columns", lambda X, budget: None)
        unmerged = nested_cv(X, y, model="pr", n_components=range(1, 7), outer=3, inner=3)
        assert merged.fold_params == unmerged.fold_params
        np.testing.assert_allclose(merged.predictions, unmerged.predictions, rtol=1e-9)
