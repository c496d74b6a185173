"""Around nested CV: learning curves, study A's hold-out split, the final model and conformal intervals.

References
----------
- Study A: S. E. Whitman, G. Hu, M. I. Latypov, "Learning microstructure–property relationships in materials with
  robust features from vision transformers" (``docs/references.md``).
"""

import math
from collections import Counter

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from msdash.errors import InputError
from msdash.models.cv import (
    CVResult,
    check_data,
    inner_search,
    make_plan,
    outer_splits,
    pc_scores,
    run_fold,
)
from msdash.models.metrics import check_scoring, regression_metrics, score
from msdash.models.presets import MODELS, make_model

__all__ = ["conformal_interval", "constant_baseline", "fit_final", "fit_pca_pipeline", "holdout", "learning_curve"]


def learning_curve(X, y, *, model, sizes=(0.1, 0.2, 0.5, 1.0), outer=5, inner=5, groups=None,
                   n_components=None, scoring="mape", random_state=42, standardize=False, model_params=None):
    """Outer-fold score against the size of the training set, with the inner search at every size.

    For every outer fold a seeded random order of its training samples (of its training groups, with
    ``groups``) is fixed; size ``f`` trains on the first ``f`` share of it (whole groups, at least ``f``), so
    the training sets of one fold are nested. Each then runs the same inner search as :func:`nested_cv` and
    is scored on the untouched outer test fold.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
    y : array_like, shape (n_samples,)
    model : str
        A key of :data:`msdash.models.MODELS`.
    sizes : sequence of float in (0, 1]
        Fractions of the outer training set.
    outer, inner, groups, n_components, scoring, random_state, standardize, model_params
        As in :func:`msdash.models.nested_cv`. ``inner`` shrinks to the number of samples (groups) of a
        small training set, but not below 2.

    Returns
    -------
    pandas.DataFrame
        One row per (size, fold): ``size`` (fraction), ``n_train``, ``fold``, ``score`` (MAPE in %, RMSE or R²)
        and ``param`` (the chosen number of PCs or parameters).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 5)); y = 20 + X[:, 0] + 0.1 * rng.normal(size=60)
    >>> curve = learning_curve(X, y, model="lr", sizes=(0.5, 1.0), outer=3, inner=3)
    >>> curve.shape, sorted(curve["n_train"].unique().tolist())
    ((6, 5), [20, 40])
    """
    X, y, groups = check_data(X, y, groups)
    sizes = [float(f) for f in np.atleast_1d(sizes)]
    if not sizes or any(not 0 < f <= 1 for f in sizes):
        raise InputError(f"`sizes` must be fractions in (0, 1], got {sizes!r}", name="sizes")
    folds = outer_splits(X, y, groups, outer, random_state)
    rng = np.random.default_rng(random_state)
    rows, shared = [], None  # one PCScores for every plan: the table's Gram is computed once
    for fold, (train, test) in enumerate(folds):
        units = train if groups is None else np.unique(groups[train])
        order = rng.permutation(units)
        for f in sizes:
            subset = _first_share(order, f, train, groups)
            n_units = len(subset) if groups is None else len(np.unique(groups[subset]))
            plan = make_plan(X, y, model=model, n_components=n_components, inner=max(2, min(inner, n_units)),
                             groups=groups, scoring=scoring, random_state=random_state, standardize=standardize,
                             fast=True, model_params=model_params, scores=shared)
            shared = plan.scores
            param, pred, _, _ = run_fold(plan, subset, test)
            rows.append({"size": f, "n_train": len(subset), "fold": fold, "score": score(y[test], pred, scoring),
                         "param": param})
    return pd.DataFrame(rows)


def _first_share(order, fraction, train, groups):
    if groups is None:
        return np.sort(order[:max(2, math.ceil(fraction * len(order) - 1e-9))])
    counts = pd.Series(groups[train]).value_counts().reindex(order).to_numpy()
    n_groups = int(np.searchsorted(np.cumsum(counts), fraction * len(train) - 1e-9) + 1)
    return np.sort(train[np.isin(groups[train], order[:max(2, n_groups)])])


def holdout(X, y, *, model="pr", test_size=0.2, n_components=None, inner=5, scoring="mape", random_state=42,
            standardize=False, model_params=None):
    """Study A's protocol: one seeded train/test split, the number of PCs by inner CV on the training part.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
    y : array_like, shape (n_samples,)
    model : str
    test_size : float
        Share of the samples held out (``train_test_split``, shuffled with ``random_state``).
    n_components, inner, scoring, random_state, standardize, model_params
        As in :func:`msdash.models.nested_cv`.

    Returns
    -------
    dict
        ``param`` (chosen #PCs or parameters), ``mape_pct``, ``rmse``, ``mae``, ``r2`` on the test part,
        ``train_idx``, ``test_idx``, ``predictions`` (for ``test_idx``), ``candidates``, ``inner_scores``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(50, 4)); y = 30 + 2 * X[:, 1] + 0.1 * rng.normal(size=50)
    >>> out = holdout(X, y, model="lr", n_components=[1, 2, 3, 4], inner=3)
    >>> len(out["test_idx"]), out["mape_pct"] < 2
    (10, True)
    """
    X, y, _ = check_data(X, y)
    if not 0 < test_size < 1:
        raise InputError(f"`test_size` must be a fraction in (0, 1), got {test_size!r}", name="test_size")
    plan = make_plan(X, y, model=model, n_components=n_components, inner=inner, groups=None, scoring=scoring,
                     random_state=random_state, standardize=standardize, fast=True, model_params=model_params)
    train, test = train_test_split(np.arange(len(y)), test_size=test_size, random_state=random_state)
    param, pred, candidates, means = run_fold(plan, train, test)
    return {"param": param, **regression_metrics(y[test], pred), "train_idx": train, "test_idx": test,
            "predictions": pred, "candidates": candidates, "inner_scores": means}


def fit_final(X, y, *, model=None, cv_result, groups=None):
    """The model to predict with: fitted on all of ``X``, ``y`` with the choice nested CV made most often.

    PCA models take the number of PCs chosen in most outer folds (ties → the smaller) and are fitted by
    :func:`fit_pca_pipeline` (blocks of the table, no copy of it). Models without PCA
    rerun their inner search (halving / grid, same seed) on all the data, as their per-fold choices are
    continuous and rarely repeat — with group folds when the run was grouped, so the final model is chosen
    the way the group-aware errors and intervals describe; ``pcr`` has nothing to choose.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
    y : array_like, shape (n_samples,)
    model : str, optional
        Must match ``cv_result.model`` (default: that model).
    cv_result : CVResult
    groups : array_like, shape (n_samples,), optional
        The run's group labels: the inner search on all data then uses group folds, as the CV did.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted.
    """
    model = cv_result.model if model is None else model
    if model != cv_result.model:
        raise InputError(f"`model` {model!r} differs from the model of `cv_result` ({cv_result.model!r})",
                         name="model")
    X, y, groups = check_data(X, y, groups)
    spec = MODELS[model]
    if spec.has_pca:
        counts = Counter(int(k) for k in cv_result.fold_params)
        k = min(counts, key=lambda c: (-counts[c], c))
        pipeline = make_model(model, n_components=k, standardize=cv_result.standardize, **cv_result.model_params)
        return fit_pca_pipeline(pipeline, X, y)
    if spec.search == "none":
        return make_model(model, standardize=cv_result.standardize, **cv_result.model_params).fit(X, y)
    plan = make_plan(X, y, model=model, n_components=None, inner=cv_result.inner, groups=groups,
                     scoring=cv_result.scoring, random_state=cv_result.random_state,
                     standardize=cv_result.standardize, fast=True, model_params=cv_result.model_params)
    return inner_search(plan, np.arange(len(y)), groups).best_estimator_


def fit_pca_pipeline(pipeline, X, y):
    """Fit a preset's PCA pipeline as ``pipeline.fit(X, y)`` does, with the PCA from the blocked decomposition.

    The step before the PCA (a ``StandardScaler``) gets the two-pass column statistics of row blocks, the PCA's
    fitted attributes are set from :meth:`msdash.models.pcscores.PCScores.components` (covariance or Gram
    route, SVD where more accurate; signs as scikit-learn's ``svd_flip``: the largest loading of every
    component positive), and the steps after it are fitted on the scores. The result is a plain fitted
    scikit-learn Pipeline whose predictions equal ``pipeline.fit(X, y)``'s to rounding, without the
    n × min(n, d) SVD factors and table copies of ``PCA(svd_solver="full")``.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted, from :func:`msdash.models.make_model` with ``n_components`` set.
    X : ndarray, shape (n_samples, n_features), float64
    y : ndarray, shape (n_samples,)

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``pipeline``, fitted.
    """
    from msdash.models import blocked

    names = [name for name, _ in pipeline.steps]
    at = names.index("pca")
    scores = pc_scores(X, pipeline)
    if scores.route == "generic" or pipeline.steps[at][1].n_components is None:
        return pipeline.fit(X, y)
    n, d = X.shape
    rows = np.arange(n)
    step = blocked.block_length(d)
    pca = pipeline.steps[at][1]
    k = int(pca.n_components)
    mean, scale, components, variances, total = scores.components(rows, k)
    pca.mean_ = mean
    if at:  # a StandardScaler (pc_scores routes nothing else here): the statistics the PCA was computed with
        column_mean, var = blocked.column_stats(X, rows, step)
        scaler = pipeline.steps[0][1]
        scaler.n_features_in_, scaler.n_samples_seen_ = d, n
        scaler.mean_, scaler.var_, scaler.scale_ = column_mean, var, scale
        pca.mean_ = np.zeros(d)  # the scaled training set's mean
    largest = components[np.arange(len(components)), np.argmax(np.abs(components), axis=1)]
    components *= np.where(largest < 0, -1.0, 1.0)[:, None]
    variances = np.clip(variances, 0.0, None)
    rank = min(n, d)
    pca.n_features_in_, pca.n_samples_, pca.n_components_ = d, n, k
    pca.components_ = components
    pca.explained_variance_ = variances / (n - 1)
    pca.explained_variance_ratio_ = variances / total if total > 0 else np.zeros(k)
    pca.singular_values_ = np.sqrt(variances)
    pca.noise_variance_ = (max(total - variances.sum(), 0.0) / (n - 1) / (rank - k)) if k < rank else 0.0
    scaled = blocked.project(X, rows, mean, scale, components, step)
    Pipeline(pipeline.steps[at + 1:]).fit(scaled, y)
    return pipeline


def conformal_interval(cv_result, y_pred_new, alpha=0.1):
    """Prediction interval from the out-of-fold residuals (split-conformal / CV+ style).

    With the n absolute out-of-fold residuals ``r = |y − ŷ_oof|`` of ``cv_result``, the half-width is
    ``q = r_(⌈(1 − α)(n + 1)⌉)``, the ``(1 − α)(1 + 1/n)`` empirical quantile (infinite when that rank exceeds
    n), and the interval is ``[ŷ − q, ŷ + q]``. For exchangeable data, split conformal covers a new target
    with probability ≥ 1 − α; reusing cross-validation residuals with the final model is the jackknife+/CV+
    idea, whose guarantee is 1 − 2α in the worst case and ≈ 1 − α in practice.

    Parameters
    ----------
    cv_result : CVResult
    y_pred_new : array_like, shape (m,)
        Predictions of the final model (:func:`fit_final`) for new samples.
    alpha : float in (0, 1)
        Miscoverage level (0.1 → 90 % intervals).

    Returns
    -------
    lower, upper : ndarray, shape (m,)

    References
    ----------
    J. Lei, M. G'Sell, A. Rinaldo, R. J. Tibshirani, L. Wasserman, "Distribution-free predictive inference
    for regression", J. Am. Stat. Assoc. 113 (2018) 1094–1111.
    R. F. Barber, E. J. Candès, A. Ramdas, R. J. Tibshirani, "Predictive inference with the jackknife+",
    Ann. Statist. 49 (2021) 486–507.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cv = SimpleNamespace(residuals=np.array([-1.0, 2.0, -3.0, 4.0, 0.5, 0.1, -0.2, 0.3, 5.0]))
    >>> conformal_interval(cv, [10.0], alpha=0.2)
    (array([6.]), array([14.]))
    """
    if not 0 < alpha < 1:
        raise InputError(f"`alpha` must be in (0, 1), got {alpha!r}", name="alpha")
    residuals = np.sort(np.abs(np.asarray(cv_result.residuals, float)))
    n = len(residuals)
    rank = math.ceil((1 - alpha) * (n + 1) - 1e-12)
    half = np.inf if rank > n else residuals[rank - 1]
    y_pred_new = np.asarray(y_pred_new, float)
    return y_pred_new - half, y_pred_new + half


def constant_baseline(y, folds, *, scoring="mape"):
    """The constant predictor scored through given folds: the training folds' median or mean, nothing learned.

    The constant is what minimises the error on the training part: the median for the absolute errors
    (MAPE, MAE; the median is the usual stand-in for MAPE's optimum, the 1/|y|-weighted median) and the
    mean for the squared ones (RMSE, R²). ``metrics`` uses the matching constant per column; ``predictions``
    and ``fold_scores`` use the one for ``scoring``. A model that does not beat this row has learned nothing
    the target's spread does not already say.

    Parameters
    ----------
    y : array_like, shape (n_samples,)
    folds : list of (train_idx, test_idx)
        The outer folds of the runs it is compared with (``CVResult.folds``).
    scoring : {"mape", "rmse", "r2"}

    Returns
    -------
    CVResult
        ``model="baseline"``; ``fold_params`` holds ``{"constant": value}`` of every fold.

    Examples
    --------
    >>> y = np.array([10.0, 12.0, 20.0, 11.0])
    >>> folds = [(np.array([0, 1, 2]), np.array([3])), (np.array([1, 2, 3]), np.array([0]))]
    >>> base = constant_baseline(y, folds, scoring="mape")
    >>> [p["constant"] for p in base.fold_params], [round(float(s), 4) for s in base.fold_scores]
    ([12.0, 12.0], [9.0909, 20.0])
    """
    y = np.asarray(y, dtype=float)
    check_scoring(scoring)
    median = np.empty_like(y)
    mean = np.empty_like(y)
    rows, constants = [], []
    for train, test in folds:
        median[test], mean[test] = np.median(y[train]), np.mean(y[train])
        by_median = regression_metrics(y[test], median[test])
        by_mean = regression_metrics(y[test], mean[test])
        rows.append({"mape_pct": by_median["mape_pct"], "rmse": by_mean["rmse"], "mae": by_median["mae"],
                     "r2": by_mean["r2"], "n_test": len(test)})
        constants.append({"constant": float(median[test][0] if scoring == "mape" else mean[test][0])})
    predictions = median if scoring == "mape" else mean
    return CVResult(fold_scores=np.array([score(y[test], predictions[test], scoring) for _, test in folds]),
                    fold_params=constants, predictions=predictions, folds=list(folds),
                    metrics=pd.DataFrame(rows).rename_axis("fold"), model="baseline", scoring=scoring, y=y)
