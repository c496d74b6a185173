"""Prediction intervals for new samples from out-of-fold residuals, group-aware when the run had groups.

The half-width is the split-conformal quantile of the absolute out-of-fold residuals
(:func:`conformal_half_width`, the rule of :func:`msdash.models.conformal_interval`). Which residuals matters:
random folds put samples of one group (a paper, a parent micrograph) on both sides of a split, so their
residuals are those of samples *like the training set* and intervals built from them under-cover samples from
a new group. Residuals of group-aware CV (whole groups held out) are those of new groups; intervals for new
samples come from them whenever the run had a group column (:func:`prediction_intervals`).

The coverage the CV measured (:func:`cv_coverage`) is cross-conformal: for every outer fold, the half-width from
the other folds' residuals, checked on that fold — on held-out groups for a grouped run.
"""

import math
from dataclasses import dataclass

import numpy as np

from msdash.errors import InputError

__all__ = ["conformal_half_width", "cv_coverage", "Intervals", "prediction_intervals"]


def _check_alpha(alpha):
    if not 0 < alpha < 1:
        raise InputError(f"`alpha` must be in (0, 1), got {alpha!r}", name="alpha")


def conformal_half_width(residuals, alpha=0.1):
    """Split-conformal half-width: the ``⌈(1 − α)(n + 1)⌉``-th smallest absolute residual.

    Parameters
    ----------
    residuals : array_like, shape (n,)
        Out-of-fold residuals ``y − ŷ`` (NaN ignored).
    alpha : float in (0, 1)
        Miscoverage (0.1 → 90 % intervals).

    Returns
    -------
    float
        Infinite when the rank exceeds ``n`` (too few residuals for that coverage).

    Examples
    --------
    >>> conformal_half_width([-1.0, 2.0, -3.0, 4.0, 0.5, 0.1, -0.2, 0.3, 5.0], alpha=0.2)
    4.0
    """
    _check_alpha(alpha)
    r = np.abs(np.asarray(residuals, dtype=float))
    r = np.sort(r[np.isfinite(r)])
    rank = math.ceil((1 - alpha) * (len(r) + 1) - 1e-12)
    return float(np.inf if rank > len(r) else r[rank - 1])


def cv_coverage(residuals, folds, alpha=0.1):
    """Coverage that cross-validation measures for conformal intervals (cross-conformal check).

    For every outer fold, the half-width from the residuals of the samples *not* in its test part is checked
    on the test part's residuals; the result is the share of all test samples covered. With group folds, every
    check is on groups the half-width never saw.

    Parameters
    ----------
    residuals : array_like, shape (n_samples,)
        Out-of-fold residuals, in input order.
    folds : list of (ndarray, ndarray)
        Outer ``(train_idx, test_idx)`` (a :class:`~msdash.models.CVResult`'s ``folds``).
    alpha : float in (0, 1)

    Returns
    -------
    float
        Share in [0, 1].

    Examples
    --------
    >>> r = np.array([1.0, 2.0, 3.0, 10.0])
    >>> folds = [(np.array([1, 2, 3]), np.array([0])), (np.array([0, 2, 3]), np.array([1])),
    ...          (np.array([0, 1, 3]), np.array([2])), (np.array([0, 1, 2]), np.array([3]))]
    >>> cv_coverage(r, folds, alpha=0.25)  # 3 of 4 held-out residuals within the others' largest
    0.75
    """
    _check_alpha(alpha)
    r = np.abs(np.asarray(residuals, dtype=float))
    covered = total = 0
    for _, test in folds:
        test = np.asarray(test, dtype=np.intp)
        others = np.ones(len(r), dtype=bool)
        others[test] = False
        half = conformal_half_width(r[others], alpha)
        covered += int(np.sum(r[test] <= half))
        total += len(test)
    if not total:
        raise InputError("`folds` hold no test samples")
    return covered / total


@dataclass
class Intervals:
    """Intervals for new samples and where they come from (see :func:`prediction_intervals`).

    Attributes
    ----------
    lower, upper : ndarray, shape (m,)
    half_width : float
    nominal : float
        ``1 − α``.
    measured_coverage : float
        :func:`cv_coverage` of the residuals used, on the run's outer folds.
    group_column : str or None
        The group column whose group-aware residuals were used; None for random folds.
    random_half_width : float or None
        Half-width random-fold residuals would give (when both runs are known).
    random_coverage_on_groups : float or None
        Share of the group-aware out-of-fold residuals (held-out groups) within ``random_half_width``.
    """

    lower: np.ndarray
    upper: np.ndarray
    half_width: float
    nominal: float
    measured_coverage: float
    group_column: str | None = None
    random_half_width: float | None = None
    random_coverage_on_groups: float | None = None

    def note(self):
        """One plain-text sentence for the user: the residuals used and the coverage CV measured."""
        pct = round(100 * self.nominal)
        if self.group_column is None:
            text = (f"{pct} % intervals (± {self.half_width:.4g}) from random-fold out-of-fold residuals; "
                    f"cross-validation measured {100 * self.measured_coverage:.0f} % coverage. Samples from a "
                    "source not in the training set may be covered less: choose a group column on the Models "
                    "page for group-aware intervals.")
        else:
            text = (f"{pct} % intervals (± {self.half_width:.4g}) from group-aware out-of-fold residuals "
                    f"(grouped by {self.group_column}); cross-validation measured "
                    f"{100 * self.measured_coverage:.0f} % coverage on held-out groups.")
            if self.random_coverage_on_groups is not None:
                text += (f" Random-fold residuals would give ± {self.random_half_width:.4g}, covering "
                         f"{100 * self.random_coverage_on_groups:.0f} % of held-out-group samples.")
        return text


def prediction_intervals(cv_result, y_pred_new, *, alpha=0.1, group_column=None, random_result=None):
    """Conformal intervals for new samples, from the out-of-fold residuals of ``cv_result``.

    Pass the *grouped* run's result (and its ``group_column``) whenever the run had a group column: its
    residuals are those of held-out groups, the situation of a micrograph from a new source.

    Parameters
    ----------
    cv_result : CVResult
        Its ``residuals`` and ``folds`` are used.
    y_pred_new : array_like, shape (m,)
        Predictions of the final model for the new samples.
    alpha : float in (0, 1)
        Miscoverage (0.1 → 90 % intervals).
    group_column : str, optional
        Name of the group column of a grouped ``cv_result`` (said in :meth:`Intervals.note`).
    random_result : CVResult, optional
        The random-fold run of the same model and table, to report what its intervals would cover.

    Returns
    -------
    Intervals

    References
    ----------
    J. Lei, M. G'Sell, A. Rinaldo, R. J. Tibshirani, L. Wasserman, "Distribution-free predictive inference
    for regression", J. Am. Stat. Assoc. 113 (2018) 1094–1111.
    R. F. Barber, E. J. Candès, A. Ramdas, R. J. Tibshirani, "Predictive inference with the jackknife+",
    Ann. Statist. 49 (2021) 486–507.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = np.array([-1.0, 2.0, -3.0, 4.0, 0.5, 0.1, -0.2, 0.3, 5.0])
    >>> folds = [(np.setdiff1d(np.arange(9), t), t) for t in np.array_split(np.arange(9), 3)]
    >>> out = prediction_intervals(SimpleNamespace(residuals=r, folds=folds), [10.0], alpha=0.2)
    >>> out.lower, out.upper, out.half_width
    (array([6.]), array([14.]), 4.0)
    """
    residuals = np.asarray(cv_result.residuals, dtype=float)
    half = conformal_half_width(residuals, alpha)
    y_pred_new = np.asarray(y_pred_new, dtype=float)
    out = Intervals(y_pred_new - half, y_pred_new + half, half, 1 - alpha,
                    cv_coverage(residuals, cv_result.folds, alpha), group_column)
    if group_column is not None and random_result is not None:
        out.random_half_width = conformal_half_width(random_result.residuals, alpha)
        out.random_coverage_on_groups = float(np.mean(np.abs(residuals) <= out.random_half_width))
    return out
