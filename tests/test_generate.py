"""Whole generated data sets: names, properties from the physics, groups."""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.synthetic import TC
from msdash.synthetic.generate import generate_dataset


class TestGenerateDataset:
    def test_ising_set_has_spins_as_0_1_and_scaled_temperature(self):
        ds = generate_dataset("ising", n=6, size=16, seed=1)
        assert len(ds) == 6 and ds.kind(ds.names[0]) == "2d"
        assert set(np.unique(np.stack(list(ds.images.values())))) <= {0.0, 1.0}
        t = ds.properties["temperature (J/k_B)"].to_numpy()
        np.testing.assert_allclose(ds.properties["temperature (0-255)"], 255 * t / (2 * TC))
        assert np.all((t >= 0) & (t <= 2 * TC))

    def test_cahn_hilliard_runs_are_groups_and_energy_decreases(self):
        ds = generate_dataset("cahn-hilliard", runs=2, size=32, steps=200, snapshots=5, seed=0)
        assert len(ds) == 10 and ds.group_column == "run"
        for _, part in ds.properties.groupby("run"):
            assert np.all(np.diff(part["free energy"].to_numpy()) <= 1e-9)

    def test_unknown_kind_or_parameter_is_refused(self):
        with pytest.raises(InputError, match="unknown generator"):
            generate_dataset("voronoi")
        with pytest.raises(InputError, match="unknown parameter"):
            generate_dataset("ising", temperature=2.0)
