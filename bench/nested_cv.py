"""Benchmark: msdash's nested CV (one decomposition per training set) vs the plain scikit-learn protocol.

Prints one JSON line. Model ``pr`` (PCA → degree-2 polynomial → OLS), candidates 1–12 PCs, outer 10-fold,
inner 5-fold, MAPE, seed 42 — study B's protocol — on two seeded synthetic tables of 149 samples:

- 149 × 25,281 (study B's two-point features: a 159 × 159 window), and
- 149 × 1,024 (32 × 32).

Features are smooth random maps: 6 latent factors times smooth loading fields (Gaussian-filtered noise) plus
white noise and an offset; the target (hardness-like, ~400) depends on three of the factors plus noise.

The plain protocol is ``GridSearchCV(Pipeline([PCA(svd_solver="full"), PolynomialFeatures(2,
include_bias=False), LinearRegression(tol=eps)]), {"pca__n_components": 1..12}, cv=KFold(5, shuffle, 42),
scoring=neg MAPE)`` on each outer training set, written out here (no constant column: OLS fits the
intercept, and with the eps cutoff a constant column makes the fit rounding-dependent — see
:mod:`msdash.models.presets`). At 25,281 features each of its PCA fits is an SVD of a ~107 × 25,281
matrix (~0.5–2 s), 61 per outer fold. To keep the bench within a few minutes the plain protocol runs outer
fold after outer fold until ``PLAIN_BUDGET_S`` seconds are spent (at least one fold) and its time is scaled to
all 10 folds: ``plain_outer_folds_timed`` says how many ran, ``plain_timed_s`` what they took, ``plain_s`` the
scaled figure; scores and chosen PCs are compared on those folds. (All 10 folds at 25,281 were checked once
outside the bench: identical chosen PCs, largest fold-score difference 2.6e-14 %.) Ours runs all 10 folds,
sequentially (``n_jobs=None``), best of 3.

Run: ``.venv/bin/python bench/nested_cv.py``
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_percentage_error
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from msdash.models import nested_cv  # noqa: E402

N_SAMPLES, CANDIDATES, OUTER, INNER, SEED = 149, list(range(1, 13)), 10, 5, 42
PLAIN_BUDGET_S = 60.0


def smooth_table(n, side, seed, n_latent=6):
    """``n`` smooth random ``side × side`` maps, flattened, and a target driven by three latent factors."""
    rng = np.random.default_rng(seed)
    k = np.fft.fftfreq(side)
    kernel = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * 0.05 ** 2))
    fields = np.fft.ifft2(np.fft.fft2(rng.normal(size=(n_latent, side, side))) * kernel).real
    fields /= fields.std(axis=(1, 2), keepdims=True)
    latent = rng.normal(size=(n, n_latent)) * np.linspace(1.0, 0.3, n_latent)
    X = 0.3 + 0.05 * (latent @ fields.reshape(n_latent, -1)) + 0.02 * rng.normal(size=(n, side * side))
    y = 400 + 60 * latent[:, 0] + 25 * latent[:, 1] ** 2 + 15 * latent[:, 2] + 5 * rng.normal(size=n)
    return X, y


def plain_protocol(X, y, budget_s=np.inf):
    """Study B's protocol with scikit-learn only, outer fold after outer fold until ``budget_s`` is spent."""
    ols = LinearRegression()
    if "tol" in ols.get_params():
        ols.set_params(tol=np.finfo(float).eps)
    # no constant column: OLS fits the intercept (see msdash.models.presets on why the column breaks eps-OLS)
    pipeline = Pipeline([("pca", PCA(svd_solver="full")), ("poly", PolynomialFeatures(2, include_bias=False)),
                         ("ols", ols)])
    scores, chosen = [], []
    start = time.perf_counter()
    for train, test in KFold(OUTER, shuffle=True, random_state=SEED).split(X):
        if scores and time.perf_counter() - start > budget_s:
            break
        search = GridSearchCV(pipeline, {"pca__n_components": CANDIDATES},
                              cv=KFold(INNER, shuffle=True, random_state=SEED),
                              scoring="neg_mean_absolute_percentage_error")
        search.fit(X[train], y[train])
        scores.append(100 * mean_absolute_percentage_error(y[test], search.predict(X[test])))
        chosen.append(int(search.best_params_["pca__n_components"]))
    return np.array(scores), chosen


def compare(side):
    X, y = smooth_table(N_SAMPLES, side, seed=side)
    ours_times = []
    for _ in range(3):
        start = time.perf_counter()
        ours = nested_cv(X, y, model="pr", n_components=CANDIDATES, outer=OUTER, inner=INNER, random_state=SEED)
        ours_times.append(time.perf_counter() - start)
    start = time.perf_counter()
    plain_scores, plain_chosen = plain_protocol(X, y, PLAIN_BUDGET_S)
    plain_timed = time.perf_counter() - start
    plain_folds = len(plain_scores)
    plain_s = plain_timed * OUTER / plain_folds
    ours_s = min(ours_times)
    return {
        "n": N_SAMPLES, "d": X.shape[1], "ours_s": round(ours_s, 3), "plain_s": round(plain_s, 2),
        "plain_timed_s": round(plain_timed, 2), "plain_outer_folds_timed": plain_folds,
        "plain_scaled_to_all_folds": plain_folds < OUTER, "speedup": round(plain_s / ours_s, 1),
        "max_fold_score_diff_pct": float(np.max(np.abs(ours.fold_scores[:plain_folds] - plain_scores))),
        "chosen_pcs_agree": ours.fold_params[:plain_folds] == plain_chosen,
        "ours_chosen_pcs": ours.fold_params, "ours_mape_pct_mean": round(float(ours.fold_scores.mean()), 3),
    }


def main():
    cases = [compare(159), compare(32)]
    print(json.dumps({"bench": "nested_cv", "model": "pr", "candidates": "1-12", "outer": OUTER, "inner": INNER,
                      "scoring": "mape", "cases": cases}))


if __name__ == "__main__":
    main()
