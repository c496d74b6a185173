"""2D Ising model snapshots by batched checkerboard Metropolis sampling (study D's Ising data set).

The lattice is square and periodic with ``N × N`` spins ``s = ±1``, coupling ``J = 1``, no field and
``k_B = 1``, so temperatures are in units of ``J / k_B`` and the energy is ``E = -Σ_<ij> s_i s_j`` over
nearest-neighbour pairs. Metropolis flips a spin with probability ``min(1, exp(-ΔE / T))`` where
``ΔE = 2 s_i h_i`` and ``h_i`` is the sum of its four neighbours.

Spins are split into the two colours of a checkerboard: no two spins of one colour are neighbours, so a
whole colour can be updated at once without changing the stationary (Boltzmann) distribution. One
checkerboard sweep is ``N²`` single-spin attempts. Many lattices, each with its own temperature, are
updated together as one ``(n, N, N)`` array, so a whole data set is one vectorised loop.

References
----------
.. [1] B. D. Nguyen, P. Potapenko, A. Demirci, K. Govind, S. Bompas, S. Sandfeld, "Efficient Surrogate Models
   for Materials Science Simulations: Machine Learning-based Prediction of Microstructure Properties" (study D
   of ``docs/references.md``).
"""

import numpy as np

from ..errors import InputError

__all__ = ["TC", "ising", "ising_dataset", "onsager_magnetisation"]

#: Onsager's critical temperature of the square-lattice Ising model, ``2 / ln(1 + √2) ≈ 2.269`` (J / k_B).
TC = 2.0 / np.log1p(np.sqrt(2.0))

_SITES_PER_CHUNK = 1 << 20  # lattices are updated in chunks of about this many spins to stay in cache / RAM


def onsager_magnetisation(temperature):
    """Spontaneous magnetisation per spin of the infinite square-lattice Ising model.

    ``m(T) = (1 - sinh(2 / T)^-4)^(1/8)`` for ``T < Tc`` and 0 for ``T ≥ Tc`` (``J = k_B = 1``).

    Parameters
    ----------
    temperature : float or array_like
        Temperature(s) ``T ≥ 0`` in units of ``J / k_B``.

    Returns
    -------
    m : float or ndarray
        Magnetisation in [0, 1], same shape as ``temperature``.

    References
    ----------
    C. N. Yang, "The spontaneous magnetization of a two-dimensional Ising model", Phys. Rev. 85, 808 (1952).

    Examples
    --------
    >>> float(onsager_magnetisation(0.0)), float(onsager_magnetisation(3.0))
    (1.0, 0.0)
    >>> round(float(onsager_magnetisation(2.0)), 4)
    0.9113
    """
    t = np.asarray(temperature, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise InputError(f"`temperature` must be finite and ≥ 0, got {temperature!r}", name="temperature")
    with np.errstate(divide="ignore", over="ignore"):
        inv_sinh4 = np.sinh(2.0 / t) ** -4.0  # T = 0 → sinh(∞) = ∞ → 0
    m = np.where(t < TC, np.clip(1.0 - inv_sinh4, 0.0, 1.0) ** 0.125, 0.0)
    return float(m) if m.ndim == 0 else m


def ising(n, *, size=64, temperature, steps=None, start="random", seed=None):
    """Sample ``n`` square-lattice Ising configurations by checkerboard Metropolis.

    Each lattice starts random (each spin ±1 with probability ½) or ordered (all +1) and receives
    ``steps`` single-spin Metropolis attempts at its own temperature: ``steps // N²`` full checkerboard
    sweeps (black sites, then white), then the remaining attempts on randomly chosen distinct sites of
    the next colour(s). A spin flips when ``u < exp(-ΔE / T)`` with ``u`` uniform in [0, 1), i.e. always
    when ``ΔE ≤ 0``. At ``T = 0`` only moves with ``ΔE ≤ 0`` are accepted (``ΔE = 0`` flips are taken,
    the ``T → 0`` limit of Metropolis).

    Parameters
    ----------
    n : int
        Number of lattices (≥ 1).
    size : int, optional
        Lattice side ``N`` in spins; must be even (≥ 2) so that the periodic checkerboard is bipartite.
    temperature : float or array_like of shape (n,)
        Temperature ``T ≥ 0`` in units of ``J / k_B``, one for all lattices or one per lattice.
    steps : int, optional
        Single-spin attempts per lattice; default ``N³`` (``N`` sweeps), as in study D.
    start : {"random", "ordered"}, optional
        Initial state: independent random spins, or all spins +1.
    seed : int, numpy.random.Generator or None, optional
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    spins : ndarray of int8, shape (n, N, N)
        Spins ±1.

    References
    ----------
    N. Metropolis et al., "Equation of state calculations by fast computing machines",
    J. Chem. Phys. 21, 1087 (1953). M. E. J. Newman and G. T. Barkema, *Monte Carlo Methods in
    Statistical Physics*, Oxford (1999), ch. 3 (Metropolis) and 13 (checkerboard decomposition).

    Examples
    --------
    >>> spins = ising(3, size=8, temperature=[0.0, 1.0, 5.0], start="ordered", seed=0)
    >>> spins.shape, spins.dtype
    ((3, 8, 8), dtype('int8'))
    >>> bool(np.all(spins[0] == 1))  # at T = 0 an ordered lattice has no move with ΔE ≤ 0
    True
    """
    n = _check_int(n, "n", minimum=1)
    size = _check_int(size, "size", minimum=2)
    if size % 2:
        raise InputError(f"`size` must be even (the checkerboard update needs it), got {size}", name="size")
    temperatures = _check_temperature(temperature, n)
    sites = size * size
    steps = size**3 if steps is None else _check_int(steps, "steps", minimum=0)
    if start not in ("random", "ordered"):
        raise InputError(f"`start` must be 'random' or 'ordered', got {start!r}", name="start")

    rng = np.random.default_rng(seed)
    spins = np.empty((n, size, size), dtype=np.int8)
    chunk = max(1, _SITES_PER_CHUNK // sites)
    for first in range(0, n, chunk):
        part = slice(first, min(n, first + chunk))
        count = part.stop - part.start
        if start == "random":
            lattice = (2 * rng.integers(0, 2, size=(count, size, size), dtype=np.int8) - 1).astype(np.int8)
        else:
            lattice = np.ones((count, size, size), dtype=np.int8)
        spins[part] = _metropolis(lattice, temperatures[part], steps, rng)
    return spins


def ising_dataset(n, *, size=64, seed=None, t_max=None, steps=None):
    """Study D's Ising data set: random-start lattices at temperatures uniform in ``[0, t_max]``.

    Parameters
    ----------
    n : int
        Number of images.
    size : int, optional
        Lattice side ``N`` (even).
    seed : int, numpy.random.Generator or None, optional
        Seeds both the temperatures and the Monte Carlo moves.
    t_max : float, optional
        Highest temperature; default ``2 · Tc ≈ 4.539``.
    steps : int, optional
        Single-spin attempts per lattice; default ``N³``.

    Returns
    -------
    spins : ndarray of int8, shape (n, N, N)
        Spins ±1 (study D saves them as black / white images).
    temperatures : ndarray of float, shape (n,)
        ``T`` of each lattice, uniform in ``[0, t_max]``.
    scaled : ndarray of float, shape (n,)
        The property: ``255 · T / t_max`` in [0, 255] (``255 · T / (2 Tc)`` by default).

    Examples
    --------
    >>> spins, t, y = ising_dataset(4, size=8, seed=0)
    >>> spins.shape, bool(np.all((t >= 0) & (t <= 2 * TC))), bool(np.allclose(y, 255 * t / (2 * TC)))
    ((4, 8, 8), True, True)
    """
    n = _check_int(n, "n", minimum=1)
    t_max = 2.0 * TC if t_max is None else t_max
    if not np.isfinite(t_max) or t_max <= 0:
        raise InputError(f"`t_max` must be a positive temperature, got {t_max!r}", name="t_max")
    rng = np.random.default_rng(seed)
    temperatures = rng.uniform(0.0, t_max, size=n)
    spins = ising(n, size=size, temperature=temperatures, steps=steps, start="random", seed=rng)
    return spins, temperatures, 255.0 * temperatures / t_max


def _metropolis(lattice, temperatures, steps, rng):
    """Run ``steps`` attempts per lattice on ``lattice`` (count, N, N); returns the updated lattice."""
    count, size, _ = lattice.shape
    half = size // 2
    # The four sub-lattices of 2×2 blocks: a = (even, even), b = (even, odd), c = (odd, even), d = (odd, odd).
    # a and d are black, b and c white; each only borders the other colour.
    a, b, c, d = (np.ascontiguousarray(lattice[:, i::2, j::2]) for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
    # Acceptance of ΔE = 2 s h = 4 and 8 (the only uphill moves); 0 at T = 0.
    t = temperatures.reshape(-1, 1, 1)
    with np.errstate(divide="ignore"):
        p4 = np.where(t > 0, np.exp(-4.0 / np.where(t > 0, t, 1.0)), 0.0).astype(np.float32)
        p8 = (p4.astype(np.float64) ** 2).astype(np.float32)

    colour_sites = size * size // 2
    full_half_sweeps, remainder = divmod(steps, colour_sites)
    for k in range(full_half_sweeps + (remainder > 0)):
        mask = None
        if k == full_half_sweeps:  # a partial half-sweep: `remainder` distinct random sites of this colour
            keys = rng.random((count, colour_sites))
            chosen = np.zeros((count, colour_sites), dtype=bool)
            np.put_along_axis(chosen, np.argpartition(keys, remainder - 1, axis=1)[:, :remainder], True, axis=1)
            mask = chosen.reshape(count, 2, half, half)
        if k % 2 == 0:  # black: a at (2I, 2J), d at (2I+1, 2J+1)
            h_a = c + np.roll(c, 1, axis=1) + b + np.roll(b, 1, axis=2)
            h_d = b + np.roll(b, -1, axis=1) + c + np.roll(c, -1, axis=2)
            _flip(a, h_a, p4, p8, rng, None if mask is None else mask[:, 0])
            _flip(d, h_d, p4, p8, rng, None if mask is None else mask[:, 1])
        else:  # white: b at (2I, 2J+1), c at (2I+1, 2J)
            h_b = np.roll(d, 1, axis=1) + d + a + np.roll(a, -1, axis=2)
            h_c = a + np.roll(a, -1, axis=1) + np.roll(d, 1, axis=2) + d
            _flip(b, h_b, p4, p8, rng, None if mask is None else mask[:, 0])
            _flip(c, h_c, p4, p8, rng, None if mask is None else mask[:, 1])

    out = np.empty_like(lattice)
    for sub, (i, j) in zip((a, b, c, d), ((0, 0), (0, 1), (1, 0), (1, 1))):
        out[:, i::2, j::2] = sub
    return out


def _flip(sub, field, p4, p8, rng, mask):
    """Metropolis step on one sub-lattice in place: ``x = s h``, ΔE = 2x, accept x ≤ 0 or u < exp(-2x / T)."""
    x = sub * field  # int8: s h in {-4, -2, 0, 2, 4}
    u = rng.random(sub.shape, dtype=np.float32)
    accept = (x <= 0) | ((x == 2) & (u < p4)) | ((x == 4) & (u < p8))
    if mask is not None:
        accept &= mask
    np.negative(sub, out=sub, where=accept)


def _check_int(value, name, *, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"`{name}` must be an integer ≥ {minimum}, got {value!r}", name=name)
    return int(value)


def _check_temperature(temperature, n):
    t = np.asarray(temperature, dtype=float) if not isinstance(temperature, str) else None
    if t is None or t.ndim > 1 or (t.ndim == 1 and t.size != n):
        raise InputError(f"`temperature` must be a number or an array of n = {n} values, got {temperature!r}",
                         name="temperature")
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise InputError(f"`temperature` must be finite and ≥ 0, got {temperature!r}", name="temperature")
    return np.broadcast_to(t, (n,)).astype(float)
