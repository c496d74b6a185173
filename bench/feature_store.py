"""Feature store speed: cold extraction vs. a warm (store-hit) repeat, and 50,000 stored rows.

Prints one JSON line. Cold and warm run in the same process on the same 2,000 random 64×64 binary images,
in a throw-away workspace, so the ratio holds on a noisy machine.

    .venv/bin/python bench/feature_store.py
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _extractor():
    try:
        import msdash.features.spectral  # noqa: F401

        return "radial_psd"
    except ImportError:
        return "two_point"


def main(n=2000, size=64, rows=50_000, d=32):
    from msdash.features import extract
    from msdash.features.store import FeatureStore

    rng = np.random.default_rng(0)
    images = {f"img{i:05d}": (rng.random((size, size)) < 0.4).astype(np.float32) for i in range(n)}
    name = _extractor()
    store = FeatureStore()

    started = time.perf_counter()
    cold = extract(images, name, store=store)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    warm = extract(images, name, store=store)
    warm_s = time.perf_counter() - started
    assert warm.provenance["store_hits"] == n and np.array_equal(cold.values, warm.values, equal_nan=True)

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
        "bench": "feature_store", "extractor": name, "n": n, "size": size, "d": int(cold.values.shape[1]),
        "cold_s": round(cold_s, 4), "warm_s": round(warm_s, 4), "speedup": round(cold_s / warm_s, 1),
        "rows_50k": rows, "rows_d": d, "insert_50k_s": round(insert_s, 3), "list_load_50k_s": round(load_s, 3),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as home:
        os.environ["MSDASH_HOME"] = home
        main()
