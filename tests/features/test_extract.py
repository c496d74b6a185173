"""Batch extraction: input preparation, shape groups, failure isolation, order, labels and progress."""

import importlib

import numpy as np
import pytest

from msdash.data.dataset import Dataset
from msdash.errors import InputError
from msdash.features import EXTRACTORS, ExtractorSpec, Param, extract, register
from msdash.io import to_grey

# The package attribute `extract` is the function; the module is reached through importlib.
extract_module = importlib.import_module("msdash.features.extract")
POISON = 7.0  # a pixel value that makes the toy extractors raise


def _stats(stack, *, scale=1.0):
    """(n, 2): mean and max of each image times ``scale``; raises on the POISON value."""
    stack = np.asarray(stack)
    if (stack == POISON).any():
        raise ValueError("poisoned image")
    return np.stack([stack.mean(axis=(1, 2)), stack.max(axis=(1, 2))], axis=1) * scale


@pytest.fixture
def toy():
    """Register grey and labels toy extractors that record every batch they get."""
    calls = []

    def grey(stack, *, scale=1.0):
        calls.append(np.asarray(stack).shape)
        return _stats(stack, scale=scale)

    def flat(stack):
        calls.append(np.asarray(stack).shape)
        return np.asarray(stack).reshape(len(stack), -1)

    specs = [
        ExtractorSpec("toy_grey", "Toy grey", "learned", "mean and max", grey,
                      (Param("scale", 1.0, "float"),), input="grey",
                      label_function=lambda p, s, d: ["mean", "max"]),
        ExtractorSpec("toy_labels", "Toy labels", "learned", "mean and max of phase maps", grey,
                      (Param("scale", 1.0, "float"),), input="labels"),
        ExtractorSpec("toy_flat", "Toy flat", "learned", "all pixels", flat, input="grey"),
    ]
    for spec in specs:
        register(spec, replace=True)
    yield calls
    for spec in specs:
        EXTRACTORS.pop(spec.name, None)


def _binary(shape, seed):
    return (np.random.default_rng(seed).random(shape) < 0.4).astype(np.float32)


class TestGroups:
    def test_mixed_sizes_make_one_call_per_size_and_keep_order(self, toy):
        images = {"a": _binary((8, 8), 0), "b": _binary((6, 5), 1), "c": _binary((8, 8), 2),
                  "d": _binary((6, 5), 3), "e": _binary((8, 8), 4)}
        table = extract(images, "toy_grey", store=False)
        assert sorted(toy) == [(2, 6, 5), (3, 8, 8)]
        assert table.names == list(images)
        expected = np.stack([[img.mean(), img.max()] for img in images.values()])
        np.testing.assert_allclose(table.values, expected, rtol=1e-6)
        assert table.values.dtype == np.float64 and table.labels == ["mean", "max"]
        assert table.ok.all() and table.errors == []

    def test_large_groups_are_chunked_and_report_progress(self, toy, monkeypatch):
        monkeypatch.setattr(extract_module, "CHUNK", 4)
        seen = []
        images = [_binary((4, 4), i) for i in range(10)]
        table = extract(images, "toy_grey", store=False, progress=lambda d, t, m: seen.append((d, t)))
        assert [shape[0] for shape in toy] == [4, 4, 2]
        assert seen[-1] == (10, 10) and [d for d, _ in seen] == sorted(d for d, _ in seen)
        assert table.names == [str(i) for i in range(10)]

    def test_feature_length_mismatch_keeps_the_majority(self, toy):
        images = {"big1": _binary((4, 4), 0), "small": _binary((3, 3), 1), "big2": _binary((4, 4), 2)}
        table = extract(images, "toy_flat", store=False)
        assert table.values.shape == (3, 16)
        assert [e.name for e in table.errors] == ["small"]
        assert "cutoff" in table.errors[0].message and np.isnan(table.values[1]).all()
        np.testing.assert_array_equal(table.values[2], images["big2"].ravel())
        assert len(table.labels) == 16


class TestInputs:
    def test_rgb_grey_binary_and_volume(self, toy):
        rng = np.random.default_rng(5)
        rgb, grey = rng.random((6, 6, 3)).astype(np.float32), rng.random((6, 6)).astype(np.float32)
        volume = rng.random((6, 6, 6)).astype(np.float32)
        images = {"rgb": rgb, "grey": grey, "binary": _binary((6, 6), 1), "volume": volume}
        table = extract(images, "toy_grey", store=False)
        np.testing.assert_allclose(table.values[0], [to_grey(rgb).mean(), to_grey(rgb).max()], rtol=1e-6)
        np.testing.assert_allclose(table.values[1], [grey.mean(), grey.max()], rtol=1e-6)
        sections = [volume[3], volume[:, 3], volume[:, :, 3]]
        expected = np.mean([[s.mean(), s.max()] for s in sections], axis=0)
        np.testing.assert_allclose(table.values[3], expected, rtol=1e-6)
        assert table.provenance["input_kinds"] == {"rgb": 1, "2d": 2, "3d": 1}

    def test_volume_sections_concat_triples_the_labels(self, toy):
        volume = np.random.default_rng(0).random((4, 5, 6)).astype(np.float32)
        table = extract({"v": volume}, "toy_grey", store=False, sections="concat")
        assert table.labels == ["mean@z", "max@z", "mean@y", "max@y", "mean@x", "max@x"]
        np.testing.assert_allclose(table.values[0, 2:4], [volume[:, 2].mean(), volume[:, 2].max()], rtol=1e-6)

    def test_labels_extractor_refuses_grey_without_segmentation(self, toy):
        grey = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
        table = extract({"grey": grey, "bin": _binary((4, 4), 0)}, "toy_labels", store=False,
                        segmentation="none")
        assert [e.name for e in table.errors] == ["grey"] and "not a binary" in table.errors[0].message
        assert table.ok.tolist() == [False, True]

    def test_labels_extractor_segments_grey_images(self, toy):
        grey = np.zeros((8, 8), dtype=np.float32)
        grey[:, 4:] = 0.8
        grey[0, 0] = 0.1
        table = extract({"grey": grey}, "toy_labels", store=False)
        assert table.errors == [] and table.values[0, 1] == 1.0
        assert table.values[0, 0] == pytest.approx(0.5, abs=1 / 64)
        assert table.provenance["segmented"] == 1

    def test_dataset_and_list_inputs(self, toy):
        images = {"x": _binary((4, 4), 0), "y": _binary((4, 4), 1)}
        from_ds = extract(Dataset("t", images), "toy_grey", store=False)
        from_list = extract(list(images.values()), "toy_grey", store=False)
        assert from_ds.names == ["x", "y"] and from_list.names == ["0", "1"]
        np.testing.assert_array_equal(from_ds.values, from_list.values)
        frame = from_ds.to_frame()
        assert list(frame.index) == ["x", "y"] and list(frame.columns) == ["mean", "max"]

    def test_bad_arrays_become_error_rows(self, toy):
        table = extract([np.zeros((4, 4)), np.zeros(5), np.full((4, 4), np.nan)], "toy_grey", store=False)
        assert [e.name for e in table.errors] == ["1", "2"] and table.ok.tolist() == [True, False, False]

    def test_unknown_param_and_empty_input(self, toy):
        with pytest.raises(InputError, match="valid parameters: scale"):
            extract([np.zeros((4, 4))], "toy_grey", store=False, scal=2)
        with pytest.raises(InputError, match="no samples"):
            extract([], "toy_grey", store=False)


class TestFailures:
    def test_a_poisoned_sample_fails_alone(self, toy):
        images = [_binary((5, 5), i) for i in range(6)]
        images[2] = images[2].copy()
        images[2][1, 1] = POISON
        table = extract(images, "toy_grey", store=False, scale=2.0)
        assert [e.name for e in table.errors] == ["2"] and "poisoned image" in table.errors[0].message
        assert np.isnan(table.values[2]).all()
        good = [i for i in range(6) if i != 2]
        expected = np.stack([[images[i].mean() * 2, images[i].max() * 2] for i in good])
        np.testing.assert_allclose(table.values[good], expected, rtol=1e-6)
        assert table.provenance["n_failed"] == 1 and table.ok.sum() == 5


class TestBuiltins:
    def test_volume_fraction_matches_the_function(self):
        from msdash.features import correlation

        images = [_binary((8, 8), i) for i in range(4)] + [_binary((5, 7), 9)]
        table = extract(images, "volume_fraction", store=False)
        direct = np.concatenate([correlation.volume_fraction(np.stack(images[:4])),
                                 correlation.volume_fraction(images[4][None])])
        np.testing.assert_allclose(table.values[:, 0], direct)
        assert table.labels == ["volume fraction (phase 1)"]

    def test_two_point_labels_match_the_width(self):
        table = extract([_binary((9, 9), 0), _binary((12, 12), 1)], "two_point", store=False, cutoff=2,
                        phases="cross (1,0)", periodic=False)
        assert table.values.shape == (2, 25) and len(table.labels) == 25 and table.labels[12] == "S2[dy=0,dx=0]"
        assert table.values[:, 12].tolist() == [0.0, 0.0]  # a pixel is never in both phases

    @pytest.mark.parametrize("name", ["radial_psd", "phys_feat1", "phys_feat2", "grad_feature"])
    def test_spectral_extractors_label_every_column(self, name):
        table = extract([np.random.default_rng(0).random((64, 64))] * 2, name, store=False)
        assert table.errors == []
        assert table.values.shape[0] == 2 and len(table.labels) == table.values.shape[1] > 0


class TestSizesBeforeWork:
    """Feature lengths that cannot match are known from the shapes: decided before any work, not after it."""

    def test_off_length_samples_are_neither_computed_nor_stored(self, tmp_path):
        from msdash.features.store import FeatureStore, extractor_key, image_hash

        images = {f"big{i}": _binary((64, 64), i) for i in range(3)}
        images["small"] = _binary((40, 40), 9)  # default cutoff 20 px (41² values) where 64 px gives 32 (65²)
        store = FeatureStore(tmp_path / "store")
        table = extract(images, "two_point", store=store)
        assert table.values.shape == (4, 65 ** 2) and [e.name for e in table.errors] == ["small"]
        assert table.errors[0].message.startswith("gives 1681 features where most samples give 4225 (shape (40, 40))")
        assert "fixed cutoff" in table.errors[0].message
        key = extractor_key("two_point", table.params, EXTRACTORS["two_point"].version)
        stored = store.get_many([image_hash(a) for a in images.values()], key)
        assert image_hash(images["small"]) not in stored and len(stored) == 3
        assert table.provenance["store_misses"] == 3  # the small image was never computed

    def test_when_no_sample_gives_features_one_message_with_its_count(self):
        tiles = {f"tile{i}": _binary((128, 128), i) for i in range(143)}
        with pytest.raises(InputError) as caught:
            extract(tiles, "two_point_paper_b", store=False)
        message = caught.value.message
        assert "no sample gave features" in message and "(143 samples, e.g. tile0)" in message
        assert message.count("at least 158 px") == 1  # said once, not 143 times

    def test_error_summary_groups_identical_messages(self):
        from msdash.features import FeatureError
        from msdash.features.extract import error_summary

        errors = [FeatureError(f"t{i}", "too small") for i in range(5)] + [FeatureError("n", "NaN values")]
        assert error_summary(errors) == [("too small", [f"t{i}" for i in range(5)]), ("NaN values", ["n"])]
        assert error_summary([]) == []


def test_rows_stored_by_the_old_paper_b_segmentation_are_not_served(workspace):
    """'paper-b' changed its output (issue 14 item 6): its store key changed; otsu's did not."""
    from msdash.features.registry import get_spec, resolve_params
    from msdash.features.store import default_store, extractor_key, image_hash

    grey = {"g": np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)}
    spec = get_spec("volume_fraction")
    for method, changed in (("paper-b", True), ("otsu", False)):
        params = resolve_params(spec, {"segmentation": method})
        old_key = extractor_key(spec.name, params, spec.version)  # how rows were keyed before
        default_store().put_many(old_key, [(image_hash(grey["g"]), np.array([0.123]), None)])
        table = extract(grey, "volume_fraction", segmentation=method)
        assert (table.provenance["store_hits"] == 0) == changed
        assert bool(table.values[0, 0] != 0.123) == changed
