"""Turn grey micrographs into 0/1 phase maps: Otsu, study B's denoise-then-adaptive-mean pipeline, or none.

Two versions of study B's pipeline: ``"paper-b"`` (:func:`paper_b_threshold`) repeats the study's notebook
step by step (OpenCV's non-local means with ``h = 10``, adaptive mean threshold with offset ``C = 5`` on
8-bit grey levels); ``"nlm-adaptive"`` (:func:`adaptive_nlm_threshold`) is msdash's variant, which scales
the denoising to the measured noise and uses no offset, so a nearly uniform image is split near its local
mean instead of being labelled almost all 1.

References
----------
.. [1] "Machine learning of microstructure-property relationships in materials with robust features from
   foundational vision transformers" (study B), notebook ``Experimental_case_study/
   Thresholding_Experimental_Images.ipynb`` of https://github.com/whishei/MicroPropViT; see
   ``docs/references.md``.
"""

import numpy as np

from ..errors import InputError
from .stacks import check_stack

__all__ = ["is_binary", "otsu", "paper_b_threshold", "adaptive_nlm_threshold", "segment_stack", "METHODS"]


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


def paper_b_threshold(image, *, h=10.0, offset=5, window=None):
    """Study B's segmentation as its notebook ran it: OpenCV non-local means, then adaptive mean threshold.

    The notebook's OpenCV calls, re-implemented in numpy (msdash does not depend on OpenCV):

    1. 8-bit grey ``Y = (4899 R + 9617 G + 1868 B + 2¹³) >> 14`` (``cv2.COLOR_RGB2GRAY``; alpha dropped).
       Float images are taken as grey levels in [0, 1] and mapped to ``round(255 · x)``.
    2. ``cv2.fastNlMeansDenoising(grey, None, h=10, templateWindowSize=7, searchWindowSize=21)``: each pixel
       becomes the weighted mean of the pixels ``q`` within ±10 px, weights ``exp(−d²(p, q) / h²)`` with
       ``d²`` the mean squared difference of the 7×7 patches around ``p`` and ``q`` (weights below 0.001 set
       to 0; borders reflected without repeating the edge pixel), rounded to an 8-bit level.
    3. ``cv2.adaptiveThreshold(denoised, 255, ADAPTIVE_THRESH_MEAN_C, THRESH_BINARY, window, C=5)``: 1 where
       the level is above ``m − C``, ``m`` the mean over the ``window × window`` square rounded to a level
       (borders replicated); window ``⌊n/2⌋ + 1`` if ``⌊n/2⌋`` is even, else ``⌊n/2⌋`` (``n``: short side).

    OpenCV evaluates step 2 in fixed point (patch distances quantised to 64/49 level², integer weights);
    this uses exact distances and float weights, which can move a denoised level by one and so flip
    isolated pixels at the threshold: against OpenCV 5.1 on six synthetic micrographs the phase maps were
    equal on 99.995–100 % of pixels (``bench/paper_b_segmentation.py``). The offset ``C = 5`` makes a
    nearly uniform image almost all 1 (volume fraction 0.997 on such a micrograph, where
    :func:`adaptive_nlm_threshold` gives about half).

    Parameters
    ----------
    image : array_like, shape (n_y, n_x) or (n_y, n_x, 3 | 4)
        Grey or RGB(A) micrograph: uint8 levels, or floats in [0, 1]; at least 4 px per side.
    h : float, optional
        Non-local-means filter strength in 8-bit grey levels (the notebook's 10).
    offset : float, optional
        ``C`` of the adaptive threshold in grey levels (the notebook's 5; rounded up as OpenCV does).
    window : int, optional
        Odd side (px, >= 3) of the local-mean window; default the notebook's rule above.

    Returns
    -------
    ndarray of float32, shape (n_y, n_x)
        Exactly 0/1 (1 = the notebook's 255).

    References
    ----------
    Study B [1]_ (``docs/references.md``).

    Examples
    --------
    >>> stripes = np.tile([0.2, 0.2, 0.8, 0.8], (8, 2))
    >>> paper_b_threshold(stripes)[0]
    array([0., 0., 1., 1., 0., 0., 1., 1.], dtype=float32)
    >>> float(paper_b_threshold(np.full((8, 8), 0.5)).mean())  # uniform: above mean − 5 everywhere
    1.0
    """
    grey = _grey_levels(image)
    if window is None:
        half = min(grey.shape) // 2
        window = half + 1 if half % 2 == 0 else half
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 3 or window % 2 == 0:
        raise InputError(f"`window` must be an odd number of pixels >= 3, got {window!r} (images need at least "
                         "4 px per side)", name="window")
    if isinstance(h, bool) or not isinstance(h, (int, float, np.integer, np.floating)) or not h > 0 \
            or not np.isfinite(h):
        raise InputError(f"`h` must be a positive filter strength in grey levels, got {h!r}", name="h")
    if isinstance(offset, bool) or not isinstance(offset, (int, float, np.integer, np.floating)) \
            or not np.isfinite(offset):
        raise InputError(f"`offset` must be a number of grey levels, got {offset!r}", name="offset")
    denoised = _nl_means_levels(grey, float(h))
    local_mean = np.rint(_box_mean(denoised, int(window)))
    return (denoised - local_mean > -np.ceil(offset)).astype(np.float32)


def _grey_levels(image):
    """8-bit grey levels (as float64) the way the notebook's OpenCV calls see the image."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] in (3, 4) and np.issubdtype(array.dtype, np.number):
        rgb = _to_levels(array[..., :3], "image").astype(np.int64)
        array = (4899 * rgb[..., 0] + 9617 * rgb[..., 1] + 1868 * rgb[..., 2] + (1 << 13)) >> 14
    else:
        stack, _ = check_stack(array, ndim=2, dtype=None, name="image")
        if len(stack) != 1:
            raise InputError(f"`image` must be one 2-D grey image (H, W) or RGB (H, W, 3), got shape "
                             f"{np.shape(image)}", name="image")
        array = _to_levels(stack[0], "image")
    if min(array.shape) < 4:
        raise InputError(f"`image` must be at least 4 × 4 px for 'paper-b', got {array.shape}", name="image")
    return array.astype(np.float64)


def _to_levels(array, name):
    if np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
        values = array.astype(np.int64)
        if values.min() < 0 or values.max() > 255:
            raise InputError(f"`{name}` integer grey levels must lie in 0..255", name=name)
        return values
    values = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise InputError(f"`{name}` float grey levels must lie in [0, 1] (or pass uint8 levels)", name=name)
    return np.rint(values * 255).astype(np.int64)


def _nl_means_levels(grey, h, *, template=7, search=21):
    """Non-local means of 8-bit levels as ``cv2.fastNlMeansDenoising`` defines it, rounded to levels.

    The patch distance is symmetric, so each shift ``t = (dy, dx)`` with ``t > 0`` (lexicographically) is
    computed once and serves both pairs ``(p, p + t)`` and ``(p − t, p)``: half the work of all 21² shifts.
    Distances are sums of squared level differences (integers below 2²⁴, exact in float32), so their weights
    are looked up in a table instead of calling ``exp``.
    """
    from scipy.ndimage import convolve1d

    from ..config import memory_budget

    t, s = template // 2, search // 2
    border = t + s
    levels = np.pad(grey, border, mode="reflect").astype(np.float32)  # numpy "reflect" = OpenCV REFLECT_101
    n_y, n_x = grey.shape
    weights = np.exp(-np.arange(template * template * 255**2 + 1) / (template * template * h * h))
    weights[weights < 0.001] = 0.0
    ones = np.ones(template, dtype=np.float32)
    # About ten 8-byte arrays of a block's rows (plus the search margin) live at once.
    rows = int(max(1, min(n_y, memory_budget() // (10 * 8 * (n_x + 2 * border)) - 2 * border)))
    out = np.empty_like(grey)
    for r_start in range(0, n_y, rows):
        r_stop = min(n_y, r_start + rows)
        num = levels[border + r_start: border + r_stop, border: border + n_x].astype(np.float64)  # t = 0: weight 1
        den = np.ones_like(num)
        for dy in range(0, s + 1):
            for dx in range(-s, s + 1):
                if dy == 0 and dx <= 0:
                    continue
                # Distances for the pairs (q, q + t), q over the block and the block shifted by −t (image coords).
                q_r0, q_c0 = r_start - dy, min(0, -dx)
                q_r1, q_c1 = r_stop, max(n_x, n_x - dx)
                a = levels[q_r0 + s: q_r1 + s + 2 * t, q_c0 + s: q_c1 + s + 2 * t]
                b = levels[q_r0 + s + dy: q_r1 + s + dy + 2 * t, q_c0 + s + dx: q_c1 + s + dx + 2 * t]
                d = a - b
                d *= d
                ssd = convolve1d(convolve1d(d, ones, axis=0, mode="constant")[t:-t], ones, axis=1,
                                 mode="constant")[:, t:-t]
                w = weights[ssd.astype(np.int64)]
                forward = w[r_start - q_r0: r_stop - q_r0, -q_c0: n_x - q_c0]  # q = p: neighbour p + t
                backward = w[r_start - q_r0 - dy: r_stop - q_r0 - dy, -q_c0 - dx: n_x - q_c0 - dx]  # q = p − t
                num += forward * levels[border + r_start + dy: border + r_stop + dy, border + dx: border + dx + n_x]
                num += backward * levels[border + r_start - dy: border + r_stop - dy, border - dx: border - dx + n_x]
                den += forward + backward
        out[r_start:r_stop] = np.rint(num / den)
    return out


def _box_sum(values, size):
    """Sums over every ``size × size`` window that fits inside ``values`` (a 'valid' box filter)."""
    c = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=values.dtype)
    c[1:, 1:] = values.cumsum(axis=0).cumsum(axis=1)
    return c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]


def _box_mean(values, size):
    """Mean over the ``size × size`` square around each pixel, borders replicated (``cv2.boxFilter``)."""
    half = size // 2
    return _box_sum(np.pad(values, half, mode="edge"), size) / (size * size)


def adaptive_nlm_threshold(image, *, h=None, window=None):
    """msdash's variant of study B's segmentation: noise-scaled non-local means, then a local-mean threshold.

    Unlike the notebook (:func:`paper_b_threshold`) the filter strength follows the measured noise and the
    threshold has no offset, so the result does not depend on the grey range of the image and a nearly
    uniform image is split at its local mean (about half 1) rather than labelled almost all 1.

    1. Grey image (RGB is converted by :func:`msdash.data.kinds.to_grey`, BT.601 luma).
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
    The pipeline of study B [1]_ (grey → non-local means → adaptive mean threshold, window about half the
    short side, odd), with the changes above; ``docs/references.md``.

    Examples
    --------
    >>> stripes = np.tile([0.2, 0.2, 0.8, 0.8], (8, 2))
    >>> adaptive_nlm_threshold(stripes)[0]
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
        raise InputError("`images` must already be 0/1 phase maps for method='none'; choose 'otsu', "
                         "'paper-b' or 'nlm-adaptive' to threshold grey images", name="images")
    return _grey_image(image).astype(np.float32)


METHODS = {"otsu": otsu, "paper-b": paper_b_threshold, "nlm-adaptive": adaptive_nlm_threshold, "none": _as_labels}
#: Methods whose output changed since features were first stored with them: the number enters the feature
#: store's key (:func:`method_version`), so rows of the old behaviour are never served for the new one.
#: "paper-b" became the notebook's exact steps (issue 14 item 6); the old behaviour is "nlm-adaptive".
METHOD_VERSIONS = {"paper-b": 2}


def method_version(method):
    """Version tag of a segmentation method for cache keys: ``""`` for methods unchanged since first stored.

    Examples
    --------
    >>> method_version("otsu"), method_version("paper-b")
    ('', 'seg:paper-b@2')
    """
    version = METHOD_VERSIONS.get(method)
    return "" if version is None else f"seg:{method}@{version}"


def segment_stack(images, *, method="otsu"):
    """Threshold every image of a stack (or sequence) into a 0/1 phase map.

    Parameters
    ----------
    images : array_like or sequence of arrays
        A stack ``(n_samples, n_y, n_x)``, a single image ``(n_y, n_x)``, or a sequence of grey / RGB images
        whose sizes may differ.
    method : {"otsu", "paper-b", "nlm-adaptive", "none"}, optional
        :func:`otsu`, :func:`paper_b_threshold` (study B's notebook), :func:`adaptive_nlm_threshold` (msdash's
        variant), each with its defaults, or "none" (the images are already 0/1 maps; anything else raises).

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
    """One grey image (n_y, n_x) as float64; RGB(A) becomes grey by msdash's one rule (BT.601, :func:`to_grey`),
    8/16-bit values first scaled to [0, 1]."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] in (3, 4) and np.issubdtype(array.dtype, np.number):
        from msdash.data.imagestore import to_float32
        from msdash.data.kinds import to_grey

        array = to_grey(to_float32(array[..., :3]), kind="rgb").astype(np.float64)
    stack, _ = check_stack(array, ndim=2, name="image")
    if len(stack) != 1:
        raise InputError(f"`image` must be one 2-D grey image (H, W) or RGB (H, W, 3), got shape {np.shape(image)}",
                         name="image")
    return stack[0]
