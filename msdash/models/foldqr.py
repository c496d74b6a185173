"""R factors of the centred rows of every inner fold, combined into the R factor of any union of folds.

Nested CV's inner training sets are the unions of all inner folds but one, and the refit uses all of them.
Where the covariance route is not accurate enough, a training set's components come from the SVD of the R
factor of its centred rows (:func:`msdash.models.blocked.tall_r`). QR-ing every training set costs, per outer
fold, K−1 + 1 = K passes over the outer training set's rows (5 at K = 5); :class:`FoldQR` QRs each fold's
rows once, centred on the fold's own mean (one pass), and builds a union U's R factor from the folds':

.. math::

    \\sum_{i \\in U} (x_i - m_U)(x_i - m_U)^T
        = \\sum_{k \\in U} \\big[R_k^T R_k + n_k (m_k - m_U)(m_k - m_U)^T\\big]

(the cross terms vanish: each fold's centred rows sum to zero). So the stack of the R_k and of the rows
``√n_k (m_k − m_U)ᵀ`` has the centred union's Gram matrix, and its R factor is the union's R up to the signs
of its rows: the same singular values and right singular vectors, exactly in exact arithmetic and through
orthogonal transformations only (backward stable, as the QR of the rows). Means are taken of ``x − shift``
(the table's column means), so a large offset per column does not cancel in ``m_k − m_U``.

Two triangles are merged by LAPACK's triangular–pentagonal QR (``dtpqrt``: about 2/3 d³ flops, a quarter of
a dense QR of the 2d × d stack). All-but-one unions reuse prefix and suffix products of the folds (3K − 5
merges per outer fold instead of K² − K − 1). Memory: 2K + 3 d×d float64 matrices (the folds', the
suffixes', the running prefix, two working copies), or K + 3 without the reuse (``reuse=False``, the merges
then redone for every union): :func:`fits` says whether they fit half the memory budget (at d = 4,225 and
K = 5, 1.9 GB of the default 5.9 GB on a 24 GB machine; the table itself is not counted in the budget).

References
----------
Demmel, Grigori, Hoemmen, Langou, "Communication-optimal parallel and sequential QR and LU factorizations",
SIAM J. Sci. Comput. 34 (2012) — the TSQR reduction tree.
"""

import numpy as np
from scipy.linalg.lapack import dtpqrt

from msdash.models import blocked

__all__ = ["FoldQR", "fits", "is_partition"]

_NB = 32  # dtpqrt's inner block size (32 was the fastest of 16/32/64 here)


def fits(n_folds, d, budget, *, reuse=True):
    """Whether the d×d float64 matrices of :class:`FoldQR` (``2 n_folds + 3``, or ``n_folds + 3`` without
    ``reuse``) fit half of ``budget`` bytes.

    >>> fits(5, 100, budget=2 * 13 * 8 * 100 * 100)
    True
    >>> fits(5, 100, budget=2 * 12 * 8 * 100 * 100)
    False
    >>> fits(5, 100, budget=2 * 8 * 8 * 100 * 100, reuse=False)
    True
    """
    return 2 * ((2 if reuse else 1) * n_folds + 3) * 8 * d * d <= budget


def is_partition(folds, rows):
    """Whether ``folds`` (arrays of row indices) are disjoint and together hold exactly the set ``rows``.

    >>> is_partition([np.array([0, 2]), np.array([1])], np.arange(3))
    True
    >>> is_partition([np.array([0, 2]), np.array([2, 1])], np.arange(3))
    False
    """
    joined = np.concatenate([np.asarray(f, dtype=np.intp) for f in folds]) if len(folds) else np.empty(0, int)
    rows = np.asarray(rows, dtype=np.intp)
    return len(joined) == len(rows) and np.array_equal(np.sort(joined), np.unique(rows))


class FoldQR:
    """R factors of the centred rows of every fold of a partition, and of any union of folds from them.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        The table (not copied; blocks of rows are).
    folds : list of ndarray of int
        Disjoint row sets (inner test folds of one outer training set).
    shift : ndarray, shape (d,)
        Subtracted from every row before means are taken (the table's column means).
    block : int
        Rows per block.
    reuse : bool
        Keep prefix and suffix products for the next all-but-one union (K + 1 more d×d matrices, about a
        third of the merges).

    Attributes
    ----------
    merges : int
        Triangle merges (``dtpqrt`` calls on two d×d factors) done so far.
    """

    def __init__(self, X, folds, shift, block, *, reuse=True):
        self.X, self.shift, self.block = X, np.asarray(shift, dtype=np.float64), int(block)
        self.folds = [np.asarray(f, dtype=np.intp) for f in folds]
        self.sizes = np.array([len(f) for f in self.folds], dtype=np.int64)
        self._label = np.full(len(X), -1, dtype=np.intp)
        for k, fold in enumerate(self.folds):
            self._label[fold] = k
        self._factors = [None] * len(self.folds)  # R_k, d×d upper triangular (Fortran order), built on demand
        self._means = np.zeros((len(self.folds), X.shape[1]))  # mean of x − shift over every fold (once built)
        self._suffix = {}  # j -> R of the folds j..K−1
        self._prefix = (0, None)  # (j, R of the folds 0..j−1), the last one built
        self.merges = 0
        self.reuse = bool(reuse)

    def members(self, rows):
        """The folds whose union is exactly ``rows`` (sorted fold indices), or None when it is no such union.
        """
        rows = np.asarray(rows, dtype=np.intp)
        labels = self._label[rows]
        if len(rows) == 0 or labels.min() < 0:
            return None
        counts = np.bincount(labels, minlength=len(self.folds))
        used = np.flatnonzero(counts)
        if not np.array_equal(counts[used], self.sizes[used]) or len(np.unique(rows)) != len(rows):
            return None
        return [int(k) for k in used]

    def r_factor(self, rows, scale=None):
        """R factor of the centred (and scaled) rows ``(X[rows] − mean(X[rows])) / scale``, or None when
        ``rows`` is not a union of folds.

        Parameters
        ----------
        rows : ndarray of int
        scale : ndarray, shape (d,), optional
            Column scales (the training set's standard deviations when standardising).

        Returns
        -------
        ndarray, shape (d, d) or None
            Upper triangular; ``Rᵀ R`` is the centred (scaled) scatter matrix of the rows.
        """
        members = self.members(rows)
        if members is None:
            return None
        r = self._union(members)
        sizes = self.sizes[members].astype(np.float64)
        means = self._means[members]
        union_mean = sizes @ means / sizes.sum()
        offsets = np.asfortranarray(np.sqrt(sizes)[:, None] * (means - union_mean))
        # the re-centring rows: the copy (overwrite_a=0) keeps the cached prefix/suffix factors intact
        r, *_, info = dtpqrt(0, min(_NB, r.shape[1]), r, offsets, overwrite_a=0, overwrite_b=1)
        _check(info)
        r = np.triu(r)
        if scale is not None:
            r /= scale
        return r

    def _factor(self, k):
        """R of fold k's rows centred on their mean, streaming row blocks into the triangle (built once, when a
        union first needs it: a single fallback costs no more rows than a QR of its own training set)."""
        if self._factors[k] is None:
            d, fold = self.X.shape[1], self.folds[k]
            total = np.zeros(d)
            for _, part in blocked.row_blocks(self.X, fold, self.block):
                part -= self.shift
                total += part.sum(axis=0)
            self._means[k] = total / len(fold)
            r = np.zeros((d, d), order="F")
            for _, part in blocked.row_blocks(self.X, fold, self.block):
                part -= self.shift
                part -= self._means[k]
                r, *_, info = dtpqrt(0, min(_NB, d), r, np.asfortranarray(part), overwrite_a=1, overwrite_b=1)
                _check(info)
            self._factors[k] = r
        return self._factors[k]

    def _merge(self, a, b):
        """R of the stack of two upper-triangular factors (a new array; neither argument changes)."""
        if a is None or b is None:
            return b if a is None else a
        self.merges += 1
        r, *_, info = dtpqrt(a.shape[1], min(_NB, a.shape[1]), a, b, overwrite_a=0, overwrite_b=0)
        _check(info)
        return r

    def _suffix_factor(self, j):
        """R of the folds j..K−1 (None when j = K), kept for the next leave-one-out unions."""
        last = len(self.folds)
        if j >= last:
            return None
        start = j
        while start < last and start not in self._suffix:
            start += 1
        for i in range(start - 1, j - 1, -1):
            self._suffix[i] = self._merge(self._factor(i), self._suffix.get(i + 1))
        return self._suffix[j]

    def _prefix_factor(self, j):
        """R of the folds 0..j−1 (None when j = 0), continuing the last prefix built when it is shorter."""
        have, r = self._prefix
        if have > j:
            have, r = 0, None
        for i in range(have, j):
            r = self._merge(r, self._factor(i))
        self._prefix = (j, r)
        return r

    def _union(self, members):
        """R of the union of the given folds (sorted indices), without re-centring rows."""
        everything = len(self.folds)
        if self.reuse and len(members) == everything:
            return self._prefix_factor(everything)
        if self.reuse and len(members) == everything - 1:
            j = sorted(set(range(everything)) - set(members))[0]
            return self._merge(self._prefix_factor(j), self._suffix_factor(j + 1))
        r = None
        for k in members:
            r = self._merge(r, self._factor(k))
        return r


def _check(info):
    if info != 0:
        raise np.linalg.LinAlgError(f"LAPACK dtpqrt failed (info={info})")
