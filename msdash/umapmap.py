"""UMAP maps of a feature table: peak memory predicted from the shape, PCA first when over the budget, Cancel.

umap (and numba behind it) is imported inside the functions that need it, so importing this module stays cheap.
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np

from msdash.errors import InputError
from msdash.pcamap import MapCancelled, _centre, _check_table, _stage, _tick, pca_map

__all__ = ["UMAPResult", "umap_map", "umap_embedding", "umap_peak_bytes", "warm_umap", "MIN_UMAP_SAMPLES",
           "REDUCED_DIMS"]

MIN_UMAP_SAMPLES = 4  # spectral initialisation of a 2-D embedding needs more points than dimensions + 1
#: Principal components UMAP runs on when the table is too big for the memory budget (the usual practice:
#: neighbourhoods of image features are carried by their leading components).
REDUCED_DIMS = 50
_EXACT_BELOW = 4096  # umap-learn computes all pairwise distances below this many samples (pynndescent above)


@dataclass(frozen=True)
class UMAPResult:
    """A UMAP map and what it was computed on.

    Attributes
    ----------
    coords : ndarray, shape (n_samples, 2)
        Embedding; NaN rows for samples left out (non-finite features).
    n_features : int
        Columns of the table.
    reduced_to : int or None
        Principal components UMAP ran on when the table was reduced first, else None.
    variance_kept : float or None
        Share of the table's variance (after standardising, if asked) those components carry.
    peak_bytes : int
        Predicted peak memory of UMAP on the table as given (:func:`umap_peak_bytes`).
    budget_bytes : int
        The memory budget it was compared with.
    metric : str
        The metric UMAP used ("euclidean" on unit-length rows stands in for "cosine" after a reduction).
    """

    coords: np.ndarray
    n_features: int
    reduced_to: object
    variance_kept: object
    peak_bytes: int
    budget_bytes: int
    metric: str

    @property
    def note(self):
        """One plain sentence for the page when the table was reduced first, else ``""``."""
        if self.reduced_to is None:
            return ""
        return (f"UMAP ran on the first {self.reduced_to} principal components "
                f"({100 * self.variance_kept:.1f} % of the variance): on all {self.n_features:,} features it would "
                f"need about {_gb(self.peak_bytes)}, over the memory budget of {_gb(self.budget_bytes)} "
                "(MSDASH_MEMORY_BUDGET).")


def _gb(n_bytes):
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.0f} MB"


def umap_peak_bytes(n, d, n_neighbors=15):
    """Predicted peak memory (bytes) of :func:`umap_map` on ``n`` valid samples × ``d`` features.

    A sum of what umap-learn 0.5 and pynndescent hold at once, read from their code and calibrated on this
    machine: the copies of the table (the float64 valid rows, umap's float32 copy and one more, about
    20·n·d bytes measured); below 4,096 samples the full float64 distance matrix (8·n²); from 4,096 on
    pynndescent's random-projection forest (``5 + √n/20`` trees, up to 64, a float32 hyperplane of d values per
    node, about ``2n / leaf`` nodes with ``leaf = max(60, min(256, 5k))``, counted twice while a tree is
    converted); and the neighbour heaps, fuzzy graph and layout arrays (about ``100·n·max(k, 60)``).
    Measured (umap-learn 0.5.12, numba compiled, k = 15): 8,000 × 1,000 held 178 MB above the process before
    (estimate 223 MB), 3,000 × 8 held 72 MB (estimate 90 MB).

    Parameters
    ----------
    n, d : int
        Samples and features.
    n_neighbors : int
        UMAP's k.

    Returns
    -------
    int

    Examples
    --------
    >>> umap_peak_bytes(1000, 10) == 20 * 1000 * 10 + 8 * 1000**2 + 100 * 1000 * 60
    True
    """
    n, d, k = int(n), int(d), int(n_neighbors)
    table = 20 * n * d
    if n < _EXACT_BELOW:
        neighbours = 8 * n * n
    else:
        trees = min(64, 5 + round(n ** 0.5 / 20.0))
        leaf = max(60, min(256, 5 * k))
        neighbours = 2 * trees * (2 * n // leaf) * d * 4
    return table + neighbours + 100 * n * max(k, 60)


def umap_map(X, *, n_neighbors=15, min_dist=0.1, metric="euclidean", random_state=42, standardize=False,
             n_jobs=None, callback=None):
    """Two-dimensional UMAP embedding of a feature table, tolerant of failed (NaN) samples.

    The coordinates of :func:`umap_embedding` (which also says whether the table was reduced by PCA first to
    fit the memory budget); see there for the parameters.

    Returns
    -------
    ndarray, shape (n_samples, 2)
        Embedding coordinates; NaN rows for samples left out.
    """
    return umap_embedding(X, n_neighbors=n_neighbors, min_dist=min_dist, metric=metric,
                          random_state=random_state, standardize=standardize, n_jobs=n_jobs,
                          callback=callback).coords


def umap_embedding(X, *, n_neighbors=15, min_dist=0.1, metric="euclidean", random_state=42, standardize=False,
                   n_jobs=None, callback=None, budget=None):
    """Two-dimensional UMAP embedding of a feature table, reduced by PCA first when it would not fit the budget.

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
    callback : callable, optional
        ``callback(fraction)``, fraction of the work done in [0, 1]: at the start, between blocks of the PCA
        reduction (0.05–0.3, when there is one), before the neighbour search (0.3), at every optimisation
        epoch (0.5–1.0, through umap-learn's public ``tqdm_kwds``) and at the end (1.0). The neighbour search,
        fuzzy graph and spectral initialisation have no stop point inside. Answering ``False`` stops the work
        by raising :class:`msdash.maps.MapCancelled`. None: no calls, the same map.
    budget : int, optional
        Bytes; default :func:`msdash.config.memory_budget`.

    Returns
    -------
    UMAPResult

    Raises
    ------
    InputError
        Fewer than 4 valid samples, or ``n_neighbors`` < 2.
    MapCancelled
        ``callback`` answered False.

    Notes
    -----
    When :func:`umap_peak_bytes` of the valid rows exceeds the budget and the table has more than
    :data:`REDUCED_DIMS` columns, UMAP runs on the first :data:`REDUCED_DIMS` principal components
    (:func:`msdash.maps.pca_map`, blocked, after standardising if asked); with ``metric="cosine"`` the rows are
    scaled to unit length first and the reduced map uses Euclidean distances (on unit vectors they rank
    neighbours as cosine does). Other metrics act on the components. The first call in a process compiles
    numba code (20–30 s); :func:`warm_umap` does that ahead of time.
    """
    X = _check_table(X, "X")
    valid = np.isfinite(X).all(axis=1)
    n_valid, n_features = int(valid.sum()), X.shape[1]
    if n_valid < MIN_UMAP_SAMPLES:
        raise InputError(f"UMAP needs at least {MIN_UMAP_SAMPLES} samples without missing features, "
                         f"got {n_valid} of {X.shape[0]}", name="X")
    if int(n_neighbors) < 2:
        raise InputError(f"`n_neighbors` must be at least 2, got {n_neighbors}", name="n_neighbors")
    if budget is None:
        from msdash.config import memory_budget

        budget = memory_budget()
    _tick(callback, 0.0)
    k = min(int(n_neighbors), n_valid - 1)
    peak = umap_peak_bytes(n_valid, n_features, k)
    reduced_to = kept = None
    if peak > budget and n_features > REDUCED_DIMS:
        Z, metric, kept = _reduce(X, valid, standardize, metric, _stage(callback, 0.05, 0.3))
        reduced_to = Z.shape[1]
    else:
        Z = _centre(X[valid], standardize)[0] if standardize else X[valid]
    _tick(callback, 0.3)

    import umap  # heavy (numba): only when a map is asked for

    _thread_lock_for_tqdm()
    options = {}
    if callback is not None:
        options["tqdm_kwds"] = {"file": _EpochFile(callback, 0.5, 1.0), "bar_format": "{n}/{total}",
                                "mininterval": 0, "miniters": 1, "disable": False, "leave": False}
    reducer = umap.UMAP(n_components=2, n_neighbors=k, min_dist=min_dist, metric=metric,
                        random_state=random_state, n_jobs=-1 if n_jobs is None else n_jobs, **options)
    with warnings.catch_warnings():
        # the seed-forces-one-thread note is documented above; graph warnings on tiny sets are expected
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
        warnings.filterwarnings("ignore", message=".*not fully connected.*")
        embedding = reducer.fit_transform(Z)
    _tick(callback, 1.0)
    coords = np.full((X.shape[0], 2), np.nan)
    coords[valid] = embedding
    return UMAPResult(coords=coords, n_features=n_features, reduced_to=reduced_to, variance_kept=kept,
                      peak_bytes=peak, budget_bytes=int(budget), metric=metric)


def _reduce(X, valid, standardize, metric, progress):
    """The first :data:`REDUCED_DIMS` principal components of the valid rows (blocked PCA), the metric to use
    on them and the share of variance they keep."""
    rows = X[valid] if not valid.all() else X
    if metric == "cosine":
        rows = _centre(rows, True)[0] if standardize else rows.copy()
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows /= np.where(norms > 0, norms, 1.0)
        standardize, metric = False, "euclidean"
    result = pca_map(rows, n_components=REDUCED_DIMS, standardize=standardize, callback=progress)
    return result.coords, metric, float(result.explained_variance_ratio.sum())


def _thread_lock_for_tqdm():
    # tqdm's default lock holds a multiprocessing semaphore that forked children share: a child killed while
    # holding it (a DataLoader or pool worker) blocks every later bar of this process for good, UMAP's epoch bar
    # included (seen as a hang in the full test run). msdash's bars live in threads of one process: a thread lock
    # serialises them as well and cannot be taken by another process.
    import threading

    from tqdm import tqdm

    if not getattr(tqdm, "_msdash_thread_lock", False):
        tqdm.set_lock(threading.RLock())
        tqdm._msdash_thread_lock = True


class _EpochFile:
    """A write-only "file" for umap-learn's epoch bar (tqdm, ``bar_format="{n}/{total}"``): every epoch becomes
    a callback fraction; a False answer raises :class:`MapCancelled` out of the optimisation loop."""

    encoding = "utf-8"

    def __init__(self, callback, start, stop):
        self.callback, self.start, self.stop, self.cancelled = callback, start, stop, False

    def write(self, text):
        done, _, total = text.strip().rpartition("/")
        if self.cancelled or not done.isdigit() or not total.isdigit() or int(total) == 0:
            return  # after a cancel tqdm still writes when it closes: nothing more to report
        try:
            _tick(self.callback, self.start + (self.stop - self.start) * int(done) / int(total))
        except MapCancelled:
            self.cancelled = True
            raise

    def flush(self):
        pass


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
