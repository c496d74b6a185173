"""The whole-table cache of saved data sets: exact round trip, never stale, ignores half-written entries."""

import json
import multiprocessing
import os

import numpy as np
import pandas as pd

from msdash.data.dataset import Dataset
from msdash.features import EXTRACTORS, ExtractorSpec, blockfile, extract, register, tablecache
from msdash.features.blockfile import read_header
from msdash.features.labels import WindowLabels
from msdash.features.store import default_store
from msdash.data.datastore import save_dataset
from msdash.features.table import FeatureError, FeatureTable


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


class TestTableBlock:
    """The table is one block of the store: written in blocks of rows, memory-mapped back, the only copy."""

    def test_values_come_back_exactly_when_written_in_many_blocks(self, monkeypatch):
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(16 * 1000))  # 1,000 bytes a block: 25 rows of 5
        values = np.random.default_rng(0).random((103, 5)).astype(np.float32)
        key = f"{'1' * 16}-{'a' * 64}"
        assert tablecache.save_table(key, _table(values))
        loaded = tablecache.load_table(key)
        assert isinstance(loaded["values"], np.memmap) and loaded["values"].dtype == np.float64
        np.testing.assert_array_equal(loaded["values"], values.astype(np.float64))
        block = tablecache.table_blocks()[key]
        assert block.stat().st_size - 8 * values.size < 4096  # the values once, plus a header
        assert [p.name for p in block.parent.iterdir() if p.name.startswith(".")] == []  # no temp left

    def test_never_holds_the_whole_table(self, tmp_path, monkeypatch):
        import tracemalloc

        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(2**20))  # blocks of 64 KiB
        source = np.lib.format.open_memmap(tmp_path / "f32.npy", mode="w+", dtype=np.float32, shape=(4000, 500))
        source[:] = np.random.default_rng(1).random((4000, 500))
        key = f"{'2' * 16}-{'b' * 64}"
        tracemalloc.start()
        try:
            assert tablecache.save_table(key, _table(source))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 2**20, f"{peak} bytes held for a 16 MB table"
        np.testing.assert_array_equal(tablecache.load_table(key)["values"], source.astype(np.float64))

    def test_a_failed_write_leaves_neither_a_table_nor_a_temp_file(self, monkeypatch):
        ds = _dataset()
        table = extract(ds, "volume_fraction", store=False)
        key = f"{ds.content_hash()}-{table.key}"

        def full(fd):
            raise OSError(28, "No space left on device")

        folder = tablecache.config.workspace() / "features" / "tables" / key
        with monkeypatch.context() as patched:
            patched.setattr(tablecache.atomic.os, "fsync", full)
            patched.setattr(blockfile.os, "fsync", full)
            assert tablecache.save_table(key, table) is False
        assert list(folder.iterdir()) == [] and tablecache.load_table(key) is None
        blocks = tablecache.config.workspace() / "features" / "features.blocks" / table.key
        assert not blocks.exists() or list(blocks.iterdir()) == []

    def test_store_blocks_the_table_holds_are_removed_and_the_store_reads_the_table(self):
        ds = _dataset(n=5)
        save_dataset(ds)  # as the app does: the table block then knows each row's image hash
        cold = extract(ds, "two_point", cutoff=3)
        store = default_store()
        folder = store.key_folder(cold.key)
        names = sorted(p.name for p in folder.iterdir())
        assert len(names) == 1, names  # only the table block is left of the store's blocks
        assert read_header(folder / names[0]).table == f"{ds.content_hash()}-{cold.key}"
        found = store.get_many(ds.image_hashes(), cold.key)
        np.testing.assert_array_equal(np.stack([found[h].values for h in ds.image_hashes()]), cold.values)

    def test_a_subset_is_read_from_the_table_block_and_keeps_its_own_table(self):
        counted = []

        def sums(stack):
            counted.extend(range(len(stack)))
            return np.asarray(stack).sum(axis=(1, 2))[:, None]

        register(ExtractorSpec("toy_table", "Toy", "learned", "sum of pixels", sums, ()), replace=True)
        try:
            full = _dataset(n=6)
            save_dataset(full)
            whole = extract(full, "toy_table")
            part = Dataset("p", {k: full.images[k] for k in full.names[:3]})
            sub = extract(part, "toy_table")
        finally:
            EXTRACTORS.pop("toy_table", None)
        assert len(counted) == 6 and sub.provenance["store_hits"] == 3  # nothing computed twice
        np.testing.assert_array_equal(sub.values, whole.values[:3])
        blocks = tablecache.table_blocks()
        assert len(blocks) == 2 and all(p.is_file() for p in blocks.values())  # both tables, each one block

    def test_failure_of_the_table_alone_does_not_answer_store_lookups(self):
        images = {f"s{i}": np.eye(16, dtype=np.float32) for i in range(3)}
        images["small"] = np.eye(8, dtype=np.float32)  # another feature length: an error of this table only
        ds = Dataset("t", images)
        save_dataset(ds)
        table = extract(ds, "two_point")
        assert [e.name for e in table.errors] == ["small"]
        alone = extract({"small": images["small"]}, "two_point")
        assert alone.errors == [] and alone.values.shape == (1, len(alone.labels))

    def test_hashes_given_by_the_caller_index_the_rows(self):
        values = np.arange(8.0).reshape(4, 2)
        table = _table(values)
        table.errors = [FeatureError("s1", "bad")]
        key = f"{'5' * 16}-{'e' * 64}"
        assert tablecache.save_table(key, table, hashes=["h0", "h1", None, "h3"])
        found = default_store().get_many(["h0", "h1", "h3", "h2"], "e" * 64)
        assert sorted(found) == ["h0", "h3"]  # h1's failure is not the store's; the unread sample has no hash
        np.testing.assert_array_equal(found["h3"].values, values[3])

    def test_saving_a_table_again_replaces_its_block(self):
        key = f"{'6' * 16}-{'f' * 64}"
        for scale in (1.0, 2.0):
            assert tablecache.save_table(key, _table(scale * np.ones((3, 2))))
        folder = default_store().key_folder("f" * 64)
        assert len(list(folder.iterdir())) == 1
        np.testing.assert_array_equal(tablecache.load_table(key)["values"], 2 * np.ones((3, 2)))

    def test_processes_saving_one_table_at_once_leave_one_block_that_loads(self):
        key = f"{'7' * 16}-{'0' * 64}"
        context = multiprocessing.get_context("fork")
        workers = [context.Process(target=_save_often, args=(key, seed)) for seed in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        assert [w.exitcode for w in workers] == [0, 0, 0]
        folder = default_store().key_folder("0" * 64)
        assert [p.name for p in folder.iterdir()] == [tablecache.table_blocks()[key].name]
        assert tablecache.load_table(key)["values"].shape == (50, 40)

    def test_data_sets_with_the_same_images_share_one_block(self):
        images = _dataset().images
        first = Dataset("t", images, pd.DataFrame({"hv": np.arange(6.0)}, index=list(images)))
        second = Dataset("t", images, pd.DataFrame({"hv": np.arange(6.0) + 1}, index=list(images)))  # an edit
        assert first.content_hash() != second.content_hash()
        save_dataset(first)
        save_dataset(second)
        one = extract(first, "two_point", cutoff=2)
        two = extract(second, "two_point", cutoff=2)
        assert len(list(default_store().key_folder(one.key).iterdir())) == 1  # one copy for both tables
        blocks = tablecache.table_blocks()
        assert len(blocks) == 2 and len(set(blocks.values())) == 1
        again = extract(Dataset("t", images, second.properties), "two_point", cutoff=2)
        assert again.provenance["table_cache"] is True
        np.testing.assert_array_equal(np.asarray(again.values), one.values)
        np.testing.assert_array_equal(two.values, one.values)

    def test_a_save_killed_before_meta_json_heals_on_the_next_extraction(self):
        ds = _dataset(n=5)
        save_dataset(ds)
        context = multiprocessing.get_context("fork")
        child = context.Process(target=_extract_killed_before_meta, args=(ds,))
        child.start()
        child.join(120)
        assert child.exitcode == 9
        key = f"{ds.content_hash()}-{extract(ds, 'volume_fraction', store=False).key}"
        assert tablecache.load_table(key) is None  # no meta.json: no table
        table = extract(_dataset(n=5), "volume_fraction")
        assert "table_cache" not in table.provenance and table.provenance["store_hits"] == 5
        np.testing.assert_array_equal(table.values[:, 0], [np.mean(v, dtype=np.float64) for v in ds.images.values()])
        folder = default_store().key_folder(table.key)
        assert [p.name for p in folder.iterdir()] == [tablecache.table_blocks()[key].name]  # the orphan went

    def test_a_saved_data_sets_image_hashes_are_not_recomputed_by_reloading_it(self, monkeypatch):
        from msdash.data import datastore

        ds = _dataset()
        ds_id = save_dataset(ds)
        loads = []
        real = datastore.load_dataset
        monkeypatch.setattr(datastore, "load_dataset", lambda i: loads.append(i) or real(i))
        extract(ds, "volume_fraction")
        extract(ds, "two_point", cutoff=2)
        assert loads == []  # extract hands its hashes to the table cache
        assert tablecache.dataset_hashes(ds_id) == ds.image_hashes()

    def test_wide_labels_are_written_as_their_rule(self):
        labels = WindowLabels(1)
        key = f"{'3' * 16}-{'c' * 64}"
        table = _table(np.zeros((2, 9)))
        table.labels = labels
        assert tablecache.save_table(key, table)
        meta = (tablecache.tables_root() / key / "meta.json").read_text()
        assert '"rule": "window"' in meta and "S2[" not in meta
        assert tablecache.load_table(key)["labels"] == list(labels)

    def test_entries_of_the_earlier_format_are_still_read(self):
        key = f"{'4' * 16}-{'d' * 64}"
        folder = tablecache.tables_root() / key
        folder.mkdir(parents=True)
        values = np.arange(6.0).reshape(3, 2)
        np.save(folder / "values.npy", values)
        meta = {"values_bytes": (folder / "values.npy").stat().st_size, "labels": ["a", "b"], "names": ["x", "y", "z"],
                "errors": [], "params": {}, "provenance": {}}
        (folder / "meta.json").write_text(json.dumps(meta))
        np.testing.assert_array_equal(tablecache.load_table(key)["values"], values)


def _extract_killed_before_meta(ds):
    tablecache.atomic.write_file_atomic = lambda *args, **kwargs: os._exit(9)  # killed after the block
    extract(ds, "volume_fraction")


def _save_often(key, seed):
    values = np.random.default_rng(seed).random((50, 40))
    for _ in range(10):
        assert tablecache.save_table(key, _table(values))


def _table(values):
    n, d = values.shape
    return FeatureTable(values, [f"f{j}" for j in range(d)], [f"s{i}" for i in range(n)])
