"""Microstructure maps: PCA and UMAP of a feature table, PC–property correlations, map selections.

umap (and numba behind it) is imported inside the functions that need it, so ``import msdash.maps`` stays
cheap.
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg

from msdash.errors import InputError

__all__ = ["PCAResult", "pca_map", "umap_map", "warm_umap", "pc_property_correlation", "selection_from_event"]

MIN_UMAP_SAMPLES = 4  # spectral initialisation of a 2-D embedding needs more points than dimensions + 1


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


def pca_map(X, *, n_components=30, standardize=False, solver="auto"):
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
        "gram" eigendecomposes the Gram matrix of the smaller side (``Z Zᵀ``, n×n, when n_features > n_valid;
        ``Zᵀ Z``, d×d, otherwise), accumulated over blocks of columns or rows sized from
        :func:`msdash.config.memory_budget` without copying the table: fast and memory-bounded for both
        149 × 25,281 and 50,000 × 4,225 tables (the table plus a few ``min(n, d)²`` matrices). Components with
        variance below about 1e-10 of the first lose accuracy on this route (it squares the condition number).
        "svd" runs ``scipy.linalg.svd`` on a centred copy of the valid rows (exact to working precision,
        slower, holds copies of the table). "auto" is "gram".

    Returns
    -------
    PCAResult

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

    if solver == "svd":
        Z, mean, scale = _centre(X[valid], standardize)
        U, s, Vt = scipy.linalg.svd(Z, full_matrices=False, check_finite=False)
        variances = s**2
        total = variances.sum()
        scores, Vt = U[:, :k] * s[:k], Vt[:k]
    else:
        from msdash.models import blocked  # blocks of rows or columns sized from the memory budget

        rows = np.flatnonzero(valid)
        mean, var = blocked.column_stats(X, rows, blocked.block_length(n_features))
        std = np.sqrt(var)
        scale = np.where(std > 0, std, 1.0) if standardize else np.ones(n_features)
        if n_features > n_valid:
            columns = blocked.block_length(n_valid, copies=2)
            gram, _ = blocked.column_gram(X, rows, rows[:0], mean, scale, columns)
            total = float(np.trace(gram))
            variances, U = blocked.top_eigh(gram, k)
            variances = np.clip(variances, 0.0, None)
            s = np.sqrt(variances)
            Vt = blocked.loadings(X, rows, mean, scale, U, columns) / np.where(s > 0, s, 1.0)[:, None]
            scores = U * s
        else:
            block = blocked.block_length(n_features)
            cov, _ = blocked.row_gram(X, rows, mean, block)
            blocked.scale_both_sides(cov, scale)
            total = float(np.trace(cov))
            variances, V = blocked.top_eigh(cov, k)
            variances = np.clip(variances, 0.0, None)
            Vt = V.T.copy()
            scores = blocked.project(X, rows, mean, scale, Vt, block)

    # sign: the largest-|loading| entry of every component is positive
    signs = np.sign(Vt[np.arange(k), np.argmax(np.abs(Vt), axis=1)])
    signs[signs == 0] = 1.0
    Vt, scores = Vt * signs[:, None], scores * signs

    ratio = variances[:k] / total if total > 0 else np.zeros(k)
    coords = np.full((X.shape[0], k), np.nan)
    coords[valid] = scores
    return PCAResult(coords=coords, explained_variance_ratio=ratio, explained_variance=variances[:k] / (n_valid - 1),
                     components=Vt, mean=mean, scale=scale, valid=valid, n_components=k)


def umap_map(X, *, n_neighbors=15, min_dist=0.1, metric="euclidean", random_state=42, standardize=False,
             n_jobs=None):
    """Two-dimensional UMAP embedding of a feature table, tolerant of failed (NaN) samples.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Feature table; rows with any NaN or infinite value are left out and get NaN coordinates.
    n_neighbors : int, default 15
        Size of the local neighbourhood; capped at n_valid - 1.
    min_dist : float, default 0.1
        How tightly points may be packed in the embedding.
    metric : str, default "euclidean"
        Any metric umap-learn accepts ("cosine" suits foundation-model embeddings).
    random_state : int or None, default 42
        Seed for a reproducible map. umap-learn runs single-threaded whenever a seed is given; ``None`` gives
        up reproducibility and lets it use all threads (much faster for tens of thousands of samples).
    standardize : bool, default False
        Scale columns to unit variance (ddof=0) first; zero-variance columns are left unscaled.
    n_jobs : int or None, default None
        Threads when ``random_state`` is None; None means all.

    Returns
    -------
    ndarray, shape (n_samples, 2)
        Embedding coordinates; NaN rows for samples left out.

    Raises
    ------
    InputError
        Fewer than 4 valid samples.

    Notes
    -----
    The first call in a process compiles numba code (20–30 s); :func:`warm_umap` does that ahead of time.
    """
    X = _check_table(X, "X")
    valid = np.isfinite(X).all(axis=1)
    n_valid = int(valid.sum())
    if n_valid < MIN_UMAP_SAMPLES:
        raise InputError(f"UMAP needs at least {MIN_UMAP_SAMPLES} samples without missing features, "
                         f"got {n_valid} of {X.shape[0]}", name="X")
    if int(n_neighbors) < 2:
        raise InputError(f"`n_neighbors` must be at least 2, got {n_neighbors}", name="n_neighbors")
    Z = _centre(X[valid], standardize)[0] if standardize else X[valid]

    import umap  # heavy (numba): only when a map is asked for

    reducer = umap.UMAP(n_components=2, n_neighbors=min(int(n_neighbors), n_valid - 1), min_dist=min_dist,
                        metric=metric, random_state=random_state, n_jobs=-1 if n_jobs is None else n_jobs)
    with warnings.catch_warnings():
        # the seed-forces-one-thread note is documented above; graph warnings on tiny sets are expected
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
        warnings.filterwarnings("ignore", message=".*not fully connected.*")
        embedding = reducer.fit_transform(Z)
    coords = np.full((X.shape[0], 2), np.nan)
    coords[valid] = embedding
    return coords


def warm_umap():
    """Fit UMAP once on a tiny random table so numba compiles before the user asks for a map.

    Returns
    -------
    float
        Seconds it took (20–30 s the first time in a fresh environment, well under a second once compiled).
    """
    started = time.perf_counter()
    umap_map(np.random.default_rng(0).normal(size=(60, 5)), n_neighbors=10)
    return time.perf_counter() - started


def pc_property_correlation(coords, properties, *, n_pcs=5):
    """Absolute Pearson correlation between map coordinates and every numeric property.

    ``|r| = |Σ (a - ā)(p - p̄)| / sqrt(Σ (a - ā)² Σ (p - p̄)²)`` over the rows where both the coordinate ``a``
    and the property ``p`` are finite (pairwise-complete).

    Parameters
    ----------
    coords : array_like, shape (n_samples, k)
        Map coordinates, e.g. ``PCAResult.coords``; NaN rows allowed.
    properties : pandas.DataFrame, n_samples rows
        Property table whose rows are aligned with ``coords`` by position. Non-numeric (and boolean) columns
        are skipped.
    n_pcs : int, default 5
        Leading coordinate columns to use (at most k).

    Returns
    -------
    pandas.DataFrame, shape (n_numeric_properties, min(n_pcs, k))
        Index = property names, columns "PC1".."PCk"; NaN where fewer than 3 complete pairs remain or either
        side is constant over them.

    Examples
    --------
    >>> coords = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0]])
    >>> props = pd.DataFrame({"vf": [0.1, 0.2, 0.3, 0.4], "paper": list("aabb"), "flat": [1.0] * 4})
    >>> pc_property_correlation(coords, props, n_pcs=2).round(3)
          PC1    PC2
    vf    1.0  0.447
    flat  NaN    NaN
    """
    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2:
        raise InputError(f"`coords` must be a 2-D array (n_samples, k), got shape {coords.shape}", name="coords")
    if not isinstance(properties, pd.DataFrame):
        raise InputError(f"`properties` must be a pandas DataFrame, got {type(properties).__name__}",
                         name="properties")
    if len(properties) != coords.shape[0]:
        raise InputError(f"`properties` has {len(properties)} rows but `coords` has {coords.shape[0]}; "
                         "they must be aligned row by row", name="properties")
    k = min(int(n_pcs), coords.shape[1])
    A = coords[:, :k]
    numeric = properties.select_dtypes(include="number")
    table = np.full((numeric.shape[1], k), np.nan)
    for i, column in enumerate(numeric.columns):
        p = numeric[column].to_numpy(dtype=float, na_value=np.nan)
        table[i] = _masked_abs_pearson(A, p)
    return pd.DataFrame(table, index=pd.Index(numeric.columns),
                        columns=[f"PC{j + 1}" for j in range(k)])


def selection_from_event(event):
    """Sample names selected in a Streamlit plotly chart, read from the points' ``customdata``.

    Parameters
    ----------
    event : dict-like or None
        What ``st.plotly_chart(..., on_select="rerun")`` returns: ``event["selection"]["points"]`` is a list of
        dicts whose ``customdata`` holds the sample name first (as :func:`msdash.plots.map_figure` puts it) or
        is the name itself. Point indices are ignored: they count within one trace, not the data set.

    Returns
    -------
    list of str
        Selected names in the order of the event, without repeats; ``[]`` when nothing usable is there.

    Examples
    --------
    >>> event = {"selection": {"points": [{"point_index": 3, "customdata": ["demo_003", 0.4]},
    ...                                   {"point_index": 0, "customdata": "demo_000"},
    ...                                   {"point_index": 3, "customdata": ["demo_003", 0.4]}],
    ...                        "point_indices": [3, 0, 3], "box": [], "lasso": []}}
    >>> selection_from_event(event)
    ['demo_003', 'demo_000']
    >>> selection_from_event(None), selection_from_event({"selection": {"point_indices": [1]}})
    ([], [])
    """
    points = _get(_get(event, "selection"), "points") or []
    names = {}
    for point in points:
        data = _get(point, "customdata")
        if isinstance(data, (list, tuple, np.ndarray)):
            data = data[0] if len(data) else None
        if data is not None:
            names.setdefault(str(data), None)
    return list(names)


def _get(container, key):
    """``container[key]`` or None, for dicts and Streamlit's attribute dicts alike."""
    if container is None:
        return None
    try:
        return container[key]
    except (KeyError, TypeError, IndexError):
        return getattr(container, key, None)


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


def _masked_abs_pearson(A, p):
    """|r| of every column of A (n, k) with p (n,) over pairwise-finite rows."""
    mask = np.isfinite(A) & np.isfinite(p)[:, None]
    count = mask.sum(axis=0)
    a = np.where(mask, A, 0.0)
    b = np.where(mask, p[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        da = np.where(mask, a - a.sum(axis=0) / count, 0.0)
        db = np.where(mask, b - b.sum(axis=0) / count, 0.0)
        r = np.abs((da * db).sum(axis=0)) / np.sqrt((da**2).sum(axis=0) * (db**2).sum(axis=0))
    # constant over the complete pairs: r is undefined (exact test, rounding would fake a value)
    constant = (_masked_ptp(A, mask) == 0) | (_masked_ptp(b, mask) == 0)
    r[(count < 3) | constant] = np.nan
    return np.minimum(r, 1.0)


def _masked_ptp(values, mask):
    top = np.max(values, axis=0, where=mask, initial=-np.inf)
    bottom = np.min(values, axis=0, where=mask, initial=np.inf)
    return top - bottom
