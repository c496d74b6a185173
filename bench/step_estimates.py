"""Calibrate and check the step-time estimates of the Map and Models pages (``msdash.app.features.estimate_seconds``).

Times PCA maps, UMAP maps and nested CV on random tables of a few sizes, and prints one JSON line with, per
step and size, the measured seconds, the estimate, their ratio and the constant the measurement implies
(the figure to put into ``features.COST`` after a change of machine or code). The estimate only has to get
the order of magnitude right: the page uses it to say "about 3 min" before a step starts.

    .venv/bin/python bench/step_estimates.py
"""

import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("MSDASH_WARM_UMAP", "0")


def _seconds(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main():
    from msdash.app.features import COST, estimate_seconds, step_work
    from msdash.maps import pca_map, umap_map, warm_umap
    from msdash.models import nested_cv

    rng = np.random.default_rng(0)
    rows = []

    def record(step, n, d, seconds, **options):
        work = step_work(step, n, d, **options)
        estimate = estimate_seconds(step, n, d, **options)
        rows.append({"step": step, "n": n, "d": d, **options, "seconds": round(seconds, 3),
                     "estimate_s": round(estimate, 3), "ratio": round(seconds / estimate, 2),
                     "implied_constant": float(f"{seconds / work:.3g}") if work else None})

    for n, d in ((20_000, 64), (2_000, 2_000), (600, 20_000), (10_000, 1_000)):
        X = rng.normal(size=(n, d)).astype(np.float32)
        record("pca", n, d, _seconds(lambda: pca_map(X, n_components=30)))
    warm_umap()
    umap_map(rng.normal(size=(4_200, 8)), n_neighbors=15)  # compile the approximate-neighbour path too
    for n, d in ((5_000, 50), (5_000, 500), (20_000, 50)):
        X = rng.normal(size=(n, d))
        record("umap", n, d, _seconds(lambda: umap_map(X, n_neighbors=15)))
    for n, d, model in ((300, 4_225, "pr"), (2_000, 500, "pr"), (5_000, 100, "pr"), (1_000, 64, "rbf-svr"),
                        (2_000, 64, "knn")):
        X = rng.normal(size=(n, d))
        y = X[:, 0] + 0.1 * rng.normal(size=n) + 10
        record("nested_cv", n, d, _seconds(lambda: nested_cv(X, y, model=model, outer=5, inner=5)),
               model=model, outer=5, inner=5)
    print(json.dumps({"bench": "step_estimates", "threads": os.cpu_count(), "constants": COST, "steps": rows}))


if __name__ == "__main__":
    main()
