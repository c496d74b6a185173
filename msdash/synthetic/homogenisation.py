"""Effective conductivity and elastic stiffness of periodic two-phase cells by FFT homogenisation.

Each unit macroscopic load ``E`` (gradient or strain) gives a periodic Lippmann–Schwinger problem: find the
compatible, zero-mean fluctuation ``ε̃`` with ``P (C : (E + ε̃)) = 0``, where ``P`` is the Fourier-space
projection onto compatible fields. The effective tensor is the cell average of the flux / stress,
``C_eff E = ⟨C : ε⟩``, one column per load. Three solvers (``method``), all stopped at the same relative
equilibrium residual ``‖P σ‖ / ‖P C E‖ ≤ tol``:

- ``"reciprocal"`` (default with the Willot scheme): the same Galerkin problem written for the periodic nodal
  potential / displacement ``u`` with ``ε̃ = D u`` (``D`` = Willot's corner-to-centre finite-difference
  gradient, whose range is exactly the compatible fields), solved by conjugate gradients preconditioned by
  ``K0⁻¹ Dᵀ (C0 C⁻¹ C0) D K0⁻¹``, ``K0 = Dᵀ C0 D`` — the reciprocal preconditioner of Dolgov et al. (2012),
  extended to elasticity with the isotropic reference ``C0`` below (see :mod:`msdash.synthetic._precond`);
- ``"cg"``: preconditioned CG on the strain (Zeman et al. 2010; Vondřejc, Zeman & Marek 2014) with the
  Green operator ``Γ⁰`` of an isotropic reference medium (geometric means of the phase moduli) as
  preconditioner, iterations growing like √contrast; the default with the Fourier scheme;
- ``"fixed-point"``: the basic Moulinec–Suquet (1998) scheme, iterations growing like the contrast.

Measured (``bench/homogenisation.py``, one random cell at volume fraction 0.5, contrast 50, tol 1e-6, iterations of
the slowest load): 51³ stiffness 22 (reciprocal) / 43 (cg) / 195 (fixed point), 51³ conductivity 19 / 38 / 150, 64²
stiffness 22 / 44 / 222, 64² conductivity 20 / 38 / 211; the tensors agree to ~1e-6 and the reciprocal one is about as
close to a tol-1e-10 reference as the Green CG one (2e-8 to 1e-7 of the largest entry). Its iteration costs two FFT
pairs of the nodal field (``d`` or 1 components) plus local stencils, against one pair of the strain (``d(d+1)/2`` or
``d``) for ``"cg"``: in wall time (2 cores) it was 1.3× (stiffness) and 2.5× (conductivity) faster than ``"cg"`` at
51³, on par for the 64² conductivity and 1.4× slower for the 64² stiffness (0.10 s vs 0.08 s, per-call overhead of the
stencils on a small grid). The "Green–Jacobi" preconditioner (Green operator with a diagonal scaling by the local
moduli; Ladecký et al., arXiv:2508.02613, designed for smooth coefficients) made the sharp two-phase cells worse: 64²
conductivity 111–147 iterations instead of 38.

Discretisation (``scheme``): ``"willot"`` (default) uses the rotated finite-difference frequency vector
``ξ_j = sin(θ_j/2) Π_{l≠j} cos(θ_l/2)`` of Willot (2015); ``"fourier"`` the continuous vector ``ξ = θ`` of
Moulinec & Suquet, with the Nyquist component of even grids set to zero (otherwise its sign, and with it the
result, depends on an arbitrary convention and x ≠ y on a symmetric cell). On the 2D checkerboard
(conductivities 1 and 50, exact √50 by Keller 1964 / Dykhne 1970) the measured relative errors at 16, 32,
64, 128, 256 pixels per side are +25 %, +14 %, +8.5 %, +5.1 %, +3.1 % (``"willot"``) and +24 %, +15 %,
+9.3 %, +6.0 %, +3.8 % (``"fourier"``): the corner singularity limits both to about N^-0.7, and the
rotated scheme needs 3–4× fewer iterations there. Both give laminates exactly (the exact piecewise-constant
fields are discrete-compatible) and symmetric tensors between the Voigt and Reuss bounds, since the
solution minimises the energy over a subspace of compatible fields (:func:`voigt_reuss_modulus_x`).
In elasticity the Willot scheme is the same discrete problem as bilinear (Q1) finite elements on the pixel
grid with one integration point per element (reduced integration), so it is softer than conforming Q1
elements with full integration: at contrast 50 (plane strain, random two-phase cells) its ``E_x`` is
0.3 % to 6 % below conforming Q1, the gap shrinking with resolution (−3.0 … −5.8 % at 24 px, −1.2 … −1.7 % at
96 px for cells of fixed statistics; −0.3 … −4.5 %, median −1.0 %, on 64-px demo cells), and equal to
reduced-integration Q1 to 5e-11 (``bench/homogenisation_q1.py``; an independent audit with scikit-fem found
−0.4 % to −5 % at 24–96 px and equality to 1e-8).

Reference medium. Both Krylov preconditioners are invariant to a scaling of ``C0``, so only its shape
matters, in elasticity its Poisson ratio: geometric means of the bulk and shear moduli keep ``ν0`` at the
phases' common ``ν``, which measured best (``"cg"``, 32³ random cell, contrast 50, ``ν = 0.3``: ``ν0`` = 0,
0.1, 0.2, 0.3, 0.4, 0.45 took 56, 53, 48, 41, 55, 75 iterations; ``"reciprocal"``, 64²: ``ν0`` = 0, 0.2,
0.3, 0.4 took 34, 27, 22, 27). The fixed point is not scale-invariant and keeps its classic optimum, the
means of the phase extremes. For ``"cg"``, block CG over the loads and the conjugate-residual variant saved
at most 1–2 iterations: the Green-preconditioned two-phase spectrum fills [1, contrast] densely, so the
count stays near the Chebyshev bound ``√contrast · ln(2/tol) / 2`` (51 at contrast 50, tol 1e-6). The
reciprocal preconditioner is not bounded that way: ``M ≥ K⁻¹`` (a Schur-complement inequality), and for
two-phase cells ``M K`` clusters (Dolgov et al. prove it for 2D laminates), which halves the count.

References
----------
.. [1] H. Moulinec, P. Suquet, "A numerical method for computing the overall response of nonlinear
   composites with complex microstructure", Comput. Methods Appl. Mech. Eng. 157 (1998) 69–94.
.. [2] J. Zeman, J. Vondřejc, J. Novák, I. Marek, "Accelerating a FFT-based solver for numerical
   homogenization of periodic media by conjugate gradients", J. Comput. Phys. 229 (2010) 8065–8071.
.. [3] J. Vondřejc, J. Zeman, I. Marek, "An FFT-based Galerkin method for homogenization of periodic
   media", Comput. Math. Appl. 68 (2014) 156–173.
.. [4] F. Willot, "Fourier-based schemes for computing the mechanical response of composites with
   accurate local fields", C. R. Mécanique 343 (2015) 232–245.
.. [5] S. Dolgov, B. N. Khoromskij, I. Oseledets, E. Tyrtyshnikov, "A reciprocal preconditioner for
   structured matrices arising from elliptic problems with jumping coefficients", Linear Algebra Appl. 436
   (2012) 2980–3007.
"""

import warnings

import numpy as np

from ..errors import InputError
from . import _green, _precond

__all__ = ["effective_conductivity", "effective_stiffness", "youngs_modulus_x"]

_METHODS = ("auto", "reciprocal", "cg", "fixed-point")


def effective_conductivity(micro, *, k=(1.0, 50.0), tol=1e-8, method="auto", scheme="willot", maxiter=5000,
                           return_info=False):
    """Effective conductivity tensor of a periodic two-phase cell.

    For each unit gradient ``E = e_a`` the periodic field ``e = E + ∇φ`` with ``⟨∇φ⟩ = 0`` solving
    ``∇·(k(x) e) = 0`` is found, and column ``a`` of the result is ``⟨k(x) e(x)⟩``. Units are those of ``k``.

    Parameters
    ----------
    micro : array_like, shape (H, W) or (D, H, W)
        Phase labels 0/1 (bool, int or float). Array axes are (y, x) or (z, y, x): x is the last axis.
    k : pair of float, optional
        Conductivities ``(k0, k1)`` of phases 0 and 1, positive. Default contrast 50.
    tol : float, optional
        Relative equilibrium residual ``‖P q‖ / ‖P k E‖`` at which each load stops, in (0, 1).
    method : {"auto", "reciprocal", "cg", "fixed-point"}, optional
        ``"reciprocal"``: conjugate gradients in the nodal potential with the reciprocal preconditioner
        (Willot scheme only; module docstring); ``"cg"``: conjugate gradients on the strain with the Green
        preconditioner; ``"fixed-point"``: the basic Moulinec–Suquet scheme (for comparison). ``"auto"`` is
        ``"reciprocal"`` for the Willot scheme and ``"cg"`` for the Fourier one.
    scheme : {"willot", "fourier"}, optional
        Green-operator discretisation (module docstring).
    maxiter : int, optional
        Iteration cap per load; a :class:`RuntimeWarning` is issued if it is reached.
    return_info : bool, optional
        Also return ``{"iterations": [...], "residuals": [...], "method": ..., "scheme": ...}``.

    Returns
    -------
    K : ndarray, shape (2, 2) or (3, 3)
        Effective conductivity, Cartesian order (x, y[, z]); symmetric positive definite.

    Examples
    --------
    A laminate of layers stacked along y: arithmetic mean along x, harmonic mean along y.

    >>> micro = [[0, 0, 0, 0], [1, 1, 1, 1]]
    >>> K = effective_conductivity(micro, k=(1.0, 3.0))
    >>> K.round(8)
    array([[2. , 0. ],
           [0. , 1.5]])
    """
    micro = _check_micro(micro)
    k = _check_pair(k, "k", lambda v: v > 0, "two positive conductivities")
    tol, method, maxiter = _check_solver(tol, method, scheme, maxiter)
    d = micro.ndim
    coeff = np.where(micro, k[1], k[0])
    n = _green.unit_frequencies(micro.shape, scheme)
    k0 = (k[0] + k[1]) / 2 if method == "fixed-point" else np.sqrt(k[0] * k[1])

    def flux(e):
        return coeff * e

    def green(f):
        return _green.scalar_green(f, n, k0)

    if method == "reciprocal":  # K0 = DᵀD (k0 = 1: the preconditioner is invariant to its scale)
        inv_t2 = _inverse_t2(micro.shape)
        fields, iterations = _precond.solve_reciprocal(
            flux, lambda e: e / coeff, np.eye(d), micro.shape,
            strain=lambda u: _precond.willot_gradient(u[:, 0], d),
            strain_t=lambda g: _precond.willot_gradient_t(g, d)[:, None],
            ref_inverse=lambda u_hat: inv_t2 * u_hat, proj_inverse=lambda u_hat: inv_t2 * u_hat,
            tol=tol, maxiter=maxiter)
        residuals = _green.relative_residuals(flux, fields, np.eye(d), green=green)
    else:
        fields, iterations, residuals = _green.solve(flux, np.eye(d), micro.shape, green=green,
                                                     method=method, tol=tol, maxiter=maxiter)
    K = (coeff * fields).mean(axis=tuple(range(2, 2 + d))).T
    return _finish(0.5 * (K + K.T), iterations, residuals, method, scheme, tol, maxiter, return_info)


def effective_stiffness(micro, *, youngs=(1.0, 50.0), poisson=(0.3, 0.3), tol=1e-6, method="auto",
                        scheme="willot", maxiter=5000, return_info=False):
    """Effective elastic stiffness (Voigt notation) of a periodic two-phase cell of isotropic phases.

    Each phase has Lamé constants ``λ = Eν / ((1 + ν)(1 − 2ν))`` and ``μ = E / (2(1 + ν))``, so
    ``σ = λ tr(ε) 1 + 2μ ε``. For each unit macroscopic strain the periodic equilibrium problem
    ``∇·σ = 0`` is solved and the column of the result is ``⟨σ⟩``. In 2D the cell is in **plane strain**
    (``ε_zz = ε_xz = ε_yz = 0``), and the 3 × 3 result relates the in-plane stresses to the in-plane strains.

    Parameters
    ----------
    micro : array_like, shape (H, W) or (D, H, W)
        Phase labels 0/1; axes (y, x) or (z, y, x), x is the last axis.
    youngs : pair of float, optional
        Young's moduli ``(E0, E1)`` of phases 0 and 1, positive; the result has their units.
        Default ``(1, 50)``: the contrast 50 of study A.
    poisson : pair of float, optional
        Poisson's ratios ``(ν0, ν1)``, each in (−1, 0.5).
    tol, method, scheme, maxiter, return_info
        As in :func:`effective_conductivity`. With the default ``tol = 1e-6`` the diagonal entries (energies
        ``Eᵀ C E`` of the unit loads, stationary at the solution) err like tol², the off-diagonal ones only
        like tol.

    Returns
    -------
    C : ndarray, shape (3, 3) or (6, 6)
        Voigt order (xx, yy, xy) in 2D and (xx, yy, zz, yz, xz, xy) in 3D, with engineering shear strains
        ``γ = 2ε``, so ``C[-1, -1] = μ`` for a homogeneous isotropic cell. Symmetric positive definite.

    Examples
    --------
    A homogeneous cell returns the phase itself (plane strain: C11 = λ + 2μ, C12 = λ, C66 = μ).

    >>> C = effective_stiffness([[1, 1], [1, 1]], youngs=(1.0, 2.6), poisson=(0.3, 0.3))
    >>> C.round(6)
    array([[3.5, 1.5, 0. ],
           [1.5, 3.5, 0. ],
           [0. , 0. , 1. ]])
    """
    micro = _check_micro(micro)
    youngs = _check_pair(youngs, "youngs", lambda v: v > 0, "two positive Young's moduli")
    poisson = _check_pair(poisson, "poisson", lambda v: -1 < v < 0.5, "two Poisson's ratios in (-1, 0.5)")
    tol, method, maxiter = _check_solver(tol, method, scheme, maxiter)
    d = micro.ndim
    lam_phase, mu_phase = _lame(youngs, poisson)
    lam, mu = np.where(micro, lam_phase[1], lam_phase[0]), np.where(micro, mu_phase[1], mu_phase[0])

    if method != "fixed-point":  # geometric means of the d-dimensional bulk and shear moduli: best spectral bound
        bulk = lam_phase + 2 * mu_phase / d
        mu0 = np.sqrt(mu_phase.prod())
        lam0 = np.sqrt(bulk.prod()) - 2 * mu0 / d
    else:  # the usual Moulinec–Suquet choice, the arithmetic mean of the extreme Lamé constants
        lam0, mu0 = lam_phase.mean(), mu_phase.mean()
    n = _green.unit_frequencies(micro.shape, scheme)

    def stress(strain, lam=lam, mu=mu):
        trace = strain[:, :d].sum(axis=1, keepdims=True)
        out = 2 * mu * strain
        out[:, :d] += lam * trace
        return out

    def green(f):
        return _green.elastic_green(f, n, lam0, mu0)

    n_comp = d * (d + 1) // 2
    if method == "reciprocal":  # B = C0 C⁻¹ C0 is isotropic: shear μ0²/μ, d-bulk modulus (dλ0 + 2μ0)² / (dλ + 2μ)
        mu_b = mu0**2 / mu
        lam_b = ((d * lam0 + 2 * mu0) ** 2 / (d * lam + 2 * mu) - 2 * mu_b) / d
        inv_t2, pairs = _inverse_t2(micro.shape), _green.mandel_pairs(d)
        fields, iterations = _precond.solve_reciprocal(
            stress, lambda e: stress(e, lam_b, mu_b), np.eye(n_comp), micro.shape,
            strain=lambda u: _precond.mandel_strain(u, d, pairs),
            strain_t=lambda s: _precond.mandel_strain_t(s, d, pairs),
            ref_inverse=lambda u_hat: _precond.isotropic_inverse(u_hat, n, inv_t2, lam0, mu0),
            proj_inverse=lambda u_hat: _precond.isotropic_inverse(u_hat, n, inv_t2, 0.0, 0.5),
            tol=tol, maxiter=maxiter)
        residuals = _green.relative_residuals(stress, fields, np.eye(n_comp), green=green)
    else:
        fields, iterations, residuals = _green.solve(stress, np.eye(n_comp), micro.shape, green=green,
                                                     method=method, tol=tol, maxiter=maxiter)
    C_mandel = stress(fields).mean(axis=tuple(range(2, 2 + d))).T
    to_voigt = np.ones(n_comp)
    to_voigt[d:] = 1 / np.sqrt(2)
    C = to_voigt[:, None] * C_mandel * to_voigt[None, :]
    return _finish(0.5 * (C + C.T), iterations, residuals, method, scheme, tol, maxiter, return_info)


def youngs_modulus_x(C):
    """Apparent Young's modulus along x: ``E_x = 1 / (C⁻¹)_00`` (uniaxial stress along x).

    For a 6 × 6 (3D) tensor this is the usual Young's modulus along x. For a 3 × 3 plane-strain tensor it
    is the modulus under uniaxial in-plane stress with ``ε_zz = 0`` held, i.e. ``E / (1 − ν²)`` for an
    isotropic material (the plane-strain modulus), not ``E`` itself.

    Parameters
    ----------
    C : array_like, shape (3, 3) or (6, 6)
        Stiffness in Voigt notation, as returned by :func:`effective_stiffness`.

    Returns
    -------
    float
        In the units of ``C``.

    Examples
    --------
    >>> lam, mu = 1.5, 1.0  # E = 2.6, ν = 0.3
    >>> C = np.array([[lam + 2 * mu, lam, lam, 0, 0, 0], [lam, lam + 2 * mu, lam, 0, 0, 0],
    ...               [lam, lam, lam + 2 * mu, 0, 0, 0], [0, 0, 0, mu, 0, 0],
    ...               [0, 0, 0, 0, mu, 0], [0, 0, 0, 0, 0, mu]])
    >>> round(youngs_modulus_x(C), 10)
    2.6
    """
    C = np.asarray(C, dtype=float)
    if C.shape not in ((3, 3), (6, 6)):
        raise InputError(f"`C` must be a 3 × 3 or 6 × 6 stiffness matrix, got shape {C.shape}.", name="C")
    return float(1.0 / np.linalg.inv(C)[0, 0])


def _lame(youngs, poisson):
    E, nu = np.asarray(youngs), np.asarray(poisson)
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


def _inverse_t2(shape):
    """``1 / |t|²`` of the scaled Willot gradient's symbol ``t = 2^d ξ`` on the rfft grid (0 where ``ξ = 0``)."""
    t2 = 4 ** len(shape) * (_green.frequencies(shape, "willot") ** 2).sum(axis=0)
    keep = t2 > 1e-20
    return np.where(keep, 1 / np.where(keep, t2, 1.0), 0.0)


def _finish(tensor, iterations, residuals, method, scheme, tol, maxiter, return_info):
    if np.any(residuals > tol):
        warnings.warn(f"FFT homogenisation stopped after {maxiter} iterations with relative residual "
                      f"{residuals.max():.2e} > tol = {tol:g}; raise `maxiter`.", RuntimeWarning, stacklevel=3)
    if not return_info:
        return tensor
    info = {"iterations": iterations.tolist(), "residuals": residuals.tolist(), "method": method,
            "scheme": scheme}
    return tensor, info


def _check_micro(micro):
    array = np.asarray(micro)
    if array.ndim not in (2, 3) or min(array.shape) < 1:
        raise InputError(f"`micro` must be a 2-D (H, W) or 3-D (D, H, W) array of phase labels, "
                         f"got shape {array.shape}.", name="micro")
    if array.dtype != bool and not (np.issubdtype(array.dtype, np.number) and np.isin(array, (0, 1)).all()):
        raise InputError("`micro` must hold phase labels 0 and 1 only.", name="micro")
    return array.astype(bool)


def _check_pair(values, name, ok, expected):
    try:
        pair = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        pair = np.array([])
    if pair.shape != (2,) or not np.all(np.isfinite(pair)) or not all(ok(v) for v in pair):
        raise InputError(f"`{name}` must be {expected}, got {values!r}.", name=name)
    return pair


def _check_solver(tol, method, scheme, maxiter):
    if not (isinstance(tol, (int, float, np.floating)) and 0 < tol < 1):
        raise InputError(f"`tol` must be a number in (0, 1), got {tol!r}.", name="tol")
    if method not in _METHODS:
        raise InputError(f"`method` must be one of {_METHODS}, got {method!r}.", name="method")
    if scheme not in _green.SCHEMES:
        raise InputError(f"`scheme` must be one of {_green.SCHEMES}, got {scheme!r}.", name="scheme")
    if method == "reciprocal" and scheme != "willot":
        raise InputError("`method` 'reciprocal' needs scheme='willot' (its gradient is a local stencil).",
                         name="method")
    if not (isinstance(maxiter, (int, np.integer)) and maxiter >= 1):
        raise InputError(f"`maxiter` must be a positive integer, got {maxiter!r}.", name="maxiter")
    if method == "auto":
        method = "reciprocal" if scheme == "willot" else "cg"
    return float(tol), method, int(maxiter)
