"""Benchmark: the two-part out-of-distribution check of the Predict page against the old inside-only check.

Prints one JSON line. Table of study B's size with a wide two-point feature set: 149 training samples ×
25,281 features (a 159 × 159 window), 6 latent factors + noise, 30 new samples; model ``pr`` with 6 PCs.

Baseline, timed in the same run: the old check (``model_space`` of both tables + nearest-neighbour distances
inside the retained PCs, which is all ``ood_flags`` did before). ``ood_check`` adds the residual outside the PCs
and its out-of-fold calibration (10 PCA fits on the folds' training rows, Gram route). Also reported: the
rate at which the 30 in-distribution new samples are flagged by each part, and whether a sample moved 10× the
data spread orthogonally to the PCs is flagged by the old and the new check. Peak RSS is the process's
(``ru_maxrss``) after everything.

Run: ``.venv/bin/python bench/predict_ood.py``
"""

import json
import resource
import time

import numpy as np


from msdash.models import make_model
from msdash.ood import ood_check
from msdash.predict import model_space, nearest_distance


def old_check(pipeline, X_train, X_new):
    train, new = model_space(pipeline, X_train), model_space(pipeline, X_new)
    threshold = np.percentile(nearest_distance(train, train, exclude_self=True), 99)
    return nearest_distance(train, new) > threshold


def best_of(repeats, action):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = action()
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    rng = np.random.default_rng(0)
    n, d, m = 149, 25_281, 30
    latent = rng.normal(size=(n + m, 6)) * [6, 5, 4, 3, 2, 1]
    X = latent @ rng.normal(size=(6, d)) / 20 + 0.05 * rng.normal(size=(n + m, d))
    y = 300 + 10 * latent[:, 0] + latent[:, 1] ** 2
    X_train, X_new = X[:n], X[n:]
    pipeline = make_model("pr", n_components=6).fit(X_train, y[:n])
    components = pipeline.named_steps["pca"].components_
    direction = rng.normal(size=d)
    direction -= components.T @ (components @ direction)
    spread = np.sqrt(((X_train - X_train.mean(axis=0)) ** 2).sum(axis=1).mean())
    moved = X_new[:1] + 10 * spread * direction / np.linalg.norm(direction)
    base_s, _ = best_of(3, lambda: old_check(pipeline, X_train, X_new))
    new_s, check = best_of(3, lambda: ood_check(pipeline, X_train, X_new))
    moved_old = bool(old_check(pipeline, X_train, moved)[0])
    moved_new = ood_check(pipeline, X_train, moved)
    print(json.dumps({
        "bench": "predict_ood", "n_train": n, "n_features": d, "n_new": m, "pcs": 6,
        "baseline_inside_only_s": round(base_s, 3), "two_part_check_s": round(new_s, 3),
        "slowdown_vs_baseline": round(new_s / base_s, 2),
        "in_distribution_flagged_inside": float(check.inside.mean()),
        "in_distribution_flagged_outside": float(check.outside.mean()),
        "orthogonal_10x_flagged_old": moved_old, "orthogonal_10x_flagged_new": bool(moved_new.flags[0]),
        "orthogonal_10x_part": str(moved_new.reasons()[0]),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
