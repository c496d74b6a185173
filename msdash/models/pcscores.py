"""Principal-component scores of the training/test splits of one table, without copying the table.

Nested CV fits a PCA on 61 training sets per outer fold (5 inner × 12 candidates share one decomposition
each, plus the refit). :class:`PCScores` gives each training set T its leading components through the
cheaper of two symmetric eigenproblems, never through an SVD of the n_T × d training set (which holds
U, a copy of the set and LAPACK's workspace: 8.8 GB for 45,000 × 4,225):

- **covariance** (``n_features <= n_samples``): ``C_T = Σ_{i∈T} (x_i − m_T)(x_i − m_T)ᵀ`` (d×d). With
  ``z = x − c`` (c the column means of the whole table, so sums of squares do not cancel),
  ``C_T = G_T − n_T μ μᵀ`` where ``G_T = Σ_T z zᵀ`` and ``μ`` the mean of z over T. ``G`` of the whole table
  is computed once in row blocks; a training set's ``G_T`` is that minus the Gram of the rows it leaves out
  (``G_train = G_all − G_test`` for an outer fold; inner sets subtract their inner test fold from that), or
  summed directly when it is the smaller side. Scores ``(x − m_T) V`` are computed in row blocks.
- **Gram** (``n_features > n_samples``): ``K = Z Zᵀ`` (n×n) of the whole table, once, by column blocks; a
  training set's centred block ``H K[T,T] H`` gives scores ``U √Λ``, a test row ``k_eᵀ U / √Λ``.

With a ``StandardScaler`` before the PCA (``standardize=True``), the covariance route divides ``C_T`` by the
training set's column scales (``C_T / (s sᵀ)``, scales from an exact two-pass over T as scikit-learn's, with
its rule for constant columns); the Gram route recomputes ``Ẑ_T Ẑ_Tᵀ`` per training set by column blocks.

**Accuracy.** Both routes square the condition number: a rounding error of ~``ε·tr(C)`` in C moves the span of
the first j components by an angle of about ``δ_j = 8 ε tr(C) / (λ_j − λ_{j+1})`` (Davis–Kahan), where the
SVD of the centred data reaches ``8 ε √tr(C) (σ_j + σ_{j+1}) / (λ_j − λ_{j+1})``. Every regressor after the PCA
(OLS, degree-2 OLS, ridge, SVRs) depends on the span of the first j scores only, so ``δ_j`` bounds the relative
change of the predictions per unit of the score scale. :data:`SPAN_TOL` (1e-7) keeps predictions within
~1e-7 relative of the SVD's, far below the differences between neighbouring numbers of PCs in the inner
search (1..50) and within the 1e-6 (MAPE %) agreement the tests demand against ``GridSearchCV``. When a
training set has a j ≤ k with ``δ_j > SPAN_TOL`` and ``λ_j < tr(C)/400`` (where the SVD is at least 10×
more accurate), its components come from an SVD instead: of the R factor of a QR of the centred rows built
one row block at a time (TSQR), so memory stays bounded there too. Where λ_j is large and nearly degenerate
no route is accurate and none is preferred (scikit-learn's own choice is then rounding-dependent).

**One QR per inner fold.** Inside an outer training set whose inner test folds are known
(:meth:`PCScores.restrict` with ``folds``), a training set that is a union of folds (every inner training
set, and the refit) gets that R factor from one QR of each fold's centred rows instead
(:class:`msdash.models.foldqr.FoldQR`: the other folds' factors plus re-centring rows, exact), when the
factors fit half the budget: one pass over the outer training set's rows instead of K.

**Repeated columns.** On the covariance route, columns that are exact copies of another (every two-point
autocorrelation window holds each value twice, S2(r) = S2(−r)) are merged first into one column weighted by
√multiplicity (:func:`_distinct_columns`): an exact identity, so the same components, scores and fold
scores, from r×r eigenproblems instead of d×d (8× less work at r ≈ d/2) and Gram builds 4× smaller.

Every block holds at most ``min(memory_budget() / 16, 128 MiB)`` (:mod:`msdash.models.blocked`); besides the table,
one call holds about four ``min(n, d)²`` float64 matrices (G of the whole table, of the outer training set,
the working copy and LAPACK's): 0.6 GB at d = 4,225 (0.13 GB at the 2,050 distinct columns of a 64×64 periodic
two-point window), plus the merged copy of the distinct columns when there is one, only made when it fits a
quarter of the budget (0.8 GB for 50,000 such windows).
"""

import numpy as np
from sklearn.base import clone

from msdash.models import blocked, foldqr

__all__ = ["PCScores", "SPAN_TOL"]

SPAN_TOL = 1e-7  #: largest tolerated rounding angle of the span of the first j components (see above)
_NOISE = 8 * np.finfo(np.float64).eps  # typical rounding of C (forming it, subtracting, eigh), per unit trace
_SMALL_TAIL = 1 / 400  # λ_j < tr/400: the SVD is >= 10× more accurate there


class PCScores:
    """Principal-component scores of any training/test split of one table, by the cheaper route.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features), float64
        Not copied; only blocks of it are.
    pre : sklearn transformer, optional
        Unfitted steps before the PCA other than a plain ``StandardScaler`` (fitted on copies of each
        training set: the general path, without the memory bound).
    standardize : bool
        A ``StandardScaler`` before the PCA, fitted on each training set (handled in the decomposition).
    budget : int, optional
        Bytes for blocks; default :func:`msdash.config.memory_budget`.

    Attributes
    ----------
    route : {"covariance", "gram", "generic"}
    n_features : int
        Columns of the table (``X`` here may hold only its distinct columns, see below).
    fallbacks : int
        Training sets decomposed by the (blocked) SVD because the cheaper route was not accurate enough.
    fold_factors : int
        Of those, the ones whose R factor came from the inner folds' factors (:class:`FoldQR`).
    """

    def __init__(self, X, pre=None, *, standardize=False, budget=None, _parent=None, _rows=None, _folds=None):
        self.pre, self.standardize, self.budget = pre, bool(standardize), budget
        n, d = X.shape
        self.route = "generic" if pre is not None else ("gram" if d > n else "covariance")
        self.n_features = d if _parent is None else _parent.n_features
        # (inverse, weights) when self.X holds the table's distinct columns, weighted (see _distinct_columns)
        self._merged = None if _parent is None else _parent._merged
        if _parent is None and self.route == "covariance":
            distinct = _distinct_columns(X, budget)
            if distinct is not None:
                X, *merged = distinct
                self._merged = tuple(merged)
        self.X = X
        self.fallbacks = self.fold_factors = 0
        self._folds, self._fold_qr = _folds, None  # the inner test folds of an outer training set (restrict)
        self._parent, self._rows = _parent, _rows
        self._shift = None if _parent is None else _parent._shift
        self._base = None  # (rows, G, total) of the covariance route
        self.gram = None if _parent is None else _parent.gram  # K of the whole table (unscaled Gram route)
        self._row_block = blocked.block_length(X.shape[1], budget=budget)
        self._col_block = blocked.block_length(n, budget=budget, copies=2)

    @property
    def small(self):
        """Whether every per-split computation is small enough that BLAS threads cost more than they gain."""
        n, d = self.X.shape
        return min(n, d) <= 256 and n * d <= 4_000_000

    def _root(self):
        return self if self._parent is None else self._parent._root()

    def _shift_vector(self):
        root = self._root()
        if root._shift is None:
            root._shift, _ = blocked.column_stats(self.X, np.arange(len(self.X)), self._row_block)
        self._shift = root._shift
        return self._shift

    def _base_gram(self):
        """``(rows, G, total)`` of this object's base set (the whole table, or the rows of :meth:`restrict`)."""
        if self._base is None:
            if self._parent is None:
                rows = np.arange(len(self.X))
                self._base = (rows, *blocked.row_gram(self.X, rows, self._shift_vector(), self._row_block))
            else:
                self._base = (self._rows, *self._parent._subset_gram(self._rows))
        return self._base

    def _subset_gram(self, rows):
        """``Σ_{rows} z zᵀ`` and ``Σ_{rows} z``: from the base minus the rest when that is smaller."""
        shift = self._shift_vector()
        if self._parent is None and self._base is None and 2 * len(rows) <= len(self.X):
            return blocked.row_gram(self.X, rows, shift, self._row_block)
        base_rows, gram, total = self._base_gram()
        inside = np.zeros(len(self.X), dtype=bool)
        inside[base_rows] = True
        if not inside[rows].all() or 2 * len(rows) <= len(base_rows):
            return blocked.row_gram(self.X, rows, shift, self._row_block)
        inside[rows] = False
        rest, rest_total = blocked.row_gram(self.X, np.flatnonzero(inside), shift, self._row_block)
        np.subtract(gram, rest, out=rest)
        return rest, total - rest_total

    def restrict(self, rows, folds=None):
        """The same scores for training sets inside ``rows`` (an outer training set), reusing its Gram.

        Parameters
        ----------
        rows : ndarray of int
        folds : list of ndarray of int, optional
            The inner test folds, when they partition ``rows``: training sets that are unions of folds then
            take their SVD fallback from one QR per fold (:class:`msdash.models.foldqr.FoldQR`).
        """
        if self.route != "covariance":
            return self
        rows = np.sort(np.asarray(rows, dtype=np.intp))
        if folds is not None and not foldqr.is_partition(folds, rows):
            folds = None
        return PCScores(self.X, standardize=self.standardize, budget=self.budget, _parent=self, _rows=rows,
                        _folds=folds)

    def __call__(self, train, test, k):
        """Scores of ``X[train]`` and ``X[test]`` on the first ``k`` components fitted on ``X[train]``.

        Returns
        -------
        train_scores : ndarray, shape (len(train), k)
        test_scores : ndarray, shape (len(test), k)
        """
        train, test = np.asarray(train, dtype=np.intp), np.asarray(test, dtype=np.intp)
        if self.route == "generic":
            return _generic_scores(self.X, self.pre, train, test, k)
        if self.route == "gram":
            return self._gram_scores(train, test, k)
        mean, scale, components, _, _ = self._components(train, k)
        return (blocked.project(self.X, train, mean, scale, components, self._row_block),
                blocked.project(self.X, test, mean, scale, components, self._row_block))

    def components(self, rows, k):
        """Mean, scale and the first ``k`` components of the PCA fitted on ``X[rows]``.

        Returns
        -------
        mean : ndarray, shape (n_features,)
        scale : ndarray, shape (n_features,) or None
            The training set's standard deviations (constant columns 1) when standardising, else None.
        components : ndarray, shape (k, n_features)
            Orthonormal rows, in decreasing order of variance (signs arbitrary).
        variances : ndarray, shape (k,)
            Eigenvalues of the centred (scaled) scatter matrix, i.e. squared singular values.
        total : float
            Its trace (sum of all squared singular values).
        """
        mean, scale, components, variances, total = self._components(np.asarray(rows, dtype=np.intp), k)
        if self._merged is not None:  # back from the distinct (weighted) columns to every column of the table
            inverse, weights = self._merged
            mean = mean[inverse] / weights[inverse]
            scale = None if scale is None else scale[inverse]
            components = components[:, inverse] / weights[inverse]
        return mean, scale, components, variances, total

    def _components(self, rows, k):
        """:meth:`components` in the columns of ``self.X`` (the distinct weighted columns when merged)."""
        mean, scale, constant = self._mean_scale(rows)
        if self.route == "gram":
            if not self.standardize:
                mean = blocked.column_stats(self.X, rows, self._row_block)[0]
            left, values, total, _ = self._gram_decomposition(rows, mean, scale, k)
            singular = np.sqrt(np.clip(values[:k], 0.0, None))
            vt = blocked.loadings(self.X, rows, mean, scale, left[:, :k], self._col_block)
            vt /= np.where(singular > 0, singular, 1.0)[:, None]
            return mean, (scale if self.standardize else None), vt, values[:k], total
        cov, total_z = self._subset_gram(rows)
        mu = total_z / len(rows)
        blocked.subtract_outer(cov, len(rows) * mu, mu)
        if self.standardize:
            blocked.scale_both_sides(cov, scale)
            cov[constant, :] = 0.0  # StandardScaler leaves them unscaled: ~0 on the training set
            cov[:, constant] = 0.0
        else:
            mean = self._shift_vector() + mu
        total = float(np.trace(cov))
        values, vectors = blocked.top_eigh(cov, k + 1)
        del cov
        if _needs_svd(values, total, k):
            self.fallbacks += 1
            r = self._fold_r(rows, scale if self.standardize else None)
            if r is None:
                r = blocked.tall_r(self.X, rows, mean, scale, self._row_block)
            _, s, vt = np.linalg.svd(r, full_matrices=False)
            return mean, (scale if self.standardize else None), vt[:k], s[:k] ** 2, total
        return mean, (scale if self.standardize else None), vectors[:, :k].T.copy(), values[:k], total

    def _fold_r(self, rows, scale):
        """R factor of the centred (scaled) ``X[rows]`` from the inner folds' factors, or None when ``rows``
        is no union of the folds (or there are none, or their factors would not fit the budget)."""
        if self._folds is None:
            return None
        if self._fold_qr is None:
            budget = self.budget
            if budget is None:
                from msdash.config import memory_budget

                budget = memory_budget()
            reuse = foldqr.fits(len(self._folds), self.X.shape[1], budget)
            if not reuse and not foldqr.fits(len(self._folds), self.X.shape[1], budget, reuse=False):
                self._folds = None
                return None
            self._fold_qr = foldqr.FoldQR(self.X, self._folds, self._shift_vector(), self._row_block,
                                          reuse=reuse)
        r = self._fold_qr.r_factor(rows, scale)
        self.fold_factors += r is not None
        return r

    def _mean_scale(self, rows):
        """Exact mean, scale and constant columns of the rows when standardising (else the table's column
        means, ones and none)."""
        d = self.X.shape[1]
        if not self.standardize:
            return self._shift_vector(), np.ones(d), np.empty(0, dtype=np.intp)
        mean, var = blocked.column_stats(self.X, rows, self._row_block)
        constant = blocked.constant_columns(var, mean, len(rows))  # the rule is invariant to the column weights
        std = np.sqrt(var) if self._merged is None else np.sqrt(var) / self._merged[1]  # the table's own scale
        return mean, np.where(constant, 1.0, std), np.flatnonzero(constant)

    def _gram_decomposition(self, rows, mean, scale, k, test=None):
        """Top eigenpairs of the centred Gram of the rows (SVD of the TSQR factor when needed), and the
        centred cross products of ``test`` rows with them."""
        if self.standardize:
            test = np.empty(0, dtype=np.intp) if test is None else test
            centred, cross = blocked.column_gram(self.X, rows, test, mean, scale, self._col_block)
        else:
            if self.gram is None:
                every = np.arange(len(self.X))
                self._root().gram, _ = blocked.column_gram(self.X, every, every[:0], self._shift_vector(),
                                                           np.ones(self.X.shape[1]), self._col_block)
                self.gram = self._root().gram
            centred, cross = _centred_block(self.gram, rows, np.empty(0, np.intp) if test is None else test)
        total = float(np.trace(centred))
        values, vectors = blocked.top_eigh(centred, k + 1)
        if _needs_svd(values, total, k):
            self.fallbacks += 1
            exact_mean = blocked.column_stats(self.X, rows, self._row_block)[0] if not self.standardize else mean
            r = blocked.wide_r(self.X, rows, exact_mean, scale, self._col_block)
            u, s, _ = np.linalg.svd(r.T, full_matrices=False)
            values, vectors = s ** 2, u
        return vectors, values, total, cross

    def _gram_scores(self, train, test, k):
        mean, scale, _ = self._mean_scale(train)
        vectors, values, _, cross = self._gram_decomposition(train, mean, scale, k, test)
        singular = np.sqrt(np.clip(values[:k], 0.0, None))
        inverse = np.divide(1.0, singular, out=np.zeros_like(singular), where=singular > 0)
        vectors = vectors[:, :k]
        return vectors * singular, (cross @ vectors) * inverse


def _distinct_columns(X, budget):
    """:func:`msdash.models.blocked.distinct_columns` of the whole table (a name tests can replace)."""
    return blocked.distinct_columns(X, budget=budget)


def _needs_svd(values, total, k):
    """Whether the first ``k`` components from a squared (covariance or Gram) matrix with top eigenvalues
    ``values`` (descending, ``min(k + 1, dim)`` of them) and trace ``total`` are less accurate than
    :data:`SPAN_TOL` where an SVD would be markedly better (see the module docstring)."""
    lam = np.clip(np.asarray(values, dtype=float), 0.0, None)
    k = min(k, len(lam) - 1)  # the span of all dim components is the whole space: exact whatever the route
    gaps = lam[:k] - lam[1:k + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        span_error = _NOISE * total / gaps
    uncertain = ~(span_error <= SPAN_TOL)  # NaN (0/0) counts as uncertain
    return bool(np.any(uncertain & (lam[:k] < _SMALL_TAIL * total)))


def _centred_block(gram, train, test):
    """``H K[T,T] H`` and the centred cross products of the test rows, from the Gram of the whole table."""
    block = gram[np.ix_(train, train)]
    row_mean = block.mean(axis=1)
    grand_mean = row_mean.mean()
    centred = block - row_mean[:, None] - row_mean[None, :] + grand_mean
    cross = gram[np.ix_(test, train)]
    cross = cross - cross.mean(axis=1, keepdims=True) - row_mean[None, :] + grand_mean
    return centred, cross


def _generic_scores(X, pre, train, test, k):
    """Any ``pre`` steps: fit them on a copy of the training set, then the exact SVD (the plain route)."""
    pre = clone(pre)
    X_train, X_test = pre.fit_transform(X[train]), pre.transform(X[test])
    mean = X_train.mean(axis=0)
    u, s, vt = np.linalg.svd(X_train - mean, full_matrices=False)
    components = vt[:k]
    return u[:, :k] * s[:k], X_test @ components.T - mean @ components.T
