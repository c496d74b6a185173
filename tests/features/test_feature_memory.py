"""Feature extraction within the memory budget: default two-point window, feature counts, lazy labels, blocks."""

import json
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

from conftest import ROOT
from msdash.errors import InputError
from msdash.features import EXTRACTORS, extract
from msdash.features.correlation import _threads_in_budget, _work_bytes, default_cutoff, two_point, two_point_labels
from msdash.features.labels import LIST_LABELS_MAX, IndexLabels, WindowLabels
from msdash.features.sizing import ALWAYS_FITS, FEATURE_WARNING, check_feature_count, feature_count, images_per_block

MIB = 2 ** 20


class TestDefaultCutoff:
    @pytest.mark.parametrize("shape, expected", [((8, 8), 4), ((51, 51), 25), ((64, 64), 32), ((40, 100), 20),
                                                 ((128, 128), 32), ((300, 280), 35), ((512, 512), 64),
                                                 ((4096, 4096), 64), ((51, 51, 51), 25)])
    def test_one_eighth_of_the_side_between_32_and_64_px(self, shape, expected):
        assert default_cutoff(shape) == expected

    def test_small_images_keep_the_old_half_side_window(self):
        for side in range(2, 65):  # the window of every image up to 64 px is unchanged
            assert default_cutoff((side, side + 3)) == side // 2

    @pytest.mark.parametrize("periodic", [True, False])
    def test_two_point_without_cutoff_uses_it(self, periodic):
        u = np.random.default_rng(0).integers(0, 2, size=(2, 300, 280))
        got = two_point(u, periodic=periodic)
        assert got.shape == (2, 71, 71)
        np.testing.assert_array_equal(got, two_point(u, periodic=periodic, cutoff=35))


class TestFeatureCount:
    def test_counts_of_the_builtin_extractors(self):
        assert feature_count("two_point", {}, [(4096, 4096)] * 10) == 129 * 129 == 16_641
        assert feature_count("two_point", {"cutoff": "2048"}, [(4096, 4096)]) == 4097 ** 2
        assert feature_count("two_point", {}, [(64, 64), (300, 300)]) == 75 ** 2  # the widest shape
        assert feature_count("two_point", {}) is None  # depends on the size, none given
        assert feature_count("two_point_paper_a") == 1681 and feature_count("two_point_paper_b") == 25281
        assert feature_count("phys_feat2", {"bins": 16}) == 32 and feature_count("radial_psd") == 32
        assert feature_count("dinov2") is None  # known only once the model is loaded

    def test_volumes_rgb_and_sections(self):
        assert feature_count("two_point", {}, {(51, 51, 51): 3}) == 51 ** 2
        assert feature_count("two_point", {"sections": "concat"}, [(51, 51, 51)]) == 3 * 51 ** 2
        assert feature_count("two_point", {}, [(100, 50, 3)]) == 51 ** 2  # RGB: (H, W) = (100, 50), c = 25
        assert feature_count("two_point", {"cutoff": 3}, [(20, 30, 40)]) == 49

    def test_matches_what_extract_produces(self):
        rng = np.random.default_rng(1)
        images = {"a": rng.integers(0, 2, (90, 70)).astype(np.float32),
                  "v": rng.integers(0, 2, (12, 14, 16)).astype(np.float32)}
        for params in ({}, {"sections": "concat", "cutoff": 2}, {"phases": "cross (1,0)", "cutoff": 5}):
            table = extract({"a": images["a"]}, "two_point", store=False, **params)
            assert table.values.shape[1] == feature_count("two_point", params, [images["a"].shape])
        table = extract({"v": images["v"]}, "two_point", store=False, sections="concat", cutoff=2)
        assert table.values.shape[1] == feature_count("two_point", {"sections": "concat", "cutoff": 2}, [(12, 14, 16)])

    def test_warns_over_the_threshold_with_the_count(self, monkeypatch):
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(10 ** 12))
        assert check_feature_count("two_point", {}, [(4096, 4096)] * 10) is None  # 16,641 features
        message = check_feature_count("two_point", {"cutoff": 2048}, [(4096, 4096)] * 10)
        assert FEATURE_WARNING < 4097 ** 2
        assert "16,785,409 features per sample" in message and "smaller cutoff" in message and "cutoff = 64" in message

    def test_refuses_a_table_over_the_budget_naming_the_numbers_and_the_fix(self, monkeypatch):
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(GIB := 2 ** 30))
        with pytest.raises(InputError) as info:
            check_feature_count("two_point", {"cutoff": 2048}, [(4096, 4096)] * 10)  # 1.25 GiB
        text = str(info.value)
        assert "16,785,409 features per sample" in text and "10 samples" in text and "1.25 GiB" in text
        assert "1.00 GiB" in text and "MSDASH_MEMORY_BUDGET" in text
        fits = int(text.split("e.g. cutoff = ")[1].split()[0])  # the largest window that fits, capped at 64
        assert fits == 64 and 10 * (2 * fits + 1) ** 2 * 8 <= GIB
        n = ALWAYS_FITS // (25 ** 2 * 8)  # samples whose 25×25 windows just fit
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(n * 25 ** 2 * 8))
        with pytest.raises(InputError, match=r"cutoff = 12 gives 625"):
            check_feature_count("two_point", {}, [(4096, 4096)] * n)
        assert check_feature_count("two_point", {"cutoff": 12}, [(4096, 4096)] * n) is None

    def test_small_tables_pass_any_budget(self, monkeypatch):
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "1")  # "one image at a time", not "refuse everything"
        assert check_feature_count("two_point", {}, [(64, 64)] * 100) is None
        with pytest.raises(InputError):
            check_feature_count("two_point", {}, [(64, 64)] * (ALWAYS_FITS // (65 ** 2 * 8) + 1))

    def test_extract_refuses_before_computing(self, monkeypatch):
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "20000")
        images = [np.ones((40, 40), dtype=np.float32)] * 2
        with pytest.raises(InputError, match="more than the memory budget"):
            extract(images, "two_point", store=False, cutoff=1024)  # 2 × 2049² × 8 bytes = 64 MiB
        assert extract(images, "two_point", store=False, cutoff=10).values.shape == (2, 441)


class TestBlocks:
    def test_images_per_block_follows_the_budget(self, monkeypatch):
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(64 * MIB))
        assert images_per_block(4 * MIB) == 4 and images_per_block(4 * MIB, safety=1) == 16
        assert images_per_block(100 * MIB) == 1 and images_per_block(MIB, limit=3) == 3

    def test_two_point_threads_fit_the_budget(self, monkeypatch):
        shape, sizes = (2048, 2048), (2112, 2112)
        work = _work_bytes(1, shape, sizes, np.float64)
        assert work >= 5 * 2112 ** 2 * 8
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(4 * work))
        assert _threads_in_budget(1, shape, sizes, np.float64) == 1
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(4 * 3 * work))
        assert _threads_in_budget(1, shape, sizes, np.float64) == 3

    def test_extract_chunks_of_large_images_fit_an_eighth_of_the_budget(self, monkeypatch):
        from msdash.features.extract import CHUNK, _chunk_size

        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(2 ** 30))
        assert _chunk_size((64, 64)) == CHUNK
        assert _chunk_size((4096, 4096)) == 2 ** 30 // 8 // (4 * 4096 ** 2) == 2


_CHILD = textwrap.dedent("""
    import json, os, sys, time
    import numpy as np
    from msdash.features.correlation import two_point
    from msdash.features.spectral import phys_feat2, radial_psd

    def rss(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

    what, budget = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    if what == "two_point":
        images = (rng.random((8, 2048, 2048), dtype=np.float32) > 0.5).astype(np.float32)
        run = lambda: two_point(images, periodic=False, workers=-1)
    else:
        images = rng.integers(0, 65536, size=(8, 2048, 2048), dtype=np.uint16).astype(np.float32) / 65535
        run = {"radial_psd": radial_psd, "phys_feat2": phys_feat2}[what].__call__
        run = (lambda f: lambda: f(images))(run)
    os.environ["MSDASH_MEMORY_BUDGET"] = budget
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak RSS (VmHWM) to the current RSS
    base = rss("VmRSS")
    blocked = run()
    growth = rss("VmHWM") - base
    os.environ["MSDASH_MEMORY_BUDGET"] = str(10 ** 12)  # one block
    whole = run()
    print(json.dumps({"growth": growth, "equal": bool(np.array_equal(blocked, whole)), "shape": blocked.shape}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS from /proc (Linux)")
class TestPeakMemory:
    """8 images of 2048×2048 (128 MiB as float32) under a 256 MiB budget, peak RSS measured in a child process.

    One block of all 8 in float64 would grow the process by ~740 MiB (PSD) to ~1.3 GiB (physFeat2), as the code
    did before; within the budget each block's work arrays take at most 1/4 of it (64 MiB), so the growth
    stays below the budget itself, which also covers the per-size bin tables (~80 MiB at 2048²) and one
    image's FFT when a single image exceeds the block share (two-point in float64: ~200 MiB).
    """

    BUDGET = 256 * MIB

    @pytest.mark.parametrize("what", ["radial_psd", "phys_feat2", "two_point"])
    def test_growth_stays_within_the_budget_and_blocks_change_nothing(self, what):
        out = subprocess.run([sys.executable, "-c", _CHILD, what, str(self.BUDGET)], cwd=ROOT, capture_output=True,
                             text=True, timeout=300, env={"PATH": "/usr/bin:/bin"})
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert result["equal"], "blocks of images must give the one-block result bit for bit"
        assert result["growth"] < self.BUDGET, f"{what} grew by {result['growth'] / MIB:.0f} MiB"
        assert result["shape"][0] == 8


class TestLazyLabels:
    def test_a_16_million_column_window_builds_no_strings(self):
        tracemalloc.start()
        try:
            labels = two_point_labels(2048)
            n = len(labels)
            middle = labels[n // 2]
            spec_labels = EXTRACTORS["two_point"].labels({}, (4096, 4096), n)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert n == 4097 ** 2 == 16_785_409 and middle == "S2[dy=0,dx=0]"
        assert isinstance(spec_labels, WindowLabels) and spec_labels == labels
        assert peak < MIB, f"building the labels allocated {peak / MIB:.1f} MiB"
        assert labels[0] == "S2[dy=-2048,dx=-2048]" and labels[-1] == "S2[dy=2048,dx=2048]"
        assert labels[4097] == "S2[dy=-2047,dx=-2048]" and labels.index("S2[dy=-2047,dx=-2048]") == 4097

    def test_text_is_unchanged_and_small_tables_get_a_list(self):
        c = 3
        grid = np.indices((2 * c + 1,) * 2) - c
        for order in ("C", "F"):
            dys, dxs = grid[0].ravel(order=order), grid[1].ravel(order=order)
            expected = [f"S2[dy={dy},dx={dx}]" for dy, dx in zip(dys, dxs)]
            assert list(two_point_labels(c, order=order)) == expected == two_point_labels(c, order=order)
            assert two_point_labels(c, order=order)[:] == expected
        labels = EXTRACTORS["two_point"].labels({}, (64, 64), 65 * 65)
        assert type(labels) is list and labels[0] == "S2[dy=-32,dx=-32]" and len(labels) == 4225

    def test_fallback_labels_are_lazy_beyond_the_limit(self):
        spec = EXTRACTORS["volume_fraction"]
        labels = spec.labels({"phase": 1}, (8, 8), LIST_LABELS_MAX + 1)
        assert isinstance(labels, IndexLabels) and len(labels) == LIST_LABELS_MAX + 1
        assert labels[-1] == f"volume_fraction[{LIST_LABELS_MAX}]"
        assert type(spec.labels({"phase": 1}, (8, 8), 3)) is list

    def test_sequence_behaviour(self):
        labels = WindowLabels(1, ("dz", "dy", "dx"), "F")
        assert len(labels) == 27 and labels[1] == "S2[dz=0,dy=-1,dx=-1]" and labels[-27] == labels[0]
        assert "S2[dz=1,dy=1,dx=1]" in labels and "S2[dz=2,dy=0,dx=0]" not in labels and 3 not in labels
        with pytest.raises(IndexError):
            labels[27]
        assert labels[np.int64(2)] == labels[2] and labels[::13] == [labels[0], labels[13], labels[26]]
        assert labels != list(labels)[:-1] and hash(labels) == hash(WindowLabels(1, ("dz", "dy", "dx"), "F"))
