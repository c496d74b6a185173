"""Random two-phase microstructures from thresholded Gaussian random fields, and their simple measures.

A two-phase field is white noise smoothed in Fourier space with a Gaussian kernel (one width per axis,
so anisotropy is a parameter) and cut at the quantile that gives the requested volume fraction.
Filtering in Fourier space makes every field periodic, which suits periodic two-point statistics
and FFT homogenisation. The Hashin–Shtrikman bounds give a cheap, physically meaningful stiffness
label for such fields until a full-field solver is used.
"""

import numpy as np
import scipy.fft

from ..errors import InputError

__all__ = ["two_phase", "interface_density", "hashin_shtrikman_upper", "hashin_shtrikman_lower"]


def two_phase(n, shape, *, volume_fraction=0.5, correlation_length=8.0, seed=None):
    """Random periodic two-phase microstructures (2D images or 3D volumes).

    White noise ``w`` is filtered in Fourier space, ``u = IFFT(FFT(w) · Π_a exp(-(k_a ℓ_a)² / 2))``
    with ``k_a = 2π · fftfreq(N_a)`` in radians per pixel, i.e. a periodic convolution with a Gaussian of
    standard deviation ``ℓ_a`` pixels along axis ``a``. Each sample is then thresholded at its own quantile:
    the ``round(volume_fraction · n_pixels)`` largest values of ``u`` become phase 1, so the volume fraction
    is exact up to pixel rounding.

    Parameters
    ----------
    n : int
        Number of samples (the sample axis comes first in the result).
    shape : tuple of int
        ``(H, W)`` or ``(D, H, W)``, in pixels / voxels.
    volume_fraction : float or array_like of shape (n,), optional
        Target fraction of phase 1 (label 1, white), in [0, 1]: one value, or one per sample.
    correlation_length : float or sequence of float, optional
        Width ``ℓ`` (pixels) of the Gaussian smoothing kernel: one value for all axes, or one per axis
        (e.g. ``(16, 2)`` gives grains elongated along axis 0). 0 leaves the noise unsmoothed.
    seed : int, numpy.random.Generator or None, optional
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    labels : ndarray of uint8, shape (n, *shape)
        Exactly 0/1.

    Examples
    --------
    >>> labels = two_phase(1, (16, 16), volume_fraction=0.25, seed=0)
    >>> labels.shape, labels.dtype, float(labels.mean())
    ((1, 16, 16), dtype('uint8'), 0.25)
    >>> two_phase(2, (8, 8, 8), volume_fraction=[0.5, 0.125], seed=1).mean(axis=(1, 2, 3))
    array([0.5  , 0.125])
    """
    n = _check_n_samples(n)
    shape = _check_shape(shape)
    lengths = _check_lengths(correlation_length, len(shape))
    fractions = _check_fractions(volume_fraction, n)

    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, *shape))
    field = _smooth(noise, lengths)
    return _threshold(field, fractions).astype(np.uint8)


def interface_density(labels, *, axis=None):
    """Fraction of nearest-neighbour pixel pairs whose labels differ (periodic).

    Every pixel is paired with its next neighbour along each image axis, wrapping around the border,
    so an image with ``N`` pixels and ``d`` axes has ``d · N`` pairs. The result is the number of unlike
    pairs over ``d · N``: the interface length (in pixel edges) per pixel, divided by ``d``. It is 0 for a
    single phase and 1 for a checkerboard, and it falls as the structure coarsens.

    Parameters
    ----------
    labels : ndarray, shape (H, W), (n, H, W) or (n, D, H, W)
        Phase labels (any values; pairs are compared for equality). A 3-D array is read as a stack of
        2D images; pass a single volume as ``volume[None]``.
    axis : int, optional
        Count only the pairs along this image axis (0 = rows / first axis after the sample axis).

    Returns
    -------
    density : ndarray of float64, shape (n,)
        In [0, 1], units 1/pixel. A single 2D image gives shape (1,).

    Examples
    --------
    >>> checkerboard = np.indices((4, 4)).sum(axis=0) % 2
    >>> interface_density(checkerboard)
    array([1.])
    >>> stripes = np.array([[0, 0, 1, 1]] * 4)
    >>> interface_density(stripes), interface_density(stripes, axis=1)
    (array([0.25]), array([0.5]))
    """
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = labels[None]
    if labels.ndim not in (3, 4) or labels.size == 0:
        raise InputError(
            f"`labels` must be a 2D image or a stack (n, H, W) / (n, D, H, W), got shape {labels.shape}",
            name="labels",
        )
    image_axes = tuple(range(1, labels.ndim))
    pair_axes = image_axes
    if axis is not None:
        d = len(image_axes)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -d <= axis < d:
            raise InputError(f"`axis` must be an image axis in 0..{d - 1}, got {axis!r}", name="axis")
        pair_axes = (1 + int(axis) % len(image_axes),)
    pixels = int(np.prod(labels.shape[1:]))
    unlike = sum(np.count_nonzero(labels != np.roll(labels, 1, axis=a), axis=image_axes) for a in pair_axes)
    return np.asarray(unlike, dtype=np.float64) / (len(pair_axes) * pixels)


def hashin_shtrikman_upper(vf, *, E=(200.0, 4.0), nu=(0.3, 0.3)):
    """Hashin–Shtrikman upper bound on the Young's modulus of an isotropic two-phase composite.

    With phase moduli ``K_i = E_i / (3(1 − 2ν_i))``, ``G_i = E_i / (2(1 + ν_i))`` and volume fractions
    ``f_1 = vf``, ``f_2 = 1 − vf``, the 3D bounds in Walpole's form (valid even when the stiffer phase in
    bulk is not the stiffer in shear) are

    ``K⁺ = [Σ f_i / (K_i + 4/3 G_max)]⁻¹ − 4/3 G_max``,
    ``G⁺ = [Σ f_i / (G_i + ζ_max)]⁻¹ − ζ_max``,
    ``ζ_max = G_max/6 · (9 K_max + 8 G_max) / (K_max + 2 G_max)``,

    and ``E⁺ = 9 K⁺ G⁺ / (3 K⁺ + G⁺)`` (E grows with both K and G, so bounds on K, G bound E).

    These bound Young's modulus of a statistically isotropic 3-D composite. They do not bound the
    plane-strain modulus ``E / (1 − ν²)`` of a 2-D cell, nor any single anisotropic cell: use
    :func:`msdash.synthetic.voigt_reuss_modulus_x` for bounds that hold cell by cell.

    Parameters
    ----------
    vf : float or array_like
        Volume fraction of phase 1, in [0, 1].
    E : (float, float), optional
        Young's moduli (GPa) of phase 1 and phase 2. The default contrast 50 is that of study A.
    nu : (float, float), optional
        Poisson's ratios of phase 1 and phase 2, in (−1, 0.5).

    Returns
    -------
    E_upper : float or ndarray of float64
        Upper bound (GPa), shaped like ``vf``.

    References
    ----------
    Z. Hashin and S. Shtrikman, J. Mech. Phys. Solids 11 (1963) 127–140.
    L. J. Walpole, J. Mech. Phys. Solids 14 (1966) 151–162.

    Examples
    --------
    >>> float(hashin_shtrikman_upper(1.0)), float(hashin_shtrikman_upper(0.0))
    (200.0, 4.0)
    """
    return _hashin_shtrikman(vf, E, nu, upper=True)


def hashin_shtrikman_lower(vf, *, E=(200.0, 4.0), nu=(0.3, 0.3)):
    """Hashin–Shtrikman lower bound on the Young's modulus of an isotropic two-phase composite.

    Same as :func:`hashin_shtrikman_upper` with ``G_min``, ``K_min`` in place of ``G_max``, ``K_max``:
    ``K⁻ = [Σ f_i / (K_i + 4/3 G_min)]⁻¹ − 4/3 G_min``,
    ``G⁻ = [Σ f_i / (G_i + ζ_min)]⁻¹ − ζ_min``,
    ``E⁻ = 9 K⁻ G⁻ / (3 K⁻ + G⁻)``.

    Parameters
    ----------
    vf : float or array_like
        Volume fraction of phase 1, in [0, 1].
    E : (float, float), optional
        Young's moduli (GPa) of phase 1 and phase 2.
    nu : (float, float), optional
        Poisson's ratios of phase 1 and phase 2, in (−1, 0.5).

    Returns
    -------
    E_lower : float or ndarray of float64
        Lower bound (GPa), shaped like ``vf``.

    Examples
    --------
    >>> lower, upper = hashin_shtrikman_lower(0.5), hashin_shtrikman_upper(0.5)
    >>> bool(1 / (0.5 / 200 + 0.5 / 4) < lower < upper < 0.5 * 200 + 0.5 * 4)
    True
    """
    return _hashin_shtrikman(vf, E, nu, upper=False)


def _hashin_shtrikman(vf, E, nu, *, upper):
    vf = np.asarray(vf, dtype=np.float64)
    if not np.all((vf >= 0) & (vf <= 1)):
        raise InputError("`vf` must be volume fractions in [0, 1]", name="vf")
    E = _check_pair(E, "E", lambda v: v > 0, "positive moduli in GPa")
    nu = _check_pair(nu, "nu", lambda v: (v > -1) & (v < 0.5), "Poisson's ratios in (-1, 0.5)")
    K = E / (3 * (1 - 2 * nu))
    G = E / (2 * (1 + nu))
    pick = np.max if upper else np.min
    K_ref, G_ref = pick(K), pick(G)
    zeta = G_ref / 6 * (9 * K_ref + 8 * G_ref) / (K_ref + 2 * G_ref)
    f = (vf, 1 - vf)
    K_b = 1 / (f[0] / (K[0] + 4 / 3 * G_ref) + f[1] / (K[1] + 4 / 3 * G_ref)) - 4 / 3 * G_ref
    G_b = 1 / (f[0] / (G[0] + zeta) + f[1] / (G[1] + zeta)) - zeta
    E_b = 9 * K_b * G_b / (3 * K_b + G_b)
    # Pure phases exactly, not up to the rounding of the K, G round trip.
    E_b = np.where(vf == 1, E[0], np.where(vf == 0, E[1], E_b))
    return E_b[()] if E_b.ndim == 0 else E_b


def _check_pair(values, name, ok, expected):
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (2,) or not np.all(ok(arr)):
        raise InputError(f"`{name}` must be two {expected} (phase 1, phase 2), got {values!r}", name=name)
    return arr


def _smooth(noise, lengths):
    """Periodic Gaussian filter of a stack ``(n, *shape)`` along its image axes, via real FFT."""
    shape = noise.shape[1:]
    axes = tuple(range(1, noise.ndim))
    spectrum = scipy.fft.rfftn(noise, axes=axes)
    kernel = np.ones(spectrum.shape[1:])
    for a, (size, ell) in enumerate(zip(shape, lengths)):
        # The last axis holds only the non-negative frequencies of the real FFT.
        freq = scipy.fft.rfftfreq(size) if a == len(shape) - 1 else scipy.fft.fftfreq(size)
        k = 2 * np.pi * freq
        view = [1] * len(shape)
        view[a] = k.size
        kernel = kernel * np.exp(-0.5 * (k * ell) ** 2).reshape(view)
    return scipy.fft.irfftn(spectrum * kernel, s=shape, axes=axes)


def _threshold(field, fractions):
    """Label the top ``round(f · n_pixels)`` values of each sample as 1 (exact volume fraction)."""
    n = field.shape[0]
    flat = field.reshape(n, -1)
    pixels = flat.shape[1]
    ones = np.rint(fractions * pixels).astype(np.int64)
    order = np.argsort(flat, axis=1)
    rank_is_top = (np.arange(pixels)[None, :] >= pixels - ones[:, None]).astype(np.float32)
    labels = np.empty_like(flat, dtype=np.float32)
    np.put_along_axis(labels, order, rank_is_top, axis=1)
    return labels.reshape(field.shape)


def _check_shape(shape):
    try:
        dims = tuple(int(s) for s in shape)
        valid = len(dims) in (2, 3) and all(d >= 1 and d == s for d, s in zip(dims, shape))
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise InputError(f"`shape` must be (H, W) or (D, H, W) positive integers, got {shape!r}",
                         name="shape")
    return dims


def _check_lengths(correlation_length, ndim):
    lengths = np.asarray(correlation_length, dtype=np.float64) if _is_numeric(correlation_length) else None
    if lengths is not None and lengths.ndim == 0:
        lengths = np.full(ndim, float(lengths))
    if lengths is None or lengths.shape != (ndim,) or not np.all(np.isfinite(lengths) & (lengths >= 0)):
        raise InputError(
            f"`correlation_length` must be one non-negative number of pixels or {ndim} (one per axis), "
            f"got {correlation_length!r}",
            name="correlation_length",
        )
    return lengths


def _check_n_samples(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"`n` (the number of samples) must be a positive integer, got {n!r}", name="n")
    return int(n)


def _check_fractions(volume_fraction, n):
    fractions = np.asarray(volume_fraction, dtype=np.float64) if _is_numeric(volume_fraction) else None
    if fractions is not None and fractions.ndim == 0:
        fractions = np.full(n, float(fractions))
    if fractions is None or fractions.shape != (n,) or not np.all((fractions >= 0) & (fractions <= 1)):
        raise InputError(
            f"`volume_fraction` must be a number in [0, 1] or {n} of them (one per sample), "
            f"got {volume_fraction!r}",
            name="volume_fraction",
        )
    return fractions


def _is_numeric(value):
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return False
    return arr.dtype.kind in "biuf" and arr.dtype.kind != "b"
