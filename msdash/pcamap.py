"""PCA maps of a feature table: blocked covariance or Gram eigenproblem, progress and Cancel.

The map functions take ``callback(fraction)``; a ``False`` answer raises :class:`MapCancelled` at the next
stop point (between blocks), so a background job can stop a map of 50,000 samples mid-way.
"""

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from msdash.errors import InputError

__all__ = ["PCAResult", "pca_map", "MapCancelled"]


class MapCancelled(BaseException):  # noqa: N818 — reads as what happened
    """Raised inside :func:`pca_map` and :func:`msdash.maps.umap_map` when their callback answers False.

    A ``BaseException`` (like ``KeyboardInterrupt`` and :class:`msdash.features.foundation.EmbeddingCancelled`)
    so that ``except Exception`` handlers in between let it through; nothing partial is returned.
    """


def _tick(callback, fraction):
    """Report ``fraction`` to ``callback`` (if any); raise :class:`MapCancelled` when it answers False."""
    if callback is not None and callback(min(max(float(fraction), 0.0), 1.0)) is False:
        raise MapCancelled("the map was cancelled")


def _stage(callback, start, stop):
    """``progress(f)`` for one step, reporting ``start + f·(stop − start)`` through :func:`_tick`; None when
    there is no callback."""
    if callback is None:
        return None
    return lambda fraction: _tick(callback, start + (stop - start) * min(max(float(fraction), 0.0), 1.0))


@dataclass(frozen=True)
class PCAResult:
    """A fitted PCA map of a feature table.

    Attributes
    ----------
    coords : ndarray, shape (n_samples, k)
        Scores of every sample on the k components; NaN rows for samples left out of the fit.
    explained_variance_ratio : ndarray, shape (k,)
        Share of the total variance (of all components, kept or not) carried by each component.
    explained_variance : ndarray, shape (k,)
        Variance along each component (ddof=1, as scikit-learn).
    components : ndarray, shape (k, n_features)
        Unit-length loadings, one row per component; the entry of largest magnitude in each row is positive.
    mean : ndarray, shape (n_features,)
        Column means of the valid rows.
    scale : ndarray, shape (n_features,)
        Column standard deviations (ddof=0) when standardised, else ones; zero-variance columns get 1.
    valid : ndarray of bool, shape (n_samples,)
        True for rows that entered the fit (all features finite).
    n_components : int
        k, the number of components kept.
    """

    coords: np.ndarray
    explained_variance_ratio: np.ndarray
    explained_variance: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    valid: np.ndarray
    n_components: int

    def transform(self, X_new):
        """Project new samples onto the fitted components.

        Parameters
        ----------
        X_new : array_like, shape (m, n_features)

        Returns
        -------
        ndarray, shape (m, k)
            Scores; rows of ``X_new`` holding any NaN give NaN rows.
        """
        X_new = _check_table(X_new, "X_new")
        if X_new.shape[1] != self.mean.shape[0]:
            raise InputError(f"`X_new` must have {self.mean.shape[0]} feature columns like the fitted table, "
                             f"got {X_new.shape[1]}", name="X_new")
        return ((X_new - self.mean) / self.scale) @ self.components.T


def pca_map(X, *, n_components=30, standardize=False, solver="auto", callback=None):
    """Principal component analysis of a feature table, tolerant of failed (NaN) samples.

    The centred (and, when ``standardize``, unit-variance) table Z of the valid rows is decomposed as
    ``Z = U S Vt``; the map coordinates are ``U S`` and the loadings are the rows of ``Vt``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Feature table. A row with any NaN or infinite value (a sample whose extraction failed) is left out of
        the fit and gets NaN coordinates.
    n_components : int, default 30
        Components to keep. The number kept is ``k = min(n_components, n_valid - 1, n_features)``: centring
        removes one degree of freedom, so a table of n_valid rows has at most n_valid - 1 components with
        non-zero variance (scikit-learn would return one more, of zero variance and arbitrary sign).
    standardize : bool, default False
        Scale every column to unit variance (ddof=0) before the decomposition; columns of zero variance are
        left unscaled. Use it when columns have different units (e.g. composition next to image features).
    solver : {"auto", "gram", "svd"}, default "auto"
        "gram" eigendecomposes the Gram matrix of the smaller side (``Z Zᵀ``, n×n, when n_features > n_valid; ``Zᵀ
        Z``, d×d, otherwise), accumulated over blocks of columns or rows sized from
        :func:`msdash.config.memory_budget` without copying the table: fast and memory-bounded for both 149 × 25,281
        and 50,000 × 4,225 tables (the table plus a few ``min(n, d)²`` matrices). On the tall route exactly repeated
        columns (a two-point autocorrelation window holds every value twice) are merged first, weighted by
        √multiplicity: the same PCA from a smaller covariance, at the cost of a copy of the distinct columns when that
        fits a quarter of the budget (:func:`msdash.models.blocked.distinct_columns`). Components with variance below
        about 1e-10 of the first lose accuracy on this route (it squares the condition number). "svd" runs
        ``scipy.linalg.svd`` on a centred copy of the valid rows (exact to working precision, slower, holds copies of
        the table). "auto" is "gram".
    callback : callable, optional
        ``callback(fraction)`` with the fraction of the work done, a float in [0, 1] rising to 1.0, called
        between blocks of the column statistics, of the covariance or Gram build and of the projection (about
        every ``memory_budget() / 16`` bytes of table read, at most 128 MiB), and before and after the
        eigendecomposition (one LAPACK call, no stop point inside). Answering ``False`` stops the work by
        raising :class:`MapCancelled`. With "svd" it is called at 0 and 1 only. None: no calls, same result.

    Returns
    -------
    PCAResult

    Raises
    ------
    MapCancelled
        ``callback`` answered False.

    Notes
    -----
    Sign convention (as scikit-learn's ``svd_flip(u_based_decision=False)``): in every row of
    ``components`` the entry of largest absolute value is positive, so the map never flips between runs.

    Examples
    --------
    Four points on a line: one component carries all the variance.

    >>> X = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0], [np.nan, 1.0], [3.0, 6.0]])
    >>> result = pca_map(X, n_components=2)
    >>> result.n_components, result.valid.tolist()
    (2, [True, True, True, False, True])
    >>> np.round(result.explained_variance_ratio, 6).tolist()
    [1.0, 0.0]
    >>> np.round(result.coords[:, 0] ** 2, 6).tolist()
    [11.25, 1.25, 1.25, nan, 11.25]
    """
    X = _check_table(X, "X")
    if solver not in ("auto", "gram", "svd"):
        raise InputError(f"`solver` must be 'auto', 'gram' or 'svd', got {solver!r}", name="solver")
    if int(n_components) < 1:
        raise InputError(f"`n_components` must be at least 1, got {n_components}", name="n_components")
    valid = _finite_rows(X)
    n_valid, n_features = int(valid.sum()), X.shape[1]
    if n_valid < 2:
        raise InputError(f"PCA needs at least 2 samples without missing features, got {n_valid} "
                         f"of {X.shape[0]}", name="X")
    k = max(1, min(int(n_components), n_valid - 1, n_features))

    _tick(callback, 0.0)
    if solver == "svd":
        Z, mean, scale = _centre(X[valid], standardize)
        U, s, Vt = scipy.linalg.svd(Z, full_matrices=False, check_finite=False)
        variances = s**2
        total = variances.sum()
        scores, Vt = U[:, :k] * s[:k], Vt[:k]
    else:
        from msdash.models import blocked  # blocks of rows or columns sized from the memory budget

        # stage weights ~ the work of each step (statistics: 2 passes of n·d, Gram: n·d·min(n, d))
        rows = np.flatnonzero(valid)
        # tall: exactly repeated columns (two-point windows) merged, weighted by √multiplicity, give the same
        # PCA from an r×r covariance (blocked.distinct_columns); mapped back to every column at the end
        merged = blocked.distinct_columns(X, rows) if n_features <= n_valid else None
        table, table_rows, weights = ((X, rows, np.ones(n_features)) if merged is None
                                      else (merged[0], np.arange(n_valid), merged[2]))
        width = table.shape[1]
        k = min(k, width)  # r distinct columns span at most r components
        mean, var = blocked.column_stats(table, table_rows, blocked.block_length(width),
                                         progress=_stage(callback, 0.0, 0.1))
        std = np.sqrt(var) / weights  # the table's own standard deviations
        scale = np.where(std > 0, std, 1.0) if standardize else np.ones(width)
        if n_features > n_valid:
            columns = blocked.block_length(n_valid, copies=2)
            gram, _ = blocked.column_gram(X, rows, rows[:0], mean, scale, columns,
                                          progress=_stage(callback, 0.1, 0.7))
            total = float(np.trace(gram))
            variances, U = blocked.top_eigh(gram, k)
            _tick(callback, 0.9)
            variances = np.clip(variances, 0.0, None)
            s = np.sqrt(variances)
            Vt = blocked.loadings(X, rows, mean, scale, U, columns, progress=_stage(callback, 0.9, 1.0))
            Vt /= np.where(s > 0, s, 1.0)[:, None]
            scores = U * s
        else:
            block = blocked.block_length(width)
            cov, _ = blocked.row_gram(table, table_rows, mean, block, progress=_stage(callback, 0.1, 0.7))
            blocked.scale_both_sides(cov, scale)
            total = float(np.trace(cov))
            variances, V = blocked.top_eigh(cov, k)
            _tick(callback, 0.9)
            variances = np.clip(variances, 0.0, None)
            Vt = V.T.copy()
            scores = blocked.project(table, table_rows, mean, scale, Vt, block,
                                     progress=_stage(callback, 0.9, 1.0))
            if merged is not None:
                inverse = merged[1]
                mean, scale, Vt = mean[inverse] / weights[inverse], scale[inverse], Vt[:, inverse] / weights[inverse]
    _tick(callback, 1.0)

    # sign: the largest-|loading| entry of every component is positive
    signs = np.sign(Vt[np.arange(k), np.argmax(np.abs(Vt), axis=1)])
    signs[signs == 0] = 1.0
    Vt, scores = Vt * signs[:, None], scores * signs

    ratio = variances[:k] / total if total > 0 else np.zeros(k)
    coords = np.full((X.shape[0], k), np.nan)
    coords[valid] = scores
    return PCAResult(coords=coords, explained_variance_ratio=ratio, explained_variance=variances[:k] / (n_valid - 1),
                     components=Vt, mean=mean, scale=scale, valid=valid, n_components=k)


def _check_table(X, name):
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"`{name}` must be a numeric table (n_samples, n_features)", name=name) from None
    if X.ndim != 2 or X.shape[1] == 0:
        raise InputError(f"`{name}` must be a 2-D array (n_samples, n_features), got shape {X.shape}", name=name)
    return X


def _centre(X, standardize):
    """Centred (and optionally unit-variance) copy of X with the mean and scale used."""
    mean = X.mean(axis=0)
    Z = X - mean
    scale = np.ones(X.shape[1])
    if standardize:
        std = np.sqrt((Z**2).mean(axis=0))
        scale = np.where(std > 0, std, 1.0)
        Z /= scale
    return Z, mean, scale


def _finite_rows(X):
    """Rows whose features are all finite, checked a block of rows at a time (no n×d mask)."""
    step = max(1, 2**22 // max(1, X.shape[1]))
    return np.concatenate([np.isfinite(X[start:start + step]).all(axis=1) for start in range(0, len(X), step)]
                          or [np.zeros(0, bool)])
