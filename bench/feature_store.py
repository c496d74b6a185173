"""Feature store speed: cold extraction vs. a warm (store-hit) repeat, and 50,000 stored rows.

Prints one JSON line. Cold and warm run in the same process on the same 2,000 random 64×64 binary images,
in a throw-away workspace, so the ratio holds on a noisy machine. Two extractors: ``two_point`` (default
cutoff, 4,225 features) and the cheap ``radial_psd`` (32 features), whose cold run is so short that the warm
path's fixed costs bound the ratio. ``warm_s`` is the app's path (a Dataset remembers its image hashes);
``warm_rehash_s`` hashes every image again (a plain dict of arrays) and reads the per-image rows.
Warm times include reading every value (the whole-table cache is memory-mapped).

``volume``: bytes written per byte kept, each side in a child process of its own (``wchar`` of
/proc/<pid>/io: every byte passed to write(2); ``write_bytes``: bytes sent to the disk, counted as pages are
dirtied). 50,000 rows × 4,225 features (two-point at 64×64) in ``put_many`` calls of 1,024 rows as
``extract`` does, float64 and float32; the baseline is the minimum, one ``np.save`` of the whole table.
``before`` is the SQLite store of earlier versions (64 KiB pages, WAL, one ``INSERT OR REPLACE``
transaction of 1,024 random-key rows per call, reproduced here as it was) on fewer rows (``before_rows``:
at 50,000 rows it writes ~19 GB and takes many minutes); its ratio only grows with the row count.
``get_1000_s``: ``get_many`` of 1,000 random hashes out of the 50,000 rows.

    .venv/bin/python bench/feature_store.py                      # ~40 s
    .venv/bin/python bench/feature_store.py --before-rows 50000  # ~4 min: the SQLite store at full size
    .venv/bin/python bench/feature_store.py --workspace 5000     # workspace size only (50000: the issue's set)

``--workspace N``: workspace bytes / (decoded source images + feature values) after saving N random 64×64
binary images (bool, 1 byte a pixel) as a data set and extracting two-point (cutoff 32: 4,225 features) and the
volume fraction, as the app does; feature values counted as float64 (8 bytes each). ``before`` runs the same
in a fresh workspace with the table cache of earlier versions (a ``values.npy`` copy of each table beside the
store's blocks, reproduced here as it was). Each side in a child process of its own, with its wall time, bytes
written (``wchar``), peak RSS and the time of the warm read of the 4,225-d table (``extract`` again, every value
summed).

Measured here (2 cores shared with other jobs, ext4), ``--workspace 50000``: now 1.013 (1.92 GB for 0.20 GB of
images + 1.69 GB of values; save + both extractions 77.8 s, warm read of the 4,225-d table 3.3 s, peak RSS
3.84 GB), before 1.903 (3.61 GB; 78.5 s, 3.0 s, 3.61 GB). Both write ~3.6 GB while extracting: the store's
blocks as computed, then the table once. The extra 0.23 GB of peak RSS now is the saved data set loaded once
to hash its images, since ``extract`` does not pass the hashes it has to the table cache.

Measured here (2 cores, ext4): now 1.002 (float64) and 1.005 (float32) of the values kept, np.save 1.000;
before 6.1 at 5,000 rows and 11.5 at 50,000 rows (19.5 GB written for 1.69 GB kept, a 3.83 GB file, 188 s
against 10 s now).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _cold_warm(dataset, name, store, n):
    """Seconds of a cold call, a warm call on the same Dataset (hashes remembered) and on a plain dict."""
    from msdash.features import extract

    started = time.perf_counter()
    cold = extract(dataset, name, store=store)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    warm = extract(dataset, name, store=store)
    float(np.sum(warm.values))  # the values are memory-mapped: count reading them all
    warm_s = time.perf_counter() - started
    started = time.perf_counter()
    warm_dict = extract(dict(dataset.images), name, store=store)  # pays the hashing again
    warm_dict_s = time.perf_counter() - started
    for again in (warm, warm_dict):
        assert again.provenance["store_hits"] == n
        assert np.array_equal(cold.values, again.values, equal_nan=True)
    return {"d": int(cold.values.shape[1]), "cold_s": round(cold_s, 4), "warm_s": round(warm_s, 4),
            "warm_rehash_s": round(warm_dict_s, 4), "speedup": round(cold_s / warm_s, 1),
            "speedup_rehash": round(cold_s / warm_dict_s, 1)}


def _io():
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(":") for line in f)}


def _hashes(n, seed):
    import hashlib

    return [hashlib.sha256(f"{seed}-{i}".encode()).hexdigest() for i in range(n)]  # random order, as images


def _legacy_put(path, key, items):
    """One ``put_many`` of the SQLite store up to this version, as it was (connection per call)."""
    import sqlite3

    db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    for pragma in ("page_size = 65536", "journal_mode=WAL", "busy_timeout = 30000", "synchronous = NORMAL",
                   "cache_size = -65536", "mmap_size = 1073741824"):
        db.execute(f"PRAGMA {pragma}")
    db.execute('CREATE TABLE IF NOT EXISTS features (image_hash TEXT NOT NULL, extractor_key TEXT NOT NULL, '
               '"values" BLOB, error TEXT, PRIMARY KEY (image_hash, extractor_key)) WITHOUT ROWID')
    db.execute("BEGIN IMMEDIATE")
    db.executemany('INSERT OR REPLACE INTO features (image_hash, extractor_key, "values", error) VALUES (?, ?, ?, ?)',
                   [(h, key, np.ascontiguousarray(v, dtype="<f8").tobytes(), e) for h, v, e in items])
    db.execute("COMMIT")
    db.close()


def volume_child(kind, rows, d, dtype, block=1024):
    """In a fresh process: write ``rows`` × ``d`` values as ``kind`` does; print the bytes written."""
    from msdash.features.store import FeatureStore

    home = Path(os.environ["MSDASH_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    hashes, key = _hashes(rows, 0), "0" * 64
    store = FeatureStore() if kind == "now" else None
    rng = np.random.default_rng(0)
    whole = np.empty((rows, d), dtype=dtype) if kind == "np.save" else None
    before = _io()
    started = time.perf_counter()
    for start in range(0, rows, block):
        values = rng.random((min(block, rows - start), d)).astype(dtype)
        items = list(zip(hashes[start:start + block], values, [None] * len(values)))
        if kind == "now":
            store.put_many(key, items)
        elif kind == "before":
            _legacy_put(home / "features.sqlite", key, items)
        else:
            whole[start:start + len(values)] = values
    if kind == "np.save":
        np.save(home / "table.npy", whole)
        with open(home / "table.npy", "rb") as f:
            os.fsync(f.fileno())
    seconds = time.perf_counter() - started
    after = _io()
    kept = rows * d * np.dtype(dtype).itemsize
    out = {"rows": rows, "kept_bytes": kept, "wchar": after["wchar"] - before["wchar"],
           "write_bytes": after["write_bytes"] - before["write_bytes"], "seconds": round(seconds, 2),
           "disk_bytes": sum(f.stat().st_size for f in home.rglob("*") if f.is_file())}
    out["ratio_wchar"] = round(out["wchar"] / kept, 3)
    out["ratio_write_bytes"] = round(out["write_bytes"] / kept, 3)
    if kind == "now":
        ask = [hashes[i] for i in np.random.default_rng(1).choice(rows, 1000, replace=False)]
        started = time.perf_counter()
        found = FeatureStore().get_many(ask, key)
        out["get_1000_s"] = round(time.perf_counter() - started, 3)
        assert len(found) == 1000
    print(json.dumps(out))


def _volume(kind, rows, d, dtype):
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, MSDASH_HOME=home)
        done = subprocess.run([sys.executable, __file__, "--volume-child", kind, str(rows), str(d), dtype],
                              env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def volume(rows=50_000, d=4225, before_rows=5_000):
    """Bytes written / bytes kept: the store now, before, and one np.save of the whole table."""
    out = {"d": d, "put_rows": 1024}
    for dtype in ("float64", "float32"):
        out[dtype] = {"now": _volume("now", rows, d, dtype), "np.save": _volume("np.save", rows, d, dtype)}
    out["float64"]["before"] = _volume("before", before_rows, d, "float64")
    return out


def _old_save_table(table_key, table, **_):
    """The table cache of earlier versions, as it was: its own float64 ``values.npy`` plus ``meta.json``."""
    from msdash.data import atomic
    from msdash.features import tablecache

    folder = tablecache._folder(table_key)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "values.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False,
                                                 "shape": table.values.shape})
        for start in range(0, len(table.values), 4096):
            f.write(np.ascontiguousarray(table.values[start:start + 4096], dtype="<f8").data)
        f.flush()
        os.fsync(f.fileno())
    meta = {"values_bytes": path.stat().st_size, "labels": [str(x) for x in table.labels],
            "names": list(table.names), "errors": [[e.name, e.message] for e in table.errors],
            "params": table.params, "provenance": table.provenance}
    atomic.write_file_atomic(folder / "meta.json", json.dumps(meta, default=str).encode())
    return True


def workspace_child(kind, n, size=64):
    """In a fresh process and workspace: save a data set, extract as the app does, measure the workspace."""
    import resource

    from msdash.data.dataset import Dataset
    from msdash.data.datastore import save_dataset
    from msdash.features import extract, tablecache
    from msdash.data.imagestore import Images

    if kind == "before":
        tablecache.save_table = _old_save_table
    rng = np.random.default_rng(0)
    images = Images({f"img{i:05d}": rng.random((size, size)) < 0.4 for i in range(n)})  # kept as bool, as uploads
    source = sum(a.nbytes for a in images.raw_values())
    before = _io()
    started = time.perf_counter()
    save_dataset(Dataset("bench", images))
    values = 0
    for name, params in (("two_point", {"cutoff": 32}), ("volume_fraction", {})):
        table = extract(Dataset("bench", images), name, **params)
        values += table.values.size * 8
    seconds = time.perf_counter() - started
    written = _io()["wchar"] - before["wchar"]
    started = time.perf_counter()
    warm = extract(Dataset("bench", images), "two_point", cutoff=32)
    float(np.sum(warm.values))
    warm_s = time.perf_counter() - started
    assert warm.provenance.get("table_cache") is True
    home = Path(os.environ["MSDASH_HOME"])
    disk = sum(f.stat().st_size for f in home.rglob("*") if f.is_file())
    print(json.dumps({"n": n, "source_bytes": source, "values_bytes": values, "workspace_bytes": disk,
                      "ratio": round(disk / (source + values), 3), "written_bytes": written,
                      "seconds": round(seconds, 1), "warm_read_4225_s": round(warm_s, 3),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def workspace(n):
    """Workspace size now and with the table cache of earlier versions, each in a child process."""
    out = {"bench": "workspace_size"}
    for kind in ("now", "before"):
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, MSDASH_HOME=home)
            done = subprocess.run([sys.executable, __file__, "--workspace-child", kind, str(n)], env=env,
                                  capture_output=True, text=True, check=True)
        out[kind] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main(n=2000, size=64, rows=50_000, d=32, before_rows=5_000):
    from msdash.data.dataset import Dataset
    from msdash.features.store import FeatureStore

    rng = np.random.default_rng(0)
    images = {f"img{i:05d}": (rng.random((size, size)) < 0.4).astype(np.float32) for i in range(n)}
    dataset = Dataset("bench", images)
    store = FeatureStore()
    figures = {name: _cold_warm(dataset, name, store, n) for name in ("two_point", "radial_psd")}

    key = "bench-50k"
    hashes = [f"{i:064x}" for i in range(rows)]
    block = rng.random((rows, d))
    started = time.perf_counter()
    store.put_many(key, ((h, v, None) for h, v in zip(hashes, block)))
    insert_s = time.perf_counter() - started
    started = time.perf_counter()
    count = store.count(key)
    loaded = store.get_many(hashes, key)
    matrix = np.stack([loaded[h].values for h in hashes])
    load_s = time.perf_counter() - started
    assert count == rows and np.array_equal(matrix, block)

    print(json.dumps({
        "bench": "feature_store", "n": n, "size": size, **figures,
        "rows_50k": rows, "rows_d": d, "insert_50k_s": round(insert_s, 3), "list_load_50k_s": round(load_s, 3),
        "volume": volume(before_rows=before_rows), "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--workspace-child"]:
        workspace_child(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    if sys.argv[1:2] == ["--workspace"]:
        print(json.dumps(workspace(int(sys.argv[2]) if sys.argv[2:3] else 5000)))
        sys.exit(0)
    if sys.argv[1:2] == ["--volume-child"]:
        kind, rows, d, dtype = sys.argv[2:6]
        volume_child(kind, int(rows), int(d), dtype)
        sys.exit(0)
    with tempfile.TemporaryDirectory() as home:
        os.environ["MSDASH_HOME"] = home
        main(before_rows=int(sys.argv[2]) if sys.argv[1:2] == ["--before-rows"] else 5_000)
