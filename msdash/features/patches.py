"""Tile large micrographs into patches (study C: 128×128 patches with stride 50), keeping the parent name.

References
----------
- Study C: A. Sardeshmukh, S. Reddy, B. P. Gautham, P. Bhattacharyya, "TextureVAE: Learning Interpretable
  Representations of Material Microstructures Using Variational Autoencoders", AAAI 2021 Spring Symposium MLPS,
  CEUR-WS Vol-2964, article 59 (``docs/references.md``).
"""

import numpy as np

from msdash.errors import InputError


def tile(image, *, size=128, stride=None):
    """Cut a 2-D (or RGB) image into square patches on a regular grid.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
    size : int
        Side of a patch, pixels.
    stride : int, optional
        Step between patch corners, pixels; default ``size`` (no overlap). Study C used 128 / 50.

    Returns
    -------
    patches : ndarray, shape (n_patches, size, size[, 3])
        Views into ``image`` copied into one array, row by row.
    corners : ndarray of int, shape (n_patches, 2)
        ``(y, x)`` of each patch's top-left pixel.

    Examples
    --------
    >>> patches, corners = tile(np.arange(36.0).reshape(6, 6), size=4, stride=2)
    >>> patches.shape, corners.tolist()
    ((4, 4, 4), [[0, 0], [0, 2], [2, 0], [2, 2]])
    """
    image = np.asarray(image)
    stride = size if stride is None else stride
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise InputError(f"`image` must be (H, W) or (H, W, 3), got shape {image.shape}", name="image")
    if size < 1 or stride < 1:
        raise InputError(f"`size` and `stride` must be positive, got {size} and {stride}", name="size")
    height, width = image.shape[:2]
    if size > min(height, width):
        raise InputError(f"patch size {size} px is larger than the image ({height}×{width} px)", name="size")
    ys = np.arange(0, height - size + 1, stride)
    xs = np.arange(0, width - size + 1, stride)
    corners = np.array([(y, x) for y in ys for x in xs], dtype=int)
    patches = np.stack([image[y:y + size, x:x + size] for y, x in corners])
    return patches, corners
