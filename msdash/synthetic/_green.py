"""Periodic Green operators and the Krylov / fixed-point Lippmann–Schwinger solvers behind homogenisation.

Fields are real arrays of shape ``(n_loads, n_components, *grid)``; their Fourier transforms are taken with
:func:`scipy.fft.rfftn` over the grid axes. Tensor fields use Mandel components (shear × √2), so the
Euclidean inner product of the flattened arrays is the tensor inner product ``ε : ε`` and isotropic
stiffness acts as ``σ = λ tr(ε) 1 + 2μ ε`` component by component.
"""

import functools

import numpy as np
import scipy.fft

#: Frequency-vector recipes. ``"fourier"``: the continuous vector ``ξ_j = θ_j`` of Moulinec & Suquet (1998);
#: ``"willot"``: the rotated finite-difference vector ``ξ_j = sin(θ_j/2) Π_{l≠j} cos(θ_l/2)`` of Willot (2015)
#: (its common phase factor cancels in every operator used here). ``θ_j = 2π m_j / N_j``, radians per voxel.
SCHEMES = ("willot", "fourier")


def unit_frequencies(shape, scheme):
    """Unit frequency vectors ``n = ξ / |ξ|`` on the rfft grid, Cartesian order (x = last array axis).

    Returns an array of shape ``(d, *rfft_grid)``; ``n = 0`` where ``ξ = 0`` (the mean, and for
    ``"willot"`` the even-grid modes where two ``θ_j = π``), so every operator vanishes there.
    """
    xi = frequencies(shape, scheme)
    norm = np.sqrt((xi**2).sum(axis=0))
    keep = norm > 1e-12
    return np.where(keep, xi / np.where(keep, norm, 1.0), 0.0)


def frequencies(shape, scheme):
    """Frequency vectors ``ξ`` (per voxel, radians) on the rfft grid, shape ``(d, *rfft_grid)``, Cartesian order."""
    thetas = [2 * np.pi * np.fft.fftfreq(n) for n in shape[:-1]] + [2 * np.pi * np.fft.rfftfreq(shape[-1])]
    grids = np.meshgrid(*thetas, indexing="ij", sparse=True)
    if scheme == "fourier":
        # A Nyquist component (θ = ±π, even N) has no sign, so n would depend on a convention: drop it,
        # except on the axes themselves, where ±e_j give the same operator (keeps 1-D modes, laminates exact).
        nyquist = [np.isclose(np.abs(g), np.pi) for g in grids]
        others_zero = [functools.reduce(np.logical_and, [g == 0 for k, g in enumerate(grids) if k != j])
                       for j in range(len(grids))]
        xi = [np.broadcast_to(np.where(nyq & ~other, 0.0, g), [len(t) for t in thetas])
              for g, nyq, other in zip(grids, nyquist, others_zero)]
    else:
        cos = [np.cos(g / 2) for g in grids]
        xi = []
        for j, g in enumerate(grids):
            term = np.sin(g / 2)
            for k, c in enumerate(cos):
                if k != j:
                    term = term * c
            xi.append(np.broadcast_to(term, [len(t) for t in thetas]))
    return np.stack(xi[::-1])  # array axes (.., y, x) -> Cartesian (x, y, ..)


def rfft_weights(shape):
    """Weights of the rfft half-spectrum so that ``Σ w |f̂|² / N = Σ |f|²`` (Parseval)."""
    weights = np.full(shape[-1] // 2 + 1, 2.0)
    weights[0] = 1.0
    if shape[-1] % 2 == 0:
        weights[-1] = 1.0
    return weights


def mandel_pairs(d):
    """Cartesian index pairs of the Mandel components: (xx, yy, xy) in 2D, (xx, yy, zz, yz, xz, xy) in 3D."""
    return [(0, 0), (1, 1), (0, 1)] if d == 2 else [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


def scalar_green(s_hat, n, k0):
    """Green operator of a conductor ``k0``, ``Γ̂ ŝ = n (n · ŝ) / k0``, and ``|P̂ ŝ|² = |n · ŝ|²``."""
    a = (n * s_hat).sum(axis=1, keepdims=True)
    return n * (a / k0), (a.real**2 + a.imag**2).sum(axis=1)


def elastic_green(s_hat, n, lam0, mu0):
    """Green operator of an isotropic medium (Lamé ``λ0``, ``μ0``) on Mandel components, and ``|P̂ ŝ|²``.

    With ``a = ŝ n`` and ``s = n · a``: ``Γ̂ ŝ = sym(n ⊗ a) / μ0 − (λ0 + μ0) / (μ0 (λ0 + 2μ0)) s n ⊗ n``.
    ``λ0 = 0, μ0 = 1/2`` gives the orthogonal projection ``P̂`` onto compatible (symmetrised-gradient)
    fields, whose squared norm ``|P̂ ŝ|² = 2 |a|² − |s|²`` is returned as well.
    """
    d = n.shape[0]
    pairs = mandel_pairs(d)
    root2 = np.sqrt(2.0)
    a = [0.0] * d  # a_i = ŝ_ij n_j; an off-diagonal tensor entry is the Mandel component / √2
    for c, (i, j) in enumerate(pairs):
        if i == j:
            a[i] = a[i] + s_hat[:, c] * n[i]
        else:
            a[i] = a[i] + s_hat[:, c] * (n[j] / root2)
            a[j] = a[j] + s_hat[:, c] * (n[i] / root2)
    s = sum(a[i] * n[i] for i in range(d))
    coef = (lam0 + mu0) / (mu0 * (lam0 + 2 * mu0))
    out = np.empty_like(s_hat)
    for c, (i, j) in enumerate(pairs):
        factor = 1.0 if i == j else root2
        out[:, c] = (factor / (2 * mu0)) * (n[i] * a[j] + n[j] * a[i]) - (factor * coef) * (s * (n[i] * n[j]))
    norm2 = 2 * sum(ai.real**2 + ai.imag**2 for ai in a) - (s.real**2 + s.imag**2)
    return out, norm2


def solve(flux, loads, shape, *, green, method, tol, maxiter):
    """Solve ``P(flux(E + x)) = 0`` for the compatible zero-mean fluctuation ``x`` of each load ``E``.

    ``flux`` maps a field ``(L, c, *grid)`` to its stress / current voxel by voxel (symmetric positive
    definite); ``green(ŝ)`` returns the reference Green operator ``Γ̂⁰ ŝ`` and ``|P̂ ŝ|²`` per frequency.
    ``method="cg"`` is the preconditioned conjugate gradient on the Galerkin system ``P C P x = −P C E``
    (symmetric positive definite on compatible fields; Zeman et al. 2010, Vondřejc et al. 2014) with
    ``Γ⁰`` as preconditioner; ``method="fixed-point"`` is the basic Moulinec–Suquet iteration
    ``x ← x − Γ⁰ σ``, the same preconditioned residual without Krylov acceleration. Both stop when the
    equilibrium residual ``‖P σ‖ ≤ tol ‖P C E‖`` (L2 norms over the cell) for each load. One forward and
    one inverse FFT of the field per iteration: the stress spectrum ``σ̂`` is updated, not recomputed.

    The returned residuals are recomputed from the final fields (one more FFT), not taken from the
    recurrences, so both methods are judged by the same, independently evaluated measure.

    Returns ``(fields, iterations, relative_residuals)``, fields = ``E + x``.
    """
    axes = tuple(range(2, 2 + len(shape)))
    weights = rfft_weights(shape)
    n_voxels = int(np.prod(shape))
    n_loads = loads.shape[0]
    field_axes = tuple(range(1, 2 + len(shape)))

    def fft(f):
        return scipy.fft.rfftn(f, axes=axes, workers=-1)

    def ifft(f_hat):
        return scipy.fft.irfftn(f_hat, s=shape, axes=axes, workers=-1)

    def reduce(values):  # per-load Σ over the half spectrum with Parseval weights, / N → real-space sums
        return (weights * values).sum(axis=tuple(range(1, values.ndim))) / n_voxels

    def dot(a_hat, b_hat):
        return reduce((a_hat.conj() * b_hat).real)

    mean_field = loads.reshape(loads.shape + (1,) * len(shape))
    x = np.zeros((n_loads, loads.shape[1]) + tuple(shape))
    s_hat = fft(flux(np.broadcast_to(mean_field, x.shape)))
    g_hat, p_norm2 = green(s_hat)
    norm0 = np.sqrt(reduce(p_norm2))
    scale = np.where(norm0 > 0, norm0, 1.0)
    residual = norm0 / scale
    active = residual > tol
    iterations = np.zeros(n_loads, dtype=int)
    z = -ifft(g_hat)  # preconditioned residual Γ⁰ r with r = −P σ
    p = z
    rz = dot(s_hat, g_hat)
    shape_l = (-1,) + (1,) * (x.ndim - 1)
    for _ in range(maxiter):
        if not active.any():
            break
        if method == "cg":
            q = flux(p)
            curvature = (p * q).sum(axis=field_axes)
            alpha = np.where(active, rz / np.where(active, curvature, 1.0), 0.0)
            step = p
        else:
            q = flux(z)
            alpha = active.astype(float)
            step = z
        x += alpha.reshape(shape_l) * step
        s_hat += alpha.reshape(shape_l) * fft(q)
        iterations += active
        g_hat, p_norm2 = green(s_hat)
        residual = np.sqrt(reduce(p_norm2)) / scale
        active &= residual > tol
        z = -ifft(g_hat)
        if method == "cg":
            rz_new = dot(s_hat, g_hat)
            beta = np.where(active, rz_new / np.where(rz != 0, rz, 1.0), 0.0)
            p = z + beta.reshape(shape_l) * p
            rz = rz_new
    fields = mean_field + x
    if iterations.any():
        _, p_norm2 = green(fft(flux(fields)))
        residual = np.sqrt(reduce(p_norm2)) / scale
    return fields, iterations, residual


def relative_residuals(flux, fields, loads, *, green):
    """``‖P flux(fields)‖ / ‖P flux(E)‖`` per load (1 where ``P flux(E) = 0``), L2 over the cell.

    ``fields`` has shape ``(L, c, *grid)``, ``loads`` ``(L, c)``; ``green`` as in :func:`solve`.
    """
    shape = fields.shape[2:]
    axes = tuple(range(2, 2 + len(shape)))
    weights = rfft_weights(shape)

    def norm(field):
        _, p_norm2 = green(scipy.fft.rfftn(flux(field), axes=axes, workers=-1))
        return np.sqrt((weights * p_norm2).sum(axis=tuple(range(1, p_norm2.ndim))))

    norm0 = norm(np.broadcast_to(loads.reshape(loads.shape + (1,) * len(shape)), fields.shape))
    return norm(fields) / np.where(norm0 > 0, norm0, 1.0)
