"""Hostile uploads: files that try to read other files of the server, or to exhaust its memory.

Every file here is built by the test itself. Each case must end with a message naming the file, the
other files of the same upload still loading, and no byte of a file outside the upload in any image.
"""

# an OME-XML fixture is literal text, one line
# ruff: noqa: E501

import io
import zipfile

import numpy as np
import pytest

from msdash.io import load_images

SECRET = np.arange(64, dtype=np.uint8).reshape(8, 8) + 100  # values 100..163, recognisable


def good():
    buffer = io.BytesIO()
    np.save(buffer, np.eye(4))
    return ("good.npy", buffer.getvalue())


def only_error(result, name):
    messages = [e.message for e in result.errors if e.name == name]
    assert len(messages) == 1, result.errors
    return messages[0]


def assert_no_secret(result):
    for image in result.images.values():
        values = np.round(np.asarray(image, np.float64) * 255)
        assert not np.isin(values, SECRET).any() or values.max() <= 1, "bytes of another file were read"


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "outside" / "secret.bin"
    path.parent.mkdir()
    path.write_bytes(SECRET.tobytes())
    return path


def _mat73(path, build):
    """Write a MAT v7.3 file: a 512-byte MATLAB header block, then HDF5; ``build(f)`` adds objects."""
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        build(f)
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(128, b" "))
    return path.read_bytes()


def _tag(dataset, matlab_class="uint8"):
    dataset.attrs["MATLAB_class"] = np.bytes_(matlab_class)


class TestMatHdf5References:
    def test_external_storage_is_refused(self, tmp_path, secret_file):
        def build(f):
            _tag(f.create_dataset("img", shape=(8, 8), dtype="u1", external=[(str(secret_file), 0, 64)]))

        data = _mat73(tmp_path / "evil.mat", build)
        import h5py

        # The attack is real: h5py on its own reads the other file's bytes as pixels.
        with h5py.File(io.BytesIO(data), "r") as f:
            np.testing.assert_array_equal(f["img"][()], SECRET)
        result = load_images([("evil.mat", data), good()])
        message = only_error(result, "evil.mat")
        assert "evil.mat" in message and "external storage" in message and "'img'" in message
        assert list(result.images) == ["good"]
        assert_no_secret(result)

    def test_virtual_dataset_is_refused(self, tmp_path, secret_file):
        import h5py

        source = tmp_path / "outside" / "source.h5"
        with h5py.File(source, "w") as f:
            f["x"] = SECRET

        def build(f):
            layout = h5py.VirtualLayout(shape=(8, 8), dtype="u1")
            layout[:] = h5py.VirtualSource(str(source), "x", shape=(8, 8))
            _tag(f.create_virtual_dataset("img", layout))

        result = load_images([("vds.mat", _mat73(tmp_path / "vds.mat", build)), good()])
        assert "virtual dataset" in only_error(result, "vds.mat")
        assert "good" in result.images

    def test_virtual_dataset_of_the_same_file_is_refused(self, tmp_path):
        """A VDS mapping its own file used to load as an all-zero image: refused like the others."""
        import h5py

        def build(f):
            f["real"] = np.ones((8, 8))
            _tag(f["real"], "double")
            layout = h5py.VirtualLayout(shape=(8, 8), dtype="f8")
            layout[:] = h5py.VirtualSource(".", "real", shape=(8, 8))
            _tag(f.create_virtual_dataset("img", layout), "double")

        result = load_images([("self.mat", _mat73(tmp_path / "self.mat", build))], mat_variables="img")
        assert "virtual dataset" in only_error(result, "self.mat")
        assert result.images == {}

    def test_external_link_anywhere_is_refused_without_following_it(self, tmp_path, secret_file):
        import h5py

        target = tmp_path / "outside" / "target.h5"
        with h5py.File(target, "w") as f:
            f["x"] = SECRET

        def build(f):
            f["plain"] = np.eye(8)
            _tag(f["plain"], "double")
            f.create_group("#refs#")["a"] = h5py.ExternalLink(str(target), "/x")

        result = load_images([("link.mat", _mat73(tmp_path / "link.mat", build))])
        message = only_error(result, "link.mat")
        assert "'#refs#/a' is a link to another file" in message
        assert result.images == {}

    def test_plain_v73_with_a_soft_link_still_loads(self, tmp_path):
        """An in-file soft link is harmless; it is not a candidate, the real array loads."""
        import h5py

        image = np.arange(12.0).reshape(3, 4) / 11

        def build(f):
            f.create_dataset("img", data=image.T, chunks=(2, 2), compression="gzip")
            _tag(f["img"], "double")
            f["alias"] = h5py.SoftLink("/img")

        result = load_images([("ok.mat", _mat73(tmp_path / "ok.mat", build))])
        assert result.errors == []
        np.testing.assert_allclose(result.images["ok"], image, rtol=1e-6)


def _ome_tiff_pointing_at(other_path):
    """An OME-TIFF whose second plane is declared to live in ``other_path`` (a multi-file OME series)."""
    import tifffile

    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" UUID="urn:uuid:11111111-1111-1111-1111-111111111111">
<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="8" SizeY="8" SizeZ="2" SizeC="1" SizeT="1">
<Channel ID="Channel:0:0" SamplesPerPixel="1"/>
<TiffData IFD="0" FirstZ="0" PlaneCount="1"/>
<TiffData IFD="0" FirstZ="1" PlaneCount="1"><UUID FileName="{other_path}">urn:uuid:22222222-2222-2222-2222-222222222222</UUID></TiffData>
</Pixels></Image></OME>"""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((8, 8), np.uint8), description=xml, metadata=None)
    return buffer.getvalue()


class TestTiffReferences:
    @pytest.mark.parametrize("as_path", [True, False], ids=["path", "upload"])
    def test_multi_file_ome_never_opens_the_other_file(self, tmp_path, as_path):
        import tifffile

        secret = tmp_path / "outside" / "secret.tif"
        secret.parent.mkdir()
        tifffile.imwrite(secret, SECRET)
        evil = tmp_path / "upload" / "evil.tif"
        evil.parent.mkdir()
        evil.write_bytes(_ome_tiff_pointing_at(secret))
        with tifffile.TiffFile(evil) as tif:  # the attack is real for a file on disk
            assert tif.series[0].asarray()[1].max() == SECRET.max()
        result = load_images(evil if as_path else ("evil.tif", evil.read_bytes()))
        assert result.errors == []
        assert result.images["evil"].shape == (8, 8)  # the file's own plane only
        assert_no_secret(result)


class TestZipMembers:
    def test_symlink_member_is_read_as_its_text_not_followed(self, secret_file):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            info = zipfile.ZipInfo("link.npy")
            info.external_attr = (0o120777 << 16)  # a symbolic link, as Info-ZIP stores it
            archive.writestr(info, str(secret_file))
            archive.writestr("good.npy", good()[1])
        result = load_images([("set.zip", buffer.getvalue())])
        assert "set.zip/link.npy" in only_error(result, "set.zip/link.npy")
        assert list(result.images) == ["good"]
        assert_no_secret(result)


def _png(array):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


MB = 1024**2


class TestDecodeBudget:
    def test_amplification_zip_is_stopped_from_the_headers(self, monkeypatch):
        """16 all-zero 2000×2000 PNGs: a tiny zip that decodes to 256 MB as float32."""
        import tracemalloc

        blank = _png(np.zeros((2000, 2000), np.uint8))
        archive = _zip([(f"z{i:02d}.png", blank) for i in range(16)])
        assert len(archive) < 200_000
        monkeypatch.setenv("MSDASH_MAX_UPLOAD_BYTES", str(40 * MB))
        tracemalloc.start()
        try:
            result = load_images([("bomb.zip", archive), good()])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        # Each image needs 16 MB while it is converted and keeps 4 MB (8-bit, as decoded): seven fit in
        # 40 MB (7 × 4 + 16 > 40 for the eighth), the others are refused before decoding.
        assert list(result.images) == [f"z{i:02d}" for i in range(7)] + ["good"]
        assert result.images.raw("z00").dtype == np.uint8 and result.nbytes == 7 * 4_000_000 + 16
        assert len(result.errors) == 9
        for error in result.errors:
            assert error.message.startswith(error.name) and "MSDASH_MAX_UPLOAD_BYTES" in error.message
        assert "bomb.zip/z07.png: decodes to 15.3 MiB, and this upload already holds 26.7 MiB" in \
            result.errors[0].message
        assert peak < 40 * MB + 12 * MB, f"peak {peak / MB:.0f} MB: images were decoded past the budget"

    def test_budget_argument_and_order(self):
        small = npy_bytes(np.zeros((10, 10)))  # 800 bytes decoded (float64), 400 kept (float32)
        result = load_images([("a.npy", small), ("b.npy", small), ("c.npy", small)], max_bytes=1200)
        assert list(result.images) == ["a", "b"]
        assert "c.npy" in only_error(result, "c.npy")
        assert result.nbytes == 800

    def test_npy_header_declaring_gigabytes_is_refused_before_allocation(self):
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f8", "fortran_order": False, "shape": (40_000, 40_000)})
        data = header.getvalue() + b"\0" * 64  # 12.8 GB declared, 64 bytes present
        result = load_images([("huge.npy", data)], max_pixels=10**10, max_bytes=100 * MB)
        assert "decodes to 11.9 GiB" in only_error(result, "huge.npy")

    @pytest.mark.parametrize("photometric", ["rgb", "minisblack"])
    def test_tiff_with_forty_samples_is_refused_before_decoding(self, photometric):
        import tifffile

        buffer = io.BytesIO()
        tifffile.imwrite(buffer, np.zeros((64, 64, 40), np.uint8), photometric=photometric,
                         planarconfig="contig", extrasamples=[0] * 37 if photometric == "rgb" else None)
        result = load_images([("deep.tif", buffer.getvalue()), good()])
        assert "40 samples per pixel" in only_error(result, "deep.tif")
        assert "good" in result.images

    def test_colour_counts_every_channel(self):
        rgb = _png(np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8))
        # 100×100×3 float32 = 120,000 bytes: refused under 119,999, loaded at 120,000.
        assert load_images([("c.png", rgb)], max_bytes=119_999).images == {}
        assert load_images([("c.png", rgb)], max_bytes=120_000).images["c"].shape == (100, 100, 3)

    def test_mat_v5_is_checked_before_reading(self):
        import scipy.io

        buffer = io.BytesIO()
        scipy.io.savemat(buffer, {"img": np.zeros((100, 100))})  # float64: 80,000 bytes decoded
        result = load_images([("m.mat", buffer.getvalue())], max_bytes=79_999)
        assert "decodes to 78.1 KiB" in only_error(result, "m.mat")


def npy_bytes(array, version=None):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), version=version)
    return buffer.getvalue()


class TestNamesAndFormats:
    def test_npy_format_3_loads(self):
        result = load_images([("v3.npy", npy_bytes(np.eye(3), version=(3, 0)))])
        assert result.errors == []
        np.testing.assert_array_equal(result.images["v3"], np.eye(3))

    def test_nfc_and_nfd_names_are_one_sample_with_a_clear_message(self):
        import unicodedata

        nfc, nfd = unicodedata.normalize("NFC", "Fé.npy"), unicodedata.normalize("NFD", "Fé.npy")
        assert nfc != nfd
        result = load_images([(nfd, npy_bytes(np.eye(3))), (nfc, npy_bytes(np.zeros((3, 3))))])
        assert list(result.images) == [unicodedata.normalize("NFC", "Fé")]  # kept in NFC
        message = only_error(result, nfc)
        assert "duplicate name" in message and "accented letters" in message
