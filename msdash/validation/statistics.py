"""Validation of the statistics: nested CV against scikit-learn, interval coverage on groups never seen."""

import numpy as np
import pandas as pd

from msdash.validation import Check

__all__ = ["latent_table", "grouped_table", "nested_cv_check", "conformal_check"]


def latent_table(n, d, seed=0):
    """A small feature table driven by four latent factors, with a target nonlinear in two of them.

    Returns
    -------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
        Positive (about 100), so MAPE is meaningful.
    """
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 4))
    grid = np.linspace(0, 1, d)
    loadings = np.stack([np.sin((j + 1) * np.pi * grid + j) for j in range(4)])
    X = 0.5 + latent @ loadings + 0.3 * rng.normal(size=(n, d))
    y = 100 + 8 * latent[:, 0] + 4 * latent[:, 1] ** 2 + 2 * latent[:, 2] + rng.normal(size=n)
    return X, y


def grouped_table(n_groups, per_group, d, rng):
    """Samples in groups (sources), each with its own place in feature space and its own offset of the
    property that the features do not explain (e.g. one laboratory's calibration).

    Returns
    -------
    X : ndarray, shape (n_groups · per_group, d)
    y : ndarray
    groups : ndarray of int
    """
    centres = rng.normal(size=(n_groups, d))
    shift = rng.normal(size=n_groups)
    groups = np.repeat(np.arange(n_groups), per_group)
    X = 2.0 * centres[groups] + rng.normal(size=(len(groups), d))
    y = 50 + 2 * X[:, 0] + 3 * shift[groups] + 0.5 * rng.normal(size=len(groups))
    return X, y, groups


def nested_cv_check(*, n=80, d=40, outer=5, inner=5, seed=3):
    """:func:`msdash.models.nested_cv` against ``GridSearchCV`` over ``pca__n_components`` in an outer loop.

    Both use the same seeded ``KFold`` splits and the same unfitted pipeline
    (:func:`msdash.models.make_model`), so the chosen number of PCs and the fold MAPEs must agree; msdash's
    fast path reuses one decomposition per training set instead of refitting PCA for every candidate.

    Returns
    -------
    Check
    """
    import plotly.graph_objects as go
    from sklearn.metrics import mean_absolute_percentage_error
    from sklearn.model_selection import GridSearchCV, KFold

    from msdash.models import make_model, nested_cv

    X, y = latent_table(n, d, seed=seed)
    candidates = list(range(1, 11))
    ours = nested_cv(X, y, model="pr", n_components=candidates, outer=outer, inner=inner, random_state=42)
    rows = []
    outer_cv = KFold(outer, shuffle=True, random_state=42)
    for fold, (train, test) in enumerate(outer_cv.split(X)):
        search = GridSearchCV(make_model("pr"), {"pca__n_components": candidates},
                              cv=KFold(inner, shuffle=True, random_state=42),
                              scoring="neg_mean_absolute_percentage_error").fit(X[train], y[train])
        mape = 100 * mean_absolute_percentage_error(y[test], search.predict(X[test]))
        rows.append({"fold": fold, "#PCs msdash": int(ours.fold_params[fold]),
                     "#PCs GridSearchCV": int(search.best_params_["pca__n_components"]),
                     "MAPE % msdash": float(ours.fold_scores[fold]), "MAPE % GridSearchCV": mape})
    table = pd.DataFrame(rows)
    same_choice = bool((table["#PCs msdash"] == table["#PCs GridSearchCV"]).all())
    worst = float((table["MAPE % msdash"] - table["MAPE % GridSearchCV"]).abs().max())
    figure = go.Figure([go.Bar(x=table["fold"], y=table["MAPE % msdash"], name="msdash nested_cv"),
                        go.Bar(x=table["fold"], y=table["MAPE % GridSearchCV"], name="GridSearchCV in a loop")])
    figure.update_layout(barmode="group", title="Outer-fold MAPE: msdash against scikit-learn",
                         xaxis_title="outer fold", yaxis_title="MAPE (%)", height=420)
    summary = (f"{n} samples × {d} features, PCA → degree-2 polynomial → OLS, {outer}×{inner}-fold, candidates "
               f"1–10 PCs: the chosen #PCs agree in {int((table['#PCs msdash'] == table['#PCs GridSearchCV']).sum())}"
               f" of {outer} folds and the fold MAPEs differ by at most {worst:.1e} % (tolerance 1e-6).")
    return Check("Nested CV vs GridSearchCV", same_choice and worst < 1e-6, summary, table, figure)


def conformal_check(*, seeds=(0, 1, 2), n_groups=150, per_group=4, d=120):
    """Coverage of conformal intervals on groups never seen: group-aware against random-fold residuals.

    For each seed a grouped training set (:func:`grouped_table`) gets nested CV twice (random folds and
    ``GroupKFold``), the final model of each predicts 2,000 samples of 500 new groups, and the share of them
    inside the 80 % and 90 % intervals of :func:`msdash.models.intervals.prediction_intervals` is counted.

    Returns
    -------
    Check
    """
    import plotly.graph_objects as go

    from msdash.models import fit_final, nested_cv
    from msdash.models.intervals import prediction_intervals

    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        X, y, groups = grouped_table(n_groups, per_group, d, rng)
        X_new, y_new, _ = grouped_table(500, per_group, d, rng)
        for kind, result in (("group-aware", nested_cv(X, y, model="lr", groups=groups, random_state=42)),
                             ("random folds", nested_cv(X, y, model="lr", random_state=42))):
            predicted = fit_final(X, y, cv_result=result).predict(X_new)
            for alpha in (0.2, 0.1):
                out = prediction_intervals(result, predicted, alpha=alpha)
                rows.append({"seed": seed, "residuals": kind, "nominal": 1 - alpha,
                             "coverage on new groups": float(np.mean((y_new >= out.lower) & (y_new <= out.upper))),
                             "coverage CV measured": out.measured_coverage, "half-width": out.half_width})
    table = pd.DataFrame(rows)
    mean = table.groupby(["residuals", "nominal"], as_index=False)["coverage on new groups"].mean()
    grouped = mean[mean["residuals"] == "group-aware"]
    random = mean[mean["residuals"] == "random folds"]
    passed = bool((grouped["coverage on new groups"] - grouped["nominal"]).abs().max() <= 0.05)
    figure = go.Figure()
    for kind, part in (("group-aware residuals", grouped), ("random-fold residuals", random)):
        figure.add_trace(go.Bar(x=[f"{round(100 * v)} % nominal" for v in part["nominal"]],
                                y=part["coverage on new groups"], name=kind))
    figure.add_trace(go.Scatter(x=[f"{round(100 * v)} % nominal" for v in grouped["nominal"]],
                                y=grouped["nominal"], mode="markers", marker={"symbol": "line-ew-open", "size": 40},
                                name="nominal"))
    figure.update_layout(barmode="group", title="Interval coverage on groups never seen",
                         yaxis_title="share of new samples inside", yaxis_range=[0, 1], height=420)
    text = ", ".join(f"{round(100 * g)} % → {c:.0%} (random folds {r:.0%})" for g, c, r in
                     zip(grouped["nominal"], grouped["coverage on new groups"], random["coverage on new groups"]))
    summary = (f"{len(seeds)} training sets of {n_groups} groups × {per_group} samples, {d} features, PCA → OLS; "
               f"each checked on 2,000 samples of 500 new groups. Group-aware intervals: {text} "
               "(tolerance ±5 points of nominal).")
    note = ("Random folds put samples of one group on both sides of a split, so their residuals are those of "
            "samples like the training set; for a micrograph from a new source the group-aware ones are honest.")
    return Check("Conformal intervals on held-out groups", passed, summary, table, figure, note)
