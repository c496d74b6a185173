"""Intervals for new samples (msdash.models.intervals): conformal rule, cross-conformal coverage, and
group-aware residuals that cover samples from new groups where random-fold residuals do not."""

from types import SimpleNamespace

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.models import conformal_interval, fit_final, nested_cv
from msdash.models.intervals import conformal_half_width, cv_coverage, prediction_intervals
from msdash.validation.statistics import grouped_table


class TestConformalHalfWidth:
    @pytest.mark.parametrize("n, alpha", [(9, 0.2), (50, 0.1), (149, 0.1), (149, 0.05), (10, 0.01)])
    def test_equals_the_existing_interval_rule(self, n, alpha):
        residuals = np.random.default_rng(n).normal(size=n)
        lower, upper = conformal_interval(SimpleNamespace(residuals=residuals), [0.0], alpha=alpha)
        assert conformal_half_width(residuals, alpha) == upper[0]

    def test_bad_alpha_is_refused(self):
        with pytest.raises(InputError, match="alpha"):
            conformal_half_width([1.0, 2.0], alpha=1.0)


class TestCvCoverage:
    def test_equals_a_fold_by_fold_brute_force(self):
        rng = np.random.default_rng(1)
        residuals = rng.standard_t(3, size=60)
        order = rng.permutation(60)
        folds = [(np.setdiff1d(order, t), t) for t in np.array_split(order, 6)]
        covered = 0
        for train, test in folds:
            lower, upper = conformal_interval(SimpleNamespace(residuals=residuals[train]), np.zeros(len(test)),
                                              alpha=0.2)
            covered += np.sum((residuals[test] >= lower) & (residuals[test] <= upper))
        assert cv_coverage(residuals, folds, alpha=0.2) == covered / 60


class TestGroupAwareIntervals:
    def test_cover_held_out_groups_at_the_nominal_rate_where_random_folds_under_cover(self):
        # conformal coverage is a promise over training sets too: average three training draws, each checked
        # on 2,000 samples of 500 groups never seen
        coverage = {(kind, alpha): [] for kind in ("grouped", "random") for alpha in (0.1, 0.2)}
        measured = []
        for seed in range(3):
            rng = np.random.default_rng(seed)
            X, y, groups = grouped_table(150, 4, 120, rng)
            X_new, y_new, _ = grouped_table(500, 4, 120, rng)
            grouped = nested_cv(X, y, model="lr", groups=groups, outer=10, inner=5, random_state=42)
            plain = nested_cv(X, y, model="lr", outer=10, inner=5, random_state=42)
            for kind, result in (("grouped", grouped), ("random", plain)):
                predicted = fit_final(X, y, cv_result=result).predict(X_new)
                for alpha in (0.1, 0.2):
                    out = prediction_intervals(result, predicted, alpha=alpha,
                                               group_column="source" if kind == "grouped" else None,
                                               random_result=plain if kind == "grouped" else None)
                    coverage[kind, alpha].append(np.mean((y_new >= out.lower) & (y_new <= out.upper)))
                    if kind == "grouped":
                        measured.append(out.measured_coverage)
                        assert out.random_coverage_on_groups < out.nominal - 0.05  # said on the page
        for alpha in (0.1, 0.2):
            assert abs(np.mean(coverage["grouped", alpha]) - (1 - alpha)) <= 0.05
            assert np.mean(coverage["random", alpha]) < (1 - alpha) - 0.05
        assert np.all(np.abs(np.array(measured) - np.repeat([[0.9, 0.8]], 3, axis=0).ravel()) < 0.05)

    def test_note_says_which_residuals(self):
        rng = np.random.default_rng(4)
        residuals = rng.normal(size=40)
        folds = [(np.setdiff1d(np.arange(40), t), t) for t in np.array_split(np.arange(40), 4)]
        result = SimpleNamespace(residuals=residuals, folds=folds)
        grouped = prediction_intervals(result, [1.0], alpha=0.1, group_column="paper",
                                       random_result=SimpleNamespace(residuals=residuals / 2))
        assert "group-aware" in grouped.note() and "grouped by paper" in grouped.note()
        assert grouped.random_half_width == pytest.approx(grouped.half_width / 2)
        plain = prediction_intervals(result, [1.0], alpha=0.1)
        assert "random-fold" in plain.note() and plain.random_coverage_on_groups is None
