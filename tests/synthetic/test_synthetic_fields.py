"""Tests of msdash.synthetic.fields: random two-phase fields, interface density, Hashin–Shtrikman bounds."""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.synthetic import fields
from msdash.synthetic.fields import (
    hashin_shtrikman_lower,
    hashin_shtrikman_upper,
    interface_density,
    two_phase,
)


class TestTwoPhase:
    @pytest.mark.parametrize("shape", [(32, 48), (7, 5), (12, 10, 8)])
    def test_exact_volume_fraction_and_binary(self, shape):
        targets = np.array([0.0, 0.1, 0.33, 0.5, 0.9, 1.0])
        labels = two_phase(targets.size, shape, volume_fraction=targets, seed=3)
        assert labels.shape == (targets.size, *shape)
        assert labels.dtype == np.uint8
        assert set(np.unique(labels)) <= {0, 1}
        pixels = np.prod(shape)
        ones = labels.reshape(targets.size, -1).sum(axis=1, dtype=np.int64)
        np.testing.assert_array_equal(ones, np.rint(targets * pixels))
        assert np.all(np.abs(ones / pixels - targets) <= 0.5 / pixels + 1e-12)

    def test_a_single_sample_keeps_the_sample_axis(self):
        assert two_phase(1, (10, 12), seed=0).shape == (1, 10, 12)

    def test_seed_reproducible(self):
        a = two_phase(3, (20, 20), seed=42)
        b = two_phase(3, (20, 20), seed=42)
        c = two_phase(3, (20, 20), seed=43)
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)

    def test_filter_is_periodic(self):
        # A circular convolution commutes with periodic shifts: no border is special.
        rng = np.random.default_rng(0)
        noise = rng.standard_normal((2, 24, 20))
        shift = (5, -7)
        lengths = np.array([3.0, 1.5])
        rolled_first = fields._smooth(np.roll(noise, shift, axis=(1, 2)), lengths)
        rolled_after = np.roll(fields._smooth(noise, lengths), shift, axis=(1, 2))
        np.testing.assert_allclose(rolled_first, rolled_after, atol=1e-12)

    def test_wraparound_pairs_look_like_interior_pairs(self):
        labels = two_phase(40, (64, 64), correlation_length=6.0, seed=1)
        interior = np.mean(labels[:, :, 1:] != labels[:, :, :-1])
        boundary = np.mean(labels[:, :, 0] != labels[:, :, -1])
        assert abs(boundary - interior) < 0.05

    def test_anisotropy(self):
        labels = two_phase(4, (64, 64), correlation_length=(16, 2), seed=5)
        along_0 = interface_density(labels, axis=0)
        along_1 = interface_density(labels, axis=1)
        assert np.all(along_0 * 3 < along_1)

    def test_longer_correlation_fewer_interfaces(self):
        densities = [
            interface_density(two_phase(8, (64, 64), correlation_length=ell, seed=2)).mean()
            for ell in (1.0, 3.0, 8.0)
        ]
        assert densities[0] > densities[1] > densities[2]

    def test_zero_correlation_length_is_white_noise(self):
        labels = two_phase(4, (64, 64), correlation_length=0, seed=0)
        assert interface_density(labels).mean() == pytest.approx(0.5, abs=0.02)

    def test_3d(self):
        labels = two_phase(2, (16, 16, 16), volume_fraction=0.3, correlation_length=(2, 2, 4), seed=0)
        assert labels.shape == (2, 16, 16, 16)
        np.testing.assert_allclose(labels.mean(axis=(1, 2, 3)), round(0.3 * 16**3) / 16**3)
        assert interface_density(labels, axis=2).mean() < interface_density(labels, axis=0).mean()

    @pytest.mark.parametrize(
        "kwargs, name",
        [
            ({"shape": (4,)}, "shape"),
            ({"shape": (2, 2, 2, 2)}, "shape"),
            ({"shape": (0, 4)}, "shape"),
            ({"shape": (4.5, 4)}, "shape"),
            ({"shape": "ab"}, "shape"),
            ({"volume_fraction": 1.5}, "volume_fraction"),
            ({"volume_fraction": [0.2, 0.3]}, "volume_fraction"),
            ({"volume_fraction": [0.2, 0.3], "n": 3}, "volume_fraction"),
            ({"volume_fraction": "half"}, "volume_fraction"),
            ({"correlation_length": -1.0}, "correlation_length"),
            ({"correlation_length": (1, 2, 3)}, "correlation_length"),
            ({"correlation_length": np.nan}, "correlation_length"),
            ({"n": 0}, "n"),
            ({"n": 2.0}, "n"),
        ],
    )
    def test_bad_arguments_name_the_argument(self, kwargs, name):
        kwargs = {"n": 1, "shape": (8, 8), **kwargs}
        n, shape = kwargs.pop("n"), kwargs.pop("shape")
        with pytest.raises(InputError, match=f"`{name}`") as info:
            two_phase(n, shape, **kwargs)
        assert info.value.name == name


class TestInterfaceDensity:
    def test_checkerboard_is_one(self):
        board = np.indices((6, 8)).sum(axis=0) % 2
        np.testing.assert_array_equal(interface_density(board), [1.0])
        cube = np.indices((4, 4, 4)).sum(axis=0) % 2
        np.testing.assert_array_equal(interface_density(cube[None]), [1.0])

    def test_stripes_by_hand(self):
        # Columns 0,0,1,1: along rows nothing changes; along each row 2 of 4 periodic pairs differ.
        stripes = np.array([[0, 0, 1, 1]] * 4, dtype=np.float32)
        np.testing.assert_array_equal(interface_density(stripes), [0.25])
        np.testing.assert_array_equal(interface_density(stripes, axis=0), [0.0])
        np.testing.assert_array_equal(interface_density(stripes, axis=-1), [0.5])

    def test_single_phase_is_zero_and_stack_shape(self):
        stack = np.zeros((3, 5, 5))
        np.testing.assert_array_equal(interface_density(stack), np.zeros(3))

    @pytest.mark.parametrize("labels", [np.zeros(5), np.zeros((1, 2, 2, 2, 2)), np.zeros((0, 4, 4))])
    def test_bad_shape(self, labels):
        with pytest.raises(InputError, match="`labels`"):
            interface_density(labels)

    def test_bad_axis(self):
        with pytest.raises(InputError, match="`axis`"):
            interface_density(np.zeros((4, 4)), axis=2)


def _moduli(E, nu):
    E, nu = np.asarray(E, float), np.asarray(nu, float)
    return E / (3 * (1 - 2 * nu)), E / (2 * (1 + nu))


class TestHashinShtrikman:
    vf = np.linspace(0, 1, 21)

    def test_pure_phases(self):
        assert hashin_shtrikman_upper(1.0) == 200.0 and hashin_shtrikman_lower(1.0) == 200.0
        assert hashin_shtrikman_upper(0.0) == 4.0 and hashin_shtrikman_lower(0.0) == 4.0
        assert hashin_shtrikman_upper(0.0, E=(7.0, 3.0), nu=(0.2, 0.4)) == 3.0

    def test_between_reuss_and_voigt(self):
        # With equal Poisson's ratios the Voigt/Reuss bounds on E are the arithmetic/harmonic means.
        voigt = self.vf * 200 + (1 - self.vf) * 4
        reuss = 1 / (self.vf / 200 + (1 - self.vf) / 4)
        lower, upper = hashin_shtrikman_lower(self.vf), hashin_shtrikman_upper(self.vf)
        assert lower.shape == upper.shape == self.vf.shape
        assert np.all(reuss <= lower + 1e-9)
        assert np.all(lower <= upper + 1e-9)
        assert np.all(upper <= voigt + 1e-9)
        assert np.all(np.diff(upper) > 0) and np.all(np.diff(lower) > 0)

    def test_against_original_hashin_shtrikman_formulas(self):
        # Hashin & Shtrikman (1963), well-ordered phases (stiff phase s, soft phase m), at f_s = 0.3.
        f_s, f_m = 0.3, 0.7
        E, nu = (200.0, 4.0), (0.25, 0.35)
        (K_s, K_m), (G_s, G_m) = _moduli(E, nu)

        def bounds(K1, G1, K2, G2, f1, f2):
            K = K1 + f2 / (1 / (K2 - K1) + 3 * f1 / (3 * K1 + 4 * G1))
            G = G1 + f2 / (1 / (G2 - G1) + 6 * f1 * (K1 + 2 * G1) / (5 * G1 * (3 * K1 + 4 * G1)))
            return 9 * K * G / (3 * K + G)

        expected_lower = bounds(K_m, G_m, K_s, G_s, f_m, f_s)
        expected_upper = bounds(K_s, G_s, K_m, G_m, f_s, f_m)
        assert hashin_shtrikman_lower(f_s, E=E, nu=nu) == pytest.approx(expected_lower, rel=1e-12)
        assert hashin_shtrikman_upper(f_s, E=E, nu=nu) == pytest.approx(expected_upper, rel=1e-12)

    def test_equal_shear_moduli_give_hills_exact_bulk_modulus(self):
        # Hill (1963): with G_1 = G_2 the bulk bounds coincide, so upper == lower for E as well.
        G = 30.0
        K = np.array([50.0, 120.0])
        E = 9 * K * G / (3 * K + G)
        nu = (3 * K - 2 * G) / (2 * (3 * K + G))
        upper = hashin_shtrikman_upper(0.4, E=tuple(E), nu=tuple(nu))
        lower = hashin_shtrikman_lower(0.4, E=tuple(E), nu=tuple(nu))
        K_hill = 1 / (0.4 / (K[0] + 4 / 3 * G) + 0.6 / (K[1] + 4 / 3 * G)) - 4 / 3 * G
        assert upper == pytest.approx(lower, rel=1e-12)
        assert upper == pytest.approx(9 * K_hill * G / (3 * K_hill + G), rel=1e-12)

    @pytest.mark.parametrize(
        "kwargs, name",
        [({"vf": 1.2}, "vf"), ({"vf": -0.1}, "vf"), ({"E": (1.0, -1.0)}, "E"), ({"E": (1.0,)}, "E"),
         ({"nu": (0.5, 0.3)}, "nu"), ({"nu": (0.3, -1.0)}, "nu")],
    )
    def test_bad_arguments(self, kwargs, name):
        kwargs = {"vf": 0.5, **kwargs}
        vf = kwargs.pop("vf")
        with pytest.raises(InputError, match=f"`{name}`"):
            hashin_shtrikman_upper(vf, **kwargs)
