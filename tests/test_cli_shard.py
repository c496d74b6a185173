"""``extract --shard``: list by name, decode only the shard's files, block by block within a memory budget."""

import contextlib
import io
import sys
import tracemalloc
import zipfile

import numpy as np
import pandas as pd
import pytest

from conftest import png_bytes

_OPENED = []  # files opened while a test records them (an audit hook cannot be removed, so it stays idle)
_RECORDING = []


def _audit(event, args):
    if _RECORDING and event == "open" and isinstance(args[0], str):
        _OPENED.append(args[0])


sys.addaudithook(_audit)


@contextlib.contextmanager
def _opened():
    """Paths of every file this process opens inside the block."""
    _OPENED.clear()
    _RECORDING.append(True)
    try:
        yield _OPENED
    finally:
        _RECORDING.clear()


def _noise_folder(root, n, size, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        (root / f"img{i:02d}.png").write_bytes(png_bytes(rng.integers(0, 256, (size, size), dtype=np.uint8)))
    return root


def _main(*args):
    from msdash.cli import main

    return main([str(a) for a in args])


def _peak_bytes(*args):
    tracemalloc.start()
    try:
        assert _main(*args) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class TestOnlyTheShardIsRead:
    def test_a_shard_opens_and_decodes_only_its_own_files(self, tmp_path, monkeypatch):
        import msdash.data.loader as loader

        root = _noise_folder(tmp_path / "pngs", 24, 16)
        decoded = []
        real = loader.read_pil
        monkeypatch.setattr(loader, "read_pil", lambda fh, name, **kw: decoded.append(name) or real(fh, name, **kw))
        with _opened() as opened:
            assert _main("extract", root, "-e", "volume_fraction", "--shard", "1/8", "--out", tmp_path / "x.csv") == 0
        mine = [f"img{i:02d}" for i in range(1, 24, 8)]
        assert decoded == [f"pngs/{n}.png" for n in mine]
        assert sorted({p for p in opened if p.startswith(str(root))}) == [str(root / f"{n}.png") for n in mine]
        assert list(pd.read_csv(tmp_path / "x.csv", index_col=0).index) == mine

    def test_a_shard_of_a_zip_inflates_only_its_members(self, tmp_path, monkeypatch):
        rng = np.random.default_rng(1)
        members = {f"set/m{i}.png": png_bytes((rng.random((8, 8)) < 0.5).astype(np.uint8) * 255) for i in range(6)}
        archive = tmp_path / "set.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        read = []
        real = zipfile.ZipFile.open
        monkeypatch.setattr(zipfile.ZipFile, "open",
                            lambda self, info, *a, **k: read.append(getattr(info, "filename", info)) or
                            real(self, info, *a, **k))
        assert _main("extract", archive, "-e", "volume_fraction", "--shard", "2/3", "--out", tmp_path / "x.csv") == 0
        assert set(read) == {"set/m2.png", "set/m5.png"}
        assert list(pd.read_csv(tmp_path / "x.csv", index_col=0).index) == ["m2", "m5"]


class TestPeakMemory:
    def test_shard_peak_does_not_grow_with_the_folder(self, tmp_path):
        big = _noise_folder(tmp_path / "big", 24, 384)
        small = tmp_path / "small"
        small.mkdir()
        for i in (0, 8, 16):  # the share of shard 0/8
            (small / f"img{i:02d}.png").write_bytes((big / f"img{i:02d}.png").read_bytes())
        args = ("-e", "volume_fraction", "--no-store")
        _main("extract", small, *args, "--out", tmp_path / "warm.csv")  # imports outside the measurement
        peak_small = _peak_bytes("extract", small, *args, "--out", tmp_path / "s.csv")
        peak_big = _peak_bytes("extract", big, *args, "--shard", "0/8", "--out", tmp_path / "b.csv")
        image = 384 * 384 * 4
        assert peak_small > 3 * image  # the measurement sees the decoded images
        assert peak_big < 1.2 * peak_small, (peak_big, peak_small)
        assert (tmp_path / "s.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()

    def test_a_small_budget_keeps_one_image_at_a_time(self, tmp_path, monkeypatch):
        root = _noise_folder(tmp_path / "pngs", 8, 384)
        args = ("extract", root, "-e", "volume_fraction", "--no-store")
        _main(*args, "--out", tmp_path / "warm.csv")
        whole = _peak_bytes(*args, "--out", tmp_path / "whole.csv")
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "1")
        one_by_one = _peak_bytes(*args, "--out", tmp_path / "blocks.csv")
        assert one_by_one < whole / 3, (one_by_one, whole)
        assert (tmp_path / "whole.csv").read_bytes() == (tmp_path / "blocks.csv").read_bytes()


def test_the_upload_limit_does_not_cut_a_folder_the_cli_streams(tmp_path, monkeypatch, capsys):
    root = _noise_folder(tmp_path / "pngs", 6, 32)
    monkeypatch.setenv("MSDASH_MAX_UPLOAD_BYTES", str(32 * 32 * 4))  # one image's worth for a browser upload
    assert _main("extract", root, "-e", "volume_fraction", "--out", tmp_path / "x.csv") == 0
    assert len(pd.read_csv(tmp_path / "x.csv", index_col=0)) == 6
    assert "6 ok, 0 failed, 0 unreadable" in capsys.readouterr().err


class TestBlocksEqualOneCall:
    @pytest.fixture
    def mixed(self, tmp_path):
        """Two sizes (two_point without cutoff: the 16×16 image gives other features), a broken file,
        an unsupported file, a duplicate name whose first file is broken, clutter and a zip."""
        rng = np.random.default_rng(5)
        root = tmp_path / "mixed"
        (root / "sub").mkdir(parents=True)
        for i, size in enumerate((12, 12, 16, 12)):
            (root / f"m{i}.png").write_bytes(png_bytes((rng.random((size, size)) < 0.4).astype(np.uint8) * 255))
        (root / "broken.png").write_bytes(b"not a png")
        (root / "notes.txt").write_bytes(b"hi")
        (root / ".DS_Store").write_bytes(b"x")
        (root / "dup.png").write_bytes(b"broken too")
        (root / "sub" / "DUP.png").write_bytes(png_bytes((rng.random((12, 12)) < 0.5).astype(np.uint8) * 255))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("z/z1.png", png_bytes((rng.random((12, 12)) < 0.3).astype(np.uint8) * 255))
            zf.writestr("../evil.png", b"x")
        (root / "sub" / "pack.zip").write_bytes(buffer.getvalue())
        return root

    def test_listing_and_blocks_read_what_load_images_reads(self, mixed):
        from msdash.io import load_images
        from msdash.data.sources import list_images, plan_blocks, read_block

        listing = list_images(mixed)
        images, errors = {}, list(listing.errors)
        for block in plan_blocks(listing.slots, 1):
            loaded = read_block(block.slots)
            images.update(loaded.images)
            errors += loaded.errors
        whole = load_images(mixed)
        assert sorted(images) == sorted(whole.images) == ["DUP", "m0", "m1", "m2", "m3", "z1"]
        for name in images:
            np.testing.assert_array_equal(images[name], whole.images[name])
        assert sorted((e.name, e.message) for e in errors) == sorted((e.name, e.message) for e in whole.errors)

    @pytest.mark.parametrize("name, params", [("two_point", {"periodic": "false"}), ("volume_fraction", {})])
    def test_streamed_table_equals_one_extract_call(self, mixed, name, params):
        from msdash.features import extract
        from msdash.io import load_images
        from msdash.data.sources import list_images
        from msdash.streamed import extract_streamed

        slots = list_images(mixed).slots
        blocks, _ = extract_streamed(slots, name, budget=1, store=False, **params)
        single, _ = extract_streamed(slots, name, budget=10**12, store=False, **params)
        loaded = load_images(mixed).images
        direct = extract({n: loaded[n] for n in sorted(loaded)}, name, store=False, **params)
        assert blocks.provenance["blocks"] == 6 and "blocks" not in single.provenance
        for table in (blocks, single):
            assert table.names == direct.names and table.labels == direct.labels
            np.testing.assert_array_equal(table.values, direct.values)
            assert [(e.name, e.message) for e in table.errors] == [(e.name, e.message) for e in direct.errors]
        if name == "two_point":
            assert [e.name for e in direct.errors] == ["m2"]  # the 16×16 image: other feature length

    def test_merged_shards_of_a_zip_equal_the_single_process_table(self, tmp_path, monkeypatch):
        rng = np.random.default_rng(2)
        archive = tmp_path / "set.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for i in range(7):
                zf.writestr(f"a/s{i}.png", png_bytes((rng.random((10, 10)) < 0.5).astype(np.uint8) * 255))
        args = ("-e", "two_point", "-p", "cutoff=2")
        assert _main("extract", archive, *args, "--no-store", "--out", tmp_path / "single.csv") == 0
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "1")
        parts = [tmp_path / f"p{i}.csv" for i in range(3)]
        for i, part in enumerate(parts):
            assert _main("extract", archive, *args, "--shard", f"{i}/3", "--out", part) == 0
        assert _main("merge", *parts, "--out", tmp_path / "merged.csv") == 0
        assert (tmp_path / "merged.csv").read_bytes() == (tmp_path / "single.csv").read_bytes()


class TestBudget:
    def test_default_is_a_quarter_of_the_ram(self, monkeypatch):
        import os

        from msdash.data.sources import memory_budget

        monkeypatch.delenv("MSDASH_MEMORY_BUDGET", raising=False)
        assert memory_budget() == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "2e9")
        assert memory_budget() == 2_000_000_000

    @pytest.mark.parametrize("value", ["lots", "0", "-5"])
    def test_a_bad_budget_exits_2_naming_the_variable(self, tmp_path, monkeypatch, capsys, value):
        root = _noise_folder(tmp_path / "pngs", 1, 8)
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", value)
        assert _main("extract", root, "-e", "volume_fraction", "--out", tmp_path / "x.csv") == 2
        assert "MSDASH_MEMORY_BUDGET" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()

    def test_estimates_come_from_headers(self, tmp_path):
        from msdash.data.sources import ImageSource, estimate_bytes, plan_blocks

        rgb = tmp_path / "c.png"
        rgb.write_bytes(png_bytes(np.zeros((30, 20, 3), np.uint8)))  # compresses to almost nothing
        volume = tmp_path / "v.npy"
        np.save(volume, np.zeros((4, 5, 6), np.uint16))
        broken = tmp_path / "b.png"
        broken.write_bytes(b"x" * 50)
        sources = [ImageSource(p.name, p.stem, p, None, p.stat().st_size) for p in (rgb, volume, broken)]
        per_value = 4 * 5  # float32, five working copies
        assert [estimate_bytes(s) for s in sources] == [30 * 20 * 3 * per_value, 4 * 5 * 6 * per_value, 50 * per_value]
        slots = [(s,) for s in sources]
        blocks = plan_blocks(slots, (30 * 20 * 3 + 4 * 5 * 6) * per_value)
        assert [len(b.slots) for b in blocks] == [2, 1] and blocks[1].nbytes == 50 * per_value
        assert [len(b.slots) for b in plan_blocks(slots, 1)] == [1, 1, 1]


def test_a_folder_named_like_clutter_still_loads(tmp_path):
    root = _noise_folder(tmp_path / ".scans", 2, 8)
    (root / "bad.png").write_bytes(b"nope")
    assert _main("extract", root, "-e", "volume_fraction", "--out", tmp_path / "x.csv") == 0
    assert list(pd.read_csv(tmp_path / "x.csv", index_col=0).index) == ["img00", "img01"]


class TestWholeRunFeatureCount:
    """The CLI judges the whole run's table once the first block is read, not block by block."""

    def test_a_run_over_the_budget_stops_after_the_first_block(self, tmp_path, monkeypatch, capsys):
        from msdash.features import sizing

        root = _noise_folder(tmp_path / "pngs", 3, 512)
        # One image per block (5 MB estimated each); one image's 261,121 features (2.1 MB) fit, three (6.3 MB) do not.
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(6_000_000))
        monkeypatch.setattr(sizing, "ALWAYS_FITS", 1024)
        code = _main("extract", root, "-e", "two_point", "-p", "cutoff=255", "--out", tmp_path / "x.csv")
        assert code == 2
        err = capsys.readouterr().err
        assert "3 samples × 261,121 × 8 bytes" in err and "more than the memory budget" in err, err
        assert not (tmp_path / "x.csv").exists()

    def test_a_very_wide_run_is_warned(self, tmp_path, capsys):
        root = _noise_folder(tmp_path / "pngs", 2, 512)
        assert _main("extract", root, "-e", "two_point", "-p", "cutoff=255", "--out", tmp_path / "x.parquet") == 0
        err = capsys.readouterr().err
        assert "msdash extract: " in err and "261,121 features" in err


class TestMixedSizes:
    def test_header_shapes_are_what_the_loader_keeps(self, tmp_path):
        from PIL import Image

        from msdash.data.sources import header_shapes, list_images

        root = tmp_path / "mixed"
        root.mkdir()
        (root / "grey.png").write_bytes(png_bytes(np.zeros((40, 48), np.uint8)))
        Image.new("RGBA", (20, 10)).save(root / "rgba.png")
        np.save(root / "vol.npy", np.zeros((3, 8, 9), np.float32))
        np.save(root / "flat.npy", np.zeros((1, 6, 7), np.float32))
        listing = list_images([root])
        assert header_shapes(listing.slots) == {(40, 48), (10, 20, 3), (3, 8, 9), (6, 7)}

    def test_shards_of_a_mixed_folder_share_one_cutoff_and_merge(self, tmp_path, capsys):
        from msdash.features import two_point

        rng = np.random.default_rng(4)
        root = tmp_path / "mixed"
        root.mkdir()
        images = {}
        for i, size in enumerate((64, 64, 40, 64, 48, 64)):
            images[f"m{i}"] = (rng.random((size, size)) < 0.4).astype(np.uint8)
            (root / f"m{i}.png").write_bytes(png_bytes(images[f"m{i}"] * 255))
        for k in range(2):
            assert _main("extract", root, "-e", "two_point", "--shard", f"{k}/2", "--no-store",
                         "--out", tmp_path / f"part{k}.csv") == 0
        assert "cutoff is fixed at 20 px" in capsys.readouterr().err  # 1/8 of 40 kept within 32-64 and ≤ half
        assert _main("merge", tmp_path / "part0.csv", tmp_path / "part1.csv", "--out", tmp_path / "all.csv") == 0
        merged = pd.read_csv(tmp_path / "all.csv", index_col=0)
        assert merged.shape == (6, 41 * 41) and not merged.isna().any().any()
        for name, image in images.items():
            expected = two_point(image[None].astype(np.float32), cutoff=20)[0].ravel()
            np.testing.assert_allclose(merged.loc[name].to_numpy(), expected, atol=1e-6)
