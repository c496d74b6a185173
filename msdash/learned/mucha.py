"""MuCha inputs (study D): image, log FFT magnitude and wavelet diagonal detail as three 64×64 channels.

PyWavelets and Pillow are imported inside the functions that use them.

References
----------
- Study D: B. D. Nguyen, P. Potapenko, A. Demirci, K. Govind, S. Bompas, S. Sandfeld, "Efficient Surrogate Models
  for Materials Science Simulations: Machine Learning-based Prediction of Microstructure Properties"
  (``docs/references.md``).
"""

import numpy as np

from msdash.errors import InputError

__all__ = ["mucha_channels", "MUCHA_SIZE", "MUCHA_WAVELET"]

#: Side of the MuCha channels, in pixels (study D's 64×64 Ising and Cahn–Hilliard images).
MUCHA_SIZE = 64
#: Wavelet of the detail channel. Study D names a one-level ``sym`` transform without its order; we use sym4.
MUCHA_WAVELET = "sym4"


def mucha_channels(images, *, size=MUCHA_SIZE, wavelet=MUCHA_WAVELET):
    """Stack of MuCha input channels: the image, its FFT magnitude and its diagonal wavelet detail.

    Every image ``u`` is first brought to ``size × size`` pixels by Pillow's bilinear resampling of the
    float image (Pillow widens the filter when shrinking, so large micrographs are low-pass filtered
    rather than aliased; images already ``size × size`` are left untouched), and to grey levels
    ``g = 255 · u`` (``uint8`` images are taken as they are). Then, per image,

    - channel 0: ``g`` (0..255);
    - channel 1: ``log(1 + |fftshift(FFT2(g))|)``, min–max rescaled to 0..255 (zero frequency at the centre,
      pixel ``(size // 2, size // 2)``);
    - channel 2: the diagonal detail ``cD`` of a one-level 2-D discrete wavelet transform of ``g``
      (``pywt.dwt2(g, wavelet)``, PyWavelets' default ``"symmetric"`` border mode; ``(size + L − 1) // 2``
      pixels a side for a filter of length ``L``, 35 for sym4 at 64), resized back to ``size × size`` by
      Pillow's bilinear resampling and min–max rescaled to 0..255.

    A channel whose range over the image is below 1e-6 (a uniform image's wavelet detail, which is rounding
    noise) becomes all zeros.

    Parameters
    ----------
    images : array_like, shape (n, H, W), or sequence of (H, W) arrays
        Grey images: floats in [0, 1] (0/1 phase maps included), booleans, or ``uint8`` (0..255).
        Sizes may differ between images.
    size : int, optional
        Side of the output channels, in pixels (at least 8).
    wavelet : str, optional
        A discrete wavelet known to PyWavelets (``"sym4"``, ``"sym2"``, ``"db2"``, ...).

    Returns
    -------
    ndarray of float32, shape (n, 3, size, size)
        Values in [0, 255].

    Raises
    ------
    InputError
        Not a stack of 2-D images, values outside [0, 1] (floats), another integer type, NaN, or an unknown
        wavelet.

    Examples
    --------
    >>> image = np.zeros((64, 64)); image[:, 32:] = 1.0
    >>> x = mucha_channels(image[None])
    >>> x.shape, x.dtype, float(x[0, 0].max()), float(x[0, 1].max())
    ((1, 3, 64, 64), dtype('float32'), 255.0, 255.0)
    """
    import pywt

    size = _check_size(size)
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise InputError(f"`wavelet` must be a discrete wavelet of PyWavelets (e.g. 'sym4'), got {wavelet!r}",
                         name="wavelet")
    grey = np.stack([_resize(_grey_levels(image, i), size) for i, image in enumerate(_as_list(images))])
    out = np.empty((len(grey), 3, size, size), dtype=np.float32)
    out[:, 0] = grey
    spectrum = np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(grey.astype(np.float64)), axes=(-2, -1))))
    out[:, 1] = _rescale(spectrum)
    _, (_, _, diagonal) = pywt.dwt2(grey.astype(np.float64), wavelet, axes=(-2, -1))
    out[:, 2] = _rescale(np.stack([_resize(d, size) for d in diagonal]))
    return out


def _check_size(size):
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise InputError(f"`size` must be an integer >= 8 (pixels), got {size!r}", name="size")
    return int(size)


def _as_list(images):
    if isinstance(images, np.ndarray):
        if images.ndim != 3:
            raise InputError(f"`images` must be a stack (n, H, W) of grey images, got shape {images.shape}",
                             name="images")
        return list(images)
    images = list(images)
    if not images:
        raise InputError("`images` is empty", name="images")
    return images


def _grey_levels(image, index):
    """One image → float32 (H, W) grey levels in [0, 255]."""
    array = np.asarray(image)
    if array.ndim != 2 or min(array.shape) < 2:
        raise InputError(f"image {index} must be a 2-D grey image, got shape {array.shape}", name="images")
    if array.dtype == np.uint8:
        return array.astype(np.float32)
    if array.dtype == bool:
        return array.astype(np.float32) * 255.0
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"image {index} has integer type {array.dtype}; give floats in [0, 1] or uint8",
                         name="images")
    if not np.isfinite(array).all():
        raise InputError(f"image {index} has NaN or infinite values", name="images")
    if array.min() < 0 or array.max() > 1:
        raise InputError(f"image {index} must hold values in [0, 1] (scale it first), got "
                         f"[{array.min():g}, {array.max():g}]", name="images")
    return array.astype(np.float32) * 255.0


def _resize(array, size):
    """Pillow bilinear resize of a float (H, W) array to (size, size); unchanged when already that size."""
    if array.shape == (size, size):
        return np.asarray(array, dtype=np.float32)
    from PIL import Image

    resized = Image.fromarray(np.ascontiguousarray(array, dtype=np.float32)).resize((size, size), Image.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def _rescale(stack, tiny=1e-6):
    """Per-image min–max rescaling of (n, h, w) to [0, 255]; images whose range is below ``tiny`` become 0."""
    low = stack.min(axis=(-2, -1), keepdims=True)
    span = stack.max(axis=(-2, -1), keepdims=True) - low
    return np.where(span > tiny, (stack - low) / np.where(span > tiny, span, 1.0) * 255.0, 0.0)
