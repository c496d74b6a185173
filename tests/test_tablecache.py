"""The whole-table cache of saved data sets: exact round trip, never stale, ignores half-written entries."""

import numpy as np

from msdash.dataset import Dataset
from msdash.features import extract
from msdash.features import tablecache


def _dataset(seed=0, n=6):
    rng = np.random.default_rng(seed)
    return Dataset("t", {f"s{i}": (rng.random((16, 16)) < 0.5).astype(np.float32) for i in range(n)})


class TestTableCache:
    def test_second_call_reads_the_table_with_identical_values(self):
        ds = _dataset()
        cold = extract(ds, "two_point", cutoff=4)
        warm = extract(_dataset(), "two_point", cutoff=4)  # a new object with the same content
        assert "table_cache" not in cold.provenance and warm.provenance["table_cache"] is True
        np.testing.assert_array_equal(np.asarray(warm.values), cold.values)
        assert warm.labels == list(cold.labels) and warm.names == cold.names

    def test_other_content_or_params_miss(self):
        extract(_dataset(), "two_point", cutoff=4)
        assert "table_cache" not in extract(_dataset(seed=1), "two_point", cutoff=4).provenance
        assert "table_cache" not in extract(_dataset(), "two_point", cutoff=3).provenance

    def test_failures_are_kept_in_the_table(self):
        images = dict(_dataset().images)
        images["bad"] = np.full((16, 16), np.nan, dtype=np.float32)
        ds = Dataset("t", images)
        cold = extract(ds, "volume_fraction")
        warm = extract(Dataset("t", images), "volume_fraction")
        assert warm.provenance.get("table_cache") and [e.name for e in warm.errors] == ["bad"]
        assert np.isnan(warm.values[-1]).all() and cold.errors[0].message == warm.errors[0].message

    def test_half_written_entry_is_ignored(self):
        ds = _dataset()
        table = extract(ds, "volume_fraction")
        folder = next((tablecache.config.workspace() / "features" / "tables").iterdir())
        (folder / "meta.json").unlink()  # killed before meta.json was written
        again = extract(_dataset(), "volume_fraction")
        assert "table_cache" not in again.provenance
        np.testing.assert_array_equal(again.values, table.values)


class TestWriteNpy:
    def test_same_bytes_as_np_save_when_written_in_many_blocks(self, tmp_path, monkeypatch):
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(16 * 1000))  # 1,000 bytes a block: 25 rows of 5
        values = np.random.default_rng(0).random((103, 5)).astype(np.float32)
        expected = tmp_path / "expected.npy"
        np.save(expected, values.astype(np.float64))
        size = tablecache.write_npy(tmp_path / "values.npy", values)
        assert (tmp_path / "values.npy").read_bytes() == expected.read_bytes() and size == expected.stat().st_size
        assert sorted(p.name for p in tmp_path.iterdir()) == ["expected.npy", "values.npy"]  # no temp left

    def test_never_holds_the_whole_table(self, tmp_path, monkeypatch):
        import tracemalloc

        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(2**20))  # blocks of 64 KiB
        source = np.lib.format.open_memmap(tmp_path / "f32.npy", mode="w+", dtype=np.float32, shape=(4000, 500))
        source[:] = np.random.default_rng(1).random((4000, 500))
        tracemalloc.start()
        try:
            tablecache.write_npy(tmp_path / "values.npy", source)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 2**20, f"{peak} bytes held for a 16 MB table"
        np.testing.assert_array_equal(np.load(tmp_path / "values.npy"), source.astype(np.float64))

    def test_a_failed_write_leaves_neither_a_table_nor_a_temp_file(self, monkeypatch):
        ds = _dataset()
        table = extract(ds, "volume_fraction", store=False)
        key = f"{ds.content_hash()}-{table.key}"

        def full(fd):
            raise OSError(28, "No space left on device")

        folder = tablecache.config.workspace() / "features" / "tables" / key
        with monkeypatch.context() as patched:
            patched.setattr(tablecache.os, "fsync", full)
            assert tablecache.save_table(key, table) is False
        assert list(folder.iterdir()) == [] and tablecache.load_table(key) is None
