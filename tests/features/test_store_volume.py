"""The feature store's block files: bytes written per byte kept, kill -9 mid-write, concurrent writers,
stores of earlier versions (one SQLite row per image) still read."""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from msdash.data import atomic
from msdash.features.store import FeatureStore

def _hashes(n, seed=0):
    return [hashlib.sha256(f"{seed}-{i}".encode()).hexdigest() for i in range(n)]


def _values(rows, d, dtype, seed):
    return np.random.default_rng(seed).random((rows, d)).astype(dtype)


def _child(code, home, **kwargs):
    env = dict(os.environ, MSDASH_HOME=str(home))
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


_VOLUME = """
import hashlib, json, numpy as np
from msdash.features.store import FeatureStore

def io():
    with open("/proc/self/io") as f:
        return {{k: int(v) for k, v in (line.split(":") for line in f)}}

rows, d, block, dtype = {rows}, {d}, {block}, "{dtype}"
hashes = [hashlib.sha256(f"0-{{i}}".encode()).hexdigest() for i in range(rows)]
blocks = [np.random.default_rng(s).random((block, d)).astype(dtype) for s in range(rows // block)]
store = FeatureStore()
before = io()
for b, values in enumerate(blocks):
    store.put_many("k", zip(hashes[b * block:(b + 1) * block], values, [None] * block))
after = io()
print(json.dumps({{k: after[k] - before[k] for k in ("wchar", "write_bytes")}}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="bytes written are read from Linux's /proc/self/io")
class TestWriteVolume:
    @pytest.mark.parametrize("dtype", ["float64", "float32"])
    def test_bytes_written_stay_within_one_and_a_half_times_the_values_kept(self, workspace, dtype):
        rows, d, block = 2048, 1089, 256  # two-point with cutoff 16: 33 × 33 features
        child = _child(_VOLUME.format(rows=rows, d=d, block=block, dtype=dtype), workspace)
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        written = json.loads(out)
        kept = rows * d * np.dtype(dtype).itemsize
        # The honest figure of what the process wrote; at least the values themselves.
        assert kept <= written["wchar"] <= 1.5 * kept, (written, kept)
        assert written["write_bytes"] <= 1.5 * kept, (written, kept)
        store, hashes = FeatureStore(), _hashes(rows)
        found = store.get_many(hashes, "k")
        for b in (0, rows // block - 1):
            expected = _values(block, d, dtype, b).astype(np.float64)
            got = np.stack([found[h].values for h in hashes[b * block:(b + 1) * block]])
            np.testing.assert_array_equal(got, expected)
            assert got.dtype == np.float64
        assert store.count("k") == rows


_KILLED = """
import hashlib, os, stat, sys, numpy as np
from msdash.features import store as fs
hashes = [hashlib.sha256(f"0-{{i}}".encode()).hexdigest() for i in range({n})]
block, d = {block}, {d}
fsync, calls = os.fsync, [0]

def stall(fd):  # the third block's data is written: tell the parent, then wait to be killed
    calls[0] += stat.S_ISREG(os.fstat(fd).st_mode)  # files, not their folder
    if calls[0] == 3:
        print("writing", flush=True)
        while True:
            pass
    fsync(fd)

fs.os.fsync = stall if {stall} else fsync
store = fs.FeatureStore()
for b in range(len(hashes) // block):
    rows = np.random.default_rng(b).random((block, d))
    store.put_many("k", zip(hashes[b * block:(b + 1) * block], rows, [None] * block))
    if not {stall}:
        print("block", b, flush=True)
"""


class TestKilled:
    def _whole_blocks_only(self, hashes, block, d):
        store = FeatureStore()
        found = store.get_many(hashes, "k")
        complete = []
        for b in range(len(hashes) // block):
            part = hashes[b * block:(b + 1) * block]
            present = [h in found for h in part]
            assert all(present) or not any(present), f"block {b} is partly stored"
            if all(present):
                np.testing.assert_array_equal(np.stack([found[h].values for h in part]),
                                              np.random.default_rng(b).random((block, d)))
                complete.append(b)
        assert store.count("k") == len(found) == block * len(complete)
        return complete

    def test_kill_while_a_block_is_written_leaves_the_whole_blocks_before_it(self, workspace):
        block, d = 64, 256
        hashes = _hashes(5 * block)
        child = _child(_KILLED.format(n=len(hashes), block=block, d=d, stall=True), workspace)
        assert child.stdout.readline().strip() == "writing"
        folder = FeatureStore().blocks / "k"
        temps = [p for p in folder.iterdir() if p.name.startswith(atomic.TMP_PREFIX)]
        assert len(temps) == 1 and temps[0].stat().st_size > block * d * 8  # the data is there, not yet renamed
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        assert self._whole_blocks_only(hashes, block, d) == [0, 1]
        # The leftover belongs to a dead writer: the next write (or the app's start) removes it.
        FeatureStore().put_many("k", [("late", np.ones(3), None)])
        assert not any(p.name.startswith(atomic.TMP_PREFIX) for p in folder.iterdir())
        assert FeatureStore().count("k") == 2 * block + 1

    def test_kill_at_any_moment_keeps_whole_blocks(self, workspace):
        block, d = 128, 1024
        hashes = _hashes(40 * block)
        child = _child(_KILLED.format(n=len(hashes), block=block, d=d, stall=False), workspace)
        assert child.stdout.readline().startswith("block 0")
        child.stdout.readline()
        os.kill(child.pid, signal.SIGKILL)  # somewhere in a later block
        child.wait(timeout=30)
        complete = self._whole_blocks_only(hashes, block, d)
        assert complete == list(range(len(complete))) and 2 <= len(complete) < 40


_WRITER = """
import sys, threading, numpy as np
from msdash.features.store import FeatureStore
worker, n = int(sys.argv[1]), int(sys.argv[2])
store = FeatureStore()

def write(thread):
    for i in range(n):
        mine = [(f"p{worker}t{thread}-{i}", np.full(8, float(i)), None)]
        shared = [(f"shared-{i}", np.full(8, 1000.0 * worker + thread), None)]
        store.put_many("k" if i % 2 else "other", mine + shared)  # same and other keys at once

threads = [threading.Thread(target=write, args=(t,)) for t in range(3)]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_processes_and_threads_writing_at_once_lose_nothing(workspace):
    processes, n = 3, 40
    FeatureStore()
    env = dict(os.environ, MSDASH_HOME=str(workspace))
    children = [subprocess.Popen([sys.executable, "-c", _WRITER, str(w), str(n)], env=env, stderr=subprocess.PIPE)
                for w in range(processes)]
    for child in children:
        assert child.wait(timeout=120) == 0, child.stderr.read()
    store = FeatureStore()
    for key, parity in (("k", 1), ("other", 0)):
        mine = [f"p{w}t{t}-{i}" for w in range(processes) for t in range(3) for i in range(n) if i % 2 == parity]
        found = store.get_many(mine, key)
        assert len(found) == len(mine)
        assert all(found[h].values.tolist() == [float(h.rsplit("-", 1)[1])] * 8 for h in mine)
        shared = store.get_many([f"shared-{i}" for i in range(n) if i % 2 == parity], key)
        assert len(shared) == n // 2
        writers = {1000.0 * w + t for w in range(processes) for t in range(3)}
        for entry in shared.values():  # one writer's whole row, never a mix
            assert len(set(entry.values.tolist())) == 1 and entry.values[0] in writers
        assert store.count(key) == len(mine) + n // 2


class TestBlocks:
    def test_later_rows_replace_earlier_ones_across_instances_and_threads(self, tmp_path):
        path = tmp_path / "s.sqlite"
        FeatureStore(path).put_many("k", [("a", np.ones(3), None), ("b", None, "dark")])
        FeatureStore(path).put_many("k", [("b", np.full(3, 2.0), None)])
        store = FeatureStore(path)
        store.put_many("k", [("a", None, "now broken")])
        found = store.get_many(["a", "b"], "k")
        assert found["a"] == (None, "now broken") and found["b"].values.tolist() == [2.0] * 3
        assert store.count("k") == 2 and store.count() == 2

    def test_rows_of_several_lengths_and_float32_come_back_exactly(self):
        store = FeatureStore()
        small = np.float32([0.1, 1 / 3])
        wide = np.random.default_rng(0).random(7)
        assert store.put_many("k", [("s", small, None), ("w", wide, None), ("e", None, "bad")]) == 3
        found = store.get_many(["s", "w", "e"], "k")
        assert found["s"].values.dtype == np.float64 and found["s"].values.tolist() == small.astype(np.float64).tolist()
        assert found["w"].values.tolist() == wide.tolist() and found["e"] == (None, "bad")
        assert not found["w"].values.flags.writeable
        assert len(list((store.blocks / "k").glob("*.blk"))) == 2  # one file per row length

    def test_keys_that_are_not_plain_names_and_foreign_files(self):
        store = FeatureStore()
        store.put_many("a/../b c", [("h", np.ones(2), None)])
        store.put_many("k", [("h", np.zeros(2), None)])
        (store.blocks / "k" / "notes.txt").write_text("not a block")
        assert store.get_many(["h"], "a/../b c")["h"].values.tolist() == [1.0, 1.0]
        assert store.get_many(["h"], "k")["h"].values.tolist() == [0.0, 0.0]
        assert store.count() == 2 and store.clear("a/../b c") == 1 and store.count() == 1


def _legacy_store(path):
    """A store as earlier versions wrote it: one SQLite row per (image, extractor), 64 KiB pages, WAL."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA page_size = 65536")
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript("""
        CREATE TABLE features (image_hash TEXT NOT NULL, extractor_key TEXT NOT NULL, "values" BLOB, error TEXT,
            PRIMARY KEY (image_hash, extractor_key)) WITHOUT ROWID;
        CREATE TABLE tables (dataset_id TEXT NOT NULL, extractor_key TEXT NOT NULL, extractor TEXT NOT NULL,
            params_json TEXT NOT NULL, n INTEGER NOT NULL, d INTEGER NOT NULL, created TEXT NOT NULL,
            provenance_json TEXT NOT NULL, PRIMARY KEY (dataset_id, extractor_key));""")
    rows = [(f"old{i}", "k", np.arange(3.0 + i).astype("<f8").tobytes(), None) for i in range(1000)]
    db.executemany('INSERT INTO features VALUES (?, ?, ?, ?)', rows + [("bad", "k", None, "too dark"),
                                                                        ("x", "k2", np.ones(1).tobytes(), None)])
    db.execute("INSERT INTO tables VALUES ('ds', 'k', 'toy', '{}', 1000, 3, '2024-01-01T00:00:00+00:00', '{}')")
    db.close()


class TestEarlierVersions:
    def test_rows_of_an_earlier_store_are_read_counted_replaced_and_cleared(self, workspace):
        path = workspace / "features" / "features.sqlite"
        path.parent.mkdir(parents=True)
        _legacy_store(path)
        store = FeatureStore()
        found = store.get_many([f"old{i}" for i in range(1000)] + ["bad", "new"], "k")
        assert len(found) == 1001 and found["old999"].values.tolist() == list(np.arange(1002.0))
        assert found["bad"] == (None, "too dark") and store.list_tables("ds")[0]["n"] == 1000
        store.put_many("k", [("old5", np.zeros(2), None), ("new", np.ones(2), None)])
        again = FeatureStore().get_many(["old5", "old6", "new"], "k")
        assert again["old5"].values.tolist() == [0.0, 0.0] and len(again["old6"].values) == 9
        assert store.count("k") == 1002 and store.count() == 1003
        assert store.clear("k") == 1002 and store.count() == 1 and store.list_tables("ds") == []
        assert store.get_many(["x"], "k2")["x"].values.tolist() == [1.0]
