"""Volume fraction and two-point correlations (auto and cross, periodic and not) of label images."""

import numpy as np

from ..errors import InputError
from .stacks import by_size, check_stack

__all__ = ["volume_fraction", "two_point", "default_cutoff", "two_point_labels", "check_stack", "by_size"]

def volume_fraction(images, *, phase=1, ndim=None):
    """Share of pixels (voxels) of each sample that belong to one phase.

    ``vf = (1 / N) · Σ_x 1[u(x) = phase]`` with ``N`` the number of pixels of a sample. In a 0/1 phase map,
    label 1 is the white phase.

    Parameters
    ----------
    images : array_like, shape (n_samples, n_y, n_x), (n_samples, n_z, n_y, n_x) or (n_y, n_x)
        Label images (integers or whole-valued floats). A single 2-D image counts as one sample.
    phase : int, optional
        The label of interest; default 1 (white).
    ndim : {None, 2, 3}, optional
        Spatial dimension of a sample, as in :func:`two_point`; it only changes how a 3-D array is read
        (a stack of images, or with ``ndim=3`` one volume).

    Returns
    -------
    ndarray of float64, shape (n_samples,)
        Fractions in [0, 1].

    References
    ----------
    Study A of ``docs/references.md`` (volume fraction; PC1 of the two-point statistics tracks it).

    Examples
    --------
    A 4×4 checkerboard is half white:

    >>> board = np.indices((4, 4)).sum(axis=0) % 2
    >>> volume_fraction(board)
    array([0.5])
    >>> volume_fraction(np.array([[[1, 1], [1, 0]], [[0, 0], [0, 0]]]), phase=0)
    array([0.25, 1.  ])
    """
    stack, _ = check_stack(images, ndim=ndim, labels=True)
    return (stack == phase).mean(axis=tuple(range(1, stack.ndim)))


def two_point(images, *, phases=(1, 1), periodic=True, cutoff=None, ndim=None, workers=None):
    """Two-point correlation S2 of two phases for a stack of label images or volumes.

    Convention, with ``a = 1[u = phases[0]]``, ``b = 1[u = phases[1]]`` and ``r = (dy, dx)`` (``(dz, dy, dx)``
    in 3-D)::

        S[c + dy, c + dx] = mean over x of a(x) · b(x + r),   |dy|, |dx| <= c

    the probability that a vector ``r`` starts in ``phases[0]`` and ends in ``phases[1]``.

    * ``periodic=True``: ``x + r`` wraps around; the mean is over all ``N`` pixels, computed as the circular
      correlation ``IFFT(conj(F(a)) · F(b)) / N``.
    * ``periodic=False``: only pairs with both ends inside the image count. Each spatial axis is zero-padded
      to at least ``L + c`` (``L`` its length) so nothing wraps within the window, and the sum is divided by
      the number of valid pairs ``Π_axes (L - |r_axis|)`` (``(H - |dy|)(W - |dx|)`` in 2-D), the same for
      every sample, so it is computed once in closed form.

    The sums ``Σ a(x) b(x + r)`` are pair counts, i.e. whole numbers: they are rounded after the FFT, which
    removes its round-off, so the result is exact and does not depend on the padding size. All samples go
    through one batched real FFT (``scipy.fft``), in float32 while its round-off bound
    ``2**-24 · log2(N_fft) · N_pixels`` stays below 1/8 (up to about 370×370 px or 45³ voxels), else float64;
    the result is float64 either way.

    Parameters
    ----------
    images : array_like, shape (n_samples, n_y, n_x) or (n_samples, n_z, n_y, n_x)
        Label images (integer, bool or whole-valued float arrays), all of one size. A single sample
        ``(n_y, n_x)`` (or ``(n_z, n_y, n_x)`` with ``ndim=3``) gives ``n_samples = 1``.
    phases : tuple of int (p, p'), optional
        Start and end phase. ``p == p'`` is the auto-correlation (``S[c, c]`` is then the volume fraction
        of ``p``); ``p != p'`` the cross-correlation.
    periodic : bool, optional
        Wrap-around boundaries (True) or zero padding with pair-count normalisation (False).
    cutoff : int, optional
        Largest displacement ``c`` per axis, in pixels; default :func:`default_cutoff` (1/8 of the shortest
        side, at least 32 px or half the side, at most 64 px: 129×129 = 16,641 values for a large micrograph).
        Non-periodic needs ``c < `` the shortest side. Periodic accepts any ``c >= 0`` (displacements then
        repeat with the image period).
    ndim : {None, 2, 3}, optional
        Spatial dimension of a sample. None: a 3-D input is a stack of 2-D images and a 4-D input a stack of
        volumes; 2 or 3 force the reading (so a single volume ``(n_z, n_y, n_x)`` needs ``ndim=3``).
    workers : int, optional
        Threads (scipy.fft's convention: None one, -1 all cores). Samples go through in chunks whose
        spectra fit in the CPU caches (about 1 MiB each, at least one sample), one chunk per thread at a
        time; fewer threads run when their FFT work arrays together would pass 1/4 of
        :func:`msdash.config.memory_budget`.

    Returns
    -------
    ndarray of float64, shape (n_samples, 2c+1, 2c+1) or (n_samples, 2c+1, 2c+1, 2c+1)
        Probabilities in [0, 1]; the centre ``[c, c]`` is ``r = 0``.

    References
    ----------
    Studies of ``docs/references.md``: A (periodic auto-correlation of the stiff phase, 41×41 window);
    B (non-periodic cross-correlation, 159×159 window).

    Examples
    --------
    A 4×4 checkerboard: a step of one pixel always changes phase, a step of two never does.

    >>> board = np.indices((4, 4)).sum(axis=0) % 2
    >>> two_point(board, cutoff=1)[0]
    array([[0.5, 0. , 0.5],
           [0. , 0.5, 0. ],
           [0.5, 0. , 0.5]])

    Non-periodic, rows ``[1, 1, 0]`` and ``[1, 0, 0]``: of the four pairs at ``dx = 1`` one is white-white
    (the row ``dy = 0`` of the window):

    >>> two_point([[1, 1, 0], [1, 0, 0]], periodic=False, cutoff=1)[0, 1]
    array([0.25, 0.5 , 0.25])
    """
    import scipy.fft

    stack, d = check_stack(images, ndim=ndim, labels=True, dtype=None)
    shape = stack.shape[1:]
    c = _check_cutoff(cutoff, shape, periodic)
    p, q = _check_phases(phases)
    sizes = shape if periodic else tuple(scipy.fft.next_fast_len(n + c, real=True) for n in shape)

    pairs = _pair_counts(shape, c, periodic)
    dtype = np.float32 if _float32_is_exact(shape, sizes) else np.float64
    out = np.empty((len(stack),) + (2 * c + 1,) * len(shape))
    step = max(1, _CHUNK_BYTES // (int(np.prod(sizes[:-1])) * (sizes[-1] // 2 + 1) * np.dtype(dtype).itemsize * 2))

    def chunk(start):
        part = stack[start:start + step]
        counts = _pair_sums(part, p, q, sizes, c, dtype, 1)
        rounded = np.rint(counts)
        if dtype == np.float32 and np.abs(counts - rounded).max() > 0.25:  # never seen; the bound has a wide margin
            rounded = np.rint(_pair_sums(part, p, q, sizes, c, np.float64, 1))
        np.divide(rounded, pairs, out=out[start:start + step], dtype=np.float64)

    starts = range(0, len(stack), step)
    threads = min(len(starts), _threads(workers), _threads_in_budget(step, shape, sizes, dtype))
    if threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(chunk, starts))
    else:
        for start in starts:
            chunk(start)
    return out


#: Spectrum bytes per chunk of samples: small enough to stay in the CPU caches between the FFT passes.
_CHUNK_BYTES = 2**20


def _threads(workers):
    """Number of threads for ``workers`` in scipy.fft's convention (None: 1; -1: all cores; -k: all but k-1)."""
    import os

    if workers is None:
        return 1
    if workers < 0:
        return max(1, (os.cpu_count() or 1) + 1 + workers)
    return max(1, int(workers))


def _work_bytes(step, shape, sizes, dtype):
    """Bytes of the arrays one chunk of ``step`` samples holds at once in :func:`_pair_sums` (a bound).

    The 0/1 indicator in ``dtype``, two spectra (the forward transform and the cross product or power),
    the partial inverse transform and the bool mask: about ``5 · n_fft · itemsize`` per sample, plus
    the input's own ``n_pixels`` elements.
    """
    itemsize = np.dtype(dtype).itemsize
    return step * (int(np.prod(shape)) * (itemsize + 1) + 5 * int(np.prod(sizes)) * itemsize)


def _threads_in_budget(step, shape, sizes, dtype):
    """Threads whose chunks' work arrays together stay within 1/4 of the memory budget (at least one)."""
    from msdash.config import memory_budget

    return max(1, memory_budget() // (4 * _work_bytes(step, shape, sizes, dtype)))


def default_cutoff(shape):
    """The default two-point window half-width ``c`` for samples of ``shape``, in pixels.

    ``c = min(max(32, L // 8), 64, L // 2)`` with ``L`` the shortest side. S2 falls from the volume fraction
    at ``r = 0`` to ``vf²`` within a few correlation lengths of the microstructure and carries no more
    information beyond; micrographs are taken at magnifications that resolve a feature (grain, particle,
    lamella) over a few to a few tens of pixels, so 32–64 px of displacement cover several correlation
    lengths (study A's window is 20 px, study B's 79 px). 1/8 of the side keeps the window a small part of
    the field of view, where many independent pairs make S2 well estimated; the cap keeps a 4096×4096
    image at 129×129 = 16,641 values rather than 16.8 million. Images up to 64 px keep their full half-side
    window (``L // 2``), as before. Pass ``cutoff`` explicitly when the correlation length is known: about
    three correlation lengths suffice.

    Parameters
    ----------
    shape : tuple of int
        The spatial shape of one sample, ``(n_y, n_x)`` or ``(n_z, n_y, n_x)``.

    Returns
    -------
    int

    Examples
    --------
    >>> default_cutoff((51, 51)), default_cutoff((64, 64)), default_cutoff((256, 300)), default_cutoff((4096, 4096))
    (25, 32, 32, 64)
    """
    side = int(min(shape))
    return min(max(DEFAULT_CUTOFF_MIN, side // 8), DEFAULT_CUTOFF_MAX, side // 2)


#: Bounds (px) of :func:`default_cutoff` between which the window follows 1/8 of the shorter side.
DEFAULT_CUTOFF_MIN, DEFAULT_CUTOFF_MAX = 32, 64


def two_point_labels(cutoff, *, ndim=2, order="C"):
    """Column labels ``"S2[dy=3,dx=-1]"`` in the order of the flattened :func:`two_point` window.

    Parameters
    ----------
    cutoff : int
        The window half-width ``c``.
    ndim : {2, 3}, optional
        2 gives ``S2[dy=..,dx=..]``, 3 gives ``S2[dz=..,dy=..,dx=..]``.
    order : {"C", "F"}, optional
        Flattening order of the window: row-major ("C") or column-major ("F", as MATLAB).

    Returns
    -------
    WindowLabels, length (2c+1)**ndim
        A sequence of str made on demand (:class:`~msdash.features.labels.WindowLabels`): indexing, slicing
        (a list), iteration and ``==`` with a list work as for a list, and a window of 16.8 million columns
        costs no memory until its labels are read.

    Examples
    --------
    >>> two_point_labels(1)[:4]
    ['S2[dy=-1,dx=-1]', 'S2[dy=-1,dx=0]', 'S2[dy=-1,dx=1]', 'S2[dy=0,dx=-1]']
    >>> two_point_labels(1, order="F")[:2]
    ['S2[dy=-1,dx=-1]', 'S2[dy=0,dx=-1]']
    """
    if ndim not in (2, 3):
        raise InputError(f"`ndim` must be 2 or 3, got {ndim!r}", name="ndim")
    if order not in ("C", "F"):
        raise InputError(f"`order` must be 'C' or 'F', got {order!r}", name="order")
    from .labels import WindowLabels

    c = _check_cutoff(cutoff, None, True)
    return WindowLabels(c, ("dz", "dy", "dx")[3 - ndim:], order)


def _check_cutoff(cutoff, shape, periodic):
    if cutoff is None:
        return default_cutoff(shape)
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, np.integer)) or cutoff < 0:
        raise InputError(f"`cutoff` must be a non-negative integer (pixels), got {cutoff!r}", name="cutoff")
    if shape is not None and not periodic and cutoff >= min(shape):
        raise InputError(f"`cutoff` must be smaller than the shortest side ({min(shape)} px) for non-periodic "
                         f"correlations, got {cutoff}", name="cutoff")
    return int(cutoff)


def _check_phases(phases):
    try:
        p, q = phases
        ok = all(float(v) == int(v) for v in (p, q))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"`phases` must be two integer labels (start, end), got {phases!r}", name="phases")
    return int(p), int(q)


def _float32_is_exact(shape, sizes):
    """Whether float32 FFTs still give every pair count to within 1/8, so that rounding makes it exact.

    The round-off of an FFT correlation of 0/1 arrays is about ``eps · log2(N_fft) · N_pixels`` (a few times
    less in practice); float32 (``eps = 2**-24``) is used while that bound is at most 1/8, e.g. up to about
    370×370 images or 45³ volumes, and float64 beyond.
    """
    return 2.0 ** -24 * np.log2(np.prod(sizes)) * np.prod(shape) <= 0.125


def _pair_sums(stack, p, q, sizes, c, dtype, workers):
    """``Σ_x a(x) b(x + r)`` for ``|r| <= c`` by FFT in ``dtype`` (not yet rounded)."""
    spatial = tuple(range(1, stack.ndim))
    fa = _forward((stack == p).astype(dtype), sizes, spatial, workers)
    if p != q:
        product = np.conj(fa) * _forward((stack == q).astype(dtype), sizes, spatial, workers)
        return _inverse_window(product, sizes, spatial, c, workers)
    if c > sizes[0] // 2:  # periodic window wider than the image: no half to mirror
        return _inverse_window(fa.real ** 2 + fa.imag ** 2, sizes, spatial, c, workers)
    return _inverse_auto_window(fa.real ** 2 + fa.imag ** 2, sizes, spatial, c, workers)


def _inverse_auto_window(power, sizes, spatial, c, workers):
    """Like :func:`_inverse_window` for a real power spectrum, at half the cost along the first axis.

    The power is real, so its inverse FFT along the first spatial axis is ``conj(rfft(power)) / L`` and is only
    needed for ``r_0 = 0..c``; an auto-correlation is even, ``S(-r) = S(r)``, which gives ``r_0 < 0``.
    """
    import scipy.fft

    axis = spatial[0]
    half = scipy.fft.rfft(power, axis=axis, workers=workers)
    half = np.conj(np.take(half, np.arange(c + 1), axis=axis)) / sizes[0]
    positive = _inverse_window(half, (None, *sizes[1:]), (None, *spatial[1:]), c, workers)
    mirrored = np.flip(np.take(positive, np.arange(1, c + 1), axis=axis), axis=spatial)
    return np.concatenate([mirrored, positive], axis=axis)


def _forward(a, sizes, spatial, workers):
    """Real FFT over the spatial axes, zero-padded to ``sizes``; the last axis first, so padded rows cost nothing."""
    import scipy.fft

    out = scipy.fft.rfft(a, n=sizes[-1], axis=spatial[-1], workers=workers)
    for axis, n in zip(spatial[:-1], sizes[:-1]):
        out = scipy.fft.fft(out, n=n, axis=axis, workers=workers, overwrite_x=True)
    return out


def _inverse_window(product, sizes, spatial, c, workers):
    """Inverse real FFT keeping only displacements -c..c per axis (cut each axis as soon as it is done)."""
    import scipy.fft

    for axis, n in zip(spatial[:-1], sizes[:-1]):
        if axis is None:  # already done by the caller
            continue
        product = scipy.fft.ifft(product, axis=axis, workers=workers, overwrite_x=True)
        product = np.take(product, np.arange(-c, c + 1) % n, axis=axis)
    out = scipy.fft.irfft(product, n=sizes[-1], axis=spatial[-1], workers=workers)
    return np.take(out, np.arange(-c, c + 1) % sizes[-1], axis=spatial[-1])


def _pair_counts(shape, c, periodic):
    """Pairs ``(x, x + r)`` that count at each displacement: ``N`` (periodic) or ``Π (L - |r|)``."""
    if periodic:
        return float(np.prod(shape))
    lags = np.abs(np.arange(-c, c + 1))
    counts = np.ones((1,) * len(shape))
    for axis, n in enumerate(shape):
        counts = counts * (n - lags).reshape([-1 if i == axis else 1 for i in range(len(shape))])
    return counts
