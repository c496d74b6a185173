"""msdash.models.nested_cv against study B's plain scikit-learn protocol, written out here independently."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_percentage_error
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures

from msdash.errors import InputError
from msdash.models import nested_cv
from msdash.validation.statistics import latent_table


def reference_protocol(X, y, *, model, candidates, outer=10, inner=5, groups=None, seed=42):
    """GridSearchCV over ``pca__n_components`` (full SVD) on every outer fold, scored by MAPE in %."""
    ols = LinearRegression()
    if "tol" in ols.get_params():  # scikit-learn >= 1.9: plain OLS = machine-precision lstsq cutoff
        ols.set_params(tol=np.finfo(float).eps)
    steps = [("pca", PCA(svd_solver="full"))]
    if model == "pr":  # the intercept is OLS's job; a constant column makes eps-OLS rounding-dependent
        steps.append(("poly", PolynomialFeatures(degree=2, include_bias=False)))
    pipeline = Pipeline(steps + [("ols", ols)])
    if groups is None:
        outer_cv = KFold(outer, shuffle=True, random_state=seed)
        inner_cv = KFold(inner, shuffle=True, random_state=seed)
    else:
        outer_cv = GroupKFold(outer, shuffle=True, random_state=seed)
        inner_cv = GroupKFold(inner, shuffle=True, random_state=seed)
    scores, chosen, predictions = [], [], np.empty_like(y)
    for train, test in outer_cv.split(X, y, groups):
        search = GridSearchCV(pipeline, {"pca__n_components": list(candidates)}, cv=inner_cv,
                              scoring="neg_mean_absolute_percentage_error")
        search.fit(X[train], y[train], groups=None if groups is None else groups[train])
        predictions[test] = search.predict(X[test])
        scores.append(100 * mean_absolute_percentage_error(y[test], predictions[test]))
        chosen.append(search.best_params_["pca__n_components"])
    return np.array(scores), chosen, predictions


def same_as_reference(X, y, *, model, candidates, outer=10, inner=5, pred_atol=0.0):
    """Run :func:`nested_cv` and assert it gives :func:`reference_protocol`'s chosen #PCs, fold scores (to 1e-6)
    and out-of-fold predictions (rtol 1e-7, ``pred_atol``); return the reference (scores, chosen #PCs, predictions)."""
    ref_scores, ref_chosen, ref_pred = reference_protocol(X, y, model=model, candidates=candidates, outer=outer,
                                                          inner=inner)
    result = nested_cv(X, y, model=model, n_components=candidates, outer=outer, inner=inner)
    assert result.fold_params == ref_chosen
    np.testing.assert_allclose(result.fold_scores, ref_scores, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.predictions, ref_pred, rtol=1e-7, atol=pred_atol)
    return ref_scores, ref_chosen, ref_pred


class TestAgainstPlainProtocol:
    @pytest.mark.parametrize("model, candidates", [("pr", range(1, 9)), ("lr", range(1, 21))])
    @pytest.mark.parametrize("n, d", [(70, 12), (45, 400)], ids=["n>d (svd)", "d>>n (gram)"])
    def test_fold_scores_and_chosen_pcs_match(self, model, candidates, n, d):
        X, y = latent_table(n, d, seed=n + d)
        if d < n:
            candidates = [k for k in candidates if k <= d]
        _, ref_chosen, _ = same_as_reference(X, y, model=model, candidates=candidates, pred_atol=1e-7)
        assert len(set(ref_chosen)) > 1 or model == "pr"  # the search really chooses, not a trivial case

    @pytest.mark.parametrize("model, candidates", [("pr", range(1, 7)), ("lr", range(1, 16))])
    @pytest.mark.parametrize("d", [10, 300])
    def test_with_groups(self, model, candidates, d):
        X, y = latent_table(60, d, seed=d)
        groups = np.random.default_rng(d).integers(0, 15, size=60)
        candidates = [k for k in candidates if k <= d]
        ref_scores, ref_chosen, _ = reference_protocol(X, y, model=model, candidates=candidates, outer=5,
                                                       inner=3, groups=groups)
        result = nested_cv(X, y, model=model, n_components=candidates, outer=5, inner=3, groups=groups)
        assert result.fold_params == ref_chosen
        np.testing.assert_allclose(result.fold_scores, ref_scores, rtol=0, atol=1e-6)

    def test_plain_path_and_parallel_folds_give_the_same(self):
        X, y = latent_table(50, 80, seed=5)
        fast = nested_cv(X, y, model="pr", n_components=range(1, 6), outer=5)
        plain = nested_cv(X, y, model="pr", n_components=range(1, 6), outer=5, fast=False)
        parallel = nested_cv(X, y, model="pr", n_components=range(1, 6), outer=5, n_jobs=2)
        assert fast.fold_params == plain.fold_params == parallel.fold_params
        np.testing.assert_allclose(fast.fold_scores, plain.fold_scores, atol=1e-6)
        np.testing.assert_allclose(fast.fold_scores, parallel.fold_scores, atol=1e-12)
        np.testing.assert_allclose(fast.inner_scores[0], plain.inner_scores[0], atol=1e-9)

    @pytest.mark.parametrize("model", ["svr", "ridge", "pca-rbf-svr"])
    def test_other_pca_models_match_their_grid_search(self, model):
        X, y = latent_table(50, 200, seed=9)
        fast = nested_cv(X, y, model=model, n_components=range(1, 10), outer=5, standardize=True)
        plain = nested_cv(X, y, model=model, n_components=range(1, 10), outer=5, standardize=True, fast=False)
        assert fast.fold_params == plain.fold_params
        np.testing.assert_allclose(fast.fold_scores, plain.fold_scores, atol=1e-6)


class TestResult:
    def test_fields_metrics_and_summary(self):
        X, y = latent_table(40, 6, seed=1)
        result = nested_cv(X, y, model="lr", n_components=[1, 2, 3], outer=4, inner=3)
        assert result.model == "lr" and result.scoring == "mape"
        assert sorted(np.concatenate([test for _, test in result.folds]).tolist()) == list(range(40))
        for fold, (_, test) in enumerate(result.folds):
            err = y[test] - result.predictions[test]
            row = result.metrics.loc[fold]
            assert row["mape_pct"] == pytest.approx(100 * np.mean(np.abs(err) / np.abs(y[test])))
            assert row["rmse"] == pytest.approx(np.sqrt(np.mean(err ** 2)))
            assert row["mae"] == pytest.approx(np.mean(np.abs(err)))
            assert row["r2"] == pytest.approx(1 - np.sum(err ** 2) / np.sum((y[test] - y[test].mean()) ** 2))
        np.testing.assert_allclose(result.fold_scores, result.metrics["mape_pct"])
        summary = result.summary()
        assert set(summary) == {"mape_pct", "rmse", "mae", "r2"}
        assert summary["rmse"]["mean"] == pytest.approx(result.metrics["rmse"].mean())
        assert summary["rmse"]["std"] == pytest.approx(result.metrics["rmse"].std(ddof=1))
        np.testing.assert_allclose(result.residuals, y - result.predictions)

    @pytest.mark.parametrize("scoring", ["rmse", "r2"])
    def test_other_scorings_report_plain_values(self, scoring):
        X, y = latent_table(40, 6, seed=2)
        result = nested_cv(X, y, model="lr", n_components=[1, 2, 3], outer=4, inner=3, scoring=scoring)
        np.testing.assert_allclose(result.fold_scores, result.metrics[scoring])


class TestGroups:
    def test_outer_and_inner_splits_never_mix_groups(self):
        from sklearn.model_selection import GroupKFold as GKF

        X, y = latent_table(60, 8, seed=3)
        groups = np.repeat(np.arange(12), 5)
        result = nested_cv(X, y, model="lr", n_components=[1, 2, 3], outer=4, inner=3, groups=groups)
        for train, test in result.folds:
            assert not set(groups[train]) & set(groups[test])
            for inner_train, inner_test in GKF(3, shuffle=True, random_state=42).split(train, groups=groups[train]):
                assert not set(groups[train][inner_train]) & set(groups[train][inner_test])

    def test_leave_one_group_out(self):
        X, y = latent_table(30, 5, seed=4)
        groups = np.repeat(["a", "b", "c", "d", "e", "f"], 5)
        result = nested_cv(X, y, model="lr", n_components=[1, 2], outer="logo", inner=3, groups=groups)
        assert len(result.folds) == 6
        assert all(len(set(groups[test])) == 1 for _, test in result.folds)
        assert not any(set(groups[train]) & set(groups[test]) for train, test in result.folds)


class TestModelsWithoutPCA:
    @pytest.mark.parametrize("model", ["rbf-svr", "knn", "pcr"])
    def test_run_and_give_finite_scores(self, model):
        X, y = latent_table(50, 6, seed=6)
        result = nested_cv(X, y, model=model, outer=3, inner=3)
        assert np.isfinite(result.fold_scores).all() and len(result.fold_scores) == 3
        assert all(isinstance(p, dict) for p in result.fold_params)
        if model == "rbf-svr":
            assert set(result.fold_params[0]) == {"C", "gamma", "epsilon"}
        if model == "knn":
            assert {"n_neighbors"} == set(result.fold_params[0])

    def test_rbf_search_is_seeded(self):
        X, y = latent_table(40, 4, seed=7)
        a = nested_cv(X, y, model="rbf-svr", outer=3, inner=3)
        b = nested_cv(X, y, model="rbf-svr", outer=3, inner=3)
        assert a.fold_params == b.fold_params


class TestInputErrors:
    @pytest.mark.parametrize("kwargs, name", [
        ({"model": "gpr"}, "model"), ({"scoring": "mse"}, "scoring"), ({"outer": 1}, "outer"),
        ({"outer": "logo"}, "outer"), ({"inner": 1}, "inner"), ({"n_components": [0, 2]}, "n_components"),
        ({"n_components": [1.5]}, "n_components"), ({"model": "knn", "n_components": [2]}, "n_components"),
        ({"outer": 50}, "outer"), ({"groups": np.zeros(3)}, "groups"), ({"n_components": [40]}, "n_components"),
    ])
    def test_bad_options_name_the_argument(self, kwargs, name):
        X, y = latent_table(20, 5, seed=0)
        with pytest.raises(InputError) as err:
            nested_cv(X, y, **{"outer": 4, "inner": 3, **kwargs})
        assert err.value.name == name and f"`{name}`" in str(err.value)

    def test_bad_data(self):
        X, y = latent_table(20, 5, seed=0)
        X[3, 2] = np.nan
        with pytest.raises(InputError, match="`X`"):
            nested_cv(X, y)
        with pytest.raises(InputError, match="`y`"):
            nested_cv(X[:, :2] * 0 + 1, y[:5])
