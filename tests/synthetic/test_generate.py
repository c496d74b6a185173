"""Whole generated data sets: names, properties from the physics, groups."""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.synthetic import TC
from msdash.synthetic.generate import GENERATORS, GeneratorSpec, generate_dataset


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


class TestGeneratorSpecs:
    #: the defaults as they were written before the generators became specs (behaviour unchanged)
    OLD_DEFAULTS = {
        "two-phase": {"n": 50, "size": 64, "dims": 2, "vf_min": 0.2, "vf_max": 0.8, "length_min": 2.0,
                      "length_max": 8.0, "contrast": 50.0, "seed": 0},
        "disks": {"n": 50, "size": 64, "dims": 2, "vf_min": 0.1, "vf_max": 0.5, "radius_min": 2.0,
                  "radius_max": 6.0, "contrast": 50.0, "seed": 0},
        "lamellae": {"n": 20, "size": 64, "dims": 2, "vf_min": 0.2, "vf_max": 0.8, "period": 8, "contrast": 50.0,
                     "seed": 0},
        "ising": {"n": 200, "size": 64, "seed": 0},
        "cahn-hilliard": {"runs": 4, "size": 64, "steps": 2000, "snapshots": 20, "ramp_snapshots": 5, "seed": 0},
    }

    def test_every_generator_is_a_spec_with_the_old_defaults_and_types(self):
        assert list(GENERATORS) == list(self.OLD_DEFAULTS)
        for kind, spec in GENERATORS.items():
            assert isinstance(spec, GeneratorSpec) and spec.title
            defaults = spec.defaults()
            assert defaults == self.OLD_DEFAULTS[kind]
            assert [type(v) for v in defaults.values()] == [type(v) for v in self.OLD_DEFAULTS[kind].values()]
            assert all(p.help for p in spec.params)

    def test_text_values_are_converted_by_the_params(self):
        settings = GENERATORS["two-phase"].resolve({"n": "5", "contrast": "2.5", "dims": 3.0})
        assert settings["n"] == 5 and type(settings["n"]) is int and settings["dims"] == 3
        assert settings["contrast"] == 2.5 and settings["seed"] == 0

    @pytest.mark.parametrize("kind, params, name", [("ising", {"n": 0}, "n"), ("two-phase", {"dims": 4}, "dims"),
                                                     ("two-phase", {"vf_max": 1.5}, "vf_max"),
                                                     ("cahn-hilliard", {"steps": "many"}, "steps")])
    def test_out_of_bounds_or_wrong_type_is_refused_by_name(self, kind, params, name):
        with pytest.raises(InputError, match=f"`{name}`") as caught:
            generate_dataset(kind, **params)
        assert caught.value.name == name


class TestTwoPhaseWithStiffness:
    def test_modulus_within_voigt_and_reuss_and_grows_with_the_stiff_phase(self):
        ds = generate_dataset("two-phase", n=6, size=24, seed=2)
        props = ds.properties
        vf, modulus = props["volume_fraction"].to_numpy(), props["E_x plane strain (E0 units)"].to_numpy()
        # plane strain: each phase's modulus along x is E/(1 - ν²); phase 1 is 50× stiffer
        e0, e1 = 1 / (1 - 0.3 ** 2), 50 / (1 - 0.3 ** 2)
        assert np.all(modulus <= vf * e1 + (1 - vf) * e0 + 1e-9)
        assert np.all(modulus >= 1 / (vf / e1 + (1 - vf) / e0) - 1e-9)
        assert np.corrcoef(vf, modulus)[0, 1] > 0.8

    @pytest.mark.parametrize("kind", ["disks", "lamellae"])
    def test_shape_generators_label_their_geometry(self, kind):
        ds = generate_dataset(kind, n=3, size=16, seed=1)
        assert len(ds) == 3 and ds.names[0].startswith(kind)
        assert np.all(ds.properties["E_x plane strain (E0 units)"] > 1 / (1 - 0.3 ** 2))  # stiffer than phase 0 alone


class TestCahnHilliardRampSnapshots:
    def test_default_saves_during_the_ramp_and_records_when(self):
        ds = generate_dataset("cahn-hilliard", runs=1, size=16, steps=300, snapshots=8, seed=0)
        props = ds.properties
        # 4 of 8 (at most half of the default 5) fall in the 100-step ramp, log-spaced from step 1.
        assert props["step"].tolist() == [1, 5, 22, 100, 150, 200, 250, 300]
        dts = np.full(300, 1.0)
        dts[:100] = np.geomspace(0.01, 1.0, 100)
        np.testing.assert_allclose(props["time"], np.cumsum(dts)[props["step"].to_numpy().astype(int) - 1])
        energy = props["free energy"].to_numpy()
        assert np.all(np.diff(energy) < 0)
        # The fast-decay regime is sampled: the first snapshot's energy is far above the end of the ramp's.
        assert energy[0] > 2 * energy[3]

    def test_zero_keeps_equal_spacing(self):
        ds = generate_dataset("cahn-hilliard", runs=1, size=16, steps=200, snapshots=4, ramp_snapshots=0, seed=0)
        assert ds.properties["step"].tolist() == [50, 100, 150, 200]
