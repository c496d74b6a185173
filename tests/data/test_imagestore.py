"""Images kept in their source dtype: the same float32 values, hashes and ids as float32 storage, 4× smaller."""

import io
import json

import numpy as np
import pytest

from conftest import png_bytes
from msdash import config
from msdash.data.dataset import Dataset
from msdash.data.datastore import load_dataset, save_dataset
from msdash.data.imagestore import Images, to_float32
from msdash.data.images import normalise
from msdash.io import load_images

RNG = np.random.default_rng(7)


def tiff_bytes(array):
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, photometric="minisblack")
    return buffer.getvalue()


CASES = {
    "grey8": (lambda: png_bytes(RNG.integers(0, 256, (20, 30))), ".png", np.uint8),
    "rgb8": (lambda: png_bytes(RNG.integers(0, 256, (20, 30, 3))), ".png", np.uint8),
    "binary": (lambda: png_bytes(RNG.integers(0, 2, (20, 30)) * 255), ".png", np.bool_),
    "grey16": (lambda: tiff_bytes(RNG.integers(0, 65536, (20, 30)).astype(np.uint16)), ".tif", np.uint16),
    "volume16": (lambda: tiff_bytes(RNG.integers(0, 65536, (4, 20, 30)).astype(np.uint16)), ".tif", np.uint16),
    "float": (lambda: tiff_bytes(RNG.random((20, 30)).astype(np.float32) * 3), ".tif", np.float32),
}


class TestCompactLoading:
    @pytest.mark.parametrize("case", list(CASES))
    def test_kept_dtype_and_float32_values_bit_for_bit(self, case):
        make, extension, kept = CASES[case]
        data = make()
        result = load_images([(case + extension, data)])
        assert result.errors == []
        raw = result.images.raw(case)
        assert raw.dtype == kept
        # The float32 reading equals what normalise gave before compact storage, bit for bit.
        decoded = load_images([(case + extension, data)]).images[case]
        from PIL import Image  # independent decode of the same bytes
        import tifffile

        source = (tifffile.imread(io.BytesIO(data)) if extension == ".tif"
                  else np.asarray(Image.open(io.BytesIO(data))))
        expected, _ = normalise(source, case, colour=source.ndim == 3 and source.shape[-1] == 3 and case == "rgb8")
        assert expected.dtype == np.float32 and decoded.dtype == np.float32
        np.testing.assert_array_equal(decoded, expected)
        assert result.nbytes == raw.nbytes == raw.size * np.dtype(kept).itemsize

    def test_eight_bit_takes_a_quarter_of_float32(self):
        result = load_images([(f"i{i}.png", png_bytes(RNG.integers(0, 256, (64, 64)))) for i in range(5)])
        assert result.nbytes == 5 * 64 * 64
        assert sum(result.images[n].nbytes for n in result.images) == 4 * result.nbytes


class TestImagesMapping:
    def test_reads_as_float32_and_compares_like_a_dict(self):
        images = Images({"a": np.array([[0, 255]], np.uint8), "b": np.array([[True, False]])})
        assert images == {"a": np.array([[0.0, 1.0]], np.float32), "b": np.array([[1.0, 0.0]], np.float32)}
        assert images != {"a": np.array([[0.0, 1.0]], np.float32)}
        assert list(images) == ["a", "b"] and "a" in images and len(images) == 2
        assert images.nbytes == 4

    def test_to_float32_matches_the_bit_depth_rule(self):
        values = np.arange(65536, dtype=np.uint16)
        np.testing.assert_array_equal(to_float32(values), values.astype(np.float32) / np.float32(65535))
        eight = np.arange(256, dtype=np.uint8)
        np.testing.assert_array_equal(to_float32(eight), eight.astype(np.float32) / np.float32(255))


class TestCompactDatasets:
    def _upload(self):
        files = [(f"s{i}.png", png_bytes(RNG.integers(0, 256, (32, 32)))) for i in range(3)]
        files.append(("labels.png", png_bytes(RNG.integers(0, 2, (32, 32)) * 255)))
        return load_images(files).images

    def test_same_id_and_hashes_as_float32_storage(self):
        images = self._upload()
        compact = Dataset("c", images)
        as_float = Dataset("f", {name: images[name] for name in images})  # plain float32 dict
        assert as_float.images.raw("s0").dtype == np.float32
        assert compact.images.raw("s0").dtype == np.uint8
        assert compact.content_hash() == as_float.content_hash()
        assert compact.image_hashes() == as_float.image_hashes()

    def test_saved_compactly_and_loaded_back(self):
        images = self._upload()
        dataset_id = save_dataset(Dataset("c", images))
        npz = config.workspace() / "datasets" / dataset_id / "images.npz"
        assert npz.stat().st_size < 4 * 32 * 32 + 4 * 32 * 32 + 2000  # uint8 + bool, not 4 × float32
        loaded = load_dataset(dataset_id)
        assert loaded.images.raw("s1").dtype == np.uint8 and loaded.images.raw("labels").dtype == np.bool_
        for name in images:
            np.testing.assert_array_equal(loaded.images[name], images[name])
        assert loaded.content_hash() == dataset_id

    def test_format_1_entries_still_load(self):
        image = RNG.random((8, 8)).astype(np.float32)
        dataset_id = save_dataset(Dataset("old", {"a": image}))
        meta_path = config.workspace() / "datasets" / dataset_id / "meta.json"
        meta = json.loads(meta_path.read_text())
        assert meta["format"] == 2
        meta["format"] = 1
        meta_path.write_text(json.dumps(meta))
        np.testing.assert_array_equal(load_dataset(dataset_id).images["a"], image)


class TestExtractReadsCompactImagesByBlock:
    def test_same_features_as_float32_and_no_full_float32_copy(self, monkeypatch):
        import tracemalloc

        from msdash.features import extract

        images = load_images([(f"i{i:03d}.png", png_bytes(RNG.integers(0, 256, (64, 64)))) for i in range(400)]).images
        compact = Dataset("c", images)
        plain = {name: images[name] for name in images}
        expected = extract(plain, "phys_feat1", store=False)
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(8 * 1024**2))  # blocks of a few hundred kB
        tracemalloc.start()
        try:
            table = extract(compact, "phys_feat1", store=False)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        np.testing.assert_array_equal(table.values, expected.values)
        all_float32 = 400 * 64 * 64 * 4  # 6.5 MB: converting every image first held it (peak 9.6 MB)
        assert peak < 0.8 * all_float32, f"peak {peak / 1e6:.1f} MB"
