"""Microstructure maps: PCA and UMAP of a feature table, PC–property correlations, map selections.

The maps themselves live in :mod:`msdash.pcamap` and :mod:`msdash.umapmap` and are re-exported here. umap (and
numba behind it) is imported inside the functions that need it, so ``import msdash.maps`` stays cheap.
"""

import numpy as np
import pandas as pd

from msdash.errors import InputError
from msdash.pcamap import MapCancelled, PCAResult, pca_map
from msdash.umapmap import (MIN_UMAP_SAMPLES, REDUCED_DIMS, UMAPResult, umap_embedding, umap_map, umap_peak_bytes,
                            warm_umap)

__all__ = ["PCAResult", "pca_map", "umap_map", "umap_embedding", "UMAPResult", "umap_peak_bytes", "warm_umap",
           "MapCancelled", "MIN_UMAP_SAMPLES", "REDUCED_DIMS", "pc_property_correlation", "selection_from_event"]

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
