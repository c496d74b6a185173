"""Two-phase microstructures built from shapes: random overlapping disks/spheres and lamellae (periodic)."""

import numpy as np

from msdash.errors import InputError


def disks(n, shape, *, volume_fraction=0.3, radius=4.0, seed=None):
    """Random overlapping disks (2D) or spheres (3D) on a periodic cell, added until a volume fraction.

    Centres are uniform in the cell; distances wrap around (periodic images), so the cell tiles space.
    Disks are added one at a time until the phase-1 fraction reaches ``volume_fraction`` (it may overshoot
    by at most one disk's area).

    Parameters
    ----------
    n : int
        Number of samples.
    shape : tuple of int
        ``(H, W)`` or ``(D, H, W)``, pixels.
    volume_fraction : float in (0, 1)
        Target fraction of phase 1 (inside the disks).
    radius : float
        Disk radius, pixels.
    seed : int, Generator or None

    Returns
    -------
    ndarray of uint8, shape (n, *shape)
        1 inside a disk, 0 outside.

    Examples
    --------
    >>> cells = disks(2, (32, 32), volume_fraction=0.3, radius=3, seed=0)
    >>> cells.shape, bool(np.all(cells.mean(axis=(1, 2)) >= 0.3))
    ((2, 32, 32), True)
    """
    shape = _check(n, shape, volume_fraction)
    if not radius > 0:
        raise InputError(f"`radius` must be positive, got {radius!r}", name="radius")
    rng = np.random.default_rng(seed)
    grids = np.indices(shape, dtype=np.float64)
    out = np.zeros((n, *shape), dtype=np.uint8)
    for i in range(n):
        cell = out[i]
        while cell.mean() < volume_fraction:
            centre = rng.random(len(shape)) * np.array(shape)
            squared = np.zeros(shape)
            for axis, size in enumerate(shape):
                delta = np.abs(grids[axis] - centre[axis])
                squared += np.minimum(delta, size - delta) ** 2  # periodic distance
            cell[squared <= radius ** 2] = 1
    return out


def lamellae(n, shape, *, volume_fraction=0.5, period=8, axis=-1, seed=None):
    """Parallel layers of phase 1 with a random offset per sample (periodic when ``period`` divides the size).

    Parameters
    ----------
    n : int
    shape : tuple of int
        ``(H, W)`` or ``(D, H, W)``, pixels.
    volume_fraction : float in (0, 1)
        Share of each period in phase 1 (rounded to whole pixels).
    period : int
        Layer period, pixels; must divide ``shape[axis]``.
    axis : int
        The axis across the layers.
    seed : int, Generator or None

    Returns
    -------
    ndarray of uint8, shape (n, *shape)

    Examples
    --------
    >>> lamellae(1, (4, 8), volume_fraction=0.5, period=4, seed=0)[0, 0].tolist() in (
    ...     [1, 1, 0, 0, 1, 1, 0, 0], [0, 1, 1, 0, 0, 1, 1, 0], [0, 0, 1, 1, 0, 0, 1, 1], [1, 0, 0, 1, 1, 0, 0, 1])
    True
    """
    shape = _check(n, shape, volume_fraction)
    size = shape[axis]
    if not isinstance(period, (int, np.integer)) or period < 2 or size % period:
        raise InputError(f"`period` must be an integer ≥ 2 dividing the size {size} along axis {axis}, "
                         f"got {period!r}", name="period")
    width = int(round(volume_fraction * period))
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, period, n)
    position = np.arange(size)
    profile = ((position[None, :] + offsets[:, None]) % period < width).astype(np.uint8)  # (n, size)
    view = [1] * len(shape)
    view[axis] = size
    return np.stack([np.broadcast_to(p.reshape(view), shape) for p in profile]).astype(np.uint8)


def _check(n, shape, volume_fraction):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"`n` must be a positive integer, got {n!r}", name="n")
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3) or min(shape) < 2:
        raise InputError(f"`shape` must be (H, W) or (D, H, W) with sides ≥ 2, got {shape}", name="shape")
    if not 0 < volume_fraction < 1:
        raise InputError(f"`volume_fraction` must be in (0, 1), got {volume_fraction!r}", name="volume_fraction")
    return shape
