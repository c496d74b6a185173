"""Tests of msdash.synthetic.homogenisation: FFT effective conductivity and stiffness against closed forms."""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.synthetic import _green, _precond
from msdash.synthetic.fields import two_phase
from msdash.synthetic.homogenisation import effective_conductivity, effective_stiffness, youngs_modulus_x


def random_cell(shape, seed, length=2.5):
    """An isotropic periodic random cell at volume fraction 0.5 (a Gaussian random field, see two_phase)."""
    return two_phase(1, shape, volume_fraction=0.5, correlation_length=length, seed=seed)[0]


def laminate(n_layers_1, n_layers, width, depth=None):
    """Layers stacked along y (array axis -2): the first ``n_layers_1`` rows are phase 1."""
    micro = np.zeros((n_layers, width), dtype=int)
    micro[:n_layers_1] = 1
    return micro if depth is None else np.broadcast_to(micro, (depth, n_layers, width)).copy()


def lame(E, nu):
    E, nu = np.asarray(E, float), np.asarray(nu, float)
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


def hashin_shtrikman_conductivity(f1, k0, k1, d):
    """HS bounds of an isotropic two-phase conductor in d dimensions (k1 > k0), phase 1 at fraction f1."""
    f0 = 1 - f1
    lower = k0 + f1 / (1 / (k1 - k0) + f0 / (d * k0))
    upper = k1 + f0 / (1 / (k0 - k1) + f1 / (d * k1))
    return lower, upper


class TestEffectiveConductivity:
    @pytest.mark.parametrize("scheme", ["willot", "fourier"])
    @pytest.mark.parametrize("depth", [None, 5])
    def test_laminate_arithmetic_along_harmonic_across(self, scheme, depth):
        k0, k1 = 1.0, 50.0
        micro = laminate(3, 8, 6, depth)
        K = effective_conductivity(micro, k=(k0, k1), scheme=scheme)
        f1 = 3 / 8
        arithmetic, harmonic = (1 - f1) * k0 + f1 * k1, 1 / ((1 - f1) / k0 + f1 / k1)
        expected = np.diag([arithmetic, harmonic] + ([arithmetic] if depth else []))
        np.testing.assert_allclose(K, expected, rtol=1e-8, atol=1e-8)

    def test_checkerboard_tends_to_keller_dykhne(self):
        k0, k1 = 1.0, 50.0
        errors = []
        for n in (16, 32, 64):
            i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
            K = effective_conductivity((i < n // 2) ^ (j < n // 2), k=(k0, k1))
            np.testing.assert_allclose(K[0, 0], K[1, 1], rtol=1e-10)
            errors.append(abs(K[0, 0] / np.sqrt(k0 * k1) - 1))
        assert errors[0] > errors[1] > errors[2]
        # corner singularity: error ~ N^-0.75 (measured +8.5 % at 64, +3.1 % at 256; module docstring)
        assert errors[2] < 0.09

    @pytest.mark.parametrize("shape", [(40, 40), (16, 16, 16)])
    def test_within_voigt_reuss_and_hashin_shtrikman(self, shape):
        k0, k1 = 1.0, 50.0
        micro = random_cell(shape, seed=1)
        f1 = micro.mean()
        K = effective_conductivity(micro, k=(k0, k1))
        eig = np.linalg.eigvalsh(K)
        assert np.all(eig > 1 / ((1 - f1) / k0 + f1 / k1)) and np.all(eig < (1 - f1) * k0 + f1 * k1)
        # a small random cell is only roughly isotropic: test its isotropic part, trace / d
        lower, upper = hashin_shtrikman_conductivity(f1, k0, k1, len(shape))
        assert lower < np.trace(K) / len(shape) < upper

    def test_symmetric_positive_definite(self):
        K = effective_conductivity(random_cell((24, 30), seed=2, length=1.5), k=(2.0, 7.0))
        np.testing.assert_allclose(K, K.T, atol=0)
        assert np.all(np.linalg.eigvalsh(K) > 0)

    @pytest.mark.parametrize("label", [0, 1])
    def test_homogeneous_cell_returns_phase(self, label):
        K, info = effective_conductivity(np.full((6, 5, 4), label), k=(3.0, 11.0), return_info=True)
        np.testing.assert_allclose(K, np.eye(3) * (3.0, 11.0)[label], rtol=1e-14)
        assert info["iterations"] == [0, 0, 0]

    def test_converges_as_tolerance_tightens(self):
        micro = random_cell((32, 32), seed=3)
        reference = effective_conductivity(micro, tol=1e-12)
        errors = [np.abs(effective_conductivity(micro, tol=tol) - reference).max() for tol in (1e-2, 1e-4, 1e-6)]
        assert errors[0] > errors[1] > errors[2]
        assert errors[2] < 1e-6 * np.abs(reference).max()

    def test_methods_agree_and_krylov_is_faster(self):
        micro = random_cell((32, 32), seed=4)
        K_rec, info_rec = effective_conductivity(micro, tol=1e-8, return_info=True)
        K_cg, info_cg = effective_conductivity(micro, tol=1e-8, method="cg", return_info=True)
        K_fp, info_fp = effective_conductivity(micro, tol=1e-8, method="fixed-point", return_info=True)
        assert info_rec["method"] == "reciprocal" and info_cg["method"] == "cg"
        scale = np.abs(K_cg).max()
        np.testing.assert_allclose(K_rec, K_cg, rtol=0, atol=1e-8 * scale)  # both within ~tol
        np.testing.assert_allclose(K_cg, K_fp, rtol=0, atol=1e-7 * scale)
        assert max(info_cg["iterations"]) * 4 < min(info_fp["iterations"])
        # the reciprocal preconditioner clusters the spectrum: measured 18 vs 28-29 iterations here
        assert max(info_rec["iterations"]) * 1.4 < min(info_cg["iterations"])

    def test_fourier_scheme_uses_green_cg_and_reciprocal_needs_willot(self):
        micro = random_cell((12, 12), seed=11)
        _, info = effective_conductivity(micro, scheme="fourier", return_info=True)
        assert info["method"] == "cg"
        with pytest.raises(InputError, match="`method`"):
            effective_conductivity(micro, scheme="fourier", method="reciprocal")

    def test_duality_in_2d(self):
        # Keller's interchange theorem: K(k0, k1) · K(k1, k0) rotated = k0 k1 for any 2D cell (to discretisation)
        micro = random_cell((48, 48), seed=5, length=4.0)
        K = effective_conductivity(micro, k=(1.0, 4.0))
        K_swapped = effective_conductivity(micro, k=(4.0, 1.0))
        assert np.linalg.det(K) * np.linalg.det(K_swapped) == pytest.approx(16.0, rel=0.05)

    def test_warns_when_maxiter_reached(self):
        with pytest.warns(RuntimeWarning, match="maxiter"):
            effective_conductivity(random_cell((16, 16), seed=6), maxiter=2)

    @pytest.mark.parametrize(
        "kwargs, name",
        [({"micro": np.zeros(5)}, "micro"), ({"micro": np.zeros((2, 2, 2, 2))}, "micro"),
         ({"micro": [[0, 2], [1, 0]]}, "micro"), ({"k": (1.0, -1.0)}, "k"), ({"k": (1.0,)}, "k"),
         ({"tol": 0.0}, "tol"), ({"method": "newton"}, "method"), ({"scheme": "fem"}, "scheme"),
         ({"maxiter": 0}, "maxiter")])
    def test_bad_input_names_the_argument(self, kwargs, name):
        kwargs = {"micro": np.zeros((4, 4))} | kwargs
        with pytest.raises(InputError, match=f"`{name}`") as error:
            effective_conductivity(kwargs.pop("micro"), **kwargs)
        assert error.value.name == name


def elastic_laminate_2d(E, nu, f1):
    """Closed-form plane-strain stiffness (Voigt xx, yy, xy) of layers stacked along y, phase 1 at fraction f1.

    ε_xx is uniform and σ_yy, σ_xy are uniform: with M = λ + 2μ,
    C22 = ⟨1/M⟩⁻¹, C12 = ⟨λ/M⟩ C22, C11 = ⟨M − λ²/M⟩ + ⟨λ/M⟩² C22, C66 = ⟨1/μ⟩⁻¹.
    """
    lam, mu = lame(E, nu)
    M = lam + 2 * mu
    weights = np.array([1 - f1, f1])

    def avg(v):
        return float(weights @ v)

    c22 = 1 / avg(1 / M)
    c12 = avg(lam / M) * c22
    c11 = avg(M - lam**2 / M) + avg(lam / M) ** 2 * c22
    return np.array([[c11, c12, 0], [c12, c22, 0], [0, 0, 1 / avg(1 / mu)]])


class TestEffectiveStiffness:
    @pytest.mark.parametrize("scheme", ["willot", "fourier"])
    def test_plane_strain_laminate_closed_form(self, scheme):
        E, nu = (1.0, 50.0), (0.3, 0.2)
        C = effective_stiffness(laminate(3, 8, 6), youngs=E, poisson=nu, scheme=scheme)
        np.testing.assert_allclose(C, elastic_laminate_2d(E, nu, 3 / 8), rtol=1e-8, atol=1e-9)

    def test_3d_laminate_normal_and_shear_components(self):
        E, nu = (1.0, 50.0), (0.3, 0.3)
        lam, mu = lame(E, nu)
        C = effective_stiffness(laminate(2, 6, 4, depth=3), youngs=E, poisson=nu)
        weights = np.array([4 / 6, 2 / 6])
        # layers normal to y: C_yyyy = ⟨1/M⟩⁻¹, shear yz and xy = ⟨1/μ⟩⁻¹, in-plane shear xz = ⟨μ⟩
        assert C[1, 1] == pytest.approx(1 / (weights @ (1 / (lam + 2 * mu))), rel=1e-8)
        assert C[3, 3] == pytest.approx(1 / (weights @ (1 / mu)), rel=1e-8)
        assert C[5, 5] == pytest.approx(1 / (weights @ (1 / mu)), rel=1e-8)
        assert C[4, 4] == pytest.approx(weights @ mu, rel=1e-8)

    @pytest.mark.parametrize("shape, size", [((5, 4), 3), ((3, 4, 5), 6)])
    def test_homogeneous_cell_returns_phase(self, shape, size):
        lam, mu = lame(2.6, 0.3)
        C = effective_stiffness(np.ones(shape), youngs=(1.0, 2.6), poisson=(0.1, 0.3))
        d = len(shape)
        expected = np.zeros((size, size))
        expected[:d, :d] = lam
        expected[np.arange(d), np.arange(d)] = lam + 2 * mu
        expected[np.arange(d, size), np.arange(d, size)] = mu
        np.testing.assert_allclose(C, expected, rtol=1e-14, atol=1e-14)

    @pytest.mark.parametrize("shape", [(32, 32), (12, 12, 12)])
    def test_symmetric_positive_definite_between_voigt_and_reuss(self, shape):
        micro = random_cell(shape, seed=7, length=2.0)
        f1 = micro.mean()
        C = effective_stiffness(micro)
        np.testing.assert_allclose(C, C.T, atol=0)
        assert np.all(np.linalg.eigvalsh(C) > 0)
        phases = [effective_stiffness(np.full(shape, label)) for label in (0, 1)]
        voigt = (1 - f1) * phases[0] + f1 * phases[1]
        reuss = np.linalg.inv((1 - f1) * np.linalg.inv(phases[0]) + f1 * np.linalg.inv(phases[1]))
        assert np.all(np.linalg.eigvalsh(voigt - C) > 0)
        assert np.all(np.linalg.eigvalsh(C - reuss) > 0)

    def test_3d_random_cell_within_hashin_shtrikman(self):
        E, nu = np.array([1.0, 50.0]), np.array([0.3, 0.3])
        micro = random_cell((16, 16, 16), seed=8)
        f = np.array([1 - micro.mean(), micro.mean()])
        C = effective_stiffness(micro, youngs=E, poisson=nu)
        lam, mu = lame(E, nu)
        K = lam + 2 * mu / 3
        # isotropic projection of C (Voigt, engineering shear)
        bulk = C[:3, :3].sum() / 9
        shear = (np.trace(C[:3, :3]) - (C[:3, :3].sum() - np.trace(C[:3, :3])) / 2 + 3 * np.trace(C[3:, 3:])) / 15
        hs_bulk = [K[i] + f[1 - i] / (1 / (K[1 - i] - K[i]) + 3 * f[i] / (3 * K[i] + 4 * mu[i])) for i in (0, 1)]
        hs_shear = [mu[i] + f[1 - i] / (1 / (mu[1 - i] - mu[i])
                                        + 6 * f[i] * (K[i] + 2 * mu[i]) / (5 * mu[i] * (3 * K[i] + 4 * mu[i])))
                    for i in (0, 1)]
        assert hs_bulk[0] < bulk < hs_bulk[1]
        assert hs_shear[0] < shear < hs_shear[1]

    def test_converges_as_tolerance_tightens(self):
        micro = random_cell((24, 24), seed=9)
        reference = effective_stiffness(micro, tol=1e-10)
        errors = [np.abs(effective_stiffness(micro, tol=tol) - reference).max() for tol in (1e-2, 1e-4, 1e-6)]
        assert errors[0] > errors[1] > errors[2]
        assert errors[2] < 1e-6 * np.abs(reference).max()

    def test_reciprocal_and_green_cg_agree_in_3d(self):
        micro = random_cell((10, 11, 12), seed=12, length=2.0)
        C_rec, info_rec = effective_stiffness(micro, tol=1e-9, return_info=True)
        C_cg, info_cg = effective_stiffness(micro, tol=1e-9, method="cg", return_info=True)
        np.testing.assert_allclose(C_rec, C_cg, rtol=0, atol=1e-9 * np.abs(C_cg).max())
        assert max(info_rec["residuals"]) <= 1e-9 and max(info_cg["residuals"]) <= 1e-9
        assert max(info_rec["iterations"]) < min(info_cg["iterations"])

    def test_cg_and_fixed_point_agree(self):
        micro = random_cell((24, 24), seed=10)
        C_cg, info_cg = effective_stiffness(micro, tol=1e-8, method="cg", return_info=True)
        C_fp, info_fp = effective_stiffness(micro, tol=1e-8, method="fixed-point", return_info=True)
        np.testing.assert_allclose(C_cg, C_fp, rtol=0, atol=1e-7 * np.abs(C_cg).max())
        assert len(info_cg["iterations"]) == 3 and max(info_cg["iterations"]) * 3 < min(info_fp["iterations"])

    @pytest.mark.parametrize(
        "kwargs, name",
        [({"youngs": (1.0, 0.0)}, "youngs"), ({"poisson": (0.3, 0.5)}, "poisson"),
         ({"poisson": (-1.0, 0.3)}, "poisson"), ({"youngs": "stiff"}, "youngs"), ({"tol": 2.0}, "tol")])
    def test_bad_input_names_the_argument(self, kwargs, name):
        with pytest.raises(InputError, match=f"`{name}`"):
            effective_stiffness(np.zeros((4, 4)), **kwargs)


class TestYoungsModulusX:
    def test_isotropic_3d_and_plane_strain(self):
        E, nu = 2.6, 0.3
        C3 = effective_stiffness(np.zeros((2, 2, 2)), youngs=(E, 1.0), poisson=(nu, 0.3))
        C2 = effective_stiffness(np.zeros((2, 2)), youngs=(E, 1.0), poisson=(nu, 0.3))
        assert youngs_modulus_x(C3) == pytest.approx(E, rel=1e-14)
        assert youngs_modulus_x(C2) == pytest.approx(E / (1 - nu**2), rel=1e-14)

    def test_laminate_along_layers_is_voigt_like(self):
        # 3D layers normal to y, equal ν: uniaxial stress along x is carried in parallel, E_x = ⟨E⟩
        C = effective_stiffness(laminate(1, 4, 2, depth=2), youngs=(1.0, 50.0), poisson=(0.25, 0.25))
        assert youngs_modulus_x(C) == pytest.approx(0.75 * 1.0 + 0.25 * 50.0, rel=1e-8)

    def test_bad_shape(self):
        with pytest.raises(InputError, match="`C`"):
            youngs_modulus_x(np.eye(4))


class TestGreenOperators:
    @pytest.mark.parametrize("scheme", _green.SCHEMES)
    @pytest.mark.parametrize("shape", [(6, 8), (4, 5, 6)])
    def test_projection_is_idempotent_and_matches_its_norm(self, scheme, shape):
        rng = np.random.default_rng(0)
        d = len(shape)
        n = _green.unit_frequencies(shape, scheme)
        c = d * (d + 1) // 2
        s_hat = rng.standard_normal((2, c) + n.shape[1:]) + 1j * rng.standard_normal((2, c) + n.shape[1:])
        once, norm2 = _green.elastic_green(s_hat, n, 0.0, 0.5)
        twice, _ = _green.elastic_green(once, n, 0.0, 0.5)
        np.testing.assert_allclose(twice, once, atol=1e-12)
        np.testing.assert_allclose(norm2, (np.abs(once) ** 2).sum(axis=1), atol=1e-12)


class TestWillotGradient:
    @pytest.mark.parametrize("shape", [(6, 7), (4, 5, 6)])
    def test_fourier_symbol(self, shape):
        # independent check: the corner-to-centre difference has symbol 2^d i e^{iΣθ/2} sin(θ_j/2) Π cos(θ_l/2)
        rng = np.random.default_rng(1)
        d = len(shape)
        u = rng.standard_normal((2,) + shape)
        grad = _precond.willot_gradient(u, d)
        thetas = np.meshgrid(*[2 * np.pi * np.fft.fftfreq(n) for n in shape], indexing="ij")
        u_hat = np.fft.fftn(u, axes=tuple(range(1, d + 1)))
        for i in range(d):  # Cartesian i is array axis d - 1 - i
            axis = d - 1 - i
            symbol = 2**d * 1j * np.exp(0.5j * sum(thetas)) * np.sin(thetas[axis] / 2)
            for other in range(d):
                if other != axis:
                    symbol = symbol * np.cos(thetas[other] / 2)
            expected = np.fft.ifftn(symbol * u_hat, axes=tuple(range(1, d + 1))).real
            np.testing.assert_allclose(grad[:, i], expected, atol=1e-12)

    @pytest.mark.parametrize("shape", [(5, 6), (3, 4, 5)])
    def test_adjoints(self, shape):
        rng = np.random.default_rng(2)
        d = len(shape)
        pairs = _green.mandel_pairs(d)
        u, g = rng.standard_normal((2,) + shape), rng.standard_normal((2, d) + shape)
        assert np.sum(_precond.willot_gradient(u, d) * g) == pytest.approx(
            np.sum(u * _precond.willot_gradient_t(g, d)), rel=1e-12)
        v, s = rng.standard_normal((2, d) + shape), rng.standard_normal((2, len(pairs)) + shape)
        assert np.sum(_precond.mandel_strain(v, d, pairs) * s) == pytest.approx(
            np.sum(v * _precond.mandel_strain_t(s, d, pairs)), rel=1e-12)
