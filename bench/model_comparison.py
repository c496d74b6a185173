"""Benchmark: what a Models-page comparison costs on top of its nested CVs (repeats, baseline, common samples).

Prints one JSON line. One ``run_comparison`` (model ``pr``, outer 10 × inner 5, MAPE, 3 repeats) of two
feature sets of study B's size (149 samples × 1,024 and × 4,096 smooth random features; the second has 5
NaN rows, so both are compared on the 144 common rows) against the fair baseline: the same 6 ``nested_cv``
calls (same rows, seeds and shuffles) timed directly in the same process, after one untimed warm-up, the
two sides alternating, best of 3 each. ``overhead_pct`` is the extra
time of everything else the comparison does (the common-sample check, the table copies per shuffled repeat,
the constant baseline, the bookkeeping); ``same_scores`` checks that both gave identical fold scores.
``peak_rss_mb`` is the process's high-water mark.

Run: ``.venv/bin/python bench/model_comparison.py``
"""

import json
import resource
import time

import numpy as np
import pandas as pd

ROUNDS = 3



def tables(n=149, seed=0):
    from msdash.features.table import FeatureTable

    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 4))
    names = [f"s{i:03d}" for i in range(n)]
    y = 400 + 30 * latent[:, 0] + 10 * latent[:, 1] ** 2 + 5 * rng.normal(size=n)
    out = {}
    for d in (1024, 4096):
        X = latent @ rng.normal(size=(4, d)) + 0.3 * rng.normal(size=(n, d))
        if d == 4096:
            X[[3, 40, 77, 100, 140]] = np.nan
        out[f"set{d}"] = FeatureTable(values=X, labels=[str(i) for i in range(d)], names=names, errors=[],
                                      extractor=f"set{d}", params={}, provenance={}, key=f"k{d}", kind="")
    return names, y, out


def main():
    from msdash.data.dataset import Dataset
    from msdash.models import nested_cv
    from msdash.models.run import run_comparison

    names, y, sets = tables()
    dataset = Dataset("bench", {n: np.zeros((4, 4), np.float32) for n in names}, pd.DataFrame({"hv": y}, index=names))
    options = dict(model="pr", outer=10, inner=5, scoring="mape", standardize=False)

    keep = np.isfinite(sets["set4096"].values).all(axis=1)

    def comparison():
        return run_comparison(dataset, sets, target="hv", models=["pr"], outer=10, inner=5, repeats=3)

    def direct():
        scores = []
        for label in sets:
            X, target = sets[label].values[keep], y[keep]
            for i, seed in enumerate((42, 43, 44)):
                order = np.arange(len(target)) if i == 0 else np.random.default_rng(seed).permutation(len(target))
                scores.append(nested_cv(X[order], target[order], random_state=seed, **options).fold_scores)
        return scores

    direct()  # warm-up (imports, BLAS threads), not timed
    times = {"comparison": [], "direct": []}
    for _ in range(ROUNDS):  # alternating, best of ROUNDS each: the machine's load hits both sides alike
        for name, side in (("comparison", comparison), ("direct", direct)):
            started = time.perf_counter()
            result = side()
            times[name].append(time.perf_counter() - started)
            if name == "comparison":
                runs = result
            else:
                scores = result
    comparison_s, direct_s = min(times["comparison"]), min(times["direct"])
    ours = [r.fold_scores for run in runs if not run.baseline for r in run.repeats]
    direct_scores = scores
    print(json.dumps({
        "bench": "model_comparison", "samples": int(keep.sum()), "feature_sets": [1024, 4096], "repeats": 3,
        "comparison_s": round(comparison_s, 2), "direct_nested_cv_s": round(direct_s, 2),
        "overhead_pct": round(100 * (comparison_s - direct_s) / direct_s, 1),
        "same_scores": all(np.array_equal(a, b) for a, b in zip(ours, direct_scores)),
        "baseline_mape_pct": round(next(run.mean_score for run in runs if run.baseline), 3),
        "pr_mape_pct": {run.feature_set: round(run.mean_score, 3) for run in runs if not run.baseline},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
