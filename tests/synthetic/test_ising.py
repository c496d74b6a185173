"""Tests of msdash.synthetic.ising: checkerboard Metropolis against exact enumeration and Onsager's solution."""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.synthetic.ising import TC, ising, ising_dataset, onsager_magnetisation


def _exact_4x4(temperature):
    """<|m|> and <E>/N of the periodic 4×4 lattice by summing all 2^16 states."""
    codes = np.arange(2**16)[:, None] >> np.arange(16)
    spins = (2 * (codes & 1) - 1).reshape(-1, 4, 4)
    energy = -(spins * (np.roll(spins, 1, axis=1) + np.roll(spins, 1, axis=2))).sum(axis=(1, 2))
    weights = np.exp(-(energy - energy.min()) / temperature)
    weights /= weights.sum()
    return weights @ np.abs(spins.mean(axis=(1, 2))), weights @ energy / 16


def _energy_per_spin(spins):
    s = spins.astype(np.int64)
    return -(s * (np.roll(s, 1, axis=1) + np.roll(s, 1, axis=2))).sum(axis=(1, 2)) / s[0].size


class TestIsing:
    def test_shape_dtype_values(self):
        spins = ising(3, size=10, temperature=2.0, seed=0)
        assert spins.shape == (3, 10, 10) and spins.dtype == np.int8
        assert set(np.unique(spins)) <= {-1, 1}

    def test_seed_reproducible(self):
        a = ising(2, size=8, temperature=[1.0, 3.0], seed=5)
        np.testing.assert_array_equal(a, ising(2, size=8, temperature=[1.0, 3.0], seed=5))
        assert not np.array_equal(a, ising(2, size=8, temperature=[1.0, 3.0], seed=6))

    def test_no_steps_returns_start(self):
        assert np.all(ising(2, size=8, temperature=1.0, steps=0, start="ordered") == 1)
        random = ising(50, size=16, temperature=1.0, steps=0, seed=0)
        assert abs(random.mean()) < 0.02

    @pytest.mark.parametrize("steps", [1, 7, 32, 32 + 5, 64])
    def test_counts_single_spin_attempts(self, steps):
        # At huge T every attempt flips (exp(-8/T) ≈ 1): from all +1 on 8×8, the first 32 attempts flip the
        # distinct black sites, the next ones white sites whose neighbours are all -1 (ΔE < 0), so exactly
        # `steps` spins end at -1.
        spins = ising(4, size=8, temperature=1e12, steps=steps, start="ordered", seed=1)
        np.testing.assert_array_equal((spins == -1).sum(axis=(1, 2)), steps)

    def test_zero_temperature_never_raises_energy(self):
        start = ising(20, size=16, temperature=0.0, steps=0, seed=2)
        end = ising(20, size=16, temperature=0.0, steps=16**2 * 10, seed=2)
        assert np.all(_energy_per_spin(end) <= _energy_per_spin(start))
        assert np.all(ising(2, size=8, temperature=0.0, start="ordered", seed=0) == 1)

    @pytest.mark.parametrize("temperature", [1.8, 2.5, 4.0])
    def test_matches_exact_enumeration_on_4x4(self, temperature):
        # Checkerboard Metropolis must sample the Boltzmann distribution: compare with the exact average.
        m_exact, e_exact = _exact_4x4(temperature)
        spins = ising(6000, size=4, temperature=temperature, steps=16 * 100, seed=3)
        m = np.abs(spins.mean(axis=(1, 2)))
        e = _energy_per_spin(spins)
        assert abs(m.mean() - m_exact) < 4 * m.std() / np.sqrt(m.size) + 1e-3
        assert abs(e.mean() - e_exact) < 4 * e.std() / np.sqrt(e.size) + 1e-3

    @pytest.mark.parametrize("temperature", [1.5, 2.0])
    def test_onsager_magnetisation_below_tc(self, temperature):
        spins = ising(16, size=64, temperature=temperature, steps=64**2 * 300, start="ordered", seed=4)
        m = np.abs(spins.mean(axis=(1, 2))).mean()
        assert abs(m - onsager_magnetisation(temperature)) < 0.02

    def test_disordered_well_above_tc(self):
        spins = ising(16, size=64, temperature=4.0, steps=64**2 * 100, start="ordered", seed=5)
        assert np.abs(spins.mean(axis=(1, 2))).mean() < 0.1

    def test_default_steps_orders_cold_lattices(self):
        # Study D's N sweeps from a random start: cold lattices are far more ordered than hot ones.
        spins = ising(8, size=32, temperature=[0.5] * 4 + [4.5] * 4, seed=6)
        e = _energy_per_spin(spins)
        assert e[:4].max() < -1.5 and e[4:].min() > -0.7

    @pytest.mark.parametrize("kwargs, name", [
        ({"n": 0}, "n"), ({"n": 2.0}, "n"), ({"size": 7}, "size"), ({"size": 0}, "size"),
        ({"temperature": [1.0, 2.0, 3.0]}, "temperature"), ({"temperature": -1.0}, "temperature"),
        ({"temperature": np.nan}, "temperature"), ({"steps": -1}, "steps"), ({"start": "hot"}, "start"),
    ])
    def test_bad_input(self, kwargs, name):
        arguments = {"n": 2, "size": 8, "temperature": 1.0} | kwargs
        with pytest.raises(InputError) as error:
            ising(arguments.pop("n"), **arguments)
        assert error.value.name == name and f"`{name}`" in str(error.value)


class TestOnsagerMagnetisation:
    def test_closed_form(self):
        t = np.array([0.0, 1.0, 2.0, TC, 3.0])
        expected = [1.0, (1 - np.sinh(2.0) ** -4) ** 0.125, (1 - np.sinh(1.0) ** -4) ** 0.125, 0.0, 0.0]
        np.testing.assert_allclose(onsager_magnetisation(t), expected, rtol=1e-12, atol=0)

    def test_critical_exponent_one_eighth(self):
        # m ≈ A (Tc - T)^(1/8) just below Tc: the ratio over a factor 2^8 in Tc - T is 2.
        ratio = onsager_magnetisation(TC - 2**8 * 1e-7) / onsager_magnetisation(TC - 1e-7)
        assert ratio == pytest.approx(2.0, rel=1e-3)

    def test_tc(self):
        assert np.sinh(2 / TC) == pytest.approx(1.0)  # Kramers–Wannier self-duality fixes Tc
        assert TC == pytest.approx(2.269185, abs=1e-6)

    def test_rejects_negative(self):
        with pytest.raises(InputError):
            onsager_magnetisation(-1.0)


class TestIsingDataset:
    def test_temperatures_and_scaling(self):
        spins, t, y = ising_dataset(40, size=8, seed=0)
        assert spins.shape == (40, 8, 8) and t.shape == y.shape == (40,)
        assert t.min() >= 0 and t.max() <= 2 * TC and t.max() > TC
        np.testing.assert_allclose(y, 255 * t / (2 * TC))

    def test_t_max_and_reproducible(self):
        a = ising_dataset(5, size=8, seed=1, t_max=1.0)
        b = ising_dataset(5, size=8, seed=1, t_max=1.0)
        assert a[1].max() <= 1.0
        np.testing.assert_allclose(a[2], 255 * a[1])
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)

    def test_bad_t_max(self):
        with pytest.raises(InputError, match="t_max"):
            ising_dataset(2, size=8, t_max=0.0)
