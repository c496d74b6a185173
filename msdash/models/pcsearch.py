"""Grid search over the number of PCs with one decomposition per training set.

The leading principal components are nested: the first k columns of the scores with ``k_max`` components are
the scores with k components. So one decomposition of a training set serves every candidate k; only the
regressor after the PCA (polynomial features + OLS, OLS, linear SVR, ridge) is refitted per candidate, on the
first k columns. Those regressors are invariant to flipping the sign of an input column, so the sign
convention of the decomposition (scikit-learn's ``svd_flip`` or an eigen-solver's) does not change a single
prediction beyond rounding.

The scores come from :class:`msdash.models.pcscores.PCScores` (covariance or Gram eigenproblem in blocks of the
table, SVD where that would be markedly more accurate); an outer training set's Gram is computed once and
its inner training sets subtract their test fold from it (:meth:`PCScores.restrict`).
"""

import numpy as np
import scipy.linalg
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures
from threadpoolctl import threadpool_limits

from msdash.models.pcscores import PCScores

__all__ = ["PCScores", "search_n_components"]


def _inner_score(y_true, y_pred, scoring):
    # the values scikit-learn's scorers return (errors negated), with its formulas, so ranking matches
    # GridSearchCV; MAPE and RMSE written out as sklearn.metrics computes them, without its input checks
    if scoring == "mape":
        return -np.average(np.abs(y_pred - y_true) / np.maximum(np.abs(y_true), np.finfo(np.float64).eps))
    if scoring == "rmse":
        return -np.sqrt(np.average((y_true - y_pred) ** 2))
    return r2_score(y_true, y_pred)


def search_n_components(scores, y, train, test, inner_splits, candidates, head, scoring):
    """Choose the number of PCs by inner CV on ``train``, refit with it, predict ``test``.

    The same decision as ``GridSearchCV(pipeline, {"pca__n_components": candidates}, cv=inner_splits)``:
    the mean inner score per candidate (unweighted over folds), the best mean wins, ties go to the first
    candidate.

    Parameters
    ----------
    scores : PCScores
    y : ndarray, shape (n_samples,)
    train, test : ndarray of int
        Outer split (indices into the whole table).
    inner_splits : list of (ndarray, ndarray)
        Inner splits as indices into ``train``.
    candidates : sequence of int
        Candidate numbers of PCs.
    head : sklearn estimator
        The pipeline steps after the PCA (unfitted).
    scoring : {"mape", "rmse", "r2"}

    Returns
    -------
    best : int
        Chosen number of PCs.
    mean_scores : ndarray, shape (len(candidates),)
        Mean inner score of every candidate (higher is better, as scikit-learn's scorers).
    predictions : ndarray, shape (len(test),)
    """
    with threadpool_limits(limits=1 if scores.small else None):
        return _search(scores, y, train, test, inner_splits, candidates, head, scoring)


def _search(scores, y, train, test, inner_splits, candidates, head, scoring):
    candidates = [int(k) for k in candidates]
    k_max = max(candidates)
    fit_predict = _ols_fit_predict(head) or _head_fit_predict(head)
    table = np.empty((len(candidates), len(inner_splits)))
    # the outer training set's Gram, shared by its inner sets and the refit; its inner test folds, whose QR
    # factors give those sets' SVD fallbacks when needed
    scores = scores.restrict(train, folds=[train[inner_test] for _, inner_test in inner_splits])
    for s, (inner_train, inner_test) in enumerate(inner_splits):
        fit_rows, score_rows = train[inner_train], train[inner_test]
        train_scores, test_scores = scores(fit_rows, score_rows, k_max)
        with threadpool_limits(limits=1):  # QRs of n × (≤ 90) designs: threads cost more than they gain
            for c, prediction in enumerate(fit_predict(train_scores, y[fit_rows], test_scores, candidates)):
                table[c, s] = _inner_score(y[score_rows], prediction, scoring)
    mean_scores = np.average(table, axis=1)
    best = candidates[int(np.argmax(np.where(np.isfinite(mean_scores), mean_scores, -np.inf)))]
    train_scores, test_scores = scores(train, test, best)
    (predictions,) = fit_predict(train_scores, y[train], test_scores, [best])
    return best, mean_scores, predictions


def _head_fit_predict(head):
    def fit_predict(train_scores, y, test_scores, ks):
        for k in ks:
            yield clone(head).fit(train_scores[:, :k], y).predict(test_scores[:, :k])
    return fit_predict


def _ols_fit_predict(head):
    """For ``[PolynomialFeatures(2)] → LinearRegression`` heads (with or without the bias column): the same
    least squares without scikit-learn's per-fit validation overhead (it dominates hundreds of tiny fits).
    Else None."""
    steps = [step for _, step in head.steps] if isinstance(head, Pipeline) else [head]
    *before, last = steps
    if type(last) is not LinearRegression or last.positive or not last.fit_intercept:
        return None
    if before:
        params = before[0].get_params() if type(before[0]) is PolynomialFeatures else {}
        if len(before) > 1 or {**params, "include_bias": True} != PolynomialFeatures().get_params():
            return None
    degree, bias = (2, before[0].include_bias) if before else (1, False)
    cond = last.get_params().get("tol")  # None before scikit-learn 1.9: lstsq's own default cutoff

    def fit_predict(train_scores, y, test_scores, ks):
        k_max = max(ks)
        train_terms, powers = _poly(train_scores[:, :k_max], degree, bias)
        test_terms, _ = _poly(test_scores[:, :k_max], degree, bias)
        # order the terms by the last PC they involve: the design of the first k PCs is then a prefix of
        # columns, and one QR of the k_max design solves every candidate (R's leading block is the prefix's R)
        last_pc = np.array([np.flatnonzero(p).max(initial=-1) for p in powers])
        order = np.argsort(last_pc, kind="stable")
        train_terms, test_terms, last_pc = train_terms[:, order], test_terms[:, order], last_pc[order]
        offset, y_offset = train_terms.mean(axis=0), y.mean()
        centred, y_centred = train_terms - offset, y - y_offset
        q, r = (None, None) if bias or len(y) <= centred.shape[1] else np.linalg.qr(centred)
        qty = None if q is None else q.T @ y_centred
        for k in ks:
            p = int(np.searchsorted(last_pc, k))  # number of terms of the first k PCs
            coef = None
            if q is not None:
                diag = np.abs(np.diag(r)[:p])
                if diag.min() > 1e-10 * diag.max():  # clearly full rank: same solution as lstsq
                    coef = scipy.linalg.solve_triangular(r[:p, :p], qty[:p])
            if coef is None:  # rank-deficient or under-determined: lstsq with the OLS cutoff, as LinearRegression
                coef = scipy.linalg.lstsq(centred[:, :p], y_centred, cond=cond)[0]
            yield test_terms[:, :p] @ coef + (y_offset - offset[:p] @ coef)
    return fit_predict


def _poly(scores, degree, bias):
    """``PolynomialFeatures(degree, include_bias=bias)`` columns (bias, linear, then i <= j products) and
    their power matrix (one row of exponents per column)."""
    n, k = scores.shape
    if degree == 1:
        return scores, np.eye(k, dtype=int)
    pairs = [(i, j) for i in range(k) for j in range(i, k)]
    powers = np.zeros((1 + k + len(pairs), k), dtype=int)
    powers[1 + np.arange(k), np.arange(k)] = 1
    for row, (i, j) in enumerate(pairs, start=1 + k):
        powers[row, i] += 1
        powers[row, j] += 1
    first, second = zip(*pairs) if pairs else ((), ())
    terms = np.hstack([np.ones((n, 1)), scores, scores[:, list(first)] * scores[:, list(second)]])
    return (terms, powers) if bias else (terms[:, 1:], powers[1:])
