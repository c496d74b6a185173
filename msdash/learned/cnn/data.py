"""Network inputs of the CNN regressors: image or MuCha channels, target checks, standardisation statistics."""

import hashlib

import numpy as np

from msdash.errors import InputError

__all__ = ["INPUTS", "prepare_inputs", "check_targets", "statistics", "fingerprint"]

#: Input kinds → (default arch, default optimizer): the study D choices.
INPUTS = {"image": ("resnet18", "adam"), "mucha": ("resnet34", "sgd")}


def prepare_inputs(images, inputs="image"):
    """Images → float32 network inputs (n, c, H, W), before standardisation.

    Parameters
    ----------
    images : array_like, shape (n, H, W), or sequence of (H, W) arrays
        Grey images, floats in [0, 1] or ``uint8``; ``"image"`` inputs need one size for all.
    inputs : {"image", "mucha"}
        ``"image"``: one channel, the image in [0, 1]; ``"mucha"``: the three 64×64 channels of
        :func:`msdash.learned.mucha.mucha_channels` (0..255).

    Returns
    -------
    ndarray of float32, shape (n, 1, H, W) or (n, 3, 64, 64)
    """
    if inputs not in INPUTS:
        raise InputError(f"`inputs` must be one of {', '.join(INPUTS)}, got {inputs!r}", name="inputs")
    if inputs == "mucha":
        from msdash.learned.mucha import mucha_channels

        return mucha_channels(images)
    try:
        array = np.asarray(images)
    except ValueError:
        array = np.empty(0)
    if array.ndim != 3 or array.dtype == object or min(array.shape) < 2:
        raise InputError("`images` must be a stack (n, H, W) of grey images of one size"
                         f"{'' if array.dtype == object else f', got shape {array.shape}'}", name="images")
    if array.dtype == np.uint8:
        return (array.astype(np.float32) / 255.0)[:, None]
    if not (np.issubdtype(array.dtype, np.floating) or array.dtype == bool):
        raise InputError(f"`images` must be floats in [0, 1] or uint8, got {array.dtype}", name="images")
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise InputError("`images` has NaN or infinite values", name="images")
    return array[:, None]


def check_targets(y, n):
    """``y`` as float64 (n,): numeric, one value per image, finite; :class:`InputError` otherwise."""
    try:
        y = np.asarray(y, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InputError("`y` must be numeric", name="y") from None
    if len(y) != n:
        raise InputError(f"`y` has {len(y)} values for {n} images", name="y")
    if not np.isfinite(y).all():
        raise InputError("`y` has NaN or infinite values; drop those images first", name="y")
    return y


def fingerprint(x, y, groups):
    """SHA-1 hex digest of the inputs (n, c, H, W), targets (n,) and groups: what a resumed run must match."""
    digest = hashlib.sha1(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    if groups is not None:
        digest.update(repr(np.asarray(groups).tolist()).encode())
    return digest.hexdigest()


def statistics(x, y, rows):
    """Standardisation statistics of the training ``rows``.

    Parameters
    ----------
    x : ndarray, shape (n, c, H, W)
    y : ndarray, shape (n,)
    rows : ndarray of int
        The rows the network is fitted on (never validation or test rows).

    Returns
    -------
    dict
        ``input_mean``, ``input_std`` (lists of c floats, over images and pixels), ``target_mean``,
        ``target_std`` (target units). A zero standard deviation is replaced by 1.

    Examples
    --------
    >>> x = np.arange(8, dtype=np.float32).reshape(2, 1, 2, 2); y = np.array([1.0, 3.0])
    >>> s = statistics(x, y, np.array([0, 1]))
    >>> s["input_mean"], s["target_mean"], s["target_std"]
    ([3.5], 2.0, 1.0)
    """
    mean = x[rows].mean(axis=(0, 2, 3), dtype=np.float64)
    std = x[rows].std(axis=(0, 2, 3), dtype=np.float64)
    t_mean, t_std = float(y[rows].mean()), float(y[rows].std())
    return {"input_mean": mean.tolist(), "input_std": np.where(std > 0, std, 1.0).tolist(),
            "target_mean": t_mean, "target_std": t_std if t_std > 0 else 1.0}
