"""A fitted property model's own space: the features as its steps before the regressor see them, predictions
and nearest-neighbour distances there, all in blocks of rows sized from the memory budget.

Shared by :mod:`msdash.ood` and :mod:`msdash.predict`, which both import it (never each other's back).
"""

import numpy as np


def _rows_per_block(width, budget=None):
    from msdash.models.blocked import block_length

    return block_length(width, budget=budget)


def model_space(pipeline, X, *, budget=None):
    """Transform ``X`` through every step of ``pipeline`` except the final regressor, in blocks of rows.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline (fitted)
    X : array_like, shape (n_samples, n_features)
    budget : int, optional
        Memory budget in bytes (a block takes 1/16 of it, at most 128 MiB); default
        :func:`msdash.config.memory_budget`.

    Returns
    -------
    ndarray, shape (n_samples, k)
        E.g. the PCA scores the regressor sees (before polynomial expansion, which is dropped so that
        distances stay in PC units).
    """
    X = np.asarray(X, dtype=float)
    steps = []
    for name, step in pipeline.steps[:-1]:
        if name in ("poly", "polynomialfeatures"):
            break
        steps.append(step)
    if not steps:
        return X
    parts, rows = [], _rows_per_block(X.shape[1], budget)
    for start in range(0, len(X), rows):
        part = X[start:start + rows]
        for step in steps:
            part = step.transform(part)
        parts.append(np.asarray(part, dtype=float))
    return np.concatenate(parts) if parts else np.empty((0, 0))


def predict(pipeline, X, *, budget=None):
    """``pipeline.predict(X)`` in blocks of rows, so that no step holds a transformed copy of all of ``X``.

    Parameters
    ----------
    pipeline : fitted Pipeline
    X : array_like, shape (n_samples, n_features)
    budget : int, optional
        As in :func:`model_space`.

    Returns
    -------
    ndarray, shape (n_samples,)
    """
    X = np.asarray(X, dtype=float)
    step = _rows_per_block(X.shape[1], budget)
    out = np.empty(len(X))
    for start in range(0, len(X), step):
        out[start:start + step] = pipeline.predict(X[start:start + step])
    return out


def nearest_distance(reference, queries, *, exclude_self=False, budget=None):
    """Euclidean distance from every query point to its nearest reference point, by blocks of queries.

    Distances come from ``|q|² − 2 q·r + |r|²`` (one matrix product per block); the few smallest of each row
    are then recomputed as ``|q − r|`` directly, so the returned distance is exact and near ties cannot hide
    behind cancellation. A k-d tree is slow beyond ~10 dimensions (PCA spaces have up to 50).

    Parameters
    ----------
    reference : ndarray, shape (n_reference, k)
    queries : ndarray, shape (n_queries, k)
    exclude_self : bool
        ``queries`` is ``reference``: skip each point itself (a duplicate still counts, at distance 0).
    budget : int, optional
        A block of distances takes 1/16 of it (at most 128 MiB); default :func:`msdash.config.memory_budget`.

    Returns
    -------
    ndarray, shape (n_queries,)

    Examples
    --------
    >>> ref = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0]])
    >>> nearest_distance(ref, np.array([[0.0, 1.0]])), nearest_distance(ref, ref, exclude_self=True)
    (array([1.]), array([5., 0., 0.]))
    """
    reference, queries = np.asarray(reference, dtype=float), np.asarray(queries, dtype=float)
    ref_sq = np.einsum("ij,ij->i", reference, reference)
    shortlist = min(4, len(reference) - int(exclude_self))
    out = np.empty(len(queries))
    step = _rows_per_block(len(reference), budget)
    for start in range(0, len(queries), step):
        block = queries[start:start + step]
        squared = ref_sq[None, :] - 2.0 * (block @ reference.T)
        squared += np.einsum("ij,ij->i", block, block)[:, None]
        if exclude_self:
            squared[np.arange(len(block)), start + np.arange(len(block))] = np.inf
        near = np.argpartition(squared, shortlist - 1, axis=1)[:, :shortlist]
        exact = np.linalg.norm(block[:, None, :] - reference[near], axis=2)
        out[start:start + len(block)] = exact.min(axis=1)
    return out
