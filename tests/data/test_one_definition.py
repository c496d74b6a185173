"""One definition per concept (issue 16 item 2): image kind, RGB → grey, name matching, atomic writes, table sources.

Each class checks that the places that used to hold their own copy now agree, on a case where the copies
used to disagree.
"""

import io
import os

import numpy as np
import pandas as pd
import pytest

from msdash.errors import InputError, WorkspaceError


def _parquet(frame):
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


class TestNameColumn:
    """Property tables and imported feature tables choose the name column by one rule."""

    # Samples numbered 1, 2, 3: the names are an integer column of the feature table, right of a feature.
    FRAME = pd.DataFrame({"e0": [0.5, 0.25, 0.125], "id": [3, 1, 2]})

    def test_integer_name_column_is_found_by_both(self):
        from msdash.data.ingest import guess_name_column
        from msdash.features.imported import import_features

        names = ["1", "2", "3"]
        table = import_features(("emb.parquet", _parquet(self.FRAME)), names)
        # The importer used to skip integer columns and fall back to "e0", matching nothing.
        assert table.params["name_column"] == "id" == guess_name_column(self.FRAME, names)
        assert table.values.ravel().tolist() == [0.25, 0.125, 0.5] and table.errors == []

    def test_name_column_after_ten_feature_columns_is_found_by_both(self):
        from msdash.data.ingest import guess_name_column
        from msdash.data.tables import read_properties
        from msdash.features.imported import import_features

        header = ",".join(f"f{j}" for j in range(11)) + ",sample\n"
        rows = "".join(",".join(str(i + j) for j in range(11)) + f",s{i}.png\n" for i in range(3))
        data = (header + rows).encode()
        names = ["s0", "s1", "s2"]
        table = import_features(("wide.csv", data), names)
        # The importer used to score the first 10 text columns only and fell back to "f0".
        assert table.params["name_column"] == "sample"
        assert guess_name_column(read_properties(("wide.csv", data)), names) == "sample"
        assert table.values[:, 0].tolist() == [0.0, 1.0, 2.0] and table.errors == []

    def test_matching_rule_is_the_tables_rule(self):
        from msdash.data import names, tables

        assert tables.name_key is names.name_key
        assert names.name_key(" IMG_01.Tif ") == "img_01" and names.name_key("a.b") == "a.b"


class TestTableSource:
    """Property tables and feature tables read their file through one function."""

    def test_same_file_name_from_a_pair_with_folders(self):
        from msdash.data.tables import read_properties
        from msdash.features.imported import import_features

        data = b"name,e0\na,1\n"
        assert read_properties(("sub/e.csv", data)).attrs["source"] == "e.csv"
        assert import_features(("sub/e.csv", data), ["a"]).extractor == "imported:e.csv"

    def test_same_message_for_a_missing_file(self, tmp_path):
        from msdash.data.tables import read_properties
        from msdash.features.imported import import_features

        missing = tmp_path / "gone.csv"
        with pytest.raises(InputError, match=r"^gone\.csv: could not be opened") as first:
            read_properties(missing)
        with pytest.raises(InputError, match=r"^gone\.csv: could not be opened") as second:
            import_features(missing, ["a"])
        assert first.value.message == second.value.message

    def test_text_from_a_file_like(self):
        from msdash.data.tables import read_source

        class Upload(io.StringIO):
            name = "C:\\data\\p.csv"

        assert read_source(Upload("a,b\n")) == ("p.csv", b"a,b\n")


class TestImportedWrite:
    """Imported tables are written by msdash.data.atomic: fsynced file and folder, temp file removed."""

    def _table(self):
        from msdash.features.imported import import_features

        return import_features(("e.csv", b"name,e0\na,1\nb,2\n"), ["a", "b"])

    def test_file_and_folder_are_fsynced(self, monkeypatch):
        from msdash.features.imported import load_imported, save_imported

        synced = []
        real = os.fsync

        def record(fd):
            synced.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else fd)
            return real(fd)

        monkeypatch.setattr(os, "fsync", record)
        path = save_imported("0123456789abcdef", self._table())
        assert load_imported("0123456789abcdef")[0].values.ravel().tolist() == [1.0, 2.0]
        if os.path.exists("/proc/self/fd"):
            assert str(path.parent) in synced  # the folder, after the rename
            assert any(str(s).startswith(str(path.parent / ".tmp-")) for s in synced)  # the file, before it
        else:
            assert len(synced) >= 2
        assert [p.name for p in path.parent.iterdir()] == [path.name]

    def test_failed_write_keeps_the_saved_table(self, monkeypatch):
        from msdash.features.imported import load_imported, save_imported

        path = save_imported("0123456789abcdef", self._table())
        before = path.read_bytes()

        def fail(src, dst):
            raise OSError(28, "No space left on device")

        with monkeypatch.context() as patch:
            patch.setattr(os, "replace", fail)
            with pytest.raises(WorkspaceError, match="No space left"):
                save_imported("0123456789abcdef", self._table())
        assert path.read_bytes() == before and [p.name for p in path.parent.iterdir()] == [path.name]
        assert load_imported("0123456789abcdef", "e.csv").values.ravel().tolist() == [1.0, 2.0]


# ---------------------------------------------------------------------------------------------------------------
# What a sample is (image_kind) and RGB → grey (to_grey)

def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _png(array):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _mean_max(stack):
    stack = np.asarray(stack)
    return np.stack([stack.mean(axis=(1, 2)), stack.max(axis=(1, 2))], axis=1)


@pytest.fixture
def mean_max():
    """A grey 2-D extractor whose features (mean, max) can be computed by hand; what it was given is recorded."""
    from msdash.features import EXTRACTORS, ExtractorSpec, register

    calls = []

    def function(stack):
        calls.append(np.asarray(stack).shape)
        return _mean_max(stack)

    register(ExtractorSpec("kind_mean_max", "Mean and max", "learned", "mean and max", function, input="grey",
                           label_function=lambda p, s, d: ["mean", "max"]), replace=True)
    yield calls
    EXTRACTORS.pop("kind_mean_max", None)


def _bt601(rgb):
    """Y = 0.299 R + 0.587 G + 0.114 B, in float64, pixel by pixel."""
    rgb = np.asarray(rgb, dtype=np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


class TestImageKind:
    @pytest.mark.parametrize("shape, colour, kind", [
        ((5, 6), None, "2d"), ((5, 6, 3), None, "rgb"), ((3, 6, 7), None, "3d"),
        ((4, 4, 3), None, "3d"),   # 4×4: read as a volume of 4 slices 3 pixels wide, as the loader reads NPY
        ((4, 9, 3), None, "3d"), ((9, 9, 4), None, "3d"),
        ((4, 4, 3), True, "rgb"), ((9, 9, 3), False, "3d"), ((9, 9), True, "2d"),
    ])
    def test_rule(self, shape, colour, kind):
        from msdash.data.images import image_kind

        assert image_kind(shape, colour=colour) == kind
        assert image_kind(np.zeros(shape, np.uint8), colour=colour) == kind

    @pytest.mark.parametrize("shape, colour", [((5,), None), ((2, 3, 4, 5), None), ((9, 9, 4), True)])
    def test_refusals_name_the_shape(self, shape, colour):
        from msdash.data.images import image_kind

        with pytest.raises(InputError, match=r"\(H, W\)|3 colour channels") as info:
            image_kind(shape, colour=colour)
        assert str(shape) in info.value.message

    def test_npy_reader_uses_the_rule(self):
        from msdash.data.images import check_shape, image_kind

        for shape in [(4, 4, 3), (5, 5, 3), (5, 4, 3), (7, 8, 3), (3, 8, 8)]:
            assert check_shape(shape, np.dtype("f4"), "x.npy") == (image_kind(shape) == "rgb")


class TestVolumeNpy:
    """A (4, 4, 3) NPY is a volume of 4 slices: loaded, saved, reloaded, shown and extracted as one."""

    VOLUME = (np.arange(48).reshape(4, 4, 3) % 5 / 4).astype(np.float32)

    def _dataset(self):
        from msdash.data.ingest import build_dataset
        from msdash.io import load_images

        result = load_images([("v.npy", _npy(self.VOLUME))])
        assert result.errors == [] and result.notes == [] and result.images.kinds == {}
        assert result.images.kind("v") == "3d"
        return build_dataset(result.images, name="volume")

    def test_loaded_saved_and_reloaded(self):
        from msdash.data.datastore import list_datasets, load_dataset, save_dataset

        ds = self._dataset()
        np.testing.assert_array_equal(ds.images["v"], self.VOLUME)
        assert ds.kind("v") == "3d" and ds.summary()["kinds"] == {"3d": 1} and ds.kinds == {}
        dataset_id = save_dataset(ds)
        again = load_dataset(dataset_id)
        assert again.kind("v") == "3d" and again.content_hash() == ds.content_hash() == dataset_id
        assert list_datasets()[0].kinds == {"3d": 1}

    def test_gallery_shows_the_middle_slice(self):
        from msdash.display import display_plane, thumbnail

        ds = self._dataset()
        plane = display_plane(ds.images["v"], kind=ds.kind("v"))
        np.testing.assert_array_equal(plane, self.VOLUME[2])
        assert thumbnail(ds.images["v"], size=8, kind=ds.kind("v")).shape == (8, 6)  # a 4×3 section, enlarged

    def test_features_are_the_mean_of_three_sections(self, mean_max):
        from msdash.features import extract

        table = extract(self._dataset(), "kind_mean_max", store=False)
        v = self.VOLUME.astype(np.float64)
        sections = [v[2], v[:, 2], v[:, :, 1]]
        expected = np.mean([[s.mean(), s.max()] for s in sections], axis=0)
        np.testing.assert_allclose(table.values[0], expected, rtol=1e-6)
        assert table.provenance["input_kinds"] == {"3d": 1}
        assert sorted(mean_max) == [(1, 4, 4), (2, 4, 3)]  # sections z; y and x (one batch of equal shapes)


class TestRgbPng:
    """An RGB PNG stays RGB, whatever its size; where its shape alone would say volume, the file's word is kept."""

    @staticmethod
    def _rgb(shape, seed=0):
        return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)

    @pytest.mark.parametrize("shape", [(8, 9, 3), (4, 4, 3)])
    def test_loaded_saved_and_extracted_as_rgb(self, shape, mean_max):
        from msdash.data.datastore import list_datasets, save_dataset
        from msdash.data.ingest import build_dataset
        from msdash.features import extract
        from msdash.io import load_images

        rgb = self._rgb(shape)
        result = load_images([("c.png", _png(rgb))])
        assert result.images.kind("c") == "rgb"
        assert result.images.kinds == ({} if shape == (8, 9, 3) else {"c": "rgb"})
        ds = build_dataset(result.images, name="colour")
        assert ds.kind("c") == "rgb" and ds.summary()["kinds"] == {"rgb": 1}
        save_dataset(ds)
        assert list_datasets()[0].kinds == {"rgb": 1}
        table = extract(ds, "kind_mean_max", store=False)
        grey = _bt601(rgb / 255.0)
        np.testing.assert_allclose(table.values[0], [grey.mean(), grey.max()], rtol=1e-5)
        assert table.provenance["input_kinds"] == {"rgb": 1} and mean_max == [(1, *shape[:2])]

    def test_recorded_kind_is_part_of_the_identity(self):
        from msdash.data.dataset import Dataset

        rgb = self._rgb((4, 4, 3)) / np.float32(255)
        as_volume, as_rgb = Dataset("a", {"c": rgb}), Dataset("a", {"c": rgb}, kinds={"c": "rgb"})
        assert as_volume.kind("c") == "3d" and as_rgb.kind("c") == "rgb"
        assert as_volume.content_hash() != as_rgb.content_hash()
        assert as_volume.image_hashes() != as_rgb.image_hashes()  # their features differ: not one cache entry
        # What the shape already says is not recorded, so such sets keep their ids.
        assert Dataset("a", {"c": rgb}, kinds={"c": "3d"}).content_hash() == as_volume.content_hash()
        assert as_rgb.with_table(None).kind("c") == "rgb"

    def test_recorded_kind_is_written_to_meta_json(self):
        import json

        from msdash import config
        from msdash.data.dataset import Dataset
        from msdash.data.datastore import save_dataset

        ds = Dataset("a", {"c": self._rgb((4, 4, 3)) / np.float32(255)}, kinds={"c": "rgb"})
        meta = json.loads((config.workspace() / "datasets" / save_dataset(ds) / "meta.json").read_text())
        assert meta["sample_kinds"] == {"c": "rgb"} and meta["kinds"] == {"rgb": 1}
        again = Dataset("a", {"c": ds.images.raw("c")}, kinds=meta["sample_kinds"])
        assert again.content_hash() == ds.content_hash()

    @pytest.mark.parametrize("kinds, message", [({"c": "colour"}, "one of"), ({"c": "2d"}, "cannot be")])
    def test_bad_recorded_kind(self, kinds, message):
        from msdash.data.dataset import Dataset

        with pytest.raises(InputError, match=message):
            Dataset("a", {"c": np.zeros((4, 4, 3))}, kinds=kinds)


class TestToGrey:
    PIXELS = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
                       [[0.2, 0.4, 0.6], [1.0, 1.0, 1.0], [0.9, 0.1, 0.5]]], np.float32)

    def test_closed_form(self):
        from msdash.data.images import to_grey

        out = to_grey(self.PIXELS, kind="rgb")
        assert out.dtype == np.float32 and out.shape == (2, 3)
        np.testing.assert_allclose(out, _bt601(self.PIXELS), rtol=1e-6)
        np.testing.assert_allclose(out[0], [0.299, 0.587, 0.114], rtol=1e-6)

    def test_every_user_agrees(self):
        from msdash.data.images import to_grey
        from msdash.data.loader import to_grey as loader_to_grey
        from msdash.features.segmentation import _grey_image
        from msdash.io import to_grey as io_to_grey

        big = np.tile(self.PIXELS, (3, 2, 1))  # 6×6: RGB by its shape too
        expected = _bt601(big)
        for function in (to_grey, loader_to_grey, io_to_grey):
            np.testing.assert_allclose(function(big), expected, rtol=1e-6)
        # Segmentation used skimage's rgb2gray (BT.709 weights); uint8 is scaled to [0, 1] first.
        eight_bit = np.round(big * 255).astype(np.uint8)
        np.testing.assert_allclose(_grey_image(eight_bit), _bt601(eight_bit / 255.0), rtol=1e-6)

    def test_colour_volume_is_made_grey_by_the_same_rule(self):
        import tifffile

        from msdash.io import load_images

        stack = np.random.default_rng(1).integers(0, 256, (2, 6, 7, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, stack, photometric="rgb")
        image = load_images([("s.tif", buffer.getvalue())]).images["s"]
        np.testing.assert_allclose(image, _bt601(stack / 255.0), rtol=1e-5, atol=1e-6)


class TestUploadPage:
    def test_upload_summary_names_each_kind_as_the_loader_read_it(self):
        from streamlit.testing.v1 import AppTest

        from conftest import ROOT

        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        rgb = np.random.default_rng(2).integers(0, 256, (4, 4, 3), dtype=np.uint8)
        at.file_uploader(key="upload_images").set_value([
            ("v.npy", _npy(TestVolumeNpy.VOLUME), "application/octet-stream"),
            ("c.png", _png(rgb), "image/png"),
        ]).run()
        assert not at.exception
        # Both are 4×4×3 arrays: the NPY is a volume, the PNG says it is colour.
        assert [s.value for s in at.success if "Read 2 image" in s.value] == [
            "Read 2 image(s): 1 3-D volume, 1 RGB"]


class TestStreamed:
    def test_block_extraction_reads_kinds_as_one_load_does(self, tmp_path, mean_max):
        from msdash.data.sources import list_images
        from msdash.streamed import extract_streamed

        rgb = np.random.default_rng(3).integers(0, 256, (4, 4, 3), dtype=np.uint8)
        (tmp_path / "c.png").write_bytes(_png(rgb))
        (tmp_path / "v.npy").write_bytes(_npy(TestVolumeNpy.VOLUME))
        table, unreadable = extract_streamed(list_images([tmp_path]).slots, "kind_mean_max", budget=1 << 20,
                                             store=False)
        assert unreadable == [] and table.names == ["c", "v"]
        grey = _bt601(rgb / 255.0)
        np.testing.assert_allclose(table.values[0], [grey.mean(), grey.max()], rtol=1e-5)
        v = TestVolumeNpy.VOLUME.astype(np.float64)
        expected = np.mean([[s.mean(), s.max()] for s in (v[2], v[:, 2], v[:, :, 1])], axis=0)
        np.testing.assert_allclose(table.values[1], expected, rtol=1e-6)
        assert table.provenance["input_kinds"] == {"rgb": 1, "3d": 1}
