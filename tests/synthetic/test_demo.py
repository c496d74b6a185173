"""Tests of the built-in demo set: generator, committed files and their agreement."""

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from msdash.synthetic.demo import DEMO_SEED, PROPERTY_COLUMNS, make_demo
from msdash.synthetic.fields import interface_density

DEMO_DIR = ROOT / "msdash" / "data" / "demo"


@pytest.fixture(scope="module")
def committed():
    with np.load(DEMO_DIR / "demo.npz", allow_pickle=False) as npz:
        shape = tuple(npz["shape"])
        images = np.unpackbits(npz["images"], axis=-1, count=shape[-1]).reshape(shape)
        names = npz["names"]
    return images, names, pd.read_csv(DEMO_DIR / "properties.csv")


class TestMakeDemo:
    def test_shapes_and_columns(self, fresh_demo):
        images, properties = fresh_demo
        assert images.shape == (300, 64, 64) and images.dtype == np.float32
        assert set(np.unique(images)) == {0.0, 1.0}
        assert list(properties.columns) == PROPERTY_COLUMNS
        assert properties["name"].tolist() == [f"demo_{i:03d}" for i in range(300)]
        assert set(properties["family"]) == {"iso", "aniso-x", "aniso-y"}

    def test_properties_match_images(self, fresh_demo):
        images, properties = fresh_demo
        vf = images.mean(axis=(1, 2), dtype=np.float64)
        np.testing.assert_array_equal(properties["volume_fraction"], vf)
        np.testing.assert_array_equal(properties["interface_density (1/px)"], interface_density(images))
        plane = 1 / (1 - 0.3 ** 2)  # plane strain, both ν = 0.3: the phase moduli along x are E/(1 − ν²)
        np.testing.assert_allclose(properties["E_x plane strain Voigt bound (GPa)"], plane * (200 * vf + 4 * (1 - vf)),
                                   rtol=1e-12)
        np.testing.assert_allclose(properties["E_x plane strain Reuss bound (GPa)"],
                                   plane / (vf / 200 + (1 - vf) / 4), rtol=1e-12)

    def test_fft_modulus_is_the_homogenised_cell_within_the_bounds(self, fresh_demo):
        from msdash.synthetic import effective_stiffness, youngs_modulus_x

        images, properties = fresh_demo
        for i in (0, 7, 42):  # an independent call with the phases in label order
            C = effective_stiffness(images[i], youngs=(4.0, 200.0), poisson=(0.3, 0.3), method="cg")
            assert properties["E_x plane strain FFT (GPa)"][i] == pytest.approx(youngs_modulus_x(C), rel=1e-9)
        fft = properties["E_x plane strain FFT (GPa)"]
        assert np.all(fft <= properties["E_x plane strain Voigt bound (GPa)"] + 1e-9)
        assert np.all(fft >= properties["E_x plane strain Reuss bound (GPa)"] - 1e-9)

    def test_parameter_ranges(self, fresh_demo):
        _, properties = fresh_demo
        assert properties["volume_fraction"].between(0.2 - 1 / 4096, 0.8 + 1 / 4096).all()
        assert properties["correlation_length (px)"].between(2, 10).all()
        assert properties["anisotropy"].between(1, 4).all()
        iso = properties["family"] == "iso"
        assert (properties.loc[iso, "anisotropy"] == 1).all() and (properties.loc[~iso, "anisotropy"] >= 1.5).all()

    def test_anisotropy_direction_shows_in_interfaces(self, fresh_demo):
        images, properties = fresh_demo
        ratio = interface_density(images, axis=0) / interface_density(images, axis=1)
        # aniso-x: long along x (axis 1), so fewer interfaces crossed along x than along y.
        assert np.median(ratio[properties["family"] == "aniso-x"]) > 1.3
        assert np.median(ratio[properties["family"] == "aniso-y"]) < 1 / 1.3

    def test_seeded(self):
        a_images, a_props = make_demo(n=5, size=16, seed=1)
        b_images, b_props = make_demo(n=5, size=16, seed=1)
        c_images, _ = make_demo(n=5, size=16, seed=2)
        np.testing.assert_array_equal(a_images, b_images)
        pd.testing.assert_frame_equal(a_props, b_props)
        assert not np.array_equal(a_images, c_images)


class TestCommittedFiles:
    def test_regeneration_matches_committed_files(self, fresh_demo, committed):
        images, properties = fresh_demo
        stored_images, stored_names, stored_properties = committed
        np.testing.assert_array_equal(stored_images, images.astype(np.uint8))
        assert stored_names.dtype.kind == "U" and stored_names.tolist() == properties["name"].tolist()
        assert list(stored_properties.columns) == PROPERTY_COLUMNS
        pd.testing.assert_frame_equal(stored_properties, properties, check_exact=False, rtol=1e-12, atol=0,
                                      check_dtype=False)

    def test_committed_volume_fractions_match_images(self, committed):
        images, _, properties = committed
        np.testing.assert_array_equal(properties["volume_fraction"], images.mean(axis=(1, 2)))

    def test_small_and_seed_recorded(self):
        assert sum(f.stat().st_size for f in DEMO_DIR.iterdir()) < 1_000_000
        readme = (DEMO_DIR / "README.md").read_text(encoding="utf-8")
        assert str(DEMO_SEED) in readme and "python -m msdash.synthetic.demo" in readme


class TestWriteReadDemo:
    def test_round_trip_and_mismatch(self, tmp_path):
        from msdash.synthetic.demo import read_demo, write_demo

        written = write_demo(tmp_path, n=4, size=8, seed=3)
        assert sorted(p.name for p in written) == ["demo.npz", "properties.csv"]
        images, properties = read_demo(tmp_path)
        expected_images, expected_properties = make_demo(n=4, size=8, seed=3)
        np.testing.assert_array_equal(images, expected_images)
        pd.testing.assert_frame_equal(properties, expected_properties, check_dtype=False)
        properties.iloc[:3].to_csv(tmp_path / "properties.csv", index=False)
        with pytest.raises(ValueError, match="do not match"):
            read_demo(tmp_path)
