"""Benchmark: msdash's nested CV vs the plain scikit-learn protocol — wall time and peak RSS of each side.

Prints one JSON line. Study B's protocol everywhere: model ``pr`` (PCA → degree-2 polynomial → OLS),
candidates 1–12 PCs, outer 10-fold, inner 5-fold, MAPE, seed 42 (the app's defaults). Tables are seeded smooth
random maps (6 latent factors times Gaussian-filtered loading fields, plus white noise and an offset; a
hardness-like target ~400 from three factors plus noise):

- ``149x25281`` (study B's two-point window 159 × 159) and ``149x1024`` (32 × 32): wide, Gram route;
- ``10000x400``: tall, covariance route;
- ``45000x4225``: the issue's 50,000 64×64 micrographs' two-point table (90 % in the outer training sets),
  1.52 GB in float64.
- ``50000x4225-2pt``: a real two-point table, the tall case of issue 13: periodic autocorrelation windows
  (cutoff 32, 65 × 65) of 50,000 seeded 64×64 two-phase fields (``msdash.synthetic.fields.two_phase``, volume
  fraction 0.2–0.8 and correlation length 1.5–6 px varying), target from both plus noise. Every window value
  appears twice (S2(r) = S2(−r)), which the covariance route merges (2,113 distinct columns).

Every side runs in its own child process (``--child``), so ``peak_rss_mb`` is that process's own high-water
mark (``ru_maxrss``): Python, the libraries, the table (``table_rss_mb`` is the peak right after generating it,
in row blocks) and the run. Both sides run under the same BLAS thread limit (threadpoolctl,
``BENCH_THREADS``, default all cores); msdash may use fewer threads on small per-split problems.

The plain side is ``GridSearchCV(Pipeline([PCA, PolynomialFeatures(2, include_bias=False),
LinearRegression(tol=eps)]), {"pca__n_components": 1..12}, cv=KFold(5, shuffle, 42), scoring=neg MAPE)`` on
every outer fold, timed over **all 10 outer folds**. Its PCA solver is scikit-learn's best exact one for the
shape: ``"covariance_eigh"`` (d×d covariance eigenproblem, scikit-learn >= 1.5) for tall tables, ``"full"``
(LAPACK SVD) for wide ones, where the covariance would be d×d and larger. On ``45000x4225`` the plain protocol
is not run to the end: it is 610 PCA fits, each copying a 36,000 × 4,225 training set (1.2 GB) and forming its
covariance (hours on 2 cores). One such fit is timed and measured instead (``plain_one_fit_s``,
``plain_peak_rss_mb``) and ``plain_s_estimated`` = 610 × that — an estimate, flagged as such. With
``--before PATH`` (a checkout of an earlier msdash, e.g. ``git archive <commit> | tar -x -C PATH``) the same
case is also run with that code for at most ``BEFORE_LIMIT_S`` seconds, reporting its peak RSS. The same
one-fit estimate is used for every case above 10,000 rows (``plain_timed`` says so in the JSON).

Scores and chosen PCs of both sides are compared on every timed fold (``max_fold_score_diff_pct``,
``chosen_pcs_agree``).

``ours_fallbacks`` counts the training sets whose components came from an SVD (the covariance route was not
accurate enough) and ``ours_fold_factors`` those of them whose R factor came from one QR per inner fold
(:mod:`msdash.models.foldqr`). ``--per-set`` also runs msdash with that off (a QR of every training set that
falls back, the route before it) on the same case, in the same run (``per_set``). ``--outer-folds N`` times only
the first N of the 10 outer folds of msdash's sides (through ``nested_cv``'s callback, which stops the run
there; no scores then) and reports ``ours_s_per_outer_fold`` and ``ours_s_estimated`` (10 × that) beside
the measured seconds: the ``45000x4225`` case takes most of an hour on 2 cores.

Run: ``.venv/bin/python bench/nested_cv.py [--cases 149x25281,149x1024,10000x400,45000x4225] [--before PATH]
[--per-set] [--outer-folds N]``; the issue-13 tall table without repeated columns:
``bench/nested_cv.py --cases 45000x4225 --per-set --outer-folds 1``.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES, OUTER, INNER, SEED = list(range(1, 13)), 10, 5, 42
CASES = {"149x25281": (149, 159), "149x1024": (149, 32), "10000x400": (10000, 20), "45000x4225": (45000, 65),
         "50000x4225-2pt": (50000, 65)}
BEFORE_LIMIT_S = float(os.environ.get("BEFORE_LIMIT_S", 300))
FITS_PER_PLAIN_RUN = OUTER * (INNER * len(CANDIDATES) + 1)


def smooth_table(n, side, seed, n_latent=6, block=2000):
    """``n`` smooth random ``side × side`` maps, flattened (filled a block of rows at a time), and a target
    driven by three latent factors."""
    rng = np.random.default_rng(seed)
    k = np.fft.fftfreq(side)
    kernel = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * 0.05 ** 2))
    fields = np.fft.ifft2(np.fft.fft2(rng.normal(size=(n_latent, side, side))) * kernel).real
    fields /= fields.std(axis=(1, 2), keepdims=True)
    fields = fields.reshape(n_latent, -1)
    latent = rng.normal(size=(n, n_latent)) * np.linspace(1.0, 0.3, n_latent)
    X = np.empty((n, side * side))
    for start in range(0, n, block):
        part = slice(start, min(start + block, n))
        X[part] = 0.3 + 0.05 * (latent[part] @ fields) + 0.02 * rng.normal(size=(part.stop - start, side * side))
    y = 400 + 60 * latent[:, 0] + 25 * latent[:, 1] ** 2 + 15 * latent[:, 2] + 5 * rng.normal(size=n)
    return X, y


def two_point_table(n, seed=0, block=2000):
    """Two-point autocorrelation windows (cutoff 32) of ``n`` seeded 64×64 two-phase fields, computed a block
    of fields at a time, and a target driven by the volume fraction and correlation length."""
    from msdash.features.correlation import two_point
    from msdash.synthetic.fields import two_phase

    rng = np.random.default_rng(seed)
    fraction, length = rng.uniform(0.2, 0.8, n), rng.uniform(1.5, 6.0, n)
    X = np.empty((n, 65 * 65))
    for start in range(0, n, block):
        part = slice(start, min(start + block, n))
        # one correlation length per block (two_phase takes one), volume fractions per sample
        length[part] = length[start]
        fields = two_phase(part.stop - start, (64, 64), volume_fraction=fraction[part],
                           correlation_length=float(length[start]), seed=seed + start)
        X[part] = two_point(fields, cutoff=32).reshape(part.stop - start, -1)
    y = 150 + 300 * fraction + 20 * length + 10 * fraction * length + 5 * rng.normal(size=n)
    return X, y


def plain_pipeline(tall):
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures

    ols = LinearRegression()
    if "tol" in ols.get_params():
        ols.set_params(tol=np.finfo(float).eps)
    # no constant column: OLS fits the intercept (see msdash.models.presets on why the column breaks eps-OLS)
    return Pipeline([("pca", PCA(svd_solver="covariance_eigh" if tall else "full")),
                     ("poly", PolynomialFeatures(2, include_bias=False)), ("ols", ols)])


def plain_protocol(X, y):
    """Study B's protocol with scikit-learn only, on every outer fold."""
    from sklearn.metrics import mean_absolute_percentage_error
    from sklearn.model_selection import GridSearchCV, KFold

    pipeline = plain_pipeline(X.shape[0] >= X.shape[1])
    scores, chosen = [], []
    for train, test in KFold(OUTER, shuffle=True, random_state=SEED).split(X):
        search = GridSearchCV(pipeline, {"pca__n_components": CANDIDATES},
                              cv=KFold(INNER, shuffle=True, random_state=SEED),
                              scoring="neg_mean_absolute_percentage_error")
        search.fit(X[train], y[train])
        scores.append(100 * mean_absolute_percentage_error(y[test], search.predict(X[test])))
        chosen.append(int(search.best_params_["pca__n_components"]))
    return scores, chosen


def _count_fallbacks(out):
    """Count, into ``out``, the training sets that fell back to the SVD and those whose R came from the folds'
    factors (wrapping msdash's two decision points; the numbers are not changed)."""
    from msdash.models import foldqr, pcscores

    out.update(fallbacks=0, fold_factors=0)
    needs_svd, r_factor = pcscores._needs_svd, foldqr.FoldQR.r_factor

    def counted_needs_svd(*args):
        answer = needs_svd(*args)
        out["fallbacks"] += answer
        return answer

    def counted_r_factor(self, rows, scale=None):
        r = r_factor(self, rows, scale)
        out["fold_factors"] += r is not None
        return r

    pcscores._needs_svd, foldqr.FoldQR.r_factor = counted_needs_svd, counted_r_factor


def child(side, case):
    """Run one side on one case in this process; print a JSON line."""
    from threadpoolctl import threadpool_limits

    threads = int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))
    n, side_px = CASES[case]
    X, y = two_point_table(n) if case.endswith("-2pt") else smooth_table(n, side_px, seed=side_px)
    table_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"side": side, "threads": threads, "table_rss_mb": round(table_rss)}
    with threadpool_limits(limits=threads):
        if side in ("ours", "before", "per-set"):
            from msdash.models import nested_cv

            if side == "per-set":
                from msdash.models import foldqr

                foldqr.fits = lambda *args, **kwargs: False  # a QR of every set that falls back
            if side != "before":
                _count_fallbacks(out)
            limit = int(os.environ.get("BENCH_OUTER_FOLDS", OUTER))
            times = []
            for _ in range(3 if X.nbytes < 1e8 and limit == OUTER else 1):
                start = time.perf_counter()
                result = nested_cv(X, y, model="pr", n_components=CANDIDATES, outer=OUTER, inner=INNER,
                                   random_state=SEED,
                                   callback=None if limit == OUTER else (lambda info: info["fold"] < limit))
                times.append(time.perf_counter() - start)
            out.update(wall_s=min(times), outer_folds_timed=limit)
            if result is not None:
                out.update(scores=[float(s) for s in result.fold_scores], chosen=[int(k) for k in result.fold_params])
        elif side == "plain":
            start = time.perf_counter()
            scores, chosen = plain_protocol(X, y)
            out.update(wall_s=time.perf_counter() - start, scores=scores, chosen=chosen)
        else:  # plain-one-fit: one PCA fit of an inner training set, as GridSearchCV does 610 times
            from sklearn.model_selection import KFold

            train = next(KFold(OUTER, shuffle=True, random_state=SEED).split(X))[0]
            inner = train[next(KFold(INNER, shuffle=True, random_state=SEED).split(train))[0]]
            start = time.perf_counter()
            plain_pipeline(True).set_params(pca__n_components=12).fit(X[inner], y[inner])
            out.update(wall_s=time.perf_counter() - start)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))


def run_child(side, case, path=ROOT, limit=None):
    env = {**os.environ, "PYTHONPATH": str(path)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    try:
        done = subprocess.run([sys.executable, __file__, "--child", side, case], capture_output=True, text=True,
                              env=env, cwd=path, timeout=limit)
    except subprocess.TimeoutExpired:
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return {"side": side, "finished": False, "killed_after_s": limit,
                "peak_rss_mb": round(peak / 1024) if peak > before else None}
    if done.returncode:
        raise RuntimeError(f"{side} on {case} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _msdash_row(prefix, side):
    """The JSON fields of one msdash side (``ours`` or ``per_set``)."""
    row = {f"{prefix}_s": round(side["wall_s"], 2), f"{prefix}_peak_rss_mb": side["peak_rss_mb"],
           f"{prefix}_fallbacks": side["fallbacks"], f"{prefix}_fold_factors": side["fold_factors"]}
    if side["outer_folds_timed"] < OUTER:
        per_fold = side["wall_s"] / side["outer_folds_timed"]
        row.update({f"{prefix}_outer_folds_timed": side["outer_folds_timed"],
                    f"{prefix}_s_per_outer_fold": round(per_fold, 1), f"{prefix}_s_estimated": round(per_fold * OUTER)})
    else:
        row.update({f"{prefix}_chosen_pcs": side["chosen"],
                    f"{prefix}_mape_pct_mean": round(float(np.mean(side["scores"])), 3)})
    return row


def compare(case, before_path=None, per_set=False):
    n, side_px = CASES[case]
    # the earlier code first: RUSAGE_CHILDREN's high-water mark then belongs to it when it is killed
    before = run_child("before", case, Path(before_path), BEFORE_LIMIT_S) if before_path and n > 10000 else None
    per_set_side = run_child("per-set", case) if per_set else None
    ours = run_child("ours", case)
    row = {"case": case, "n": n, "d": side_px * side_px, **_msdash_row("ours", ours),
           "table_rss_mb": ours["table_rss_mb"], "threads": ours["threads"]}
    if per_set_side is not None:
        row["per_set"] = _msdash_row("per_set", per_set_side)
        if "scores" in ours:
            row["per_set"]["max_fold_score_diff_pct"] = float(np.max(np.abs(np.subtract(
                ours["scores"], per_set_side["scores"]))))
        key = "s_estimated" if "ours_s_estimated" in row else "s"
        row["speedup_vs_per_set"] = round(row["per_set"][f"per_set_{key}"] / row[f"ours_{key}"], 2)
    if n > 10000:
        one = run_child("plain-one-fit", case)
        row.update(plain_one_fit_s=round(one["wall_s"], 2), plain_peak_rss_mb=one["peak_rss_mb"],
                   plain_s_estimated=round(one["wall_s"] * FITS_PER_PLAIN_RUN),
                   plain_timed="one PCA fit of 610 (estimate)")
        ours_s = row.get("ours_s_estimated", ours["wall_s"])
        row["ratio_estimated"] = round(row["plain_s_estimated"] / ours_s, 1)
        if before:
            row["before"] = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in before.items()
                             if k in ("finished", "killed_after_s", "peak_rss_mb", "wall_s")}
        return row
    plain = run_child("plain", case)
    if "scores" not in ours:  # --outer-folds: no scores to compare
        row.update(plain_s=round(plain["wall_s"], 2), plain_peak_rss_mb=plain["peak_rss_mb"])
        return row
    row.update(plain_s=round(plain["wall_s"], 2), plain_peak_rss_mb=plain["peak_rss_mb"],
               plain_outer_folds_timed=len(plain["scores"]), ratio=round(plain["wall_s"] / ours["wall_s"], 1),
               max_fold_score_diff_pct=float(np.max(np.abs(np.subtract(ours["scores"], plain["scores"])))),
               chosen_pcs_agree=ours["chosen"] == plain["chosen"])
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--before")
    parser.add_argument("--per-set", action="store_true", help="also msdash without the folds' QR factors")
    parser.add_argument("--outer-folds", type=int, default=OUTER, help="time only the first N outer folds")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    os.environ["BENCH_OUTER_FOLDS"] = str(min(max(1, args.outer_folds), OUTER))
    cases = [compare(case, args.before, args.per_set) for case in args.cases.split(",")]
    print(json.dumps({"bench": "nested_cv", "model": "pr", "candidates": "1-12", "outer": OUTER, "inner": INNER,
                      "scoring": "mape", "cases": cases}))


if __name__ == "__main__":
    main()
