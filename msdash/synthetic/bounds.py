"""Bounds on the effective plane-strain (or 3-D) modulus of any two-phase cell, whatever its microstructure."""

import numpy as np

from msdash.errors import InputError
from msdash.synthetic.homogenisation import _check_pair, _lame

__all__ = ["voigt_reuss_modulus_x"]


def voigt_reuss_modulus_x(volume_fraction, *, youngs=(1.0, 50.0), poisson=(0.3, 0.3), dims=2):
    """Voigt (upper) and Reuss (lower) bounds on :func:`youngs_modulus_x` of any two-phase cell.

    With the phase stiffnesses ``C_0``, ``C_1`` (Voigt notation, plane strain in 2D as in
    :func:`effective_stiffness`) and ``f = volume_fraction`` of phase 1, the bounds are the ``E_x`` of
    ``C_V = (1 − f) C_0 + f C_1`` and of ``C_R = ((1 − f) C_0⁻¹ + f C_1⁻¹)⁻¹``.

    They hold for every microstructure, isotropic or not, and for the discrete FFT solution too: the
    effective tensor minimises ``⟨ε : C : ε⟩`` over fields ``ε`` of mean ``E``; the uniform field is one of
    them (so ``C_eff ≤ C_V``), and every field of mean ``E`` has ``⟨ε : C : ε⟩ ≥ E : C_R : E`` (Hill 1963:
    pointwise ``ε : C : ε ≥ 2 τ : ε − τ : C⁻¹ : τ`` for any constant ``τ``; average and take
    ``τ = C_R E``), so ``C_R ≤ C_eff`` as quadratic forms. ``E_x = 1 / (C⁻¹)_xx`` grows with ``C`` in that order, so
    ``E_x(C_R) ≤ E_x(C_eff) ≤ E_x(C_V)``. For phases of equal ``ν`` they reduce to
    ``⟨E⟩ / (1 − ν²)`` and ``1 / (⟨1/E⟩ (1 − ν²))`` in plane strain (``⟨E⟩`` and ``1 / ⟨1/E⟩`` in 3D).
    The (tighter) Hashin–Shtrikman bounds hold for statistically isotropic composites only, so they
    do not bound a single, anisotropic cell.

    Parameters
    ----------
    volume_fraction : float or array_like
        Volume fraction of phase 1, in [0, 1].
    youngs : pair of float, optional
        Young's moduli ``(E0, E1)`` of phases 0 and 1, positive; the result has their units.
    poisson : pair of float, optional
        Poisson's ratios ``(ν0, ν1)``, each in (−1, 0.5).
    dims : {2, 3}, optional
        2: plane-strain modulus along x (what :func:`effective_stiffness` gives for 2D cells); 3: Young's
        modulus along x.

    Returns
    -------
    lower, upper : float or ndarray of float64
        Reuss and Voigt bounds, shaped like ``volume_fraction``.

    References
    ----------
    R. Hill, "Elastic properties of reinforced solids: some theoretical principles", J. Mech. Phys. Solids 11
    (1963) 357–372.

    Examples
    --------
    Equal ν = 0.3, plane strain: ``⟨E⟩ / 0.91`` and ``1 / (⟨1/E⟩ · 0.91)``.

    >>> lower, upper = voigt_reuss_modulus_x(0.5, youngs=(1.0, 3.0), poisson=(0.3, 0.3))
    >>> round(lower * 0.91, 12), round(upper * 0.91, 12)
    (1.5, 2.0)
    """
    youngs = _check_pair(youngs, "youngs", lambda v: v > 0, "two positive Young's moduli")
    poisson = _check_pair(poisson, "poisson", lambda v: -1 < v < 0.5, "two Poisson's ratios in (-1, 0.5)")
    if dims not in (2, 3):
        raise InputError(f"`dims` must be 2 or 3, got {dims!r}.", name="dims")
    f = np.asarray(volume_fraction, dtype=float)
    if not np.all((f >= 0) & (f <= 1)):
        raise InputError("`volume_fraction` must be in [0, 1].", name="volume_fraction")
    lam, mu = _lame(youngs, poisson)
    n_comp = dims * (dims + 1) // 2
    phases = np.zeros((2, n_comp, n_comp))
    for i in range(2):
        phases[i, :dims, :dims] = lam[i]
        phases[i, range(dims), range(dims)] += 2 * mu[i]
        phases[i, range(dims, n_comp), range(dims, n_comp)] = mu[i]
    weights = np.stack([1 - f, f], axis=-1)[..., None, None]
    voigt = (weights * phases).sum(axis=-3)
    compliance = (weights * np.linalg.inv(phases)).sum(axis=-3)
    upper = 1.0 / np.linalg.inv(voigt)[..., 0, 0]
    lower = 1.0 / compliance[..., 0, 0]
    if f.ndim == 0:
        return float(lower), float(upper)
    return lower, upper
