"""Model runs for the Models page: the training table, cached nested CV, hold-out and learning curves."""

import numpy as np
import streamlit as st

#: Session-state key of the model runs shown on the page (list of dicts).
RUNS = "model_runs"


def training_table(dataset, table, target, *, extra_columns=(), group_column=None):
    """Rows usable for a model: finite features (plus extra property columns) and a finite target.

    Returns
    -------
    dict
        ``X`` (n, d), ``y`` (n,), ``groups`` (n,) or None, ``names`` (n,), ``dropped`` (names left out).
    """
    X = np.asarray(table.values, dtype=float)
    if extra_columns:
        extra = dataset.properties[list(extra_columns)].to_numpy(float)
        X = np.hstack([X, extra])
    y = dataset.properties[target].to_numpy(float)
    keep = np.isfinite(X).all(axis=1) & np.isfinite(y)
    groups = None
    if group_column:
        raw = dataset.properties[group_column].astype(str).to_numpy()
        keep &= dataset.properties[group_column].notna().to_numpy()
        groups = raw[keep]
    names = np.asarray(dataset.names, dtype=object)
    return {"X": X[keep], "y": y[keep], "groups": groups, "names": names[keep], "dropped": list(names[~keep])}


@st.cache_data(max_entries=128, show_spinner=False)
def nested(_X, _y, _groups, key, model, outer, inner, scoring, standardize):
    """:func:`msdash.models.nested_cv`, cached on ``key`` (feature-table key, target, rows, groups)."""
    from msdash.models import nested_cv

    return nested_cv(_X, _y, model=model, outer=outer, inner=inner, groups=_groups, scoring=scoring,
                     standardize=standardize, random_state=42)


@st.cache_data(max_entries=64, show_spinner="Hold-out split…")
def holdout(_X, _y, key, model, scoring, standardize):
    """Study A's hold-out (80/20, seeded), cached on ``key``."""
    from msdash.models import holdout as run

    return run(_X, _y, model=model, scoring=scoring, standardize=standardize, random_state=42)


@st.cache_data(max_entries=32, show_spinner="Learning curve (an inner search at every size)…")
def learning(_X, _y, _groups, key, model, scoring, standardize):
    """Score against training-set size (5 outer folds), cached on ``key``."""
    from msdash.models import learning_curve

    return learning_curve(_X, _y, model=model, sizes=(0.05, 0.1, 0.2, 0.5, 1.0), outer=5, groups=_groups,
                          scoring=scoring, standardize=standardize, random_state=42)


def group_folds(groups, outer, inner):
    """Outer and inner folds for group-aware CV: leave-one-group-out when there are fewer groups than folds.

    Returns
    -------
    (outer, inner, note) : (int or "logo", int, str)
    """
    from msdash.errors import InputError

    n_groups = len(set(groups))
    if n_groups < 3:
        raise InputError(f"Group-aware CV needs at least 3 groups; the group column has {n_groups}.")
    if n_groups >= outer:
        inner = min(inner, n_groups - n_groups // outer)
        return outer, max(2, inner), f"{outer}-fold GroupKFold over {n_groups} groups"
    inner = max(2, min(inner, n_groups - 1))
    return "logo", inner, f"leave-one-group-out over {n_groups} groups (fewer groups than folds), inner {inner}-fold"


def run_key(table, target, rows, groups, extra_columns):
    """A string naming the inputs of a run (cache key): table key, target, rows, groups and extra columns."""
    import hashlib

    digest = hashlib.sha256(np.ascontiguousarray(rows).view(np.uint8).tobytes())
    if groups is not None:
        digest.update("\0".join(map(str, groups)).encode())
    return f"{table.key}|{target}|{','.join(extra_columns)}|{digest.hexdigest()[:16]}"


def chosen_text(fold_params):
    """The chosen #PCs (or parameters) over the outer folds, most frequent first: ``"7 (6×), 8 (4×)"``."""
    from collections import Counter

    counts = Counter(p if isinstance(p, (int, np.integer)) else str(p) for p in fold_params)
    return ", ".join(f"{value} ({n}×)" for value, n in counts.most_common(4))


@st.cache_resource(max_entries=16, show_spinner="Fitting the final model on all labelled samples…")
def final_model(_X, _y, _cv_result, key, model):
    """The fitted pipeline to predict with (:func:`msdash.models.fit_final`), shared read-only."""
    from msdash.models import fit_final

    return fit_final(_X, _y, model=model, cv_result=_cv_result)


def cnn_runs(dataset_id, target, outer=None):
    """Finished CNN cross-validations of the Learn page for this data set and property, as Models-page runs.

    Their ``folds`` note says whether they used the page's current number of outer folds (same seed, so
    the same folds for the same rows).
    """
    from msdash.learned.cnn_runs import finished_results

    found = []
    for item in finished_results(dataset_id, target):
        same = outer is not None and int(outer) == item["outer"]
        found.append({"feature_set": "images (CNN, Learn page)", "model": item["model"],
                      "grouped": item["group_column"], "result": item["result"], "names": np.asarray(item["names"]),
                      "dropped": [], "X": None, "key": None, "groups": None, "entry": None, "extra": [],
                      "cnn": True, "folds": f"{item['outer']} folds, seed 42"
                                            + (" (same as above)" if same else " (differs from the folds above)")})
    return found
