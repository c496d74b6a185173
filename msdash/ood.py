"""Out-of-distribution checks of new samples, inside and outside a model's retained principal components.

As in PCA-based process monitoring: *inside* the retained PCs, the distance to the nearest training sample
(:func:`msdash.predict.nearest_distance`); *outside* them, the distance to the PCA subspace (the square root of
the Q/SPE statistic), calibrated on out-of-fold values. A model that keeps 6 of 1,024 dimensions does not see a
sample moved along the other 1,018 (its prediction does not change); only the second part does.
"""

from dataclasses import dataclass

import numpy as np

from msdash.errors import InputError
from msdash.modelspace import _rows_per_block, model_space, nearest_distance

__all__ = ["OODCheck", "ood_check", "subspace_residual", "out_of_fold_residual", "default_folds"]


def _pca_parts(pipeline):
    """``(steps before the PCA, the PCA step)`` of a fitted pipeline, or ``(None, None)`` without a PCA."""
    names = [name for name, _ in pipeline.steps]
    if "pca" not in names:
        return None, None
    at = names.index("pca")
    return [step for _, step in pipeline.steps[:at]], pipeline.steps[at][1]


def _residual_rows(Z, mean, components):
    """Euclidean distance of every row of ``Z`` to the affine subspace ``mean + span(components)``."""
    centred = Z - mean
    scores = centred @ components.T
    centred -= scores @ components
    return np.sqrt(np.einsum("ij,ij->i", centred, centred))


def subspace_residual(pipeline, X, *, budget=None):
    """Distance of every sample to the model's PCA subspace: the square root of the Q statistic (SPE).

    With ``z`` the sample after the steps before the PCA (e.g. a ``StandardScaler``), ``μ`` the PCA mean and
    ``V`` its ``k`` orthonormal components, the residual is ``‖(z − μ) − Vᵀ V (z − μ)‖`` — the part of the
    sample the retained PCs do not see, hence the part the regressor ignores.

    Parameters
    ----------
    pipeline : fitted Pipeline
    X : array_like, shape (n_samples, n_features)
    budget : int, optional
        As in :func:`model_space`.

    Returns
    -------
    ndarray, shape (n_samples,)
        In the units of the features after scaling; NaN everywhere when the pipeline has no ``"pca"`` step.

    References
    ----------
    J. E. Jackson, G. S. Mudholkar, "Control procedures for residuals associated with principal component
    analysis", Technometrics 21 (1979) 341–349.

    Examples
    --------
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]])
    >>> pipe = Pipeline([("pca", PCA(1)), ("regressor", LinearRegression())]).fit(X, X[:, 0])
    >>> subspace_residual(pipe, [[5.0, 3.0, 4.0]])  # 3-4-5 away from the x axis
    array([5.])
    """
    X = np.asarray(X, dtype=float)
    pre, pca = _pca_parts(pipeline)
    if pca is None:
        return np.full(len(X), np.nan)
    out = np.empty(len(X))
    rows = _rows_per_block(X.shape[1], budget)
    for start in range(0, len(X), rows):
        part = X[start:start + rows]
        for step in pre:
            part = step.transform(part)
        out[start:start + len(part)] = _residual_rows(np.asarray(part, float), pca.mean_, pca.components_)
    return out


def out_of_fold_residual(pipeline, X, folds, *, budget=None):
    """The residual of :func:`subspace_residual` for every sample from a PCA fitted without it.

    For every ``(train, test)`` fold, the steps before the PCA and the PCA (same number of components) are
    fitted on ``X[train]`` and the distance of each ``X[test]`` row to that subspace is computed. Training
    residuals would be optimistic (the PCA minimises them; with more features than samples they are far
    smaller than a new sample's), so thresholds are calibrated on these.

    Parameters
    ----------
    pipeline : fitted Pipeline
        Only its structure (steps before the PCA, number of components) is used.
    X : ndarray, shape (n_samples, n_features)
        The training table.
    folds : list of (ndarray, ndarray)
        ``(train_idx, test_idx)``; every sample should be in some test part (others stay NaN).
    budget : int, optional
        Bytes for blocks (default :func:`msdash.config.memory_budget`).

    Returns
    -------
    ndarray, shape (n_samples,)
        NaN where a sample is in no test part, in folds with fewer training samples than components, or
        everywhere without a PCA.
    """
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from msdash.models.blocked import _row_blocks
    from msdash.models.pcscores import PCScores

    X = np.asarray(X, dtype=float)
    pre, pca = _pca_parts(pipeline)
    out = np.full(len(X), np.nan)
    if pca is None:
        return out
    k = int(pca.n_components_)
    plain = all(type(step) is StandardScaler and step.with_mean and step.with_std for step in pre) and len(pre) <= 1
    scores = PCScores(X, standardize=bool(pre), budget=budget) if plain else None
    block = _rows_per_block(X.shape[1], budget)
    for train, test in folds:
        train, test = np.asarray(train, dtype=np.intp), np.asarray(test, dtype=np.intp)
        if scores is not None and k < min(len(train), X.shape[1]):
            mean, scale, components, _, _ = scores.components(train, k)
            for part_rows, part in _row_blocks(X, test, block):
                if scale is not None:
                    part -= mean
                    part /= scale
                    out[test[part_rows]] = _residual_rows(part, 0.0, components)
                else:
                    out[test[part_rows]] = _residual_rows(part, mean, components)
        elif k <= min(len(train), X.shape[1]):  # other steps before the PCA: scikit-learn's own fit on the fold
            fold = clone(Pipeline([*pipeline.steps[:len(pre)], ("pca", pca)])).fit(X[train])
            held_out = fold[:-1].transform(X[test]) if pre else X[test]
            out[test] = _residual_rows(np.asarray(held_out, float), fold[-1].mean_, fold[-1].components_)
    return out


def default_folds(n_samples, *, n_splits=10, random_state=42):
    """Shuffled K-fold ``(train, test)`` index pairs (``min(n_splits, n_samples)`` folds, seeded)."""
    from sklearn.model_selection import KFold

    splits = KFold(n_splits=max(2, min(n_splits, n_samples)), shuffle=True, random_state=random_state)
    return list(splits.split(np.zeros((n_samples, 1))))


@dataclass
class OODCheck:
    """Out-of-distribution check of new samples, in two parts (see :func:`ood_check`).

    Attributes
    ----------
    distance : ndarray, shape (n_new,)
        Distance to the nearest training sample inside the model space (the retained PCs).
    distance_threshold : float
    residual : ndarray, shape (n_new,)
        Distance to the PCA subspace (outside the retained PCs); NaN for models without PCA.
    residual_threshold : float
        NaN for models without PCA.
    percentile : float
        The percentile both thresholds were taken at.
    """

    distance: np.ndarray
    distance_threshold: float
    residual: np.ndarray
    residual_threshold: float
    percentile: float

    @property
    def inside(self):
        """bool array: the distance inside the retained PCs exceeds its threshold."""
        return self.distance > self.distance_threshold

    @property
    def outside(self):
        """bool array: the residual outside the retained PCs exceeds its threshold (never without PCA)."""
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(self.residual, nan=-np.inf) > self.residual_threshold

    @property
    def flags(self):
        """bool array: either part fired."""
        return self.inside | self.outside

    @property
    def has_residual(self):
        """Whether the model has a PCA, so that the residual part is checked."""
        return bool(np.isfinite(self.residual_threshold))

    def reasons(self):
        """Which part fired, per sample: ``""``, ``"inside the PCs"``, ``"outside the PCs"`` or ``"both"``."""
        table = np.array(["", "inside the PCs", "outside the PCs", "both"], dtype=object)
        return table[self.inside.astype(int) + 2 * self.outside.astype(int)]


def ood_check(pipeline, X_train, X_new, *, folds=None, percentile=99.0, budget=None):
    """Out-of-distribution check of new samples inside and outside the model's retained PCs.

    - **Inside**: distance of a new sample to its nearest training sample in the model space
      (:func:`model_space`: the PCA scores), flagged above the ``percentile`` of the training samples' distances
      to their nearest *other* training sample.
    - **Outside**: distance of a new sample to the PCA subspace (:func:`subspace_residual`, the square root of
      PCA process monitoring's Q/SPE statistic), flagged above the ``percentile`` of the training samples'
      out-of-fold residuals (:func:`out_of_fold_residual`). A sample moved far along a direction the PCs do
      not keep has an unchanged prediction and is caught only here.

    Each part flags about ``1 − percentile/100`` of new in-distribution samples, so together at most twice
    that.

    Parameters
    ----------
    pipeline : fitted Pipeline
    X_train : array_like, shape (n_train, n_features)
        The samples the pipeline was fitted on.
    X_new : array_like, shape (n_new, n_features)
    folds : list of (ndarray, ndarray), optional
        Folds for the out-of-fold residuals, e.g. the run's outer CV folds (group folds for a grouped run);
        default :func:`default_folds` (10-fold, seed 42).
    percentile : float
        In (0, 100].
    budget : int, optional
        Bytes for blocks (default :func:`msdash.config.memory_budget`).

    Returns
    -------
    OODCheck
    """
    if not 0 < percentile <= 100:
        raise InputError(f"`percentile` must be in (0, 100], got {percentile!r}", name="percentile")
    X_train = np.asarray(X_train, dtype=float)
    if len(X_train) < 2:
        raise InputError("at least two training samples are needed for an out-of-distribution threshold")
    train = model_space(pipeline, X_train, budget=budget)
    new = model_space(pipeline, X_new, budget=budget)
    own = nearest_distance(train, train, exclude_self=True, budget=budget)  # nearest *other* training sample
    distance = nearest_distance(train, new, budget=budget)
    residual = subspace_residual(pipeline, X_new, budget=budget)
    residual_threshold = np.nan
    pca = _pca_parts(pipeline)[1]
    if pca is not None and pca.n_components_ < pca.n_features_in_:  # keeping every dimension leaves no outside
        folds = default_folds(len(X_train)) if folds is None else folds
        calibration = out_of_fold_residual(pipeline, X_train, folds, budget=budget)
        calibration = calibration[np.isfinite(calibration)]
        if len(calibration):
            residual_threshold = float(np.percentile(calibration, percentile))
    return OODCheck(distance, float(np.percentile(own, percentile)), residual, residual_threshold,
                    float(percentile))
