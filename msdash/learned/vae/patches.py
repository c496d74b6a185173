"""Micrographs cut into the grey patches TextureVAE trains on and encodes (torch-free)."""

from collections.abc import Mapping

import numpy as np

from msdash.errors import InputError
from msdash.features.patches import tile

__all__ = ["patch_stack"]


def _grey_unit(image, what):
    """One image as float32 grey (H, W) in [0, 1] (uint8 is divided by 255, RGB converted to luminance)."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 3:  # only 2-D images come here: 3 channels are colour
        from msdash.data.kinds import to_grey

        array = to_grey(array / 255.0 if array.dtype == np.uint8 else array, kind="rgb")
    elif array.dtype == np.uint8:
        array = array / 255.0
    if array.ndim != 2:
        raise InputError(f"{what} must be a 2-D grey or (H, W, 3) RGB image, got shape {array.shape}", name="images")
    array = np.asarray(array, dtype=np.float32)
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise InputError(f"{what} must hold grey levels in [0, 1] (or uint8), got values in "
                         f"[{np.nanmin(array):g}, {np.nanmax(array):g}]", name="images")
    return array


def patch_stack(images, *, patch=128, stride=50):
    """Cut every micrograph into ``patch``-sized patches (study C: 128 px, stride 50).

    Parameters
    ----------
    images : ndarray (n, H, W) or sequence / dict of 2-D arrays (sizes may differ)
        Grey levels in [0, 1] or uint8 (RGB is converted to grey).
    patch, stride : int
        Patch side and step between patch corners, pixels (see :func:`msdash.features.patches.tile`).

    Returns
    -------
    patches : ndarray of float32, shape (n_patches, patch, patch)
    parents : ndarray of int, shape (n_patches,)
        Index (in ``images``) of the micrograph each patch was cut from.

    Examples
    --------
    >>> patches, parents = patch_stack(np.zeros((2, 64, 96)), patch=32, stride=32)
    >>> patches.shape, parents.tolist()
    ((12, 32, 32), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    """
    arrays = list(images.values()) if isinstance(images, Mapping) else list(images)
    if not arrays:
        raise InputError("`images` holds no micrographs", name="images")
    patches, parents = [], []
    for i, image in enumerate(arrays):
        grey = _grey_unit(image, f"image {i}")
        if min(grey.shape) < patch:
            raise InputError(f"image {i} ({grey.shape[0]}×{grey.shape[1]} px) is smaller than the {patch}-px patch",
                             name="images")
        cut, _ = tile(grey, size=patch, stride=stride)
        patches.append(cut)
        parents.append(np.full(len(cut), i))
    return np.concatenate(patches).astype(np.float32), np.concatenate(parents)
