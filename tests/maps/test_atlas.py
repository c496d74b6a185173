"""The hover-image atlas: cell i holds sample i's thumbnail, sheets respect the memory budget, the workspace cache."""

import io
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from msdash.atlas import atlas_cell, atlas_path, atlas_settings, build_atlas, dataset_atlas, read_atlas
from msdash.data.dataset import Dataset
from msdash.display import thumbnail
from msdash.errors import InputError


def _mixed_images():
    """2-D maps of several sizes, an RGB image and a volume, each distinct."""
    rng = np.random.default_rng(1)
    images = {f"map{i}": (rng.random((24 + 8 * i, 40)) < 0.5).astype(np.float32) for i in range(5)}
    images["rgb"] = rng.random((30, 20, 3)).astype(np.float32)
    images["volume"] = rng.random((6, 16, 24)).astype(np.float32)
    images["grey"] = np.linspace(0, 1, 50 * 70, dtype=np.float32).reshape(50, 70)
    return images


def _sheet_pixels(payload, k):
    return np.asarray(Image.open(io.BytesIO(read_atlas(payload)[2][k])))


class TestBuildAtlas:
    def test_cell_i_holds_the_thumbnail_of_sample_i(self):
        images = _mixed_images()
        payload = build_atlas(images, cell=32)
        header, arrays, _ = read_atlas(payload)
        assert header["n"] == len(images) and arrays["names"] == list(images)
        assert header["channels"] == 3 and header["mime"] == "image/png"
        for i, (name, image) in enumerate(images.items()):
            expected = thumbnail(image, size=32)
            if expected.ndim == 2:  # grey cells of a colour atlas hold the grey value in every channel
                expected = np.repeat(expected[..., None], 3, axis=-1)
            np.testing.assert_array_equal(atlas_cell(payload, i), expected, err_msg=name)
        # The width for scale bars is the shown picture's: a volume's z-section is W wide, an RGB image W.
        assert arrays["width_px"].tolist() == [40] * 5 + [20, 24, 70]

    def test_a_grey_atlas_has_one_channel_and_the_cells_do_not_overlap(self):
        images = {"black": np.zeros((10, 10)), "white": np.ones((10, 10)), "half": np.full((10, 5), 0.5)}
        payload = build_atlas(images, cell=16)
        header, arrays, _ = read_atlas(payload)
        assert header["channels"] == 1
        sheet = _sheet_pixels(payload, 0)
        assert sheet.ndim == 2
        assert (atlas_cell(payload, 0) == 0).all() and (atlas_cell(payload, 1) == 255).all()
        assert arrays["size"].tolist() == [[16, 16], [16, 16], [16, 8]]
        assert (atlas_cell(payload, 2) == 128).all()
        # The rest of the half-width cell stays black: nothing of a neighbour spills into it.
        assert header["columns"] == 1  # 3 cells of 16 px → a column of cells on a small budget or a 1×3 sheet
        assert (sheet[32:48, 8:16] == 0).all()

    def test_lossy_webp_is_close_to_the_thumbnail(self):
        # Smooth pictures, as micrographs shrunk to 32 px mostly are (pixel noise is WebP's worst case).
        y, x = np.mgrid[0:48, 0:48] / 47.0
        images = {"ramp": x, "bump": np.exp(-((x - 0.3) ** 2 + (y - 0.6) ** 2) / 0.05), "dark": 0.1 + 0 * x,
                  "colour": np.stack([x, y, 1 - x], axis=-1)}
        payload = build_atlas(images, cell=32, quality=90)
        assert read_atlas(payload)[0]["mime"] == "image/webp"
        for i, image in enumerate(images.values()):
            expected = thumbnail(image, size=32).astype(float)
            if expected.ndim == 2:
                expected = np.repeat(expected[..., None], 3, axis=-1)
            assert np.abs(atlas_cell(payload, i).astype(float) - expected).mean() < 6

    def test_the_token_follows_the_contents(self):
        a = {"x": np.zeros((8, 8)), "y": np.ones((8, 8))}
        b = {"x": np.zeros((8, 8)), "y": np.full((8, 8), 0.5)}
        token = [read_atlas(build_atlas(images, cell=8))[0]["token"] for images in (a, a, b)]
        assert token[0] == token[1] != token[2]

    @pytest.mark.parametrize("options, message", [({"cell": 4}, "`cell`"), ({"quality": 0}, "`quality`"),
                                                  ({"names": ["nope"]}, "`names`")])
    def test_bad_options_name_the_argument(self, options, message):
        with pytest.raises(InputError, match=message):
            build_atlas({"x": np.zeros((8, 8))}, **options)

    def test_a_file_that_is_no_atlas_is_an_input_error(self):
        with pytest.raises(InputError, match="Not an msdash atlas"):
            read_atlas(b"\x05\x00\x00\x00hello")


class TestMemoryBudget:
    def test_a_small_budget_splits_the_atlas_into_small_sheets(self):
        images = {f"s{i}": np.full((16, 16), i / 99) for i in range(100)}
        budget = 20_000  # 4 working bytes per cell byte → at most 4 cells of 32×32 grey pixels per sheet
        payload = build_atlas(images, cell=32, budget=budget)
        header, _, sheets = read_atlas(payload)
        assert header["per_sheet"] * 32 * 32 * 4 <= budget
        assert len(sheets) == -(-100 // header["per_sheet"]) > 1
        for k in range(len(sheets)):
            assert _sheet_pixels(payload, k).nbytes * 4 <= budget
        for i in (0, 37, 99):  # cells on later sheets are still the right samples
            np.testing.assert_array_equal(atlas_cell(payload, i), thumbnail(images[f"s{i}"], size=32))

    def test_peak_memory_follows_the_budget(self):
        """Python-side peak while building (numpy arrays are traced): within the budget plus the output."""
        rng = np.random.default_rng(0)
        images = Dataset("t", {f"s{i}": np.full((64, 64), v, np.float32) for i, v in enumerate(rng.random(400))}).images

        def peak(budget):
            tracemalloc.start()
            payload = build_atlas(images, cell=48, budget=budget)
            _, top = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            return top, len(payload)

        build_atlas(images, cell=48, names=["s0"])  # imports (PIL's plugins) are not the build's memory
        small, size = peak(200_000)
        large, _ = peak(10**10)  # one sheet of all 400 cells: 48² × 400 = 0.9 MB of pixels at once
        assert small <= 200_000 + 3 * size
        assert large > 900_000 > small


class TestDatasetAtlas:
    def test_built_once_then_read_from_the_workspace(self, workspace, monkeypatch):
        dataset = Dataset("t", {"black": np.zeros((8, 8)), "white": np.ones((8, 8))})
        first = dataset_atlas(dataset, "abc123")
        cell, quality = atlas_settings(2)
        path = atlas_path("abc123", cell, quality)
        assert path.read_bytes() == first and path.is_relative_to(workspace)

        import msdash.display

        def no_rebuild(*_, **__):
            raise AssertionError("a cache hit must not draw thumbnails again")

        monkeypatch.setattr(msdash.display, "thumbnail", no_rebuild)
        assert dataset_atlas(dataset, "abc123") == first
        with pytest.raises(AssertionError, match="cache hit"):  # another cell size is another atlas
            dataset_atlas(dataset, "abc123", cell=16)

    def test_a_damaged_cache_file_is_rebuilt(self, workspace):
        dataset = Dataset("t", {"black": np.zeros((8, 8))})
        good = dataset_atlas(dataset, "abc123")
        path = atlas_path("abc123", *atlas_settings(1))
        path.write_bytes(b"garbage")
        assert dataset_atlas(dataset, "abc123") == good == path.read_bytes()

    def test_a_workspace_that_cannot_be_written_costs_only_the_cache(self, workspace):
        dataset = Dataset("t", {"black": np.zeros((8, 8))})
        workspace.mkdir(parents=True, exist_ok=True)
        (workspace / "atlases").write_text("a file where the folder should be")
        payload = dataset_atlas(dataset, "abc123")
        assert read_atlas(payload)[0]["n"] == 1 and (workspace / "atlases").is_file()

    @pytest.mark.parametrize("bad", ["../x", "a/b", "", "x" * 65])
    def test_an_id_that_is_no_id_never_reaches_the_file_system(self, workspace, bad):
        with pytest.raises(InputError, match="dataset_id"):
            atlas_path(bad, 40)


class TestDeleteAtlases:
    def test_deleting_a_saved_set_removes_its_atlases_and_no_other(self, workspace):
        from msdash.data.datastore import load_dataset, save_dataset
        from msdash.saved import delete_saved

        first = save_dataset(Dataset("a", _mixed_images()))
        second = save_dataset(Dataset("b", {"x": np.zeros((9, 9), np.float32), "y": np.ones((9, 9), np.float32)}))
        for dataset_id in (first, second):
            dataset_atlas(load_dataset(dataset_id), dataset_id)
            dataset_atlas(load_dataset(dataset_id), dataset_id, cell=16)
        mine = sorted(p.name for p in (workspace / "atlases").glob(f"{first}-*"))
        kept = sorted(p.name for p in (workspace / "atlases").glob(f"{second}-*"))
        assert len(mine) == 2 and len(kept) == 2
        sizes = sum((workspace / "atlases" / name).stat().st_size for name in mine)
        freed = delete_saved(first)
        assert freed >= sizes
        assert sorted(p.name for p in (workspace / "atlases").iterdir()) == kept
