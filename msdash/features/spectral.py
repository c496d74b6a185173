"""Radially averaged power spectra and gradient features of grey or binary images (study D).

References
----------
- Study D: B. D. Nguyen, P. Potapenko, A. Demirci, K. Govind, S. Bompas, S. Sandfeld, "Efficient Surrogate Models
  for Materials Science Simulations: Machine Learning-based Prediction of Microstructure Properties"
  (``docs/references.md``).
"""

import numpy as np

from ..errors import InputError
from .stacks import by_size

__all__ = ["radial_psd", "phys_feat1", "phys_feat2", "grad_feature", "psd_labels", "phys_feat1_labels",
           "phys_feat2_labels", "grad_labels"]

K_MAX = 0.5  # Nyquist radius, cycles per pixel


def radial_psd(images, *, bins=32):
    """Radially averaged power spectral density of each image.

    ``P(k) = |F(u)(k)|² / N`` with ``F`` the unnormalised 2-D DFT and ``N = n_y · n_x``; the mean is *not*
    subtracted (study D uses the plain PSD of the image), so ``P(0) = N · mean(u)²``. Bin ``i`` holds the mean
    of ``P`` over the frequencies of the full (two-sided) spectrum with ``i / (2 · bins) <= |k| < (i + 1) /
    (2 · bins)``, ``|k| = sqrt(k_y² + k_x²)`` in cycles per pixel, i.e. bin edges ``linspace(0, 0.5, bins + 1)``;
    ``|k| = 0.5`` falls in the last bin, the corners beyond the Nyquist radius 0.5 are left out. Bin membership
    is decided in integer arithmetic, so it is exact.

    The result is invariant to periodic translation and, for square images, to 90° rotation and mirroring
    (up to floating-point round-off).

    Images go through in blocks whose FFT work arrays take at most 1/4 of
    :func:`msdash.config.memory_budget`. Images above :data:`FLOAT32_PIXELS` pixels whose values carry no
    more than single precision (float32, integers up to 16 bits, bool) are transformed in float32 after
    subtracting their mean, whose power ``N · mean²`` is added back exactly in float64: the float32
    round-off (about ``1e-7`` of the image's standard deviation per Fourier coefficient) stays far below
    the precision of the values themselves (a 16-bit grey level is ``1.5e-5`` of the range). Anything else
    is transformed in float64.

    Parameters
    ----------
    images : array_like or sequence of arrays, shape (n_samples, n_y, n_x) or (n_y, n_x)
        Grey (float, e.g. in [0, 1]) or binary images. A sequence may mix sizes; each image needs at least
        ``2 · bins`` pixels along one side so that no bin is empty.
    bins : int, optional
        Number of radial bins.

    Returns
    -------
    ndarray of float64, shape (n_samples, bins)
        Mean power per bin (units of ``u²``); columns named by :func:`psd_labels`.

    References
    ----------
    Study D of ``docs/references.md`` (physFeat2: 32-bin radial PSD; radial averaging gives the invariances).

    Examples
    --------
    A constant image has all its power at ``k = 0``: ``P(0) = |Σ u|² / N = N`` for ``u = 1``. On 8×8 pixels
    the frequencies are multiples of 1/8, so bin 0 (``|k| < 1/8`` with ``bins=4``) holds ``k = 0`` alone.

    >>> radial_psd(np.ones((8, 8)), bins=4)
    array([[64.,  0.,  0.,  0.]])
    """
    bins = _check_bins(bins)
    return by_size(images, lambda stack: _radial_psd(stack, bins), keep_dtype=True)


def phys_feat1(images, *, bins=32):
    """Study D's physFeat1: slope and amplitude of a power law fitted to the radial PSD.

    A straight line ``log10 P = slope · log10 k + intercept`` is fitted by least squares to the bins of
    :func:`radial_psd` at their centres ``k_i = (i + 1/2) / (2 · bins)`` cycles per pixel, leaving out bin 0
    (it holds ``k = 0``, the mean) and any bin with ``P <= 0``. The intercept is back-transformed, as in study D,
    to the amplitude of the power law ``P(k) ≈ amplitude · k ** slope``: ``amplitude = 10 ** intercept`` is the
    fitted PSD at ``k = 1`` cycle per pixel (the same whatever the log base). Fewer than two usable bins
    (e.g. a constant image) give NaN.

    Parameters
    ----------
    images : array_like or sequence of arrays, shape (n_samples, n_y, n_x) or (n_y, n_x)
        Grey or binary images (see :func:`radial_psd`).
    bins : int, optional
        Number of radial bins of the PSD.

    Returns
    -------
    ndarray of float64, shape (n_samples, 2)
        ``[slope, amplitude]`` per image (``slope`` dimensionless, ``amplitude`` in units of ``u²``); columns
        named by :func:`phys_feat1_labels`.

    References
    ----------
    Study D of ``docs/references.md`` (physFeat1: straight-line fit to the radially averaged PSD on log–log axes).

    Examples
    --------
    A constant image has no power beyond ``k = 0``, so there is no line to fit:

    >>> phys_feat1(np.ones((8, 8)), bins=4)
    array([[nan, nan]])
    """
    bins = _check_bins(bins)
    psd = radial_psd(images, bins=bins)
    log_k = np.log10((np.arange(bins) + 0.5) / (2 * bins))
    usable = (psd > 0) & np.isfinite(psd)
    usable[:, 0] = False
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(usable, np.log10(np.where(usable, psd, 1.0)), 0.0)
        w = usable.astype(np.float64)
        sw, sx, sy = w.sum(axis=1), w @ log_k, y.sum(axis=1)
        sxx, sxy = w @ log_k ** 2, y @ log_k
        slope = (sw * sxy - sx * sy) / (sw * sxx - sx ** 2)
        intercept = (sy - slope * sx) / sw
    slope[sw < 2] = np.nan
    return np.column_stack([slope, 10.0 ** intercept])


def phys_feat2(images, *, bins=32):
    """Study D's physFeat2: log-scaled radial PSD of the image and of its gradient magnitude.

    ``hstack(log10(radial_psd(u) + 1), log10(radial_psd(|∇u|) + 1))`` with ``|∇u|`` from periodic central
    differences (see :func:`grad_feature`), so the invariances of :func:`radial_psd` carry over.

    Parameters
    ----------
    images : array_like or sequence of arrays, shape (n_samples, n_y, n_x) or (n_y, n_x)
        Grey or binary images (see :func:`radial_psd`).
    bins : int, optional
        Number of radial bins per spectrum.

    Returns
    -------
    ndarray of float64, shape (n_samples, 2 · bins)
        Columns named by :func:`phys_feat2_labels`.

    References
    ----------
    Study D of ``docs/references.md`` (physFeat2: 2×32 radial PSDs, scaled log10(PSD + 1)).

    Examples
    --------
    A constant image has no gradient: only its first bin is non-zero, ``log10(N + 1)``.

    >>> phys_feat2(np.ones((4, 4)), bins=2)
    array([[1.23044892, 0.        , 0.        , 0.        ]])
    """
    bins = _check_bins(bins)

    def one_size(stack):
        dtype = _work_dtype(stack)
        out = np.empty((len(stack), 2 * bins))
        for part in _blocks(stack, 5 * np.dtype(dtype).itemsize):
            out[part, :bins] = _radial_psd(stack[part], bins)
            out[part, bins:] = _radial_psd(_grad_magnitude(stack[part], dtype), bins)
        return np.log10(out + 1.0)

    return by_size(images, one_size, keep_dtype=True)


def grad_feature(images):
    """Study D's grad feature: mean over pixels of the gradient magnitude.

    ``g = mean_x sqrt(g_y² + g_x²)`` with periodic central differences
    ``g_y = (u[y + 1, x] - u[y - 1, x]) / 2`` and ``g_x = (u[y, x + 1] - u[y, x - 1]) / 2`` (indices wrap around),
    in units of ``u`` per pixel.

    Parameters
    ----------
    images : array_like or sequence of arrays, shape (n_samples, n_y, n_x) or (n_y, n_x)
        Grey or binary images; a sequence may mix sizes.

    Returns
    -------
    ndarray of float64, shape (n_samples,)

    References
    ----------
    Study D of ``docs/references.md`` (grad: mean |∇u| by central differences).

    Examples
    --------
    Stripes ``0 0 1 1``: every central difference is ±1/2.

    >>> grad_feature(np.tile([0, 0, 1, 1], (4, 1)))
    array([0.5])
    """
    def one_size(stack):
        out = np.empty((len(stack), 1))
        for part in _blocks(stack, 4 * 8):
            out[part, 0] = _grad_magnitude(stack[part], np.float64).mean(axis=(1, 2))
        return out

    return by_size(images, one_size, keep_dtype=True)[:, 0]


def psd_labels(bins=32, prefix="psd"):
    """Column labels ``"psd[k=i]"`` of :func:`radial_psd`; ``i`` is the bin index (``|k| ≈ (i + 1/2) / (2 · bins)``).

    Examples
    --------
    >>> psd_labels(3)
    ['psd[k=0]', 'psd[k=1]', 'psd[k=2]']
    """
    return [f"{prefix}[k={i}]" for i in range(_check_bins(bins))]


def phys_feat1_labels():
    """Column labels of :func:`phys_feat1`."""
    return ["psd_slope", "psd_amplitude"]


def phys_feat2_labels(bins=32):
    """Column labels of :func:`phys_feat2`: ``psd[k=..]`` then ``grad_psd[k=..]``."""
    return psd_labels(bins) + psd_labels(bins, prefix="grad_psd")


def grad_labels():
    """Column label of :func:`grad_feature`."""
    return ["grad_mean"]


def _check_bins(bins):
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise InputError(f"`bins` must be a positive integer, got {bins!r}", name="bins")
    return int(bins)


#: Images with more pixels than this are transformed in float32 when their values allow (see :func:`radial_psd`).
FLOAT32_PIXELS = 2 ** 20
_SINGLE = {np.dtype(t) for t in (bool, np.uint8, np.int8, np.uint16, np.int16, np.float16, np.float32)}


def _work_dtype(stack):
    """float32 for large images of single-precision values, float64 otherwise."""
    large = stack.shape[-1] * stack.shape[-2] > FLOAT32_PIXELS
    return np.float32 if large and stack.dtype in _SINGLE else np.float64


def _blocks(stack, bytes_per_pixel):
    """Slices of ``stack`` whose work arrays (``bytes_per_pixel`` per pixel) take <= budget / 4 together."""
    from .sizing import images_per_block

    step = images_per_block(bytes_per_pixel * stack.shape[-1] * stack.shape[-2], limit=len(stack))
    return [slice(start, start + step) for start in range(0, len(stack), step)]


def _grad_magnitude(stack, dtype=np.float64):
    """``|∇u|`` by periodic central differences over the last two axes, in ``dtype`` (n, H, W)."""
    u = np.asarray(stack, dtype=dtype)
    gy, gx = _central_difference(u, 1), _central_difference(u, 2)
    np.square(gy, out=gy)
    np.square(gx, out=gx)
    gy += gx
    del gx
    return np.sqrt(gy, out=gy)


def _central_difference(u, axis):
    """``(u[i + 1] - u[i - 1]) / 2`` along ``axis`` with wrap-around, without rolled copies of ``u``."""
    n = u.shape[axis]
    if n < 3:
        out = np.roll(u, -1, axis=axis) - np.roll(u, 1, axis=axis)
    else:
        def at(index):
            return u[(slice(None),) * axis + (index,)]

        out = np.empty_like(u)
        view = out.swapaxes(0, axis)
        np.subtract(at(slice(2, None)), at(slice(None, -2)), out=view[1:-1].swapaxes(0, axis))
        np.subtract(at(slice(1, 2)), at(slice(-1, None)), out=view[:1].swapaxes(0, axis))
        np.subtract(at(slice(0, 1)), at(slice(-2, -1)), out=view[-1:].swapaxes(0, axis))
    out *= 0.5  # exact, as / 2
    return out


def _radial_psd(stack, bins):
    """Radial PSD of a stack (n, H, W) of one size: blocks of real FFTs, one bincount per image."""
    import scipy.fft

    n, h, w = stack.shape
    dtype = _work_dtype(stack)
    index, weight = _bin_index(h, w, bins)
    counts = np.bincount(index, weights=weight, minlength=bins + 1)[:bins]
    if (counts == 0).any():
        raise InputError(f"`images` of {h}×{w} px leave radial bins empty with bins={bins}; use images at least "
                         f"{2 * bins} px along one side or fewer bins", name="images")
    # rfft2 holds k_x >= 0; every other column stands for its mirror image too
    column_weight = weight.reshape(h, w // 2 + 1)[0]
    out = np.empty((n, bins))
    for part in _blocks(stack, 3 * np.dtype(dtype).itemsize):
        block = np.array(stack[part], dtype=dtype)
        if dtype == np.float32:  # the mean's power N · mean² is set exactly, in float64, below
            means = block.mean(axis=(1, 2), dtype=np.float64)
            block -= means.astype(np.float32)[:, None, None]
        spectrum = scipy.fft.rfft2(block, overwrite_x=True)
        del block
        power = np.abs(spectrum)
        del spectrum
        np.square(power, out=power)
        power /= h * w
        power *= column_weight
        for row, image in zip(range(part.start, part.stop), power):
            out[row] = np.bincount(index, weights=image.ravel(), minlength=bins + 1)[:bins]
            if dtype == np.float32:  # k = 0 sits in bin 0 with weight 1: swap its float32 power for the exact one
                out[row, 0] += h * w * means[row - part.start] ** 2 - float(image[0, 0])
    return out / counts


def _bin_index(h, w, bins):
    """Radial bin of each rfft2 frequency (``bins`` beyond the Nyquist radius) and its weight (1 or 2).

    ``i = floor(2 · bins · |k|)`` computed exactly: with ``k = (j_y / h, j_x / w)``,
    ``(2 · bins · |k|)² = 4 · bins² · (j_y² w² + j_x² h²) / (h² w²)``.
    """
    jy = np.fft.fftfreq(h, 1 / h).round().astype(np.int64)[:, None]
    jx = np.arange(w // 2 + 1, dtype=np.int64)[None, :]
    if 4 * bins ** 2 * h ** 2 * w ** 2 >= 2 ** 62:  # int64 would overflow (huge images): round in floats
        index = np.floor(2 * bins * np.hypot(jy / h, jx / w)).astype(np.int64)
        inside = np.hypot(jy / h, jx / w) <= K_MAX
        return _finish_bins(index, inside, jx, w, bins)
    numerator = 4 * bins ** 2 * (jy ** 2 * w ** 2 + jx ** 2 * h ** 2)
    ratio = numerator // (h ** 2 * w ** 2)  # floor((2 bins |k|)²); floor(sqrt(floor(x))) == floor(sqrt(x))
    index = np.floor(np.sqrt(ratio)).astype(np.int64)
    index -= index ** 2 > ratio
    index += (index + 1) ** 2 <= ratio
    inside = 4 * (jy ** 2 * w ** 2 + jx ** 2 * h ** 2) <= h ** 2 * w ** 2  # |k| <= 0.5
    return _finish_bins(index, inside, jx, w, bins)


def _finish_bins(index, inside, jx, w, bins):
    index = np.where(inside, np.minimum(index, bins - 1), bins)
    weight = np.where((jx == 0) | ((w % 2 == 0) & (jx == w // 2)), 1.0, 2.0)
    return index.ravel(), np.broadcast_to(weight, index.shape).ravel()
