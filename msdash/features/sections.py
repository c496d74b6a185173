"""Three orthogonal sections of a 3D volume, as study A slices its voxel microstructures.

References
----------
- Study A: S. E. Whitman, G. Hu, M. I. Latypov, "Learning microstructure–property relationships in materials with
  robust features from vision transformers" (``docs/references.md``).
"""

import numpy as np

from msdash.errors import InputError


def orthogonal_sections(volume, *, index=None):
    """Cut a volume into three orthogonal 2D sections through one voxel.

    Parameters
    ----------
    volume : ndarray, shape (D, H, W)
        The voxel array.
    index : tuple of int (z, y, x), optional
        The voxel the three planes pass through; default the centre ``(D // 2, H // 2, W // 2)``.
        Negative values count from the end, as in numpy.

    Returns
    -------
    list of ndarray
        ``[volume[z], volume[:, y], volume[:, :, x]]`` with shapes (H, W), (D, W) and (D, H):
        the sections normal to the z (depth), y (rows) and x (columns) axes.

    Raises
    ------
    InputError
        ``volume`` is not 3-D, or ``index`` is not three integers inside it. Whether a 3-D sample is a volume
        (and not an RGB image) is :meth:`msdash.data.dataset.Dataset.kind`'s to say.

    Examples
    --------
    >>> v = np.arange(24).reshape(2, 3, 4)
    >>> [s.shape for s in orthogonal_sections(v)]
    [(3, 4), (2, 4), (2, 3)]
    >>> orthogonal_sections(v, index=(0, 0, 0))[2].tolist()
    [[0, 4, 8], [12, 16, 20]]
    """
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise InputError(f"`volume` must be a 3-D array (D, H, W), got shape {volume.shape}", name="volume")
    if index is None:
        index = tuple(n // 2 for n in volume.shape)
    if len(index) != 3:
        raise InputError(f"`index` must hold three integers (z, y, x), got {index!r}", name="index")
    for i, n, axis in zip(index, volume.shape, "zyx"):
        if not -n <= i < n:
            raise InputError(f"`index` {axis}={i} is outside the volume (size {n} along {axis})", name="index")
    z, y, x = index
    return [volume[z], volume[:, y], volume[:, :, x]]
