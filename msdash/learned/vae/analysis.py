"""What a TextureVAE's latent space says about properties (study C): per-dimension correlation with a property,
and leave-one-micrograph-out prediction from patch latents (the histograms of study C's Figure 7).

torch-free at import; :func:`patch_latents` imports :mod:`msdash.learned.vae.training` when called.

References
----------
Study C of ``docs/references.md`` (TextureVAE, Sardeshmukh et al. 2021); the full citation is in
:mod:`msdash.learned.vae.training`.
"""

from dataclasses import dataclass

import numpy as np

from msdash.errors import InputError

__all__ = ["latent_property_correlation", "patch_latents", "PatchPrediction", "patch_predictions"]


def latent_property_correlation(mu, y):
    """Pearson correlation of each latent dimension with a property.

    Parameters
    ----------
    mu : array_like, shape (n, latent)
        Latent means (e.g. of patches, from :func:`msdash.learned.vae.training.encode`).
    y : array_like, shape (n,)
        The property of each row (e.g. of the patch's parent micrograph), any unit.

    Returns
    -------
    ndarray of float64, shape (latent,)
        r in [−1, 1]; NaN for a dimension (or a property) that does not vary.

    Examples
    --------
    >>> mu = np.array([[0.0, 1.0, 5.0], [1.0, 0.0, 5.0], [2.0, -1.0, 5.0]])
    >>> latent_property_correlation(mu, [10.0, 20.0, 30.0]).round(6).tolist()
    [1.0, -1.0, nan]
    """
    mu, y = np.asarray(mu, dtype=np.float64), np.asarray(y, dtype=np.float64).ravel()
    if mu.ndim != 2 or len(mu) != len(y) or len(y) < 2:
        raise InputError(f"`mu` must be (n, latent) and `y` (n,) with n ≥ 2, got {mu.shape} and {y.shape}", name="y")
    dm, dy = mu - mu.mean(axis=0), y - y.mean()
    scale = np.sqrt((dm**2).sum(axis=0) * (dy**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (dm * dy[:, None]).sum(axis=0) / scale
    r[~(scale > 1e-12 * max(1.0, float(np.abs(mu).max()) * float(np.abs(y).max())))] = np.nan
    return np.clip(r, -1.0, 1.0)


def patch_latents(model, images, *, stride=None, batch_size=64):
    """Latent means of every patch of every micrograph, with the index of its micrograph.

    Parameters
    ----------
    model : TextureVAE
    images : ndarray (n, H, W) or sequence / dict of 2-D arrays
        Grey micrographs in [0, 1] (or uint8), at least ``model.patch`` pixels a side.
    stride : int, optional
        Step between patches, pixels; default ``model.patch`` (no overlap).

    Returns
    -------
    mu : ndarray (n_patches, latent)
    parents : ndarray of int (n_patches,)
    """
    from msdash.learned.vae.patches import patch_stack
    from msdash.learned.vae.views import encode

    patches, parents = patch_stack(images, patch=model.patch, stride=stride or model.patch)
    return encode(model, patches, batch_size=batch_size), parents


@dataclass(frozen=True)
class PatchPrediction:
    """Predictions for the patches of one held-out micrograph.

    Attributes
    ----------
    group : object
        The micrograph (its group label).
    predictions : ndarray (n_patches,)
        Property predicted from each patch, in the property's unit.
    true : float
        The micrograph's property.
    """

    group: object
    predictions: np.ndarray
    true: float

    @property
    def relative_error(self):
        """|mean prediction − true| / |true| (fraction; NaN when true is 0)."""
        return abs(float(np.mean(self.predictions)) - self.true) / abs(self.true) if self.true else float("nan")


def patch_predictions(latents, y, groups, *, model="lr", random_state=0, **kw):
    """Leave-one-micrograph-out: predict every patch of each micrograph from a model fitted on all the others.

    Parameters
    ----------
    latents : array_like, shape (n_patches, latent)
        Patch features (TextureVAE μ, or any other feature of patches).
    y : array_like, shape (n_patches,)
        Property of each patch's micrograph (constant within a group), e.g. ``y_micrograph[parents]``.
    groups : array_like, shape (n_patches,)
        Micrograph of each patch (``parents`` of :func:`patch_latents`, or names); at least two distinct.
    model : str
        A preset of :func:`msdash.models.presets.make_model` (``"lr"``: OLS on all latents; ``"rbf-svr"``:
        standardised RBF SVR with scikit-learn defaults; ``"ridge"``, ``"knn"``, …). The target is standardised
        around the fit (``TransformedTargetRegressor``) so presets with fixed ε / C work in any unit.
    random_state : int
    **kw
        Passed to the preset's regressor.

    Returns
    -------
    list of PatchPrediction
        One per micrograph, in order of first appearance in ``groups``.

    Examples
    --------
    A property linear in the features is predicted exactly for an unseen micrograph (``true`` is the group's
    mean of ``y``; in real use ``y`` is constant within a group):

    >>> x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0], [4.0, 5.0], [5.0, 2.0]])
    >>> out = patch_predictions(x, 3 * x[:, 0] + 1, [0, 0, 1, 1, 2, 2])
    >>> [round(float(p), 6) for p in out[1].predictions], out[1].true
    ([7.0, 10.0], 8.5)
    """
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    from msdash.models.presets import make_model

    x = np.asarray(latents, dtype=np.float64)
    y, groups = np.asarray(y, dtype=np.float64).ravel(), np.asarray(groups)
    if x.ndim != 2 or not len(x) == len(y) == len(groups):
        raise InputError(f"`latents` (n, d), `y` (n,) and `groups` (n,) must agree, got {x.shape}, {y.shape} and "
                         f"{groups.shape}", name="latents")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError("`latents` and `y` must be finite (drop the patches with missing values)", name="latents")
    order = list(dict.fromkeys(groups.tolist()))
    if len(order) < 2:
        raise InputError("leave-one-micrograph-out needs patches of at least two micrographs", name="groups")
    out = []
    for group in order:
        held = groups == group
        fitted = TransformedTargetRegressor(make_model(model, random_state=random_state, **kw),
                                            transformer=StandardScaler()).fit(x[~held], y[~held])
        out.append(PatchPrediction(group, fitted.predict(x[held]), float(y[held].mean())))
    return out
