"""Cahn–Hilliard phase separation of a binary alloy by semi-implicit Fourier-spectral steps (study D's data set).

The concentration ``c(x, t)`` on a periodic ``N × N`` grid (spacing 1, so lengths are in pixels) starts
uniform random in [0, 1] and follows

    ∂c/∂t = M ∇²(f'(c) − kc ∇²c),    f(c) = c0 c² (1 − c)²,

the gradient flow of the free energy ``F = ∫ c0 c²(1 − c)² + ½ kc |∇c|² dx``. Study D adds an elastic
energy; it is left out here. In Fourier space (``k = 2π · fftfreq(N)`` rad/pixel) the stiff biharmonic term
is implicit and the nonlinear term explicit:

    ĉ_{n+1} = (ĉ_n − Δt M k² FFT[f'(c_n)]) / (1 + Δt M kc k⁴),

which keeps the ``k = 0`` mode, the mass, exactly. Time steps grow geometrically from ``dt / 100`` to
``dt`` over the first ``ramp_steps`` steps (the fast early dynamics), then stay at ``dt``, as in study D [1]_.
Study D saved images from the start, so its energies cover the fast initial decay; here ``ramp_snapshots``
of the snapshots are taken during the ramp (log-spaced), the rest equally spaced after it
(:func:`time_schedule`); with ``ramp_snapshots=0`` all are equally spaced over the run and the first comes
at step ``steps / n_snapshots``, usually after the ramp. ``return_history=True`` gives the energy after
every step with the saved steps marked, to plot the energy curve.

References
----------
.. [1] B. D. Nguyen, P. Potapenko, A. Demirci, K. Govind, S. Bompas, S. Sandfeld, "Efficient Surrogate Models
   for Materials Science Simulations: Machine Learning-based Prediction of Microstructure Properties"
   (study D; ``docs/references.md``).
"""

import numpy as np

from ..errors import InputError

__all__ = ["cahn_hilliard", "cahn_hilliard_dataset", "free_energy", "time_schedule"]


def cahn_hilliard(*, size=64, steps, dt=1.0, c0=1.0, kc=1.0, mobility=1.0, n_snapshots=100, ramp_steps=100,
                  ramp_snapshots=0, seed=None, return_history=False):
    """One Cahn–Hilliard run from a uniform random start, with snapshots and their total free energy.

    The defaults (grid units, ``c0 = kc = M = 1``, ``dt = 1``) give a fastest-growing wavelength of
    ``2π √(2 kc / c0) ≈ 8.9`` pixels and interfaces a few pixels wide; on 64 × 64 the characteristic length
    grows from about 14 to 25 pixels over 1,000 steps and to about 38 by 3,000. The explicit nonlinear
    term limits the step (the scheme is only conditionally energy stable): for these ``c0``, ``kc``, ``M``
    the free energy fell at every step up to ``dt = 2.1`` and rose at some steps from ``dt`` = 2.2–2.3 on
    (64², 1,500 steps, seeds 0 and 1; an independent audit put the limit near 2.5). Larger steps do not
    diverge — ``dt = 4`` stays bounded, ``|c| ≤ 1.13`` — but overshoot more and end at higher energies.

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
        Number of snapshots saved, at the steps :func:`time_schedule` gives (the last is the final state; the
        random start is not saved).
    ramp_steps : int, optional
        Length of the geometric ramp of the step size (capped at ``steps``); 0 starts at ``dt``.
    ramp_snapshots : int, optional
        How many of the snapshots are taken during the ramp, log-spaced in the step number (study D's
        fast-decay regime); 0 spaces all of them equally over the run.
    seed : int, numpy.random.Generator or None, optional
        Passed to :func:`numpy.random.default_rng`.
    return_history : bool, optional
        Also return ``{"time", "energy", "saved"}``: the time and free energy after every step (arrays of
        shape ``(steps,)``) and the 0-based indices of the saved steps in them.

    Returns
    -------
    snapshots : ndarray of float64, shape (n_snapshots, N, N)
        The raw concentration; it is not clipped and overshoots [0, 1] by about 0.01–0.02 near interfaces.
    energies : ndarray of float64, shape (n_snapshots,)
        Total free energy :func:`free_energy` of each snapshot (the property of study D).
    history : dict, only with ``return_history=True``
        See ``return_history``; ``history["energy"][history["saved"]]`` equals ``energies``.

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
    result = cahn_hilliard_dataset(1, size=size, steps=steps, dt=dt, c0=c0, kc=kc, mobility=mobility,
                                   n_snapshots=n_snapshots, ramp_steps=ramp_steps, ramp_snapshots=ramp_snapshots,
                                   seed=seed, return_history=return_history)
    if return_history:
        snapshots, energies, _, history = result
        return snapshots, energies, {"time": history["time"], "energy": history["energy"][0],
                                     "saved": history["saved"]}
    return result[:2]


def cahn_hilliard_dataset(n_runs, *, size=64, steps, dt=1.0, c0=1.0, kc=1.0, mobility=1.0, n_snapshots=100,
                          ramp_steps=100, ramp_snapshots=0, seed=None, return_history=False):
    """Several independent runs of :func:`cahn_hilliard`, stepped together; the run id is the group.

    Parameters
    ----------
    n_runs : int
        Number of runs (study D used 20, testing on 2 whole runs: split by ``groups``).
    size, steps, dt, c0, kc, mobility, n_snapshots, ramp_steps, ramp_snapshots, seed
        As in :func:`cahn_hilliard`.
    return_history : bool, optional
        Also return ``{"time": (steps,), "energy": (n_runs, steps), "saved": (n_snapshots,)}``: the free
        energy of every run after every step and the 0-based indices of the saved steps.

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
    dts, saved = time_schedule(steps, dt=dt, ramp_steps=ramp_steps, n_snapshots=n_snapshots,
                               ramp_snapshots=ramp_snapshots)
    history = np.empty((n_runs, steps)) if return_history else None

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
        if history is not None:
            history[:, step - 1] = free_energy(c, c0=c0, kc=kc)
        if save < n_snapshots and step == saved[save]:
            snapshots[:, save] = c
            save += 1
    snapshots = snapshots.reshape(n_runs * n_snapshots, size, size)
    energies = free_energy(snapshots, c0=c0, kc=kc)
    groups = np.repeat(np.arange(n_runs), n_snapshots)
    if return_history:
        return snapshots, energies, groups, {"time": np.cumsum(dts), "energy": history, "saved": saved - 1}
    return snapshots, energies, groups


def time_schedule(steps, *, dt=1.0, ramp_steps=100, n_snapshots=None, ramp_snapshots=0):
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
    ramp_snapshots : int, optional
        With 0 (default) the snapshots follow steps ``round((i + 1) · steps / n_snapshots)``. Otherwise the
        first ``ramp_snapshots`` fall on distinct steps log-spaced from step 1 to the end of the ramp ``R``
        (``round(R^(i / (ramp_snapshots − 1)))``, moved up where rounding repeats a step), and the other
        ``n_snapshots − ramp_snapshots`` on steps ``R + round((i + 1) · (steps − R) / m)``, equally spaced
        over the constant-step part and ending with the last step.

    Returns
    -------
    dts : ndarray of float, shape (steps,)
        Step sizes; the time of the end of step ``s`` (1-based) is ``dts[:s].sum()``.
    saved : ndarray of int, shape (n_snapshots,)
        Increasing 1-based step numbers after which snapshots are taken.

    Examples
    --------
    >>> dts, saved = time_schedule(5, dt=1.0, ramp_steps=3, n_snapshots=2)
    >>> dts.tolist(), saved.tolist()
    ([0.01, 0.1, 1.0, 1.0, 1.0], [2, 5])
    >>> time_schedule(1000, ramp_steps=100, n_snapshots=6, ramp_snapshots=3)[1].tolist()
    [1, 10, 100, 400, 700, 1000]
    """
    steps = _check_int(steps, "steps", minimum=1)
    ramp_steps = min(_check_int(ramp_steps, "ramp_steps", minimum=0), steps)
    _check_positive(dt, "dt")
    n_snapshots = steps if n_snapshots is None else _check_int(n_snapshots, "n_snapshots", minimum=1)
    ramp_snapshots = _check_int(ramp_snapshots, "ramp_snapshots", minimum=0)
    dts = np.full(steps, float(dt))
    if ramp_steps > 1:
        dts[:ramp_steps] = np.geomspace(dt / 100.0, dt, ramp_steps)
    if ramp_snapshots == 0:
        saved = np.rint(np.arange(1, n_snapshots + 1) * steps / n_snapshots).astype(int)
        return dts, saved
    if ramp_snapshots > min(ramp_steps, n_snapshots):
        raise InputError(f"`ramp_snapshots` must be at most the ramp's {ramp_steps} steps and `n_snapshots` = "
                         f"{n_snapshots}, got {ramp_snapshots}", name="ramp_snapshots")
    rest = n_snapshots - ramp_snapshots
    if rest > steps - ramp_steps or (rest == 0 and ramp_steps < steps):
        raise InputError(f"`ramp_snapshots` = {ramp_snapshots} leaves {rest} snapshot(s) for the "
                         f"{steps - ramp_steps} steps after the ramp (need 1 to {steps - ramp_steps})",
                         name="ramp_snapshots")
    early = np.rint(np.geomspace(1, ramp_steps, ramp_snapshots)).astype(int)
    for i in range(1, ramp_snapshots):  # distinct, and leaving room for the later ones within the ramp
        early[i] = min(max(early[i], early[i - 1] + 1), ramp_steps - (ramp_snapshots - 1 - i))
    late = ramp_steps + np.rint(np.arange(1, rest + 1) * (steps - ramp_steps) / max(rest, 1)).astype(int)
    return dts, np.concatenate([early, late])


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
