"""Regressor presets: every fitted step (scaler, PCA, polynomial features, regressor) in one Pipeline.

The least squares are plain OLS as the studies ran them. ``LinearRegression`` has had ``tol=1e-6`` since
scikit-learn 1.7, used only for sparse input (``lsqr`` tolerances); from 1.9 dense input uses it too, as the
``cond`` of :func:`scipy.linalg.lstsq`: singular values below ``tol · s_max`` are dropped. With ~90 degree-2
terms of 12 PCs that cutoff drops directions the authors' fits kept and changes which number of PCs wins. The
presets therefore set ``tol`` to machine precision (``np.finfo(float).eps``) wherever the parameter exists.

With that cutoff the polynomial step must not add a constant column (``include_bias=False``): OLS fits the
intercept itself and centres every column, so the constant becomes an exactly-zero column whose computed
singular value is rounding noise of order ``eps · s_max`` — as large as the cutoff. Whether it is dropped is
then decided by rounding, and when it is kept the solution carries a component along a null direction that
moves test predictions by whole target units (seen with 7+ PCs on 149 × 1,024 tables) and changes which number
of PCs wins. Without the column the model is the same and the fit is well-posed.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.svm import SVR

from msdash.errors import InputError
from msdash.models.pcr import PiecewiseConstantRegressor

__all__ = ["ModelSpec", "MODELS", "make_model", "ols"]

OLS_TOL = float(np.finfo(float).eps)


def ols():
    """``LinearRegression`` with the machine-precision singular-value cutoff (see the module docstring).

    >>> bool(ols().get_params().get("tol", OLS_TOL) == np.finfo(float).eps)
    True
    """
    model = LinearRegression()
    if "tol" in model.get_params():  # scikit-learn >= 1.7 (dense input uses it from 1.9)
        model.set_params(tol=OLS_TOL)
    return model


@dataclass(frozen=True)
class ModelSpec:
    """One regressor preset.

    Attributes
    ----------
    name : str
        Key in :data:`MODELS` (``"pr"``, ``"rbf-svr"``, …).
    description : str
        One line for the user: the steps of the pipeline.
    candidates : tuple of int
        Default candidate numbers of PCs searched by nested CV; empty for models without PCA.
    has_pca : bool
        Whether the pipeline has a ``"pca"`` step whose ``n_components`` nested CV searches.
    search : str
        Inner search of the models without PCA: ``"halving"`` (successive halving over ``C``, ``γ``, ``ε``),
        ``"grid"`` (over ``n_neighbors``) or ``"none"``.
    """

    name: str
    description: str
    candidates: tuple
    has_pca: bool
    search: str = "pcs"


def _spec(name, description, candidates=(), search="pcs"):
    return ModelSpec(name, description, tuple(candidates), bool(candidates), search)


MODELS = {s.name: s for s in (
    _spec("pr", "PCA → degree-2 polynomial features → OLS (studies A, B)", range(1, 13)),
    _spec("lr", "PCA → OLS (study B)", range(1, 51)),
    _spec("svr", "PCA → SVR(kernel='linear'), scikit-learn defaults (study B's 'linear SVR')", range(1, 51)),
    _spec("ridge", "PCA → Ridge(alpha=1) (reference)", range(1, 51)),
    _spec("pca-rbf-svr", "standardise → PCA → RBF SVR on the standardised target, scikit-learn defaults "
                         "(study D's CNN-PCA-SVR)", range(1, 51)),
    _spec("rbf-svr", "standardise → RBF SVR, C, γ, ε by successive halving, 5-fold, seeded (studies C, D)",
          search="halving"),
    _spec("pcr", "piecewise-constant regression: nearest bin mean in min–max-scaled features (study D)",
          search="none"),
    _spec("knn", "standardise → k-nearest neighbours, k by grid search (reference)", search="grid"),
)}


def _regressor(name, random_state, kw):
    if name == "pca-rbf-svr":  # SVR's fixed ε and C suit a unit-variance target, whatever the property's unit
        from sklearn.compose import TransformedTargetRegressor

        return TransformedTargetRegressor(regressor=_regressor("rbf-svr", random_state, kw),
                                          transformer=StandardScaler())
    if name in ("pr", "lr"):
        reg = ols()
    elif name == "svr":
        reg = SVR(kernel="linear")
    elif name == "rbf-svr":
        reg = SVR(kernel="rbf")
    elif name == "ridge":
        reg = Ridge()
    elif name == "pcr":
        reg = PiecewiseConstantRegressor()
    else:
        reg = KNeighborsRegressor()
    if "random_state" in reg.get_params():
        reg.set_params(random_state=random_state)
    try:
        return reg.set_params(**kw)
    except ValueError as exc:
        raise InputError(f"model {name!r} has no parameter among {sorted(kw)}: {exc}", name="kw") from None


def make_model(name, *, n_components=None, standardize=False, random_state=42, **kw):
    """Build the regression Pipeline of a preset.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`: ``pr``, ``lr``, ``svr``, ``ridge``, ``pca-rbf-svr``, ``rbf-svr``, ``pcr`` or
        ``knn``.
    n_components : int, optional
        Number of PCs of the ``"pca"`` step (PCA models only). None keeps scikit-learn's meaning: all
        ``min(n_samples, n_features)`` components — pass the number nested CV chose (as :func:`fit_final` does).
    standardize : bool
        Put a ``StandardScaler`` first (advised when composition and image features are concatenated).
        ``rbf-svr``, ``pca-rbf-svr`` and ``knn`` always standardise.
    random_state : int
        Seed of the steps that take one (PCA's solver is ``"full"``, so it is deterministic anyway).
    **kw
        Parameters of the final regressor, e.g. ``C=10`` (svr), ``alpha=0.1`` (ridge), ``step=2`` (pcr).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted; steps named ``"standardize"``, ``"pca"``, ``"poly"``, ``"regressor"`` where present.

    Examples
    --------
    >>> [step for step, _ in make_model("pr", n_components=3).steps]
    ['pca', 'poly', 'regressor']
    >>> [step for step, _ in make_model("rbf-svr").steps]
    ['standardize', 'regressor']
    """
    spec = MODELS.get(name)
    if spec is None:
        raise InputError(f"`model` must be one of {', '.join(MODELS)}, got {name!r}", name="model")
    if n_components is not None and not spec.has_pca:
        raise InputError(f"`n_components` applies to PCA models only; {name!r} has no PCA", name="n_components")
    steps = []
    if standardize or name in ("rbf-svr", "knn", "pca-rbf-svr"):
        steps.append(("standardize", StandardScaler()))
    if spec.has_pca:
        steps.append(("pca", PCA(n_components=n_components, svd_solver="full", random_state=random_state)))
    if name == "pr":
        steps.append(("poly", PolynomialFeatures(degree=2, include_bias=False)))  # see the module docstring
    steps.append(("regressor", _regressor(name, random_state, kw)))
    return Pipeline(steps)
