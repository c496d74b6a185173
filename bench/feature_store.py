"""Feature store speed: cold extraction vs. a warm (store-hit) repeat, and 50,000 stored rows.

Prints one JSON line. Cold and warm run in the same process on the same 2,000 random 64×64 binary images,
in a throw-away workspace, so the ratio holds on a noisy machine. Two extractors: ``two_point`` (default
cutoff, 4,225 features) and the cheap ``radial_psd`` (32 features), whose cold run is so short that the warm
path's fixed costs bound the ratio. ``warm_s`` is the app's path (a Dataset remembers its image hashes);
``warm_rehash_s`` hashes every image again (a plain dict of arrays) and reads the per-image rows.
Warm times include reading every value (the whole-table cache is memory-mapped).

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


def main(n=2000, size=64, rows=50_000, d=32):
    from msdash.dataset import Dataset
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
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as home:
        os.environ["MSDASH_HOME"] = home
        main()
