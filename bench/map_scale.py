"""Map at scale: PCA of 50,000 × 64 features (ours vs scikit-learn, same run) and a 50,000-point map figure.

Prints one JSON line.

    .venv/bin/python bench/map_scale.py
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from msdash.maps import pca_map  # noqa: E402
from msdash.plots import map_figure  # noqa: E402

N, D, REPEATS = 50_000, 64, 3


def _best_seconds(function, repeats=REPEATS):
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def main():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D)) @ rng.normal(size=(D, D))
    names = np.array([f"s{i:06d}" for i in range(N)])

    ours_s, result = _best_seconds(lambda: pca_map(X, n_components=30))
    sklearn_s, reference = _best_seconds(lambda: PCA(n_components=30, svd_solver="full").fit(X))
    max_ratio_diff = float(np.abs(result.explained_variance_ratio - reference.explained_variance_ratio_).max())

    build_s, fig = _best_seconds(lambda: map_figure(result.coords, names, color=X[:, 0], color_label="feature 0"))
    json_s, text = _best_seconds(fig.to_json, repeats=1)
    print(json.dumps({
        "bench": "map_scale",
        "n": N,
        "d": D,
        "pca_s": round(ours_s, 4),
        "sklearn_pca_s": round(sklearn_s, 4),
        "pca_max_ratio_diff": max_ratio_diff,
        "figure_build_s": round(build_s, 4),
        "figure_to_json_s": round(json_s, 4),
        "figure_json_mb": round(len(text.encode()) / 1e6, 2),
    }))


if __name__ == "__main__":
    main()
