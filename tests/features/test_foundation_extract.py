"""Registry entries dinov2/clip/sam through ``extract``: local folders, volumes' sections, tiles, progress, cancel."""

import numpy as np
import pytest

from foundation_tiny import DIM, save_tiny_models
from msdash.errors import InputError
from msdash.features import EXTRACTORS, extract
from msdash.features.foundation import EmbeddingCancelled, embed, load_model
from msdash.features.foundation.extract import (extract_foundation, feature_dim, reporting,
                                                section_indices)
from msdash.features.store import FeatureStore


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return save_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def dinov2(folders):
    return load_model(folders["dinov2"], device="cpu")


def _images(n, shape, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random(shape).astype(np.float32) for _ in range(n)]


class TestFolderParameter:
    def test_folder_overrides_the_preset(self, folders, dinov2, tmp_path):
        images = _images(3, (28, 42))
        store = FeatureStore(tmp_path / "store.sqlite")
        table = extract(images, "dinov2", store=store, folder=folders["dinov2"], model="dinov2-large")
        assert not table.errors and table.values.shape == (3, DIM)
        np.testing.assert_allclose(table.values, embed(images, model=dinov2), atol=1e-5)
        assert table.labels[0] == "dinov2[0]"  # the folder's name
        assert table.provenance["params"]["folder"] == folders["dinov2"]
        other = extract(images, "dinov2", store=store, folder=folders["registers"])
        assert other.key != table.key and other.provenance["store_hits"] == 0

    def test_folder_of_another_family_is_refused(self, folders):
        with pytest.raises(InputError, match="no sample gave features.*clip weights, not dinov2"):
            extract(_images(1, (28, 28)), "dinov2", store=False, folder=folders["clip"])

    def test_folder_without_weights(self, tmp_path):
        (tmp_path / "empty").mkdir()
        with pytest.raises(InputError, match="no sample gave features.*no config.json"):
            extract(_images(1, (28, 28)), "clip", store=False, folder=str(tmp_path / "empty"))

    def test_params_of_the_entries(self):
        for name in ("dinov2", "clip", "sam"):
            defaults = EXTRACTORS[name].defaults
            assert defaults["folder"] is None and defaults["batch_size"] is None and defaults["fit"] == "resize"
            assert {"size", "tile", "stride", "section", "slices", "sections"} <= set(defaults)
            assert 3 in EXTRACTORS[name].dims

    def test_standard_options_reach_embed(self, folders, dinov2):
        images = _images(2, (30, 60))
        table = extract(images, "dinov2", store=False, folder=folders["dinov2"], mode="standard", fit="pad",
                        size=28)
        np.testing.assert_allclose(table.values, embed(images, model=dinov2, mode="standard", fit="pad", size=28),
                                   atol=1e-5)


class TestVolumes:
    @pytest.fixture
    def volume(self):
        return np.random.default_rng(5).random((30, 32, 34)).astype(np.float32)

    def _by_hand(self, dinov2, planes):
        return [embed(p, model=dinov2) for p in planes]  # planes: per axis a list of 2-D sections

    def test_first_sections_averaged(self, dinov2, volume):
        out = extract_foundation(volume[None], model=dinov2, section="first")
        z, y, x = (embed([p], model=dinov2)[0] for p in (volume[0], volume[:, 0], volume[:, :, 0]))
        np.testing.assert_allclose(out[0], (z + y + x) / 3, atol=1e-5)

    def test_k_sections_concatenated(self, dinov2, volume):
        out = extract_foundation(volume[None], model=dinov2, section="mean", slices=2, sections="concat")
        z = embed([volume[7], volume[22]], model=dinov2).mean(0)  # centres of two bins of 30: 7, 22
        y = embed([volume[:, 8], volume[:, 24]], model=dinov2).mean(0)
        x = embed([volume[:, :, 8], volume[:, :, 25]], model=dinov2).mean(0)
        np.testing.assert_allclose(out[0], np.concatenate([z, y, x]), atol=1e-5)

    def test_through_extract_with_labels(self, folders, volume):
        table = extract([volume, volume[::-1]], "dinov2", store=False, folder=folders["dinov2"],
                        sections="concat")
        assert table.values.shape == (2, 3 * DIM) and table.labels[DIM] == "dinov2[0]@y"
        centre = extract_foundation(volume[None], model=folders["dinov2"], sections="concat")
        np.testing.assert_allclose(table.values[0], centre[0], atol=1e-5)

    def test_section_indices(self):
        assert section_indices(30, "mean", 2) == [7, 22] and section_indices(4, "mean", 10) == [0, 1, 2, 3]


class TestTiles:
    def test_mean_of_tiles(self, dinov2):
        image = _images(1, (28, 42))[0]
        out = extract_foundation([image], model=dinov2, tile=14, stride=14)
        tiles = [image[y:y + 14, x:x + 14] for y in (0, 14) for x in (0, 14, 28)]
        np.testing.assert_allclose(out[0], embed(tiles, model=dinov2).mean(0), atol=1e-5)

    def test_tile_larger_than_the_image_fails_that_sample(self, folders):
        images = [_images(1, (56, 56))[0], _images(1, (28, 28))[0]]
        table = extract(images, "dinov2", store=False, folder=folders["dinov2"], tile=56)
        assert [e.name for e in table.errors] == ["1"] and "larger than the image" in table.errors[0].message
        assert np.isfinite(table.values[0]).all() and np.isnan(table.values[1]).all()


class TestReportingAndCancel:
    def test_progress_in_samples_with_rate(self, folders):
        calls = []
        with reporting(lambda *a: calls.append(a), total=4):
            extract(_images(4, (28, 28)), "dinov2", store=False, folder=folders["dinov2"], batch_size=2)
        assert [c[:2] for c in calls] == [(2, 4), (4, 4)] and "images/s" in calls[0][2]

    def test_cancel_keeps_the_block_out_of_the_store(self, folders, tmp_path):
        store = FeatureStore(tmp_path / "store.sqlite")
        with pytest.raises(EmbeddingCancelled), reporting(lambda *a: False):
            extract(_images(4, (28, 28)), "dinov2", store=store, folder=folders["dinov2"], batch_size=2)
        assert store.count() == 0
        table = extract(_images(4, (28, 28)), "dinov2", store=store, folder=folders["dinov2"], batch_size=2)
        assert store.count() == 4 and not table.errors


def test_feature_dim(folders):
    assert feature_dim("clip-l14") == 1024 and feature_dim("sam-huge") == 256
    assert feature_dim(folders["dinov2"], "cls+mean") == 2 * DIM and feature_dim(folders["sam"]) == 16
