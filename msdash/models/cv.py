"""Nested cross-validation of the regressor presets (study B's protocol), group-aware, with fold metrics.

Outer K-fold (shuffled, seeded) → on each outer training set an inner K-fold search → refit on the whole
outer training set → score on the untouched outer test fold. Every fitted step lives in the Pipeline of
:func:`msdash.models.make_model`, so nothing is fitted on a test fold. For PCA models the search is over the
number of PCs and, with ``fast=True``, reuses one decomposition per training set (:mod:`.pcsearch`), computed
in blocks of the table without copying it (:mod:`.pcscores`); the result is the same as ``GridSearchCV`` with
``PCA(svd_solver="full")`` on the same folds (to rounding).

References
----------
- Study B: "Machine learning of microstructure-property relationships in materials with robust features from
  foundational vision transformers", https://github.com/whishei/MicroPropViT (``docs/references.md``).
"""

import inspect
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.experimental import enable_halving_search_cv  # noqa: F401  (registers HalvingRandomSearchCV)
from sklearn.model_selection import (GridSearchCV, GroupKFold, HalvingRandomSearchCV, KFold,
                                     LeaveOneGroupOut)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from msdash.errors import InputError
from msdash.models.checks import check_data
from msdash.models.metrics import SCORINGS, check_scoring, regression_metrics, score
from msdash.models.pcscores import PCScores
from msdash.models.pcsearch import search_n_components
from msdash.models.presets import MODELS, make_model

__all__ = ["CVResult", "nested_cv", "KNN_NEIGHBOURS"]

KNN_NEIGHBOURS = (1, 2, 3, 5, 7, 10, 15, 20)
_GROUP_KFOLD_SHUFFLES = "shuffle" in inspect.signature(GroupKFold).parameters  # scikit-learn >= 1.6


@dataclass
class CVResult:
    """Outcome of :func:`nested_cv`.

    Attributes
    ----------
    fold_scores : ndarray, shape (n_folds,)
        Outer-fold score: MAPE in % for ``scoring="mape"``, else the plain RMSE or R².
    fold_params : list
        Per outer fold: the chosen number of PCs (int) for PCA models, else a dict of the chosen parameters.
    predictions : ndarray, shape (n_samples,)
        Out-of-fold predictions, in input order (every sample is in exactly one outer test fold).
    folds : list of (ndarray, ndarray)
        Outer (train_idx, test_idx).
    metrics : pandas.DataFrame
        One row per outer fold (index ``fold``): ``mape_pct``, ``rmse``, ``mae``, ``r2``, ``n_test``.
    model, scoring : str
    y : ndarray, shape (n_samples,)
        The target, kept for residuals.
    candidates : list
        Per fold, the candidate numbers of PCs after capping (PCA models), else None.
    inner_scores : list
        Per fold, the mean inner score of every candidate (scikit-learn sign: higher is better), else None.
    standardize : bool
    model_params : dict
    inner, random_state : int
        The inner folds and seed used (:func:`msdash.models.fit_final` reruns searches with them).
    """

    fold_scores: np.ndarray
    fold_params: list
    predictions: np.ndarray
    folds: list
    metrics: pd.DataFrame
    model: str
    scoring: str
    y: np.ndarray
    candidates: list = field(default_factory=list)
    inner_scores: list = field(default_factory=list)
    standardize: bool = False
    model_params: dict = field(default_factory=dict)
    inner: int = 5
    random_state: int = 42

    @property
    def residuals(self):
        """Out-of-fold residuals ``y − ŷ``, shape (n_samples,)."""
        return self.y - self.predictions

    def summary(self):
        """Mean and standard deviation (ddof=1) over the outer folds of every metric.

        Returns
        -------
        dict
            ``{"mape_pct": {"mean": …, "std": …}, "rmse": …, "mae": …, "r2": …}``.
        """
        metrics = self.metrics[["mape_pct", "rmse", "mae", "r2"]]
        return {name: {"mean": float(col.mean()), "std": float(col.std(ddof=1)) if len(col) > 1 else 0.0}
                for name, col in metrics.items()}

    def to_dict(self):
        """JSON-ready dict: settings, fold scores, params, splits, predictions, metrics, summary."""
        def plain(p):
            return int(p) if isinstance(p, (int, np.integer)) else {k: _plain(v) for k, v in p.items()}
        return {
            "model": self.model, "scoring": self.scoring, "score_unit": SCORINGS[self.scoring][1],
            "standardize": self.standardize, "model_params": {k: _plain(v) for k, v in self.model_params.items()},
            "fold_scores": [float(v) for v in self.fold_scores],
            "fold_params": [plain(p) for p in self.fold_params],
            "test_indices": [test.tolist() for _, test in self.folds],
            "predictions": self.predictions.tolist(), "y": self.y.tolist(),
            "metrics": self.metrics.reset_index().to_dict(orient="records"),
            "summary": self.summary(),
        }


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class _Plan:
    """Everything one outer fold needs: the data, the model and how its inner search runs."""

    X: np.ndarray
    y: np.ndarray
    groups: object
    model: str
    pipeline: Pipeline
    candidates: tuple
    inner: int
    scoring: str
    random_state: int
    fast: bool
    scores: object = None

    def inner_cv(self):
        if self.groups is None:
            return KFold(self.inner, shuffle=True, random_state=self.random_state)
        return _group_kfold(self.inner, self.random_state)


def _group_kfold(n_splits, random_state):
    if _GROUP_KFOLD_SHUFFLES:
        return GroupKFold(n_splits, shuffle=True, random_state=random_state)
    return GroupKFold(n_splits)


def outer_splits(X, y, groups, outer, random_state):
    """The outer (train_idx, test_idx) pairs: shuffled (Group)KFold or leave-one-group-out."""
    if outer == "logo":
        if groups is None:
            raise InputError('`outer`="logo" (leave one group out) needs `groups`', name="outer")
        splitter = LeaveOneGroupOut()
    else:
        if isinstance(outer, bool) or not isinstance(outer, (int, np.integer)) or outer < 2:
            raise InputError(f'`outer` must be an integer >= 2 or "logo", got {outer!r}', name="outer")
        limit = len(X) if groups is None else len(np.unique(groups))
        if outer > limit:
            what = "samples" if groups is None else "groups"
            raise InputError(f"`outer`={outer} folds need at least {outer} {what}, got {limit}", name="outer")
        splitter = (KFold(outer, shuffle=True, random_state=random_state) if groups is None
                    else _group_kfold(outer, random_state))
    return [(train, test) for train, test in splitter.split(X, y, groups)]


def make_plan(X, y, *, model, n_components, inner, groups, scoring, random_state, standardize, fast,
              model_params, scores=None):
    """Check the options and bundle what every outer fold needs (shared by the CV functions); ``scores``
    reuses the :class:`PCScores` of an earlier plan on the same ``X`` and preprocessing."""
    spec = MODELS.get(model)
    if spec is None:
        raise InputError(f"`model` must be one of {', '.join(MODELS)}, got {model!r}", name="model")
    check_scoring(scoring)
    if isinstance(inner, bool) or not isinstance(inner, (int, np.integer)) or inner < 2:
        raise InputError(f"`inner` must be an integer >= 2, got {inner!r}", name="inner")
    candidates = ()
    if spec.has_pca:
        if n_components is None:
            candidates = spec.candidates
        else:
            try:
                candidates = tuple(int(k) for k in np.atleast_1d(n_components))
            except (TypeError, ValueError):
                candidates = ()
            if not candidates or min(candidates) < 1 or any(
                    k != c for k, c in zip(candidates, np.atleast_1d(n_components))):
                raise InputError(f"`n_components` must be positive integers, got {n_components!r}",
                                 name="n_components")
    elif n_components is not None:
        raise InputError(f"`n_components` applies to PCA models only; {model!r} has none", name="n_components")
    pipeline = make_model(model, standardize=standardize, random_state=random_state, **(model_params or {}))
    plan = _Plan(X, y, groups, model, pipeline, candidates, int(inner), scoring, random_state, bool(fast))
    if spec.has_pca and fast:
        plan.scores = scores if scores is not None else pc_scores(X, pipeline)
    return plan


def pc_scores(X, pipeline):
    """:class:`PCScores` for the steps before the ``"pca"`` step of ``pipeline`` (none, or a default
    ``StandardScaler`` handled inside the blocked decomposition; anything else fitted on copies)."""
    before = [step for _, step in pipeline.steps[:[name for name, _ in pipeline.steps].index("pca")]]
    if not before:
        return PCScores(X)
    if (len(before) == 1 and type(before[0]) is StandardScaler
            and before[0].get_params() == StandardScaler().get_params()):
        return PCScores(X, standardize=True)
    return PCScores(X, pre=Pipeline([(f"step{i}", step) for i, step in enumerate(before)]))


def _cap(candidates, n_features, inner_train_sizes):
    # centred data of n samples has at most n − 1 non-zero components; the n-th is rounding noise
    limit = min(n_features, min(inner_train_sizes) - 1)
    kept = [k for k in candidates if k <= limit]
    if not kept:
        raise InputError(f"no candidate number of PCs fits: the inner training sets have "
                         f"{min(inner_train_sizes)} samples and `X` {n_features} features (need k <= {limit}); "
                         "use fewer inner folds or smaller `n_components`", name="n_components")
    return kept


def run_fold(plan, train, test):
    """Inner search on ``train``, refit, predict ``test``.

    Returns
    -------
    (param, predictions, candidates, inner_scores)
    """
    X, y = plan.X, plan.y
    groups = None if plan.groups is None else plan.groups[train]
    inner_cv = plan.inner_cv()
    n_inner_groups = len(train) if groups is None else len(np.unique(groups))
    if n_inner_groups < plan.inner:
        what = "samples" if groups is None else "groups"
        raise InputError(f"`inner`={plan.inner} folds need {plan.inner} {what} in every outer training set, "
                         f"one has {n_inner_groups}", name="inner")
    spec = MODELS[plan.model]
    if spec.has_pca:
        # the splitters only count rows: a one-column stand-in instead of a copy of X[train]
        splits = list(inner_cv.split(np.empty((len(train), 1)), y[train], groups))
        candidates = _cap(plan.candidates, X.shape[1], [len(tr) for tr, _ in splits])
        if plan.fast:
            at = [name for name, _ in plan.pipeline.steps].index("pca")
            head = Pipeline(plan.pipeline.steps[at + 1:])
            best, means, pred = search_n_components(plan.scores, y, train, test, splits, candidates, head,
                                                    plan.scoring)
            return best, pred, candidates, means
        search = GridSearchCV(clone(plan.pipeline), {"pca__n_components": candidates}, cv=splits,
                              scoring=SCORINGS[plan.scoring][0])
        search.fit(X[train], y[train])
        return (int(search.best_params_["pca__n_components"]), search.predict(X[test]), candidates,
                search.cv_results_["mean_test_score"])
    if spec.search == "none":
        fitted = clone(plan.pipeline).fit(X[train], y[train])
        reg = fitted[-1]
        return {"step": float(reg.step), "n_bins": int(len(reg.bin_targets_))}, fitted.predict(X[test]), None, None
    search = inner_search(plan, train, groups)
    return ({k.removeprefix("regressor__"): _plain(v) for k, v in search.best_params_.items()},
            search.predict(X[test]), None, None)


def inner_search(plan, rows, groups):
    """The fitted inner search of a model without PCA (halving for rbf-svr, grid for knn) on ``rows``."""
    X, y = plan.X[rows], plan.y[rows]
    inner_cv, scoring = plan.inner_cv(), SCORINGS[plan.scoring][0]
    if plan.model == "knn":
        smallest = min(len(tr) for tr, _ in inner_cv.split(X, y, groups))
        grid = [k for k in KNN_NEIGHBOURS if k <= smallest]
        search = GridSearchCV(clone(plan.pipeline), {"regressor__n_neighbors": grid}, cv=inner_cv,
                              scoring=scoring)
    else:
        # γ relative to 1/n_features (scikit-learn's "scale" on standardised data), ε relative to the target's
        # spread, so one search space fits every feature table and target unit
        d, spread = X.shape[1], float(np.std(y)) or 1.0
        space = {"regressor__C": loguniform(1e-1, 1e3), "regressor__gamma": loguniform(1e-2 / d, 1e1 / d),
                 "regressor__epsilon": loguniform(1e-3 * spread, 1e0 * spread)}
        search = HalvingRandomSearchCV(clone(plan.pipeline), space, cv=inner_cv, scoring=scoring, factor=3,
                                       random_state=plan.random_state)
    return search.fit(X, y, groups=groups)


def nested_cv(X, y, *, model="pr", n_components=None, outer=10, inner=5, groups=None, scoring="mape",
              random_state=42, n_jobs=None, standardize=False, fast=True, model_params=None, callback=None):
    """Nested cross-validation of a regressor preset (study B: outer 10-fold, inner 5-fold over #PCs).

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Feature table (finite values).
    y : array_like, shape (n_samples,)
        Target property, e.g. Vickers hardness in HV.
    model : str
        A key of :data:`msdash.models.MODELS`.
    n_components : int or iterable of int, optional
        Candidate numbers of PCs (PCA models); default per model (1–12 for ``pr``, 1–50 for ``lr``, ``svr``,
        ``ridge``). In every outer fold candidates above ``min(n_features, smallest inner training set − 1)``
        are dropped (centred data of n samples has at most n − 1 informative components).
    outer : int or "logo"
        Number of outer folds (shuffled ``KFold``, or ``GroupKFold`` with ``groups``), or ``"logo"`` for
        leave-one-group-out.
    inner : int
        Number of inner folds (``KFold`` / ``GroupKFold`` of the outer training set, shuffled, same seed).
    groups : array_like, shape (n_samples,), optional
        Group labels (source paper, parent micrograph): a group is never on both sides of a split.
    scoring : {"mape", "rmse", "r2"}
        Inner-search criterion and reported outer score (MAPE in %).
    random_state : int
        Seed of the outer and inner splits and of the searches.
    n_jobs : int, optional
        Outer folds in parallel with joblib; None runs them one after another.
    standardize : bool
        StandardScaler before the PCA (fitted inside every training set).
    fast : bool
        For PCA models, reuse one decomposition per training set; False runs ``GridSearchCV`` on each outer
        fold (the plain protocol; same numbers, slower).
    model_params : dict, optional
        Parameters of the final regressor (see :func:`msdash.models.make_model`), e.g. ``{"step": 5.0}``.
    callback : callable, optional
        Called after every outer fold with ``{"fold": i, "folds": k}`` (folds then run one after another);
        a ``False`` answer stops the run.

    Returns
    -------
    CVResult or None
        None only when ``callback`` stopped the run before its last fold.

    Notes
    -----
    PCA models search ``pca__n_components`` like ``GridSearchCV``: mean inner score per candidate, the best
    wins, ties go to the first candidate. Their OLS uses the machine-precision cutoff (see
    :mod:`msdash.models.presets`). ``rbf-svr`` searches C ∈ [0.1, 1000], γ ∈ [0.01, 10]/n_features and
    ε ∈ [0.001, 1]·std(y) (log-uniform) by successive halving (``HalvingRandomSearchCV``, factor 3, seeded);
    ``knn`` searches k by grid; ``pcr`` has no search. ``fold_params`` holds those choices.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 6)); y = 10 + X[:, 0] + 0.1 * rng.normal(size=40)
    >>> res = nested_cv(X, y, model="lr", n_components=[1, 2, 6], outer=4, inner=3)
    >>> len(res.fold_scores), res.predictions.shape, all(k in (1, 2, 6) for k in res.fold_params)
    (4, (40,), True)
    """
    X, y, groups = check_data(X, y, groups)
    plan = make_plan(X, y, model=model, n_components=n_components, inner=inner, groups=groups,
                     scoring=scoring, random_state=random_state, standardize=standardize, fast=fast,
                     model_params=model_params)
    folds = outer_splits(X, y, groups, outer, random_state)
    if callback is None:
        outcomes = Parallel(n_jobs=n_jobs)(delayed(run_fold)(plan, train, test) for train, test in folds)
    else:  # one fold at a time, so a caller can show progress and stop between folds
        outcomes = []
        for i, (train, test) in enumerate(folds):
            outcomes.append(run_fold(plan, train, test))
            if callback({"fold": i + 1, "folds": len(folds)}) is False:
                return None
    predictions = np.empty_like(y)
    rows = []
    for (train, test), (_, pred, _, _) in zip(folds, outcomes):
        predictions[test] = pred
        rows.append({**regression_metrics(y[test], pred), "n_test": len(test)})
    metrics = pd.DataFrame(rows).rename_axis("fold")
    return CVResult(
        fold_scores=np.array([score(y[test], predictions[test], scoring) for _, test in folds]),
        fold_params=[o[0] for o in outcomes], predictions=predictions, folds=folds, metrics=metrics,
        model=model, scoring=scoring, y=y, candidates=[o[2] for o in outcomes],
        inner_scores=[o[3] for o in outcomes], standardize=bool(standardize),
        model_params=dict(model_params or {}), inner=int(inner), random_state=random_state)
