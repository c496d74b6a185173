"""What a comparison says: the summary table, short tags for settings, and models that do not beat the baseline."""

import numpy as np
import pandas as pd

__all__ = ["SCORE_NAMES", "baseline_warnings", "replace_runs", "settings_tags", "summary_frame"]

SCORE_NAMES = {"mape": "MAPE (%)", "rmse": "RMSE", "r2": "R²"}


def baseline_warnings(runs):
    """Runs that do not beat the constant baseline of their split and settings, as plain sentences.

    A model "beats" the baseline when its mean score over repeats is better (lower MAPE or RMSE, higher R²).

    Returns
    -------
    list of str
        One sentence per split and settings naming the models, e.g. ``"Not better than the constant
        predictor (grouped by paper): pr on dinov2 (MAPE (%) 21.3 vs 19.8)."``
    """
    baselines = {(run.grouped, run.settings): run for run in runs if run.baseline}
    losers = {}
    for run in runs:
        base = baselines.get((run.grouped, run.settings))
        if run.baseline or run.cnn or base is None:
            continue
        better = run.mean_score > base.mean_score if run.settings.scoring == "r2" else run.mean_score < base.mean_score
        if not better:
            losers.setdefault((run.grouped, run.settings), []).append(
                f"{run.model} on {run.feature_set} ({SCORE_NAMES[run.settings.scoring]} {run.mean_score:.4g} "
                f"vs {base.mean_score:.4g})")
    return [f"Not better than the constant predictor ({'grouped by ' + grouped if grouped else 'random folds'}; "
            f"{settings.label()}): " + "; ".join(items) + "."
            for (grouped, settings), items in losers.items()]


def replace_runs(history, new_runs):
    """``history`` with ``new_runs`` appended (latest last): an older run with the same identity
    (:meth:`ModelRun.identity`) is dropped, runs with other settings stay beside the new ones."""
    fresh = {run.identity() for run in new_runs}
    return [run for run in history if run.identity() not in fresh] + list(new_runs)


def settings_tags(runs):
    """A short tag per distinct :class:`RunSettings` of ``runs``, in order of appearance: ``{settings: "S1"}``."""
    tags = {}
    for run in runs:
        tags.setdefault(run.settings, f"S{len(tags) + 1}")
    return tags


def _chosen_text(fold_params):
    from collections import Counter

    counts = Counter(p if isinstance(p, (int, np.integer)) else str(p) for p in fold_params)
    return ", ".join(f"{value} ({n}×)" for value, n in counts.most_common(4))


def summary_frame(runs, tags=None):
    """One row per run: its settings tag, what ran, the score as mean ± spread over seeds, the metrics
    (means over repeats and folds), the chosen parameters, the samples and the full settings label.

    Parameters
    ----------
    runs : list of ModelRun
    tags : dict, optional
        :func:`settings_tags` of ``runs`` (computed when omitted).

    Returns
    -------
    pandas.DataFrame
    """
    tags = settings_tags(runs) if tags is None else tags
    rows = []
    for run in runs:
        scoring = run.settings.scoring
        constant = "median" if scoring == "mape" else "mean"
        rows.append({
            "settings": tags[run.settings], "feature set": run.feature_set,
            "model": f"baseline ({constant} of the training folds)" if run.baseline else run.model,
            "CV": f"grouped by {run.grouped} (honest)" if run.grouped else "random folds", "folds": run.folds,
            f"{SCORE_NAMES[scoring]} (mean ± spread over seeds)": f"{run.mean_score:.4g} ± {run.spread:.2g}",
            "fold std": round(float(np.std(run.result.fold_scores, ddof=1)), 4) if len(run.result.fold_scores) > 1
            else 0.0,
            "MAPE (%)": round(run.metric("mape_pct"), 3), "RMSE": round(run.metric("rmse"), 4),
            "R²": round(run.metric("r2"), 4),
            "chosen #PCs": "—" if run.baseline else _chosen_text(run.result.fold_params),
            "samples": len(run.names), "left out": len(run.dropped), "repeats": len(run.all_results),
            "target": run.target, "label": run.settings.label()})
    return pd.DataFrame(rows)
