"""Disks/spheres and lamellae: volume fractions, periodicity, and their known effective conductivity."""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.synthetic import effective_conductivity
from msdash.synthetic.shapes import disks, lamellae


class TestDisks:
    @pytest.mark.parametrize("shape", [(40, 40), (16, 16, 16)])
    def test_reaches_the_fraction_and_wraps_around(self, shape):
        cells = disks(3, shape, volume_fraction=0.25, radius=3.0, seed=1)
        fractions = cells.reshape(3, -1).mean(axis=1)
        assert np.all(fractions >= 0.25) and np.all(fractions < 0.25 + 4 / 3 * np.pi * 27 / np.prod(shape) + 1e-9)
        assert set(np.unique(cells)) == {0, 1}

    def test_a_disk_across_the_border_is_whole(self):
        # one disk keeps its whole area (πr² ≈ 78.5 px, up to pixel rounding) wherever its centre falls:
        # a disk clipped at the border would lose up to three quarters of it
        areas = [int(disks(1, (16, 16), volume_fraction=1e-4, radius=5.0, seed=s)[0].sum()) for s in range(20)]
        assert all(abs(area - np.pi * 25) < 4 for area in areas)

    def test_bad_radius(self):
        with pytest.raises(InputError, match="radius"):
            disks(1, (8, 8), radius=0)


class TestLamellae:
    def test_layers_give_arithmetic_and_harmonic_conductivity(self):
        cell = lamellae(1, (16, 16), volume_fraction=0.25, period=8, axis=-1, seed=0)[0]
        assert cell.mean() == 0.25
        K = effective_conductivity(cell, k=(1.0, 10.0))
        # layers vary along x (K[0, 0]): harmonic mean across them, arithmetic along them (y, K[1, 1])
        assert K[0, 0] == pytest.approx(1 / (0.25 / 10 + 0.75 / 1), rel=1e-8)
        assert K[1, 1] == pytest.approx(0.25 * 10 + 0.75 * 1, rel=1e-8)

    def test_period_must_divide_the_size(self):
        with pytest.raises(InputError, match="period"):
            lamellae(1, (10, 10), period=4)
