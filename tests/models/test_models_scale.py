"""Nested CV, the final model and predictions in blocks: same numbers as scikit-learn, bounded memory."""

import tracemalloc

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from msdash.models import fit_final, make_model, nested_cv
from msdash.models import pcscores
from msdash.models.pcscores import PCScores
from msdash.predict import model_space, nearest_distance, ood_flags, predict
from msdash.validation.statistics import latent_table
from test_models_cv import same_as_reference


def mixed_units(n, d, seed):
    """A latent table whose first column is in units ten million times larger (composition in ppm next to
    image features): eigenvalues 1e14 apart, where the covariance route alone is not accurate."""
    X, y = latent_table(n, d, seed)
    X[:, 0] *= 1e7
    return X, y


def same_span(a, b, atol):
    """Scores equal up to the sign of every component."""
    signs = np.sign(np.sum(a * b, axis=0))
    np.testing.assert_allclose(a, b * signs, rtol=0, atol=atol)


class TestAgainstGridSearch:
    @pytest.mark.parametrize("n, d, candidates", [(400, 30, range(1, 16)), (36, 700, range(1, 16))],
                             ids=["tall (covariance)", "wide (Gram)"])
    def test_fold_scores_and_chosen_pcs(self, n, d, candidates):
        X, y = latent_table(n, d, seed=3)
        _, ref_chosen, _ = same_as_reference(X, y, model="lr", candidates=candidates, outer=5, inner=3, pred_atol=1e-7)
        assert len(set(ref_chosen)) > 1 or min(ref_chosen) > 1  # a real choice, not always the first

    @pytest.mark.parametrize("n, d", [(300, 25), (40, 500)], ids=["tall", "wide"])
    def test_standardised_equals_the_plain_grid_search(self, n, d):
        X, y = latent_table(n, d, seed=8)
        X[:, 3] = 7.0  # a constant column: StandardScaler leaves it unscaled
        fast = nested_cv(X, y, model="ridge", n_components=range(1, 12), outer=4, inner=3, standardize=True)
        plain = nested_cv(X, y, model="ridge", n_components=range(1, 12), outer=4, inner=3, standardize=True,
                          fast=False)
        assert fast.fold_params == plain.fold_params
        np.testing.assert_allclose(fast.fold_scores, plain.fold_scores, rtol=0, atol=1e-6)

    def test_ill_conditioned_table_falls_back_to_the_svd(self, monkeypatch):
        X, y = mixed_units(200, 8, seed=2)
        candidates = range(1, 7)
        _, _, ref_pred = same_as_reference(X, y, model="lr", candidates=candidates, outer=4, inner=3)
        # without the fallback the covariance route alone is measurably off: the check is needed
        monkeypatch.setattr(pcscores, "SPAN_TOL", np.inf)
        unchecked = nested_cv(X, y, model="lr", n_components=candidates, outer=4, inner=3)
        assert np.max(np.abs(unchecked.predictions - ref_pred) / np.abs(ref_pred)) > 1e-6


class TestPCScores:
    @pytest.mark.parametrize("n, d", [(300, 20), (30, 400)], ids=["tall", "wide"])
    @pytest.mark.parametrize("standardize", [False, True])
    def test_scores_are_sklearn_pca_up_to_sign(self, n, d, standardize):
        X, _ = latent_table(n, d, seed=1)
        rng = np.random.default_rng(0)
        order = rng.permutation(n)
        train, test = np.sort(order[: 2 * n // 3]), order[2 * n // 3:]
        scores = PCScores(X, standardize=standardize)
        got_train, got_test = scores(train, test, 5)
        pre = StandardScaler().fit(X[train]) if standardize else None
        Z_train = pre.transform(X[train]) if standardize else X[train]
        Z_test = pre.transform(X[test]) if standardize else X[test]
        pca = PCA(5, svd_solver="full").fit(Z_train)
        same_span(got_train, pca.transform(Z_train), atol=1e-8)
        same_span(got_test, pca.transform(Z_test), atol=1e-8)
        assert scores.route == ("covariance" if d < n else "gram") and scores.fallbacks == 0

    def test_restricted_gram_equals_the_direct_one(self):
        X, _ = latent_table(500, 12, seed=4)
        outer_train = np.arange(50, 500)
        inner_train, inner_test = outer_train[100:], outer_train[:100]
        via_subtraction = PCScores(X).restrict(outer_train)(inner_train, inner_test, 4)
        direct = PCScores(X)(inner_train, inner_test, 4)
        for a, b in zip(via_subtraction, direct):
            same_span(a, b, atol=1e-9)

    def test_mixed_units_use_the_svd_and_match_it(self):
        X, _ = mixed_units(120, 6, seed=5)
        train, test = np.arange(90), np.arange(90, 120)
        scores = PCScores(X)
        got_train, got_test = scores(train, test, 4)
        assert scores.fallbacks == 1
        pca = PCA(4, svd_solver="full").fit(X[train])
        same_span(got_train, pca.transform(X[train]), atol=1e-6 * np.abs(got_train).max())
        same_span(got_test[:, 1:], pca.transform(X[test])[:, 1:], atol=1e-9)  # the small components too


class TestMemoryBudget:
    def test_small_budget_gives_identical_results(self, monkeypatch):
        X, y = latent_table(240, 18, seed=6)
        wide_X, wide_y = latent_table(30, 300, seed=6)
        default = nested_cv(X, y, model="pr", n_components=range(1, 6), outer=4, inner=3, standardize=True)
        wide = nested_cv(wide_X, wide_y, model="lr", n_components=range(1, 8), outer=3, inner=3)
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "4096")  # blocks of 16 rows or columns
        small = nested_cv(X, y, model="pr", n_components=range(1, 6), outer=4, inner=3, standardize=True)
        wide_small = nested_cv(wide_X, wide_y, model="lr", n_components=range(1, 8), outer=3, inner=3)
        assert small.fold_params == default.fold_params and wide_small.fold_params == wide.fold_params
        np.testing.assert_allclose(small.predictions, default.predictions, rtol=1e-10)
        np.testing.assert_allclose(wide_small.predictions, wide.predictions, rtol=1e-10)

    def test_peak_memory_stays_below_a_copy_of_the_table(self, monkeypatch):
        X, y = latent_table(4000, 200, seed=7)  # 6.4 MB
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(2 * 1024**2))  # blocks of 256 KiB

        def peak(**kw):
            tracemalloc.start()
            try:
                nested_cv(X, y, model="lr", **{"n_components": range(1, 6), "outer": 3, "inner": 3, **kw})
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

        # five 200×200 Gram matrices (1.6 MB), two blocks (0.5 MB), scores and indices: ~0.4 of the table,
        # where one copy of an outer training set alone is 0.67 of it
        assert peak() < 0.5 * X.nbytes
        assert peak(standardize=True) < 0.5 * X.nbytes
        # the plain protocol copies training sets: the probe sees copies
        assert peak(fast=False, n_components=[1, 2], outer=2, inner=2) > X.nbytes


class TestFinalModelAndPredictions:
    @pytest.mark.parametrize("n, d", [(300, 20), (30, 400)], ids=["tall", "wide"])
    @pytest.mark.parametrize("model, standardize", [("pr", False), ("lr", True)])
    def test_final_model_equals_sklearn_fit(self, n, d, model, standardize):
        X, y = latent_table(n, d, seed=9)
        result = nested_cv(X, y, model=model, n_components=range(1, 5), outer=3, inner=3,
                           standardize=standardize)
        final = fit_final(X, y, cv_result=result)
        k = final.named_steps["pca"].n_components_
        reference = make_model(model, n_components=k, standardize=standardize).fit(X, y)
        ours, theirs = final.named_steps["pca"], reference.named_steps["pca"]
        np.testing.assert_allclose(ours.components_, theirs.components_, atol=1e-8)  # same signs too
        np.testing.assert_allclose(ours.explained_variance_, theirs.explained_variance_, rtol=1e-9)
        np.testing.assert_allclose(ours.explained_variance_ratio_, theirs.explained_variance_ratio_, rtol=1e-9)
        np.testing.assert_allclose(ours.noise_variance_, theirs.noise_variance_, rtol=1e-8)
        X_new = X[:7] + 0.1
        np.testing.assert_allclose(final.predict(X_new), reference.predict(X_new), rtol=1e-9)

    def test_blocked_predict_and_model_space(self):
        X, y = latent_table(500, 40, seed=10)
        pipeline = make_model("pr", n_components=4, standardize=True).fit(X, y)
        np.testing.assert_allclose(predict(pipeline, X, budget=8192), pipeline.predict(X), rtol=1e-12)
        np.testing.assert_allclose(model_space(pipeline, X, budget=8192),
                                   pipeline[:-2].transform(X), rtol=1e-12)

    def test_nearest_distance_equals_brute_force_and_ood_uses_it(self):
        rng = np.random.default_rng(11)
        reference, queries = rng.normal(size=(300, 30)), rng.normal(size=(50, 30))
        reference[7] = reference[3]  # a duplicate is its own nearest other point, at 0
        full = np.linalg.norm(queries[:, None] - reference[None], axis=2)
        np.testing.assert_allclose(nearest_distance(reference, queries, budget=4096), full.min(axis=1),
                                   rtol=1e-12)
        own = np.linalg.norm(reference[:, None] - reference[None], axis=2)
        np.fill_diagonal(own, np.inf)
        got = nearest_distance(reference, reference, exclude_self=True, budget=4096)
        np.testing.assert_allclose(got, own.min(axis=1), rtol=1e-12)
        assert got[3] == got[7] == 0.0
        X, y = latent_table(200, 10, seed=12)
        pipeline = make_model("lr", n_components=3).fit(X, y)
        distance, threshold, _ = ood_flags(pipeline, X, X[:5] + 1e-3)
        scores = pipeline.named_steps["pca"].transform(X)
        brute = np.linalg.norm(pipeline.named_steps["pca"].transform(X[:5] + 1e-3)[:, None] - scores[None],
                               axis=2).min(axis=1)
        np.testing.assert_allclose(distance, brute, rtol=1e-10)
