"""Tests of msdash.io.load_images and to_grey: formats, pixel conventions and every bad-input path.

Every fixture is built here, in memory or under tmp_path.
"""

import io
import os
import struct
import zipfile
import zlib

import numpy as np
import pytest

from msdash import config
from msdash.io import SUPPORTED_EXTENSIONS, LoadError, LoadResult, load_images, to_grey

RNG = np.random.default_rng(0)


# --------------------------------------------------------------------------- fixtures built in memory


def png(array, mode=None):
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.fromarray(np.asarray(array)) if mode is None else Image.fromarray(np.asarray(array), mode)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def pil_bytes(image, fmt, **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def tiff(array, **kwargs):
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **kwargs)
    return buffer.getvalue()


def mat(variables):
    import scipy.io

    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables)
    return buffer.getvalue()


def zipped(members, compression=zipfile.ZIP_DEFLATED):
    """Zip ``[(name or ZipInfo, bytes)]`` in memory; names are stored exactly as given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


GREY = np.array([[0, 64, 128], [255, 32, 200]], dtype=np.uint8)


def good():
    """A small valid grey PNG that must still load next to every bad file."""
    return ("good.png", png(GREY))


def assert_good_loaded(result):
    assert "good" in result.images
    np.testing.assert_array_equal(result.images["good"], GREY.astype(np.float32) / 255)


def only_error(result, name):
    """Return the message of the single error, checking it is about ``name`` and names it."""
    assert [e.name for e in result.errors] == [name], result.errors
    message = result.errors[0].message
    assert name in message
    return message


# --------------------------------------------------------------------------- formats and conventions


class TestLoadImagesFormats:
    def test_grey_png_keeps_exact_values(self):
        result = load_images([("a.png", png(GREY))])
        image = result.images["a"]
        assert image.dtype == np.float32 and image.shape == (2, 3)
        assert image[0, 2] == np.float32(128 / 255)
        np.testing.assert_array_equal(image, GREY / np.float32(255))
        assert result.errors == [] and result.notes == []

    @pytest.mark.parametrize("dtype, high", [(np.uint8, 255), (np.uint16, 65535), (bool, True)])
    def test_binary_map_becomes_zero_one(self, dtype, high):
        labels = np.array([[0, 1, 1], [1, 0, 0]])
        result = load_images([("m.npy", npy((labels * high).astype(dtype)))])
        np.testing.assert_array_equal(result.images["m"], labels.astype(np.float32))

    def test_two_valued_labels_become_zero_one_with_note(self):
        result = load_images([("m.npy", npy(np.array([[3, 7], [7, 3]], dtype=np.int32)))])
        np.testing.assert_array_equal(result.images["m"], [[0, 1], [1, 0]])
        assert len(result.notes) == 1 and "binary" in result.notes[0].message

    def test_binary_rule_applies_to_png_0_255(self):
        result = load_images([("b.png", png(np.array([[0, 255], [255, 0]], dtype=np.uint8)))])
        np.testing.assert_array_equal(result.images["b"], [[0, 1], [1, 0]])

    def test_rgb_png_kept(self):
        rgb = RNG.integers(0, 256, (4, 5, 3), dtype=np.uint8)
        image = load_images([("c.png", png(rgb))]).images["c"]
        assert image.shape == (4, 5, 3) and image.dtype == np.float32
        np.testing.assert_array_equal(image, rgb / np.float32(255))

    def test_rgb_with_identical_channels_becomes_grey(self):
        rgb = np.repeat(GREY[..., None], 3, axis=2)
        image = load_images([("g.png", png(rgb))]).images["g"]
        np.testing.assert_array_equal(image, GREY / np.float32(255))

    def test_rgba_composited_on_white(self):
        rgba = np.zeros((2, 2, 4), dtype=np.uint8)
        rgba[0, 0] = (255, 0, 0, 255)  # opaque red stays red
        rgba[0, 1] = (0, 0, 255, 0)  # fully transparent becomes white
        rgba[1, :] = (0, 255, 0, 255)
        result = load_images([("t.png", png(rgba))])
        image = result.images["t"]
        assert image.shape == (2, 2, 3)
        np.testing.assert_allclose(image[0, 0], [1, 0, 0])
        np.testing.assert_allclose(image[0, 1], [1, 1, 1])
        assert any("RGBA converted to RGB" in n.message for n in result.notes)

    def test_palette_png_converted(self):
        from PIL import Image

        rgb = np.zeros((4, 4, 3), dtype=np.uint8)
        rgb[:2] = (200, 30, 30)
        rgb[2:] = (10, 10, 240)
        data = pil_bytes(Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4), "PNG")
        assert Image.open(io.BytesIO(data)).mode == "P"
        image = load_images([("p.png", data)]).images["p"]
        np.testing.assert_allclose(image, rgb / 255, atol=1e-6)

    @pytest.mark.parametrize("mode, array, expected", [
        ("1", np.array([[0, 1], [1, 1]], dtype=bool), [[0, 1], [1, 1]]),
        ("L", np.array([[0, 51], [102, 255]], dtype=np.uint8), [[0, 0.2], [0.4, 1]]),
        ("I;16", np.array([[0, 13107], [26214, 65535]], dtype=np.uint16), [[0, 0.2], [0.4, 1]]),
    ])
    def test_pil_grey_modes(self, mode, array, expected):
        from PIL import Image

        data = pil_bytes(Image.fromarray(array), "PNG")
        assert Image.open(io.BytesIO(data)).mode == mode
        np.testing.assert_allclose(load_images([("x.png", data)]).images["x"], expected, atol=1e-6)

    def test_la_png_composited_to_grey(self):
        from PIL import Image

        la = np.array([[[0, 255], [0, 0]]], dtype=np.uint8)  # black opaque, black transparent
        data = pil_bytes(Image.fromarray(la, "LA"), "PNG")
        np.testing.assert_allclose(load_images([("la.png", data)]).images["la"], [[0, 1]])

    @pytest.mark.parametrize("fmt, ext, atol", [("JPEG", "jpg", 0.06), ("BMP", "bmp", 0), ("JPEG", "JPEG", 0.06)])
    def test_jpeg_and_bmp(self, fmt, ext, atol):
        from PIL import Image

        grey = np.tile(np.linspace(0, 255, 16).astype(np.uint8), (16, 1))
        data = pil_bytes(Image.fromarray(grey), fmt)
        image = load_images([(f"photo.{ext}", data)]).images["photo"]
        assert image.shape == (16, 16) and image.dtype == np.float32
        np.testing.assert_allclose(image, grey / 255, atol=atol)

    @pytest.mark.parametrize("array, expected, note", [
        (np.array([[0, 128], [255, 7]], np.uint8), np.array([[0, 128], [255, 7]]) / 255, None),
        (np.array([[0, 1000], [65535, 7]], np.uint16), np.array([[0, 1000], [65535, 7]]) / 65535, "16-bit"),
        (np.array([[0.0, 0.25], [1.0, 0.5]], np.float32), [[0, 0.25], [1, 0.5]], None),
        (np.array([[-1.0, 0.0], [3.0, 1.0]], np.float64), [[0, 0.25], [1, 0.5]], "rescaled from [-1, 3]"),
    ])
    def test_tiff_bit_depths(self, array, expected, note):
        result = load_images([("t.tif", tiff(array))])
        image = result.images["t"]
        assert image.dtype == np.float32
        np.testing.assert_allclose(image, expected, rtol=1e-6)
        if note is None:
            assert result.notes == []
        else:
            assert note in result.notes[0].message and result.notes[0].name == "t.tif"

    def test_multipage_tiff_is_volume(self):
        volume = RNG.integers(0, 256, (5, 6, 7), dtype=np.uint8)
        image = load_images([("stack.tiff", tiff(volume, photometric="minisblack"))]).images["stack"]
        assert image.shape == (5, 6, 7)
        np.testing.assert_array_equal(image, volume / np.float32(255))

    def test_pil_written_multipage_tiff_is_volume(self):
        from PIL import Image

        pages = [Image.fromarray(np.full((4, 5), 40 * i, np.uint8)) for i in range(3)]
        data = pil_bytes(pages[0], "TIFF", save_all=True, append_images=pages[1:])
        image = load_images([("s.tif", data)]).images["s"]
        assert image.shape == (3, 4, 5)
        np.testing.assert_allclose(image[:, 0, 0], [0, 40 / 255, 80 / 255], rtol=1e-6)

    def test_binary_volume_becomes_zero_one(self):
        volume = (RNG.random((4, 5, 6)) < 0.5).astype(np.uint8) * 255
        image = load_images([("v.tif", tiff(volume, photometric="minisblack"))]).images["v"]
        np.testing.assert_array_equal(image, volume // 255)

    def test_single_page_rgb_tiff_is_rgb(self):
        rgb = RNG.integers(0, 256, (6, 7, 3), dtype=np.uint8)
        image = load_images([("c.tif", tiff(rgb, photometric="rgb"))]).images["c"]
        np.testing.assert_array_equal(image, rgb / np.float32(255))

    @pytest.mark.parametrize("shape", [(6, 7), (3, 6, 7)])
    def test_npy_image_and_volume(self, shape):
        array = RNG.random(shape).astype(np.float32)
        image = load_images([("n.npy", npy(array))]).images["n"]
        np.testing.assert_array_equal(image, array)

    def test_npy_height_width_3_is_rgb_with_note(self):
        rgb = RNG.random((8, 9, 3)).astype(np.float32)
        result = load_images([("c.npy", npy(rgb))])
        np.testing.assert_array_equal(result.images["c"], rgb)
        assert "read as an RGB image" in result.notes[0].message

    def test_different_sizes_allowed(self):
        result = load_images([("a.png", png(GREY)), ("b.png", png(np.zeros((9, 4), np.uint8) + 5))])
        assert result.images["a"].shape == (2, 3) and result.images["b"].shape == (9, 4)
        assert result.errors == []


class TestLoadImagesSources:
    def test_folder_walked_recursively_in_sorted_order(self, tmp_path):
        root = tmp_path / "set"
        (root / "sub").mkdir(parents=True)
        (root / "b.png").write_bytes(png(GREY))
        (root / "sub" / "Img_01.PNG").write_bytes(png(GREY))
        (root / "a.npy").write_bytes(npy(np.eye(3)))
        (root / ".DS_Store").write_bytes(b"junk")
        (root / ".hidden").mkdir()
        (root / ".hidden" / "c.png").write_bytes(b"not read")
        result = load_images(root)
        assert list(result.images) == ["a", "b", "Img_01"]
        assert result.errors == []

    def test_name_bytes_pairs_with_folders(self):
        result = load_images([("sub/dir/img.png", png(GREY)), ("x.npy", npy(np.eye(2)))])
        assert list(result.images) == ["img", "x"]

    def test_single_pair_and_single_path(self, tmp_path):
        assert list(load_images(("one.png", png(GREY))).images) == ["one"]
        path = tmp_path / "two.png"
        path.write_bytes(png(GREY))
        assert list(load_images(path).images) == ["two"]
        assert list(load_images(str(path)).images) == ["two"]

    def test_upload_like_object(self):
        class Upload(io.BytesIO):
            name = "up.png"

        assert list(load_images([Upload(png(GREY))]).images) == ["up"]

    def test_zip_inside_folder_is_opened(self, tmp_path):
        root = tmp_path / "set"
        root.mkdir()
        (root / "part.zip").write_bytes(zipped([("a.png", png(GREY)), ("bad.png", b"x")]))
        result = load_images([root])
        assert list(result.images) == ["a"]
        assert [e.name for e in result.errors] == ["set/part.zip/bad.png"]

    def test_empty_folder_is_an_error(self, tmp_path):
        (tmp_path / "empty").mkdir()
        result = load_images([tmp_path / "empty", good()])
        assert "no files" in only_error(result, "empty")
        assert_good_loaded(result)

    def test_missing_path_is_an_error(self, tmp_path):
        result = load_images([tmp_path / "nope.png", good()])
        assert "not found" in only_error(result, str(tmp_path / "nope.png"))
        assert_good_loaded(result)

    def test_non_iterable_sources_raise_type_error(self):
        with pytest.raises(TypeError):
            load_images(5)
        with pytest.raises(TypeError):
            load_images([5])

    def test_result_types(self):
        result = load_images([])
        assert isinstance(result, LoadResult)
        assert (result.images, result.errors, result.choices, result.notes) == ({}, [], {}, [])
        assert ".mat" in SUPPORTED_EXTENSIONS and ".tiff" in SUPPORTED_EXTENSIONS
        assert str(LoadError("a", "a: broken")) == "a: broken"


class TestLoadImagesBadFiles:
    def test_corrupt_png(self):
        result = load_images([("bad.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10), good()])
        message = only_error(result, "bad.png")
        assert "could not be read as PNG" in message and "damaged" in message
        assert_good_loaded(result)

    @pytest.mark.parametrize("name", ["empty.png", "empty.npy", "empty.mat", "empty.tif"])
    def test_zero_byte_file(self, name):
        result = load_images([(name, b""), good()])
        assert "is empty (0 bytes)" in only_error(result, name)
        assert_good_loaded(result)

    def test_unknown_extension(self):
        result = load_images([("anim.gif", b"GIF89a"), ("README", b"x"), good()])
        assert [e.name for e in result.errors] == ["anim.gif", "README"]
        message = result.errors[0].message
        assert "anim.gif" in message and "'.gif'" in message and ".png" in message and ".mat" in message
        assert_good_loaded(result)

    @pytest.mark.parametrize("name, data", [
        ("big.png", png(np.zeros((20, 30), np.uint8))),
        ("big.tif", tiff(np.zeros((20, 30), np.uint8))),
        ("big.npy", npy(np.zeros((20, 30), np.uint8))),
        ("big.mat", mat({"img": np.zeros((20, 30), np.uint8)})),
    ])
    def test_over_pixel_limit(self, name, data):
        result = load_images([(name, data), good()], max_pixels=100)
        message = only_error(result, name)
        assert "20×30 = 600 pixels is over the limit of 100 pixels" in message
        assert "MSDASH_MAX_PIXELS" in message
        assert_good_loaded(result)

    def test_volume_voxels_count_against_limit(self):
        result = load_images([("v.npy", npy(np.zeros((3, 6, 6)))), good()], max_pixels=100)
        assert "3×6×6 = 108 pixels" in only_error(result, "v.npy")

    def test_png_header_claiming_huge_size(self):
        def chunk(kind, payload):
            return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

        header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
        data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
        result = load_images([("bomb.png", data), good()], max_pixels=64_000_000)
        message = only_error(result, "bomb.png")
        assert "10,000 MP is over the limit of 64 MP" in message
        assert "MSDASH_MAX_PIXELS" in message
        assert_good_loaded(result)

    def test_npy_header_claiming_huge_size_is_refused_before_reading(self):
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            buffer, {"descr": "|u1", "fortran_order": False, "shape": (30000, 30000)}
        )  # no pixel data follows: loading would fail, the limit must be checked first
        result = load_images([("huge.npy", buffer.getvalue()), good()], max_pixels=64_000_000)
        assert ("huge.npy: 30000×30000 = 900 MP is over the limit of 64 MP; downscale or crop it, "
                "or raise MSDASH_MAX_PIXELS") == only_error(result, "huge.npy")
        assert_good_loaded(result)

    def test_duplicate_names_keep_first(self):
        first, second = png(GREY), png(np.zeros((3, 3), np.uint8))
        result = load_images([("a/Img.png", first), ("b/img.TIF", second), good()])
        assert result.images["Img"].shape == (2, 3)
        message = only_error(result, "b/img.TIF")
        assert "duplicate name" in message and "rename one of them" in message and "a/Img.png" in message
        assert_good_loaded(result)

    @pytest.mark.parametrize("array, words", [
        (np.arange(5.0), "expected a 2-D image or 3-D volume, got shape (5,)"),
        (np.zeros((2, 3, 4, 5)), "expected a 2-D image or 3-D volume, got shape (2, 3, 4, 5)"),
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[1.0, np.inf]]), "infinite"),
        (np.ones((2, 2), complex), "complex"),
        (np.array([["a", "b"]]), "not pixel values"),
    ])
    def test_bad_npy_arrays(self, array, words):
        result = load_images([("arr.npy", npy(array)), good()])
        assert words in only_error(result, "arr.npy")
        assert_good_loaded(result)

    def test_npy_with_objects_is_refused_without_unpickling(self):
        global UNPICKLED
        payload = np.empty((2, 2), dtype=object)
        payload[0, 0] = _Trap()
        data = npy(payload, allow_pickle=True)
        UNPICKLED = False
        result = load_images([("objects.npy", data), good()])
        message = only_error(result, "objects.npy")
        assert "object" in message and "never loaded" in message
        assert UNPICKLED is False
        assert_good_loaded(result)
        np.load(io.BytesIO(data), allow_pickle=True)  # the trap works: loading it would have run code
        assert UNPICKLED is True

    def test_tiff_pages_of_different_shapes(self, tmp_path):
        import tifffile

        path = tmp_path / "mixed.tif"
        tifffile.imwrite(path, np.zeros((4, 5), np.uint8))
        tifffile.imwrite(path, np.zeros((6, 7), np.uint8), append=True)
        result = load_images([path, good()])
        message = only_error(result, "mixed.tif")
        assert "different sizes" in message and "4×5" in message and "6×7" in message
        assert_good_loaded(result)

    def test_tiff_pages_of_equal_shape_written_separately_stack(self, tmp_path):
        import tifffile

        path = tmp_path / "pages.tif"
        tifffile.imwrite(path, np.full((4, 5), 10, np.uint8))
        tifffile.imwrite(path, np.full((4, 5), 20, np.uint8), append=True)
        assert load_images(path).images["pages"].shape == (2, 4, 5)

    def test_palette_tiff_converted(self):
        from PIL import Image

        rgb = np.zeros((4, 4, 3), dtype=np.uint8)
        rgb[:2] = (200, 30, 30)
        rgb[2:] = (10, 10, 240)
        data = pil_bytes(Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4), "TIFF")
        np.testing.assert_allclose(load_images([("p.tif", data)]).images["p"], rgb / 255, atol=1e-6)

    def test_corrupt_tiff(self):
        result = load_images([("bad.tif", b"II*\x00" + b"\xff" * 40), good()])
        assert "could not be read as TIFF" in only_error(result, "bad.tif")
        assert_good_loaded(result)


UNPICKLED = False


def _spring_trap():
    global UNPICKLED
    UNPICKLED = True
    return "sprung"


class _Trap:
    """Unpickling this object runs code: the NPY loader must never do it."""

    def __reduce__(self):
        return (_spring_trap, ())


class TestLoadImagesZip:
    def test_members_load_with_zip_names(self):
        data = zipped([("sub/a.png", png(GREY)), ("b.npy", npy(np.eye(3))), ("sub/bad.png", b"nope"),
                       ("__MACOSX/sub/._a.png", b"junk"), ("sub/.DS_Store", b"junk"), ("sub/", b"")])
        result = load_images([("set.zip", data)])
        assert list(result.images) == ["a", "b"]
        assert "could not be read as PNG" in only_error(result, "set.zip/sub/bad.png")

    def test_zip_path_source(self, tmp_path):
        path = tmp_path / "set.ZIP"
        path.write_bytes(zipped([("a.png", png(GREY))]))
        assert list(load_images(path).images) == ["a"]

    @pytest.mark.parametrize("member", ["../evil.png", "sub/../../evil.png", "/abs/evil.png", "C:/evil.png",
                                        "..\\evil.png"])
    def test_unsafe_paths_skipped_nothing_written(self, tmp_path, monkeypatch, member):
        monkeypatch.chdir(tmp_path)
        data = zipped([(member, png(GREY)), ("ok.png", png(GREY))])
        before = sorted(p for p in tmp_path.rglob("*"))
        result = load_images([("set.zip", data), good()])
        assert "unsafe path" in only_error(result, f"set.zip/{member}")
        assert "ok" in result.images
        assert_good_loaded(result)
        assert sorted(p for p in tmp_path.rglob("*")) == before
        assert not os.path.exists("/abs/evil.png")

    def test_too_many_members(self, monkeypatch):
        monkeypatch.setattr(config, "MAX_ZIP_MEMBERS", 2)
        data = zipped([(f"{i}.png", png(GREY)) for i in range(3)])
        result = load_images([("many.zip", data), good()])
        message = only_error(result, "many.zip")
        assert "3 entries" in message and "limit of 2" in message
        assert list(result.images) == ["good"]

    def test_total_declared_size_over_limit(self, monkeypatch):
        monkeypatch.setattr(config, "MAX_ZIP_BYTES", 1000)
        data = zipped([("a.npy", npy(np.zeros((30, 30))))])  # 7 kB unpacked
        result = load_images([("big.zip", data), good()])
        assert "over the limit of 1,000" in only_error(result, "big.zip")
        assert list(result.images) == ["good"]

    def test_high_ratio_member_refused(self, monkeypatch):
        monkeypatch.setattr(config, "MAX_ZIP_RATIO", 20)
        noise = RNG.integers(0, 256, (16, 16), dtype=np.uint8)  # incompressible: ratio about 1
        data = zipped([("bomb.npy", npy(np.zeros((200, 200)))), ("noise.png", png(noise))])
        result = load_images([("r.zip", data), good()])
        message = only_error(result, "r.zip/bomb.npy")
        assert "compression ratio" in message and "zip bomb" in message
        assert set(result.images) == {"noise", "good"}

    def test_nested_zip(self):
        inner = zipped([("a.png", png(GREY))])
        result = load_images([("outer.zip", zipped([("inner.zip", inner), ("b.png", png(GREY))])), good()])
        assert "nested zip archives are not opened" in only_error(result, "outer.zip/inner.zip")
        assert set(result.images) == {"b", "good"}

    def test_encrypted_member(self):
        data = bytearray(zipped([("secret.png", png(GREY)), ("b.png", png(GREY))]))
        # zipfile cannot write encrypted members: set the "encrypted" flag bit of the first member in its
        # local header (offset 6) and central directory entry (offset 8); the data is then unreadable.
        data[6] |= 0x1
        data[data.index(b"PK\x01\x02") + 8] |= 0x1
        result = load_images([("e.zip", bytes(data)), good()])
        assert "encrypted" in only_error(result, "e.zip/secret.png")
        assert set(result.images) == {"b", "good"}

    def test_corrupt_zip(self):
        result = load_images([("broken.zip", b"PK\x03\x04" + b"\x00" * 50), good()])
        assert "could not be opened as a zip archive" in only_error(result, "broken.zip")
        assert_good_loaded(result)

    def test_member_with_wrong_declared_size(self):
        data = bytearray(zipped([("a.npy", npy(np.arange(100.0).reshape(10, 10)))], zipfile.ZIP_STORED))
        real = len(npy(np.arange(100.0).reshape(10, 10)))
        # Shrink the declared size in the local header (offset 22) and the central directory (offset 24).
        local = data.index(b"PK\x03\x04")
        central = data.index(b"PK\x01\x02")
        for offset in (local + 22, central + 24):
            assert struct.unpack("<I", data[offset:offset + 4])[0] == real
            data[offset:offset + 4] = struct.pack("<I", 64)
        result = load_images([("lie.zip", bytes(data)), good()])
        assert [e.name for e in result.errors] == ["lie.zip/a.npy"]
        assert_good_loaded(result)


class TestLoadImagesMat:
    def test_single_array(self):
        image = RNG.integers(0, 256, (5, 6), dtype=np.uint8)
        result = load_images([("m.mat", mat({"img": image, "label": "steel"}))])
        np.testing.assert_array_equal(result.images["m"], image / np.float32(255))

    def test_volume(self):
        volume = RNG.random((3, 5, 6))
        np.testing.assert_allclose(load_images([("v.mat", mat({"v": volume}))]).images["v"], volume, rtol=1e-6)

    def test_no_numeric_array(self):
        result = load_images([("text.mat", mat({"label": "steel", "row": np.arange(5.0)})), good()])
        assert "no numeric 2-D or 3-D array" in only_error(result, "text.mat")
        assert result.choices == {}
        assert_good_loaded(result)

    def test_several_arrays_offer_a_choice(self):
        data = mat({"a": np.zeros((4, 4)), "b": np.eye(4), "c": np.ones((2, 3, 4)) * 0.5})
        result = load_images([("multi.mat", data), good()])
        message = only_error(result, "multi.mat")
        assert "holds several arrays (a, b, c); choose which one to load" in message
        assert result.choices == {"multi": ["a", "b", "c"]}
        assert_good_loaded(result)

    @pytest.mark.parametrize("choice", ["b", {"multi": "b"}])
    def test_mat_variables_selects(self, choice):
        data = mat({"a": np.zeros((4, 4)), "b": np.eye(4)})
        result = load_images([("multi.mat", data)], mat_variables=choice)
        np.testing.assert_array_equal(result.images["multi"], np.eye(4))
        assert result.errors == [] and result.choices == {}

    def test_mat_variables_naming_an_absent_array(self):
        result = load_images([("multi.mat", mat({"a": np.zeros((4, 4)), "b": np.eye(4)}))], mat_variables="z")
        assert "'z' is not one of them" in only_error(result, "multi.mat")
        assert result.choices == {"multi": ["a", "b"]}

    def test_complex_array_refused(self):
        result = load_images([("z.mat", mat({"z": np.ones((3, 3)) * (1 + 2j)})), good()])
        assert "complex" in only_error(result, "z.mat")
        assert_good_loaded(result)

    def test_corrupt_mat(self):
        result = load_images([("bad.mat", b"MATLAB 5.0 MAT-file" + b"\x00" * 200), good()])
        assert "bad.mat" in only_error(result, "bad.mat")
        assert_good_loaded(result)

    @staticmethod
    def _v73(path, variables, header=b"MATLAB 7.3 MAT-file, Platform: GLNXA64"):
        import h5py

        with h5py.File(path, "w", userblock_size=512) as f:
            for name, value in variables.items():
                f.create_dataset(name, data=np.asarray(value).T)  # MATLAB stores column-major
            # MATLAB writes text as uint16 tagged "char": it must not count as an image candidate.
            f.create_dataset("title", data=np.full((3, 2), ord("a"), np.uint16))  # two 3-letter strings
            f["title"].attrs["MATLAB_class"] = np.bytes_(b"char")
        with open(path, "r+b") as f:
            f.write(header.ljust(128, b" "))

    @pytest.mark.parametrize("header", [b"MATLAB 7.3 MAT-file", b"not a matlab header"])
    def test_v73_hdf5(self, tmp_path, header):
        image = RNG.random((5, 7))
        path = tmp_path / "new.mat"
        self._v73(path, {"img": image}, header)
        result = load_images([path, good()])
        assert result.errors == []
        assert result.images["new"].shape == (5, 7)
        np.testing.assert_allclose(result.images["new"], image, rtol=1e-6)

    def test_v73_several_arrays_and_limit(self, tmp_path):
        path = tmp_path / "two.mat"
        self._v73(path, {"a": np.zeros((6, 6)), "b": np.eye(6)})
        result = load_images(path)
        assert result.choices == {"two": ["a", "b"]}
        np.testing.assert_array_equal(load_images(path, mat_variables="b").images["two"], np.eye(6))
        assert "over the limit" in only_error(load_images(path, max_pixels=10, mat_variables="a"), "two.mat")


class TestToGrey:
    def test_rgb_uses_bt601_weights(self):
        rgb = np.zeros((1, 3, 3), np.float32)
        rgb[0, 0, 0] = rgb[0, 1, 1] = rgb[0, 2, 2] = 1
        np.testing.assert_allclose(to_grey(rgb, kind="rgb"), [[0.299, 0.587, 0.114]], rtol=1e-6)
        # By its shape alone a 1×3×3 array is a volume (the loader reads such an NPY so): left as it is.
        np.testing.assert_array_equal(to_grey(rgb), rgb)

    @pytest.mark.parametrize("shape", [(4, 5), (2, 4, 5)])
    def test_grey_and_volume_pass_through(self, shape):
        array = RNG.random(shape)
        out = to_grey(array)
        assert out.dtype == np.float32 and out.shape == shape
        np.testing.assert_allclose(out, array, rtol=1e-6)

    def test_bad_shape(self):
        with pytest.raises(ValueError, match="image"):
            to_grey(np.zeros(5))


class TestImportCost:
    def test_import_does_not_load_decoders(self):
        import subprocess
        import sys

        from conftest import ROOT

        lazy = ("PIL", "scipy", "h5py", "tifffile", "pandas", "openpyxl")
        code = f"import sys, msdash.io; print(','.join(m for m in {lazy!r} if m in sys.modules))"
        loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        assert loaded.stdout.strip() == ""
