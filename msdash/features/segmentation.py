"""Turn grey micrographs into 0/1 phase maps: Otsu, study B's denoise-then-adaptive-mean pipeline, or none."""

import numpy as np

from ..errors import InputError
from .stacks import check_stack

__all__ = ["is_binary", "otsu", "paper_b_threshold", "segment_stack", "METHODS"]


def is_binary(image):
    """Whether an array holds only the labels 0 and 1 (both, or just one of them).

    Examples
    --------
    >>> is_binary(np.array([[0, 1], [1, 0]])), is_binary(np.ones((2, 2))), is_binary(np.array([0, 0.5]))
    (True, True, False)
    """
    values = np.asarray(image)
    if values.dtype == bool:
        return True
    if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        return False
    return bool(np.isin(values, (0, 1)).all())


def otsu(image):
    """Global Otsu threshold: 1 where the grey value is above the threshold that best splits the histogram.

    Uses :func:`skimage.filters.threshold_otsu` (which maximises the between-class variance). An image with a
    single grey value has nothing to split and gives all zeros.

    Parameters
    ----------
    image : array_like, shape (n_y, n_x) or (n_y, n_x, 3 | 4)
        Grey image (any range) or RGB(A), which is first converted to grey.

    Returns
    -------
    ndarray of float32, shape (n_y, n_x)
        The phase map, exactly 0/1 (1 = bright phase).

    Examples
    --------
    >>> otsu(np.array([[0.1, 0.2], [0.8, 0.9]]))
    array([[0., 0.],
           [1., 1.]], dtype=float32)
    >>> otsu(np.full((2, 2), 0.5))
    array([[0., 0.],
           [0., 0.]], dtype=float32)
    """
    from skimage.filters import threshold_otsu

    grey = _grey_image(image)
    if grey.min() == grey.max():
        return np.zeros(grey.shape, dtype=np.float32)
    return (grey > threshold_otsu(grey)).astype(np.float32)


def paper_b_threshold(image, *, h=None, window=None):
    """Study B's segmentation: non-local-means denoising, then an adaptive mean threshold.

    1. Grey image (RGB is converted with :func:`skimage.color.rgb2gray`).
    2. Noise level ``sigma``: the robust wavelet estimate ``median(|HH|) / 0.6745`` of Donoho & Johnstone on the
       finest diagonal Haar coefficients ``HH = (u[2i, 2j] - u[2i, 2j+1] - u[2i+1, 2j] + u[2i+1, 2j+1]) / 2``
       (what :func:`skimage.restoration.estimate_sigma` does with Daubechies wavelets; that needs PyWavelets,
       which msdash does not depend on).
    3. :func:`skimage.restoration.denoise_nl_means` with ``fast_mode=True``, 7×7 patches searched within 11 px,
       ``sigma`` as above and filter strength ``h = 0.8 · sigma`` by default (the value scikit-image recommends
       for the fast mode). A noise-free image (``sigma = 0``) is not denoised.
    4. Pixel = 1 where its denoised value is above the mean over the ``window × window`` square around it
       (:func:`skimage.filters.threshold_local`, ``method="mean"``, offset 0, borders reflected).

    Parameters
    ----------
    image : array_like, shape (n_y, n_x) or (n_y, n_x, 3 | 4)
        Grey (floats, e.g. in [0, 1]) or RGB(A) micrograph.
    h : float, optional
        Non-local-means filter strength, in grey units; default ``0.8 · sigma``.
    window : int, optional
        Odd side (px, >= 3) of the local-mean window; default about half the short side,
        ``max(3, (min(n_y, n_x) // 2) | 1)``.

    Returns
    -------
    ndarray of float32, shape (n_y, n_x)
        Exactly 0/1 (1 = brighter than its neighbourhood).

    References
    ----------
    SCIENCE.md, study B ("grayscale → non-local-means denoise → adaptive mean threshold (window ≈ half the
    short side, odd)").

    Examples
    --------
    >>> stripes = np.tile([0.2, 0.2, 0.8, 0.8], (8, 2))
    >>> paper_b_threshold(stripes)[0]
    array([0., 0., 1., 1., 0., 0., 1., 1.], dtype=float32)
    """
    from skimage.filters import threshold_local
    from skimage.restoration import denoise_nl_means

    grey = _grey_image(image)
    if window is None:
        window = max(3, (min(grey.shape) // 2) | 1)
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 3 or window % 2 == 0:
        raise InputError(f"`window` must be an odd number of pixels >= 3, got {window!r}", name="window")
    sigma = noise_sigma(grey)
    if h is None:
        h = 0.8 * sigma
    if not np.isfinite(h) or h < 0:
        raise InputError(f"`h` must be a non-negative filter strength, got {h!r}", name="h")
    if sigma > 0 and h > 0:
        grey = denoise_nl_means(grey, h=h, sigma=sigma, fast_mode=True, patch_size=7, patch_distance=11)
    local_mean = threshold_local(grey, block_size=int(window), method="mean", offset=0)
    return (grey > local_mean).astype(np.float32)


def noise_sigma(image):
    """Robust estimate of the standard deviation of white noise in a grey image.

    ``median(|HH|) / 0.6745`` on the finest diagonal Haar wavelet coefficients (see :func:`paper_b_threshold`).

    Examples
    --------
    >>> noise_sigma(np.ones((4, 4)))
    0.0
    """
    grey = np.asarray(image, dtype=np.float64)
    grey = grey[: grey.shape[0] // 2 * 2, : grey.shape[1] // 2 * 2]
    hh = (grey[0::2, 0::2] - grey[0::2, 1::2] - grey[1::2, 0::2] + grey[1::2, 1::2]) / 2
    return float(np.median(np.abs(hh)) / 0.6745) if hh.size else 0.0


def _as_labels(image):
    """Method "none": the image must already be a 0/1 phase map."""
    if not is_binary(image):
        raise InputError("`images` must already be 0/1 phase maps for method='none'; choose 'otsu' or "
                         "'paper-b' to threshold grey images", name="images")
    return _grey_image(image).astype(np.float32)


METHODS = {"otsu": otsu, "paper-b": paper_b_threshold, "none": _as_labels}


def segment_stack(images, *, method="otsu"):
    """Threshold every image of a stack (or sequence) into a 0/1 phase map.

    Parameters
    ----------
    images : array_like or sequence of arrays
        A stack ``(n_samples, n_y, n_x)``, a single image ``(n_y, n_x)``, or a sequence of grey / RGB images
        whose sizes may differ.
    method : {"otsu", "paper-b", "none"}, optional
        :func:`otsu`, :func:`paper_b_threshold` (with its defaults) or "none" (the images are already 0/1
        maps; anything else raises).

    Returns
    -------
    ndarray of float32, shape (n_samples, n_y, n_x), or list of ndarray
        An array for an array input, a list (one 0/1 map per image) for a sequence.

    Examples
    --------
    >>> segment_stack(np.array([[[0.1, 0.9]], [[0.7, 0.3]]]))
    array([[[0., 1.]],
    <BLANKLINE>
           [[1., 0.]]], dtype=float32)
    """
    if method not in METHODS:
        raise InputError(f"`method` must be one of {sorted(METHODS)}, got {method!r}", name="method")
    segment = METHODS[method]
    if isinstance(images, np.ndarray):
        stack, _ = check_stack(images, ndim=2, dtype=None)
        return np.stack([segment(image) for image in stack])
    return [segment(image) for image in images]


def _grey_image(image):
    """One grey image (n_y, n_x) as float64; RGB(A) is converted with skimage's luminance weights."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] in (3, 4) and np.issubdtype(array.dtype, np.number):
        from skimage.color import rgb2gray

        array = rgb2gray(array[..., :3])
    stack, _ = check_stack(array, ndim=2, name="image")
    if len(stack) != 1:
        raise InputError(f"`image` must be one 2-D grey image (H, W) or RGB (H, W, 3), got shape {np.shape(image)}",
                         name="image")
    return stack[0]
