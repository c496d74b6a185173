"""Linear algebra on a big table in blocks of rows or columns sized from the memory budget.

Nothing here copies the whole table: every function gathers a block of rows (``np.take`` into one
preallocated buffer) or a block of columns, works on it and accumulates a small result (a d×d or n×n
matrix, a score table). The block holds at most ``min(memory_budget() / 16, 128 MiB)`` (:func:`block_length`), so
with the accumulated matrices a call holds the table plus a few ``min(n, d)²`` matrices plus that block.

Sums of squares are accumulated after a shift (the column means of the rows concerned), so the Gram
entries are of the size of the variance rather than of the squared mean: no cancellation when a column has
a large offset.
"""

import numpy as np
import scipy.linalg
from scipy.linalg.blas import dsyrk

__all__ = ["block_length", "row_blocks", "column_stats", "row_gram", "column_gram", "project", "tall_r", "wide_r",
           "symmetrize", "constant_columns", "top_eigh", "loadings", "subtract_outer",
           "scale_both_sides", "distinct_columns"]

BLOCK_SHARE = 16  # a block may hold 1/16 of the memory budget …
MAX_BLOCK_BYTES = 128 * 1024**2  # … and at most 128 MiB: thousands of rows, BLAS gains nothing from more
MIN_BLOCK = 16  # rows (or columns) per block whatever the budget, so BLAS still gets some work
EIGH_THREADS = 1  # BLAS threads of the symmetric eigensolver (see top_eigh)


def block_length(other, *, budget=None, copies=1):
    """Rows (or columns) per block so that ``copies`` float64 blocks of ``other`` values per row fit 1/16 of
    the memory budget (:func:`msdash.config.memory_budget` when ``budget`` is None) and 128 MiB; at least 16.

    >>> block_length(1000, budget=16 * 8 * 1000 * 50)
    50
    """
    if budget is None:
        from msdash.config import memory_budget

        budget = memory_budget()
    share = min(int(budget) // BLOCK_SHARE, MAX_BLOCK_BYTES)
    return max(MIN_BLOCK, share // (8 * max(1, other) * max(1, copies)))


def row_blocks(X, rows, block, buffer=None):
    """Yield ``(slice into rows, X[rows[slice]])`` gathered into one reused buffer (``block`` rows at most;
    the caller may change the yielded block in place)."""
    rows = np.asarray(rows, dtype=np.intp)
    if len(rows) and (rows.min() < -len(X) or rows.max() >= len(X)):
        raise IndexError(f"row indices out of range for a table of {len(X)} rows")
    rows = np.where(rows < 0, rows + len(X), rows)
    block = max(1, min(block, len(rows)))
    if buffer is None:
        buffer = np.empty((block, X.shape[1]))
    for start in range(0, len(rows), block):
        part = slice(start, min(start + block, len(rows)))
        out = buffer[:part.stop - part.start]
        # indices checked above; mode="raise" would gather into a hidden temporary and copy it (10× slower)
        np.take(X, rows[part], axis=0, out=out, mode="clip")
        yield part, out


_row_blocks = row_blocks  # the earlier private name (msdash.ood imports it)


def column_stats(X, rows, block, progress=None):
    """Column mean and variance (ddof=0) of ``X[rows]`` by two passes over row blocks (as scikit-learn's
    ``StandardScaler``: the second pass sums squared deviations from the first pass's mean).

    ``progress``, when given, is called after every block with the fraction of the work done (in (0, 1]); this
    holds for every function here that takes it.

    Returns
    -------
    mean, var : ndarray, shape (n_features,)
    """
    n = len(rows)
    total = np.zeros(X.shape[1])
    for part_rows, part in row_blocks(X, rows, block):
        total += part.sum(axis=0)
        _report(progress, part_rows.stop, 2 * n)
    mean = total / n
    squares = np.zeros(X.shape[1])
    for part_rows, part in row_blocks(X, rows, block):
        part -= mean
        squares += np.einsum("ij,ij->j", part, part)
        _report(progress, n + part_rows.stop, 2 * n)
    return mean, squares / n


def _report(progress, done, total):
    if progress is not None:
        progress(done / max(total, 1))


def constant_columns(var, mean, n):
    """Columns scikit-learn's ``StandardScaler`` treats as constant (scale 1): the variance is within the
    rounding bound of the two-pass algorithm, ``var <= n·eps·var + (n·mean·eps)²``."""
    eps = np.finfo(np.float64).eps
    return var <= n * eps * var + (n * mean * eps) ** 2


def symmetrize(upper, step=512):
    """Copy the upper triangle of a square matrix onto its lower one, in place, a band of rows at a time."""
    n = len(upper)
    for start in range(0, n, step):
        stop = min(start + step, n)
        upper[start:stop, :start] = upper[:start, start:stop].T
        band = upper[start:stop, start:stop]
        band[:] = np.triu(band) + np.triu(band, 1).T
    return upper


def row_gram(X, rows, shift, block, out=None, progress=None):
    """``Σ_i (x_i − shift)(x_i − shift)ᵀ`` and ``Σ_i (x_i − shift)`` over ``i ∈ rows``.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    rows : ndarray of int
    shift : ndarray, shape (d,)
    block : int
        Rows per block.
    out : ndarray, shape (d, d), Fortran order, optional
        Accumulated into (``+=``) when given; only its upper triangle is read and written until the end.

    Returns
    -------
    gram : ndarray, shape (d, d)
        Symmetric, Fortran order.
    total : ndarray, shape (d,)
    """
    d = X.shape[1]
    gram = np.zeros((d, d), order="F") if out is None else out
    total = np.zeros(d)
    for part_rows, part in row_blocks(X, rows, block):
        part -= shift
        total += part.sum(axis=0)
        # Σ over the block of z zᵀ = Aᵀ A with A the block; as a Fortran array the C-ordered block is Aᵀ,
        # so syrk (trans=0) updates the upper triangle in place without copying the block
        gram = dsyrk(1.0, part.T, beta=1.0, c=gram, trans=0, lower=0, overwrite_c=1)
        _report(progress, part_rows.stop, len(rows))
    return symmetrize(gram), total


def column_gram(X, rows, others, mean, scale, block, progress=None):
    """Gram matrix of the centred (and scaled) rows ``Z = (X[rows] − mean) / scale`` and the cross products
    of other rows with them, accumulated over blocks of columns.

    Returns
    -------
    gram : ndarray, shape (len(rows), len(rows))
        ``Z Zᵀ``.
    cross : ndarray, shape (len(others), len(rows))
        ``((X[others] − mean) / scale) Zᵀ``.
    """
    rows, others = np.asarray(rows, dtype=np.intp), np.asarray(others, dtype=np.intp)
    gram = np.zeros((len(rows), len(rows)), order="F")
    cross = np.zeros((len(others), len(rows)))
    for start in range(0, X.shape[1], block):
        cols = slice(start, min(start + block, X.shape[1]))
        part = X[rows, cols]
        part -= mean[cols]
        part /= scale[cols]
        gram = dsyrk(1.0, part, beta=1.0, c=gram, trans=0, lower=0, overwrite_c=1)
        if len(others):
            other = X[others, cols]
            other -= mean[cols]
            other /= scale[cols]
            cross += other @ part.T
        _report(progress, cols.stop, X.shape[1])
    return symmetrize(gram), cross


def project(X, rows, mean, scale, components, block, progress=None):
    """Scores ``((X[rows] − mean) / scale) @ components.T`` by row blocks.

    Parameters
    ----------
    components : ndarray, shape (k, d)

    Returns
    -------
    ndarray, shape (len(rows), k)
    """
    scores = np.empty((len(rows), components.shape[0]))
    for part_rows, part in row_blocks(X, rows, block):
        part -= mean
        if scale is not None:
            part /= scale
        scores[part_rows] = part @ components.T
        _report(progress, part_rows.stop, len(rows))
    return scores


def tall_r(X, rows, mean, scale, block):
    """R of the QR factorisation of ``(X[rows] − mean) / scale`` (d×d when len(rows) >= d), by stacking R
    with one row block at a time (TSQR). Its singular values and right singular vectors are those of the
    centred table, to the accuracy of a Householder QR: the SVD's accuracy, without the table in memory.
    """
    r = None
    for _, part in row_blocks(X, rows, max(block, X.shape[1])):
        part -= mean
        part /= scale
        stacked = part if r is None else np.vstack([r, part])
        r = np.linalg.qr(stacked, mode="r")
    return r


def wide_r(X, rows, mean, scale, block):
    """R of the QR factorisation of ``((X[rows] − mean) / scale)ᵀ`` (len(rows) × len(rows) when d >= rows),
    stacking column blocks: ``Z = Rᵀ Qᵀ``, so the left singular vectors and singular values of the centred
    rows are those of ``Rᵀ``."""
    rows = np.asarray(rows, dtype=np.intp)
    r = None
    for start in range(0, X.shape[1], max(block, len(rows))):
        cols = slice(start, min(start + max(block, len(rows)), X.shape[1]))
        part = X[rows, cols]
        part -= mean[cols]
        part /= scale[cols]
        stacked = part.T if r is None else np.vstack([r, part.T])
        r = np.linalg.qr(stacked, mode="r")
    return r


def top_eigh(matrix, k):
    """The ``k`` largest eigenvalues (descending) and eigenvectors of a symmetric matrix, overwriting it.

    On one BLAS thread: the tridiagonal reduction is half matrix–vector work that threads barely speed up, and
    on a busy 2-core machine two OpenBLAS threads made it 4× slower (d = 2,113: 0.46 s → 1.9 s; d = 4,225:
    5.9 s → 26 s), which dominated nested CV on tall tables (60 of these per run).
    """
    from threadpoolctl import threadpool_limits

    n = len(matrix)
    k = min(k, n)
    with threadpool_limits(limits=EIGH_THREADS):
        values, vectors = scipy.linalg.eigh(matrix, subset_by_index=[n - k, n - 1], overwrite_a=True,
                                            check_finite=False)
    return values[::-1], vectors[:, ::-1]


def loadings(X, rows, mean, scale, left, block, progress=None):
    """``leftᵀ Z`` with ``Z = (X[rows] − mean) / scale``, over blocks of columns (the right singular vectors
    of the wide route, up to scaling).

    Parameters
    ----------
    left : ndarray, shape (len(rows), k)

    Returns
    -------
    ndarray, shape (k, d)
    """
    rows = np.asarray(rows, dtype=np.intp)
    out = np.empty((left.shape[1], X.shape[1]))
    for start in range(0, X.shape[1], block):
        cols = slice(start, min(start + block, X.shape[1]))
        part = X[rows, cols]
        part -= mean[cols]
        part /= scale[cols]
        out[:, cols] = left.T @ part
        _report(progress, cols.stop, X.shape[1])
    return out


def subtract_outer(matrix, a, b, step=512):
    """``matrix -= outer(a, b)`` in place, a band of rows at a time (no second d×d array)."""
    for start in range(0, len(matrix), step):
        band = slice(start, min(start + step, len(matrix)))
        matrix[band] -= a[band, None] * b[None, :]
    return matrix


def scale_both_sides(matrix, scale, step=512):
    """``matrix /= outer(scale, scale)`` in place, by bands of rows."""
    for start in range(0, len(matrix), step):
        band = slice(start, min(start + step, len(matrix)))
        matrix[band] /= scale[band, None] * scale[None, :]
    return matrix


def distinct_columns(X, rows=None, *, budget=None):
    """The distinct columns of ``X[rows]``, each weighted by the square root of its multiplicity, when some
    columns are exact copies of others (a two-point autocorrelation window holds every value twice:
    S2(r) = S2(−r)).

    With P the d×r 0/1 map of columns to their distinct column and W = diag(√multiplicity), ``X = (X_u W)
    (W⁻¹ Pᵀ)`` where the right factor has orthonormal rows, so ``Y = X_u W`` (n×r) has the same covariance
    eigenvalues, scores and (mapped back, ``v_j = v_Y[u(j)] / w_u(j)``) components as X, exactly: the r×r
    eigenproblems cost (r/d)³, the Gram builds (r/d)² of the d×d ones. Copies are found by two exact
    column sums (the same operations on equal columns give equal bits) and checked value by value.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    rows : ndarray of int, optional
        Rows to use (all by default); Y has one row per entry, in that order.
    budget : int, optional
        Bytes; default :func:`msdash.config.memory_budget`.

    Returns
    -------
    (Y, inverse, weights) or None
        ``Y`` (len(rows), r); ``inverse`` (d,) the distinct column of every column; ``weights`` (r,) the
        square roots of the multiplicities.
        None when no column repeats, or when Y (n·r float64) would take more than a quarter of the budget.
    """
    d = X.shape[1]
    rows = np.arange(len(X)) if rows is None else np.asarray(rows, dtype=np.intp)
    n = len(rows)
    if budget is None:
        from msdash.config import memory_budget

        budget = memory_budget()
    block = block_length(d, budget=budget)
    weights_rows = np.random.default_rng(0).random(n)
    signature = np.zeros((d, 2))
    for part_rows, part in row_blocks(X, rows, block):
        signature[:, 0] += part.sum(axis=0)
        signature[:, 1] += (part * weights_rows[part_rows, None]).sum(axis=0)
    _, first, inverse, counts = np.unique(signature, axis=0, return_index=True, return_inverse=True,
                                          return_counts=True)
    r = len(first)
    if r == d or 4 * 8 * n * r > budget:
        return None
    order = np.argsort(first)  # keep the table's column order
    label = np.empty(r, dtype=np.intp)
    label[order] = np.arange(r)
    first, counts, inverse = first[order], counts[order], label[inverse.ravel()]
    copies = np.flatnonzero(counts[inverse] > 1)
    weights = np.sqrt(counts.astype(np.float64))
    Y = np.empty((n, r))
    for part_rows, part in row_blocks(X, rows, block):
        if not np.array_equal(part[:, copies], part[:, first[inverse[copies]]]):
            return None  # equal signatures of different columns: merge nothing
        np.multiply(part[:, first], weights, out=Y[part_rows])
    return Y, inverse, weights
