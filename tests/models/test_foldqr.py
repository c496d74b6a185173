"""One QR per inner fold (msdash.models.foldqr): the union factors equal direct QRs/SVDs of the centred rows, and
nested CV through them gives the numbers of the per-training-set QR route."""

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold, KFold

from msdash.models import foldqr, nested_cv
from msdash.models.foldqr import FoldQR, fits, is_partition
from msdash.models.pcscores import PCScores
from test_models_cv import same_as_reference


def flat_tail_table(n, d, seed, offset=0.0):
    """Six latent factors over four decades of scale plus a flat white-noise tail (every column distinct), and
    ``offset`` times a per-column level in [0.5, 2): a tall table whose spectrum makes the covariance route
    fall back to the SVD for components past the sixth."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 6)) * np.logspace(2, 0, 6)
    X = latent @ rng.normal(size=(6, d)) + 1e-3 * rng.normal(size=(n, d)) + offset * rng.uniform(0.5, 2, d)
    y = 100 + latent[:, 0] / 10 + (latent[:, 1] / 30) ** 2 + latent[:, 4] + rng.normal(size=n)
    return X, y


def same_span(a, b, rtol):
    """Equal up to the sign of every column (component), to ``rtol`` of the largest entry."""
    signs = np.sign(np.sum(a * b, axis=0))
    np.testing.assert_allclose(a, b * signs, rtol=0, atol=rtol * np.abs(b).max())


def direct_r(Z):
    """R of a plain Householder QR, rows signed so that the diagonal is non-negative."""
    r = np.linalg.qr(Z, mode="r")
    return r * np.where(np.diag(r) < 0, -1.0, 1.0)[:, None]


def signed(r):
    return r * np.where(np.diag(r) < 0, -1.0, 1.0)[:, None]


class TestFoldQR:
    @pytest.mark.parametrize("n_folds", [2, 3, 5, 7])
    @pytest.mark.parametrize("reuse", [True, False], ids=["reuse", "no reuse"])
    def test_every_leave_one_out_union_and_the_whole_equal_a_direct_qr(self, n_folds, reuse):
        X, _ = flat_tail_table(700, 40, seed=n_folds, offset=1e3)
        rows = np.random.default_rng(0).permutation(700)[:650]
        folds = np.array_split(rows, n_folds)  # uneven sizes when n_folds does not divide 650
        folded = FoldQR(X, folds, X.mean(axis=0), block=64, reuse=reuse)
        unions = [np.concatenate(folds[:j] + folds[j + 1:]) for j in range(n_folds)] + [rows]
        for union in unions:
            got = folded.r_factor(union)
            Z = X[union] - X[union].mean(axis=0)
            want = direct_r(Z)
            np.testing.assert_allclose(signed(got), want, rtol=0, atol=1e-10 * np.abs(want).max())
            # the singular values, as the SVD of the centred rows has them
            np.testing.assert_allclose(np.linalg.svd(got, compute_uv=False), np.linalg.svd(Z, compute_uv=False),
                                       rtol=1e-8, atol=1e-12 * np.linalg.norm(Z, 2))
        # the prefix/suffix reuse: K − 2 suffixes, K − 1 prefixes (the last one is the refit's), K − 2 joins
        # (none when the first or the last fold is left out): 3K − 5 merges, where merging each union's
        # factors one by one takes K (K − 2) + K − 1
        assert folded.merges == (3 * n_folds - 5 if reuse else n_folds * (n_folds - 2) + n_folds - 1)
        assert (len(folded._suffix) > 0) == reuse

    def test_factors_are_built_when_first_needed(self):
        X, _ = flat_tail_table(200, 10, seed=5)
        folds = np.array_split(np.arange(200), 5)
        folded = FoldQR(X, folds, X.mean(axis=0), block=16)
        folded.r_factor(np.concatenate(folds[1:]))  # the first inner set: the folds it holds, no more
        assert [factor is not None for factor in folded._factors] == [False, True, True, True, True]
        assert folded.merges == 3

    def test_any_union_of_folds_and_scaling(self):
        X, _ = flat_tail_table(300, 25, seed=1, offset=50.0)
        folds = np.array_split(np.arange(300), 6)
        union = np.concatenate([folds[1], folds[4], folds[5]])
        scale = np.random.default_rng(2).uniform(0.1, 10, 25)
        got = FoldQR(X, folds, X.mean(axis=0), block=16).r_factor(union[::-1], scale)  # order does not matter
        want = direct_r((X[union] - X[union].mean(axis=0)) / scale)
        np.testing.assert_allclose(signed(got), want, rtol=0, atol=1e-10 * np.abs(want).max())

    def test_the_re_centring_rows_are_needed(self):
        # folds with their own means (sorted by the first latent factor): the folds' own factors alone give
        # the scatter about each fold's mean, not about the union's
        X, _ = flat_tail_table(400, 20, seed=3, offset=1e4)
        order = np.argsort(X[:, 0])
        folds = np.array_split(order, 4)
        folded = FoldQR(X, folds, X.mean(axis=0), block=32)
        union = np.concatenate(folds[1:])
        Z = X[union] - X[union].mean(axis=0)
        scatter = Z.T @ Z
        with_rows = folded.r_factor(union)
        without = np.triu(folded._union([1, 2, 3]))
        np.testing.assert_allclose(with_rows.T @ with_rows, scatter, rtol=0, atol=1e-10 * np.abs(scatter).max())
        assert np.abs(without.T @ without - scatter).max() > 1e-2 * np.abs(scatter).max()

    def test_rows_that_are_no_union_of_folds_give_none(self):
        X, _ = flat_tail_table(60, 5, seed=4)
        folds = np.array_split(np.arange(50), 5)
        folded = FoldQR(X, folds, X.mean(axis=0), block=16)
        assert folded.members(np.arange(10, 50)) == [1, 2, 3, 4]
        assert folded.r_factor(np.arange(11, 50)) is None  # a fold cut short
        assert folded.r_factor(np.arange(10, 51)) is None  # a row outside every fold
        assert folded.r_factor(np.r_[np.arange(10, 50), 10]) is None  # a row twice
        assert folded.r_factor(np.r_[np.arange(11, 50), 20]) is None  # a row twice and one missing
        assert all(factor is None for factor in folded._factors)  # nothing computed for them

    def test_partition_and_budget_checks(self):
        assert is_partition([np.arange(3), np.arange(3, 7)], np.arange(7))
        assert not is_partition([np.arange(3), np.arange(2, 7)], np.arange(7))  # overlap
        assert not is_partition([np.arange(3), np.arange(4, 7)], np.arange(7))  # a row in no fold
        assert not is_partition([np.arange(3), np.arange(3, 8)], np.arange(7))  # a row outside
        # 2K + 3 (K + 3 without reuse) matrices of d² float64 in half the budget
        assert fits(5, 1000, 2 * 13 * 8 * 1000**2) and not fits(5, 1000, 2 * 13 * 8 * 1000**2 - 1)
        assert fits(5, 1000, 2 * 8 * 8 * 1000**2, reuse=False)
        assert not fits(5, 1000, 2 * 8 * 8 * 1000**2 - 1, reuse=False)


def inner_folds(train, inner, groups=None, seed=42):
    splitter = KFold(inner, shuffle=True, random_state=seed) if groups is None else GroupKFold(inner)
    return list(splitter.split(np.empty((len(train), 1)), None, None if groups is None else groups[train]))


class TestPCScoresFoldRoute:
    @pytest.mark.parametrize("inner, n", [(3, 3000), (5, 3000), (4, 2999)], ids=["3 folds", "5", "4 uneven"])
    @pytest.mark.parametrize("grouped", [False, True], ids=["rows", "groups"])
    @pytest.mark.parametrize("standardize", [False, True], ids=["centred", "standardised"])
    def test_scores_equal_the_per_set_qr_route(self, inner, n, grouped, standardize):
        X, _ = flat_tail_table(n, 200, seed=inner, offset=1e3)
        if standardize:
            X[:, 7] = 3.0  # a constant column: StandardScaler leaves it unscaled
        rng = np.random.default_rng(inner)
        groups = rng.integers(0, 40, n) if grouped else None  # uneven groups: folds of different sizes
        test = np.flatnonzero(rng.random(n) < 0.1)
        train = np.setdiff1d(np.arange(n), test)
        splits = inner_folds(train, inner, groups)
        folds = [train[t] for _, t in splits]
        via_folds = PCScores(X, standardize=standardize).restrict(train, folds=folds)
        per_set = PCScores(X, standardize=standardize).restrict(train)
        for fit_rows, score_rows in [(train[a], train[b]) for a, b in splits] + [(train, test)]:
            for got, want in zip(via_folds(fit_rows, score_rows, 12), per_set(fit_rows, score_rows, 12)):
                same_span(got, want, rtol=1e-10)
        assert via_folds.fallbacks == per_set.fallbacks == inner + 1  # every set needed the SVD …
        assert via_folds.fold_factors == inner + 1 and per_set.fold_factors == 0  # … and took the folds'

    def test_folds_that_do_not_fit_the_budget_are_not_used(self):
        X, _ = flat_tail_table(600, 60, seed=9)
        train = np.arange(500)
        folds = np.array_split(train, 5)
        plain = PCScores(X).restrict(train)(train[100:], train[:100], 10)
        for budget, used, reuse in [(2 * 13 * 8 * 60**2, 1, True), (2 * 13 * 8 * 60**2 - 1, 1, False),
                                    (2 * 8 * 8 * 60**2 - 1, 0, None)]:
            scores = PCScores(X, budget=budget).restrict(train, folds=folds)
            got = scores(train[100:], train[:100], 10)
            assert scores.fallbacks == 1 and scores.fold_factors == used
            assert (scores._fold_qr is None) if reuse is None else (scores._fold_qr.reuse == reuse)
            for a, b in zip(got, plain):
                same_span(a, b, rtol=1e-10)

    def test_folds_that_are_no_partition_are_ignored(self):
        X, _ = flat_tail_table(300, 20, seed=10)
        train = np.arange(250)
        scores = PCScores(X).restrict(train, folds=[train[:100], train[90:]])  # overlapping
        scores(train[100:], train[:100], 10)
        assert scores.fallbacks == 1 and scores.fold_factors == 0


class TestNestedCV:
    @pytest.mark.parametrize("grouped", [False, True], ids=["rows", "groups"])
    def test_same_choices_scores_and_predictions_as_the_per_set_route(self, grouped, monkeypatch):
        X, y = flat_tail_table(3000, 200, seed=11, offset=1e3)
        groups = np.random.default_rng(1).integers(0, 60, 3000) if grouped else None
        used = []
        r_factor = FoldQR.r_factor

        def counted(self, rows, scale=None):
            r = r_factor(self, rows, scale)
            used.append(r is not None)
            return r

        monkeypatch.setattr(FoldQR, "r_factor", counted)
        # candidates past the six factors: every inner set and every refit needs the SVD
        kw = dict(model="pr", n_components=range(7, 13), outer=3, inner=4, groups=groups)
        via_folds = nested_cv(X, y, **kw)
        assert len(used) == 3 * 5 and all(used)
        monkeypatch.setattr(foldqr, "fits", lambda *args, **kwargs: False)
        per_set = nested_cv(X, y, **kw)
        assert via_folds.fold_params == per_set.fold_params
        np.testing.assert_allclose(np.array(via_folds.inner_scores), np.array(per_set.inner_scores), rtol=1e-10)
        np.testing.assert_allclose(via_folds.predictions, per_set.predictions, rtol=1e-10)
        np.testing.assert_allclose(via_folds.fold_scores, per_set.fold_scores, rtol=1e-10)

    def test_equals_the_plain_grid_search(self):
        X, y = flat_tail_table(1500, 120, seed=12, offset=1e3)
        candidates = range(4, 11)
        same_as_reference(X, y, model="pr", candidates=candidates, outer=3, inner=3)
