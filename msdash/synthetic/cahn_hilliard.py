"""Cahn–Hilliard phase separation of a binary alloy by semi-implicit Fourier-spectral steps (study D's data set).

The concentration ``c(x, t)`` on a periodic ``N × N`` grid (spacing 1, so lengths are in pixels) starts
uniform random in [0, 1] and follows

    ∂c/∂t = M ∇²(f'(c) − kc ∇²c),    f(c) = c0 c² (1 − c)²,

the gradient flow of the free energy ``F = ∫ c0 c²(1 − c)² + ½ kc |∇c|² dx``. Study D adds an elastic
energy; it is left out here. In Fourier space (``k = 2π · fftfreq(N)`` rad/pixel) the stiff biharmonic term
is implicit and the nonlinear term explicit:

    ĉ_{n+1} = (ĉ_n − Δt M k² FFT[f'(c_n)]) / (1 + Δt M kc k⁴),

which keeps the ``k = 0`` mode, the mass, exactly. Time steps grow geometrically from ``dt / 100`` to
``dt`` over the first ``ramp_steps`` steps (the fast early dynamics), then stay at ``dt``, as in study D.
"""

import numpy as np

from ..errors import InputError

__all__ = ["cahn_hilliard", "cahn_hilliard_dataset", "free_energy", "time_schedule"]


def cahn_hilliard(*, size=64, steps, dt=1.0, c0=1.0, kc=1.0, mobility=1.0, n_snapshots=100, ramp_steps=100,
                  seed=None):
    """One Cahn–Hilliard run from a uniform random start, with snapshots and their total free energy.

    The defaults (grid units, ``c0 = kc = M = 1``, ``dt = 1``) give a fastest-growing wavelength of
    ``2π √(2 kc / c0) ≈ 8.9`` pixels and interfaces a few pixels wide; on 64 × 64 the characteristic length
    grows from about 14 to 25 pixels over 1,000 steps and to about 38 by 3,000. The explicit nonlinear
    term limits the step: ``dt ≲ 2`` is stable for these ``c0``, ``kc``, ``M`` (``dt = 4`` diverges).

    Parameters
    ----------
    size : int, optional
        Grid side ``N`` in pixels.
    steps : int
        Number of time steps.
    dt : float, optional
        Constant time step after the ramp, in the model's time unit (grid units: pixel² / (M · c0)).
    c0 : float, optional
        Height scale of the double well ``f(c) = c0 c² (1 − c)²`` (energy per pixel).
    kc : float, optional
        Gradient-energy coefficient (energy · pixel²).
    mobility : float, optional
        ``M`` in ``∂c/∂t = M ∇² μ``.
    n_snapshots : int, optional
        Snapshots saved after steps ``round((i + 1) · steps / n_snapshots)``, ``i = 0 … n_snapshots − 1``
        (the last is the final state; the random start is not saved).
    ramp_steps : int, optional
        Length of the geometric ramp of the step size (capped at ``steps``); 0 starts at ``dt``.
    seed : int, numpy.random.Generator or None, optional
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    snapshots : ndarray of float64, shape (n_snapshots, N, N)
        The raw concentration; it is not clipped and overshoots [0, 1] by about 0.01–0.02 near interfaces.
    energies : ndarray of float64, shape (n_snapshots,)
        Total free energy :func:`free_energy` of each snapshot (the property of study D).

    References
    ----------
    J. W. Cahn and J. E. Hilliard, "Free energy of a nonuniform system. I", J. Chem. Phys. 28, 258 (1958).
    L. Q. Chen and J. Shen, "Applications of semi-implicit Fourier-spectral method to phase field
    equations", Comput. Phys. Commun. 108, 147 (1998).

    Examples
    --------
    >>> snapshots, energies = cahn_hilliard(size=16, steps=50, n_snapshots=5, seed=0)
    >>> snapshots.shape, energies.shape
    ((5, 16, 16), (5,))
    >>> bool(np.all(np.diff(energies) < 0))  # the free energy falls
    True
    """
    snapshots, energies, _ = cahn_hilliard_dataset(1, size=size, steps=steps, dt=dt, c0=c0, kc=kc,
                                                   mobility=mobility, n_snapshots=n_snapshots,
                                                   ramp_steps=ramp_steps, seed=seed)
    return snapshots, energies


def cahn_hilliard_dataset(n_runs, *, size=64, steps, dt=1.0, c0=1.0, kc=1.0, mobility=1.0, n_snapshots=100,
                          ramp_steps=100, seed=None):
    """Several independent runs of :func:`cahn_hilliard`, stepped together; the run id is the group.

    Parameters
    ----------
    n_runs : int
        Number of runs (study D used 20, testing on 2 whole runs: split by ``groups``).
    size, steps, dt, c0, kc, mobility, n_snapshots, ramp_steps, seed
        As in :func:`cahn_hilliard`.

    Returns
    -------
    snapshots : ndarray of float64, shape (n_runs · n_snapshots, N, N)
        Run after run, each in time order.
    energies : ndarray of float64, shape (n_runs · n_snapshots,)
        Total free energy of each snapshot.
    groups : ndarray of int, shape (n_runs · n_snapshots,)
        Run id ``0 … n_runs − 1`` of each snapshot.

    Examples
    --------
    >>> x, y, groups = cahn_hilliard_dataset(2, size=8, steps=10, n_snapshots=3, seed=1)
    >>> x.shape, groups.tolist()
    ((6, 8, 8), [0, 0, 0, 1, 1, 1])
    """
    n_runs = _check_int(n_runs, "n_runs", minimum=1)
    size = _check_int(size, "size", minimum=2)
    steps = _check_int(steps, "steps", minimum=1)
    n_snapshots = _check_int(n_snapshots, "n_snapshots", minimum=1)
    if n_snapshots > steps:
        raise InputError(f"`n_snapshots` must be at most `steps` = {steps}, got {n_snapshots}",
                         name="n_snapshots")
    for name, value in (("c0", c0), ("kc", kc), ("mobility", mobility)):
        _check_positive(value, name)
    dts, saved = time_schedule(steps, dt=dt, ramp_steps=ramp_steps, n_snapshots=n_snapshots)

    rng = np.random.default_rng(seed)
    c = rng.random((n_runs, size, size))
    k2 = _wavenumber_squared(size, real=True)
    c_hat = np.fft.rfft2(c)
    snapshots = np.empty((n_runs, n_snapshots, size, size))
    save = 0
    for step, step_dt in enumerate(dts, start=1):
        df = 2.0 * c0 * c * (1.0 - c) * (1.0 - 2.0 * c)  # f'(c)
        c_hat = (c_hat - step_dt * mobility * k2 * np.fft.rfft2(df)) / (1.0 + step_dt * mobility * kc * k2**2)
        c = np.fft.irfft2(c_hat, s=(size, size))
        if save < n_snapshots and step == saved[save]:
            snapshots[:, save] = c
            save += 1
    snapshots = snapshots.reshape(n_runs * n_snapshots, size, size)
    energies = free_energy(snapshots, c0=c0, kc=kc)
    return snapshots, energies, np.repeat(np.arange(n_runs), n_snapshots)


def time_schedule(steps, *, dt=1.0, ramp_steps=100, n_snapshots=None):
    """Step sizes of a run (geometric ramp then constant) and the steps after which snapshots are saved.

    Parameters
    ----------
    steps : int
        Number of time steps.
    dt : float, optional
        Final, constant step size.
    ramp_steps : int, optional
        The first ``min(ramp_steps, steps)`` steps grow geometrically from ``dt / 100`` to ``dt``.
    n_snapshots : int, optional
        Number of snapshots; default ``steps``.

    Returns
    -------
    dts : ndarray of float, shape (steps,)
        Step sizes; the time of the end of step ``s`` (1-based) is ``dts[:s].sum()``.
    saved : ndarray of int, shape (n_snapshots,)
        1-based step numbers ``round((i + 1) · steps / n_snapshots)`` after which snapshots are taken.

    Examples
    --------
    >>> dts, saved = time_schedule(5, dt=1.0, ramp_steps=3, n_snapshots=2)
    >>> dts.tolist(), saved.tolist()
    ([0.01, 0.1, 1.0, 1.0, 1.0], [2, 5])
    """
    steps = _check_int(steps, "steps", minimum=1)
    ramp_steps = min(_check_int(ramp_steps, "ramp_steps", minimum=0), steps)
    _check_positive(dt, "dt")
    n_snapshots = steps if n_snapshots is None else _check_int(n_snapshots, "n_snapshots", minimum=1)
    dts = np.full(steps, float(dt))
    if ramp_steps > 1:
        dts[:ramp_steps] = np.geomspace(dt / 100.0, dt, ramp_steps)
    saved = np.rint(np.arange(1, n_snapshots + 1) * steps / n_snapshots).astype(int)
    return dts, saved


def free_energy(c, *, c0=1.0, kc=1.0):
    """Total Cahn–Hilliard free energy of periodic concentration fields (grid spacing 1).

    ``F = Σ_x c0 c²(1 − c)² + ½ kc Σ_x |∇c|²``, the gradient taken spectrally (exact for the periodic
    trigonometric interpolant, and the one the time stepping uses): by Parseval
    ``Σ_x |∇c|² = (1 / N_pixels) Σ_k |k|² |ĉ_k|²`` with ``k = 2π · fftfreq(N)``.

    Parameters
    ----------
    c : array_like, shape (H, W) or (n, H, W)
        Concentration field(s).
    c0, kc : float, optional
        Double-well height and gradient coefficient, as in :func:`cahn_hilliard`.

    Returns
    -------
    energy : float or ndarray of shape (n,)

    Examples
    --------
    >>> free_energy(np.ones((4, 4)))  # a pure phase sits at the bottom of a well, uniform: no gradient
    0.0
    >>> free_energy(np.full((4, 4), 0.5), c0=2.0)  # 16 pixels · 2 · (1/4)²
    2.0
    """
    _check_positive(c0, "c0")
    _check_positive(kc, "kc")
    c = np.asarray(c, dtype=float)
    if c.ndim not in (2, 3) or min(c.shape[-2:]) < 1 or not np.all(np.isfinite(c)):
        raise InputError(f"`c` must be finite 2-D fields (H, W) or a stack (n, H, W), got shape {c.shape}",
                         name="c")
    height, width = c.shape[-2:]
    ky, kx = 2 * np.pi * np.fft.fftfreq(height), 2 * np.pi * np.fft.fftfreq(width)
    k2 = ky[:, None] ** 2 + kx[None, :] ** 2
    gradient = (k2 * np.abs(np.fft.fft2(c)) ** 2).sum(axis=(-2, -1)) / (height * width)
    bulk = (c0 * c**2 * (1.0 - c) ** 2).sum(axis=(-2, -1))
    energy = bulk + 0.5 * kc * gradient
    return float(energy) if energy.ndim == 0 else energy


def _wavenumber_squared(size, *, real):
    k = 2 * np.pi * np.fft.fftfreq(size)
    k_last = 2 * np.pi * np.fft.rfftfreq(size) if real else k
    return k[:, None] ** 2 + k_last[None, :] ** 2


def _check_int(value, name, *, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"`{name}` must be an integer ≥ {minimum}, got {value!r}", name=name)
    return int(value)


def _check_positive(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value <= 0:
        raise InputError(f"`{name}` must be a positive number, got {value!r}", name=name)
