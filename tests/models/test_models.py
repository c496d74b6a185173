"""msdash.models: presets, the piecewise-constant regressor, learning curves, hold-out, final model, intervals."""

import dataclasses

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from msdash.errors import InputError
from msdash.models import (MODELS, PiecewiseConstantRegressor, conformal_interval, fit_final, holdout,
                           learning_curve, make_model, nested_cv)


def linear_table(n, d=5, noise=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = np.linspace(1, 3, d)
    return X, 50 + X @ w + noise * rng.normal(size=n)


class TestMakeModel:
    @pytest.mark.parametrize("name", list(MODELS))
    def test_every_preset_fits_and_predicts(self, name):
        X, y = linear_table(30)
        kw = {"n_components": 3} if MODELS[name].has_pca else {}
        pred = make_model(name, **kw).fit(X, y).predict(X)
        assert pred.shape == (30,) and np.isfinite(pred).all()

    def test_steps_standardize_and_plain_ols(self):
        model = make_model("pr", n_components=4, standardize=True)
        assert [name for name, _ in model.steps] == ["standardize", "pca", "poly", "regressor"]
        assert model.named_steps["pca"].svd_solver == "full"
        assert model.named_steps["poly"].degree == 2 and not model.named_steps["poly"].include_bias
        params = model.named_steps["regressor"].get_params()
        assert params.get("tol", np.finfo(float).eps) == np.finfo(float).eps
        assert make_model("svr").named_steps["regressor"].kernel == "linear"
        assert make_model("pcr", step=2.5).named_steps["regressor"].step == 2.5

    def test_pca_rbf_svr_is_svr_on_pcs_with_a_standardised_target(self):
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVR

        X, y = linear_table(40)
        ours = make_model("pca-rbf-svr", n_components=3).fit(X, y).predict(X)
        scores = PCA(3, svd_solver="full").fit_transform(StandardScaler().fit_transform(X))
        mean, std = y.mean(), y.std()
        expected = SVR(kernel="rbf").fit(scores, (y - mean) / std).predict(scores) * std + mean
        np.testing.assert_allclose(ours, expected, rtol=1e-9)

    def test_presets_describe_themselves(self):
        assert MODELS["pr"].candidates == tuple(range(1, 13)) and MODELS["lr"].candidates[-1] == 50
        assert MODELS["pr"].has_pca and not MODELS["rbf-svr"].has_pca and MODELS["rbf-svr"].search == "halving"

    def test_errors_name_the_argument(self):
        with pytest.raises(InputError, match="`model`"):
            make_model("gpr")
        with pytest.raises(InputError, match="`n_components`"):
            make_model("knn", n_components=3)


@parametrize_with_checks([PiecewiseConstantRegressor(), PiecewiseConstantRegressor(step=0.25)])
def test_piecewise_constant_regressor_is_a_scikit_learn_estimator(estimator, check):
    check(estimator)


class TestPiecewiseConstantRegressor:
    def test_predicts_the_mean_target_of_the_nearest_bin(self):
        # two features on different scales; bins of width 10: [0, 10) → rows 0–2, [20, 30) → rows 3–4
        X = np.array([[0.0, 100.0], [1.0, 300.0], [2.0, 200.0], [10.0, 900.0], [8.0, 1100.0]])
        y = np.array([1.0, 4.0, 7.0, 22.0, 28.0])
        model = PiecewiseConstantRegressor(step=10).fit(X, y)
        np.testing.assert_allclose(model.bin_targets_, [4.0, 25.0])
        # min–max scaled: x1 ∈ [0, 10] → /10, x2 ∈ [100, 1100] → /1000
        np.testing.assert_allclose(model.centroids_, [[0.1, 0.1], [0.9, 0.9]])
        np.testing.assert_allclose(model.predict([[1.0, 150.0], [9.0, 1000.0], [6.0, 700.0]]), [4.0, 25.0, 25.0])

    def test_in_training_points_of_distinct_bins_get_their_own_mean(self):
        X = np.arange(6.0)[:, None]
        y = np.arange(6.0) * 3 + 0.5
        np.testing.assert_allclose(PiecewiseConstantRegressor(step=1).fit(X, y).predict(X), y)

    @pytest.mark.parametrize("step", [0, -1.0, np.nan, "1"])
    def test_bad_step(self, step):
        with pytest.raises(ValueError, match="`step`"):
            PiecewiseConstantRegressor(step=step).fit(np.ones((3, 1)), [1.0, 2.0, 3.0])


class TestLearningCurve:
    def test_shape_sizes_and_nested_training_sets(self):
        X, y = linear_table(60)
        curve = learning_curve(X, y, model="lr", sizes=(0.25, 0.5, 1.0), outer=3, inner=3)
        assert list(curve.columns) == ["size", "n_train", "fold", "score", "param"]
        assert len(curve) == 9 and sorted(curve["n_train"].unique().tolist()) == [10, 20, 40]
        assert np.isfinite(curve["score"]).all()
        means = curve.groupby("size")["score"].mean()
        assert means.loc[1.0] < means.loc[0.25]  # more data, smaller error

    def test_full_size_equals_nested_cv(self):
        X, y = linear_table(40)
        curve = learning_curve(X, y, model="pr", sizes=(1.0,), outer=4, inner=3, n_components=[1, 2, 3])
        result = nested_cv(X, y, model="pr", outer=4, inner=3, n_components=[1, 2, 3])
        np.testing.assert_allclose(curve["score"], result.fold_scores)

    def test_groups_stay_whole(self):
        X, y = linear_table(48)
        groups = np.repeat(np.arange(12), 4)
        curve = learning_curve(X, y, model="lr", sizes=(0.3, 1.0), outer=3, inner=2, groups=groups)
        assert (curve["n_train"] % 4 == 0).all()

    def test_bad_sizes(self):
        X, y = linear_table(20)
        with pytest.raises(InputError, match="`sizes`"):
            learning_curve(X, y, model="lr", sizes=(0.0, 1.5))


class TestHoldout:
    def test_reproducible_with_seed_and_test_part_untouched(self):
        X, y = linear_table(50)
        a = holdout(X, y, model="pr", n_components=[1, 2, 3, 4], inner=3, random_state=3)
        b = holdout(X, y, model="pr", n_components=[1, 2, 3, 4], inner=3, random_state=3)
        c = holdout(X, y, model="pr", n_components=[1, 2, 3, 4], inner=3, random_state=4)
        assert a["param"] == b["param"] and a["mape_pct"] == b["mape_pct"]
        np.testing.assert_array_equal(a["test_idx"], b["test_idx"])
        assert set(a["test_idx"]) != set(c["test_idx"])
        assert len(a["test_idx"]) == 10 and not set(a["test_idx"]) & set(a["train_idx"])
        refit = make_model("pr", n_components=a["param"]).fit(X[a["train_idx"]], y[a["train_idx"]])
        np.testing.assert_allclose(refit.predict(X[a["test_idx"]]), a["predictions"], rtol=1e-9)

    def test_bad_test_size(self):
        X, y = linear_table(20)
        with pytest.raises(InputError, match="`test_size`"):
            holdout(X, y, test_size=1.0)


class TestFinalModelAndIntervals:
    def test_most_frequent_number_of_pcs_ties_to_the_smaller(self):
        X, y = linear_table(40)
        result = nested_cv(X, y, model="lr", n_components=[1, 2, 3, 4, 5], outer=5, inner=3)
        tied = dataclasses.replace(result, fold_params=[4, 2, 4, 2, 5])
        assert fit_final(X, y, model="lr", cv_result=tied).named_steps["pca"].n_components_ == 2
        with pytest.raises(InputError, match="`model`"):
            fit_final(X, y, model="pr", cv_result=tied)

    def test_models_without_pca_rerun_their_search(self):
        X, y = linear_table(40)
        result = nested_cv(X, y, model="knn", outer=3, inner=3)
        final = fit_final(X, y, cv_result=result)
        assert final.named_steps["regressor"].n_neighbors in (1, 2, 3, 5, 7, 10, 15, 20)

    def test_conformal_quantile_by_hand(self):
        result = dataclasses.make_dataclass("R", ["residuals"])(np.arange(1.0, 20.0))  # n = 19
        lower, upper = conformal_interval(result, [100.0, 0.0], alpha=0.1)
        # ⌈0.9 · 20⌉ = 18 → the 18th smallest |residual| = 18
        np.testing.assert_allclose(lower, [82.0, -18.0])
        np.testing.assert_allclose(upper, [118.0, 18.0])
        lower, upper = conformal_interval(result, [0.0], alpha=0.01)  # rank 20 > n → infinite
        assert np.isinf(upper).all()
        with pytest.raises(InputError, match="`alpha`"):
            conformal_interval(result, [0.0], alpha=1.5)

    def test_coverage_is_close_to_the_nominal_level(self):
        X, y = linear_table(2300, d=4, noise=2.0, seed=11)
        train, new = slice(0, 300), slice(300, None)
        result = nested_cv(X[train], y[train], model="lr", n_components=[1, 2, 3, 4])
        final = fit_final(X[train], y[train], cv_result=result)
        lower, upper = conformal_interval(result, final.predict(X[new]), alpha=0.1)
        coverage = np.mean((y[new] >= lower) & (y[new] <= upper))
        assert 0.85 <= coverage <= 0.95


class TestBoxFigure:
    """msdash.models.figures.box_figure: a robust axis when one fold is a far outlier, the outlier named."""

    def frame(self, scores):
        import pandas as pd

        return pd.DataFrame({"feature_set": ["two_point"] * len(scores), "model": ["pr"] * len(scores),
                             "score": scores, "fold": range(1, len(scores) + 1), "repeat": 1})

    def test_an_outlier_fold_is_named_and_left_off_the_axis(self):
        from msdash.models.figures import box_figure

        scores = [12.0, 15.5, 10.2, 920.0, 18.1, 13.3, 11.0, 16.4, 14.2, 19.9]
        fig = box_figure(self.frame(scores), score_label="MAPE (%)")
        low, high = fig.layout.yaxis.range
        assert low < 10.2 and 19.9 < high < 100  # every other fold visible, the axis not squashed to 920
        assert fig.layout.meta["outliers"] == ["pr on two_point, fold 4: 920"]
        assert any("fold 4: 920" in a.text for a in fig.layout.annotations)
        marker = next(t for t in fig.data if t.name == "off the axis")
        assert low <= marker.y[0] <= high  # drawn at the edge, so it is seen

    def test_no_outlier_leaves_the_axis_alone(self):
        from msdash.models.figures import box_figure, outlier_folds

        scores = [12.0, 15.5, 10.2, 22.0, 18.1, 13.3]
        fig = box_figure(self.frame(scores))
        assert fig.layout.yaxis.range is None and fig.layout.meta["outliers"] == []
        assert not outlier_folds(scores).any()
        q1, q3 = np.percentile(scores + [60.0], [25, 75])  # Tukey's far-out fence, computed here
        assert outlier_folds(scores + [60.0])[-1] == (60.0 > q3 + 3 * (q3 - q1))


def test_final_model_of_a_grouped_run_searches_with_group_folds():
    """fit_final(groups=…) chooses k as a GridSearchCV over GroupKFold would, not as random folds do."""
    from sklearn.model_selection import GridSearchCV, GroupKFold, KFold

    from msdash.models import fit_final, nested_cv
    from msdash.models.cv import KNN_NEIGHBOURS
    from msdash.models.presets import make_model

    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(8), 12)
    X = rng.normal(size=(96, 3)) + groups[:, None] * 0.8  # each group sits apart: near neighbours share a group
    y = X[:, 0] + np.repeat(rng.normal(scale=2.0, size=8), 12) + rng.normal(scale=0.1, size=96) + 20
    result = nested_cv(X, y, model="knn", outer=4, inner=4, groups=groups, random_state=3)
    grouped = fit_final(X, y, cv_result=result, groups=groups)
    plain = fit_final(X, y, cv_result=result)

    def best_k(cv):
        grid = {"regressor__n_neighbors": list(KNN_NEIGHBOURS)}
        search = GridSearchCV(make_model("knn"), grid, cv=cv, scoring="neg_mean_absolute_percentage_error")
        return search.fit(X, y, groups=groups).best_params_["regressor__n_neighbors"]

    expected_grouped = best_k(GroupKFold(4, shuffle=True, random_state=3))
    expected_plain = best_k(KFold(4, shuffle=True, random_state=3))
    assert grouped.named_steps["regressor"].n_neighbors == expected_grouped
    assert plain.named_steps["regressor"].n_neighbors == expected_plain
    assert expected_grouped != expected_plain  # the data make the two searches disagree
