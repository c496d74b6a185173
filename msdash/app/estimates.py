"""Step-time estimates: the cost model that says how long a PCA, UMAP or nested CV will take before it starts."""

#: Seconds per unit of work (:func:`step_work`) on the 2-core development machine, measured with
#: ``bench/step_estimates.py`` (its ``implied_constant``); rerun it after changing the machine or the code.
#: Recalibrated after the blocked covariance/Gram PCA and CV landed (implied constants 3e-11–2e-10 for PCA,
#: 1.1e-10–2e-10 for PCA models' CV): kept at the upper end, since an estimate should not promise too little;
#: measured ÷ estimate is then 0.26–1.55 for PCA, 0.55–0.84 for UMAP and 0.76–1.07 for PCA models' CV.
COST = {"pca": 1e-10, "umap": 1.35e-7, "nested_cv:pca": 2e-10, "nested_cv:rbf-svr": 8e-9, "nested_cv:knn": 3.7e-9,
        "nested_cv:pcr": 3.5e-8}

#: Above this many seconds a step is "long": the page says the estimate before it starts and runs it in
#: the background with a Cancel button.
LONG_STEP_S = 60.0


def step_work(step, n, d, *, model="pr", outer=10, inner=5, n_neighbors=15):
    """Units of work of a step (the cost model; :data:`COST` turns it into seconds).

    - ``"pca"``: ``n·d·(min(n, d) + 100)`` — the Gram matrix of the smaller side plus a few passes over the table.
    - ``"umap"``: ``n·(d·log2 n + k·epochs)`` — approximate neighbours plus the layout (500 epochs up to 10,000
      samples, 200 above, as umap-learn).
    - ``"nested_cv"``: PCA models ``outer·(inner + 1)·n·d·(d + 100)`` when n ≥ d (a d×d decomposition per
      training set) and ``outer·n·d·(n + 100)`` when d > n (one n×n Gram per outer fold serves its inner
      splits); ``rbf-svr`` and ``knn`` ``outer·inner·n²·d`` (kernel and distance matrices); ``pcr`` ``outer·n·d``.

    Parameters
    ----------
    step : {"pca", "umap", "nested_cv"}
    n, d : int
        Samples and features of the table.
    model : str
        A key of :data:`msdash.models.MODELS` (nested CV only).
    outer, inner : int or "logo"
        Folds of the nested CV; leave-one-group-out counts as 10 outer folds.
    n_neighbors : int
        UMAP's neighbours.

    Returns
    -------
    float
    """
    import math

    n, d = max(int(n), 1), max(int(d), 1)
    if step == "pca":
        return n * d * (min(n, d) + 100.0)
    if step == "umap":
        epochs = 500 if n <= 10_000 else 200
        return n * (d * math.log2(max(n, 2)) + n_neighbors * epochs)
    if step == "nested_cv":
        outer = 10 if outer == "logo" else int(outer)
        kind = _model_kind(model)
        if kind == "pca":
            if d > n:
                return outer * n * d * (n + 100.0)
            return outer * (int(inner) + 1) * n * d * (d + 100.0)
        if kind == "pcr":
            return outer * n * d
        return outer * int(inner) * float(n) ** 2 * d
    raise ValueError(f"unknown step {step!r}")


def estimate_seconds(step, n, d, **options):
    """Predicted seconds of a step on this machine: :data:`COST` × :func:`step_work` (an order of magnitude)."""
    key = f"nested_cv:{_model_kind(options.get('model', 'pr'))}" if step == "nested_cv" else step
    return COST[key] * step_work(step, n, d, **options)


def _model_kind(model):
    from msdash.models import MODELS

    spec = MODELS.get(model)
    if spec is None or spec.has_pca:
        return "pca"
    return model if model in ("rbf-svr", "knn", "pcr") else "rbf-svr"


def format_duration(seconds):
    """Seconds in words, rounded as an estimate deserves.

    >>> format_duration(4), format_duration(95), format_duration(3 * 3600)
    ('a few seconds', 'about 2 min', 'about 3 h')
    """
    if seconds < 10:
        return "a few seconds"
    if seconds < 60:
        return f"about {10 * round(seconds / 10):.0f} s"
    if seconds < 3600:
        return f"about {round(seconds / 60):.0f} min"
    return f"about {round(seconds / 3600):.0f} h"
