"""Out-of-distribution check outside the retained PCs (msdash.ood): the Q/SPE residual, calibrated out of fold."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GroupKFold

from msdash.errors import InputError
from msdash.models import make_model
from msdash.ood import default_folds, ood_check, out_of_fold_residual, subspace_residual
from msdash.predict import ood_flags, predict


def latent(n, d, seed, noise=0.3):
    """Samples near a 5-D subspace of a d-D feature space (spreads 5, 4, 3, 2, 1), plus isotropic noise."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(d, 5)))[0].T  # orthonormal (5, d), the same for every call
    z = np.random.default_rng(seed + 1000).normal(size=(n, 5)) * [5.0, 4.0, 3.0, 2.0, 1.0]
    X = 10 + z @ basis + noise * np.random.default_rng(seed + 2000).normal(size=(n, d))
    return X, 20 + z[:, 0] + 0.1 * z[:, 1] ** 2


def brute_residual(pipeline, X):
    """Independent: scikit-learn's own reconstruction from the retained PCs, then the Euclidean norm."""
    pre = pipeline[:list(pipeline.named_steps).index("pca")]
    Z = pre.transform(X) if len(pre) else X
    pca = pipeline.named_steps["pca"]
    return np.linalg.norm(Z - pca.inverse_transform(pca.transform(Z)), axis=1)


class TestSubspaceResidual:
    @pytest.mark.parametrize("standardize", [False, True])
    def test_equals_the_reconstruction_error(self, standardize):
        X, y = latent(120, 30, seed=1)
        pipeline = make_model("pr", n_components=4, standardize=standardize).fit(X, y)
        new = X[:9] + np.random.default_rng(5).normal(size=(9, 30))
        np.testing.assert_allclose(subspace_residual(pipeline, new, budget=4096), brute_residual(pipeline, new),
                                   rtol=1e-9)

    def test_no_pca_gives_nan_and_no_residual_part(self):
        X, y = latent(60, 8, seed=2)
        pipeline = make_model("knn").fit(X, y)
        assert np.isnan(subspace_residual(pipeline, X[:3])).all()
        check = ood_check(pipeline, X, X[:3] + 100)
        assert not check.has_residual and not check.outside.any()
        assert check.inside.all()  # the distance part still works: 100 away in every feature


class TestOutOfFoldResidual:
    @pytest.mark.parametrize("n, d, standardize", [(80, 12, False), (80, 12, True), (40, 150, False),
                                                   (40, 150, True)])
    def test_equals_a_pca_refitted_on_each_fold(self, n, d, standardize):
        # covariance route (d < n) and Gram route (d > n), with and without a StandardScaler
        X, y = latent(n, d, seed=3)
        pipeline = make_model("lr", n_components=3, standardize=standardize).fit(X, y)
        folds = default_folds(n, n_splits=5)
        got = out_of_fold_residual(pipeline, X, folds, budget=8192)
        expected = np.empty(n)
        for train, test in folds:
            fold = clone(pipeline).fit(X[train], y[train])
            expected[test] = brute_residual(fold, X[test])
        np.testing.assert_allclose(got, expected, rtol=1e-7)

    def test_training_residuals_would_be_optimistic_with_more_features_than_samples(self):
        # why the threshold is calibrated out of fold: with d > n, the fitted PCA hugs its own samples
        X, y = latent(60, 400, seed=4)
        pipeline = make_model("lr", n_components=5).fit(X, y)
        oof = out_of_fold_residual(pipeline, X, default_folds(60))
        assert np.median(subspace_residual(pipeline, X)) < 0.97 * np.median(oof)


class TestOodCheck:
    @pytest.mark.parametrize("standardize", [False, True])
    def test_orthogonal_offset_of_ten_spreads_is_flagged_outside_only(self, standardize):
        X, y = latent(200, 40, seed=5)
        pipeline = make_model("pr", n_components=5, standardize=standardize).fit(X, y)
        pre = pipeline[:list(pipeline.named_steps).index("pca")]
        components = pipeline.named_steps["pca"].components_
        rng = np.random.default_rng(6)
        direction = rng.normal(size=40)
        direction -= components.T @ (components @ direction)  # orthogonal to the retained PCs …
        direction /= np.linalg.norm(direction)
        if len(pre):  # … in the space the PCA sees
            direction = direction * pre[0].scale_
        spread = np.sqrt(((X - X.mean(axis=0)) ** 2).sum(axis=1).mean())  # RMS distance to the mean
        moved = X[:3] + 10 * spread * direction / np.linalg.norm(direction)
        check = ood_check(pipeline, X, np.vstack([X[:3], moved]))
        np.testing.assert_allclose(predict(pipeline, moved), predict(pipeline, X[:3]), rtol=1e-8)  # unseen
        assert check.outside.tolist() == [False] * 3 + [True] * 3
        assert not check.inside.any()  # the old, inside-only flag missed them
        assert check.reasons().tolist() == [""] * 3 + ["outside the PCs"] * 3
        assert ood_flags(pipeline, X, moved)[2].all()

    @pytest.mark.parametrize("n, d", [(300, 40), (150, 600)])
    def test_in_distribution_held_out_samples_are_flagged_at_about_the_nominal_rate(self, n, d):
        X, y = latent(n + 4000, d, seed=7)
        pipeline = make_model("pr", n_components=5).fit(X[:n], y[:n])
        check = ood_check(pipeline, X[:n], X[n:], percentile=99.0)
        # 1 % per part nominally; the 99th percentile of n calibration values has sampling error ~ 0.6 %
        assert 0.0 < check.outside.mean() < 0.03
        assert 0.0 < check.inside.mean() < 0.04
        assert check.flags.mean() < 0.06
        # a threshold from the training residuals instead flags far more when d > n
        trained = np.percentile(subspace_residual(pipeline, X[:n]), 99)
        if d > n:
            assert np.mean(check.residual > trained) > 5 * check.outside.mean()

    def test_group_folds_calibrate_on_held_out_groups(self):
        X, y = latent(120, 20, seed=8)
        groups = np.repeat(np.arange(12), 10)
        pipeline = make_model("lr", n_components=3).fit(X, y)
        folds = list(GroupKFold(n_splits=4).split(X, y, groups))
        check = ood_check(pipeline, X, X[:2], folds=folds, percentile=90)
        assert check.residual_threshold == pytest.approx(
            np.percentile(out_of_fold_residual(pipeline, X, folds), 90))

    def test_bad_percentile_is_refused(self):
        X, y = latent(30, 6, seed=9)
        pipeline = make_model("lr", n_components=2).fit(X, y)
        with pytest.raises(InputError, match="percentile"):
            ood_check(pipeline, X, X[:1], percentile=0)

    def test_a_pca_keeping_every_dimension_has_no_outside_part(self):
        X, y = latent(50, 6, seed=10)
        pipeline = make_model("lr", n_components=6).fit(X, y)
        check = ood_check(pipeline, X, X[:5] + 1e-3)
        assert not check.has_residual and not check.outside.any() and not check.flags.any()

    def test_folds_too_small_for_the_components_are_left_out_of_the_calibration(self):
        X, y = latent(40, 30, seed=11)
        pipeline = make_model("lr", n_components=5).fit(X, y)
        folds = default_folds(40, n_splits=4) + [(np.arange(3), np.arange(3, 8))]  # 3 rows cannot give 5 PCs
        got = out_of_fold_residual(pipeline, X, folds)
        np.testing.assert_allclose(got, out_of_fold_residual(pipeline, X, folds[:4]))
