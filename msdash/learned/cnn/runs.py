"""CNN cross-validation runs of the dashboard: the same outer folds as the Models page, saved for its comparisons.

A run trains one CNN per outer fold (:func:`msdash.learned.cnn.cv.cnn_cv`) on the images of a data set and
one property, with the folds the Models page makes for the same rows (``outer_splits`` with seed 42, grouped
or not). The finished result is written to ``<run>/result.json`` with the sample names, so the Models page can
put it in its box plots, summary table and parity plot next to the feature models, also after a restart.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from msdash.data.atomic import write_file_atomic
from msdash.learned import runs

__all__ = ["KIND", "RANDOM_STATE", "model_folds", "run_cnn_cv", "finished_results"]

KIND = "cnn_cv"
#: The Models page's seed for its outer folds (``msdash.app.modelview.nested``).
RANDOM_STATE = 42


def model_folds(y, groups, outer):
    """Outer ``(train_idx, test_idx)`` exactly as the Models page makes them for the same rows.

    Parameters
    ----------
    y : ndarray (n,)
    groups : ndarray (n,) or None
    outer : int
        Number of folds (grouped folds need that many groups).

    Examples
    --------
    >>> [len(test) for _, test in model_folds(np.arange(10.0), None, 5)]
    [2, 2, 2, 2, 2]
    """
    from msdash.models.cv import outer_splits

    return outer_splits(np.zeros((len(y), 1)), np.asarray(y, dtype=float), groups, int(outer), RANDOM_STATE)


def run_cnn_cv(images, y, names, *, run_dir, outer, groups=None, group_column=None, callback=None, **options):
    """Cross-validate a CNN on the Models page's folds and save ``result.json``; the CV result or None.

    Parameters
    ----------
    images : sequence of (H, W) arrays, length n
    y : ndarray (n,)
        The property (finite values only).
    names : sequence of str (n,)
    run_dir : path
        From ``runs.new_run(KIND, ...)``; its meta should carry ``dataset_id`` and ``target``.
    outer : int
    groups : ndarray (n,), optional
        Labels of the group column (honest, grouped folds).
    group_column : str, optional
        Its name, recorded with the result.
    callback : callable, optional
        Training events (see :func:`msdash.learned.cnn.train.train_cnn_regressor`); ``False`` cancels.
    **options
        ``scoring`` and the training options of :func:`~msdash.learned.cnn.cv.cnn_cv`.
    """
    from msdash.learned.cnn.cv import cnn_cv

    folds = model_folds(y, groups, outer)
    result = cnn_cv(images, y, folds=folds, run_dir=run_dir, groups=groups, callback=callback, **options)
    if result is not None:
        payload = result.to_dict() | {"names": [str(n) for n in names], "outer": int(outer),
                                      "group_column": group_column, "histories": result.histories}
        write_file_atomic(Path(run_dir) / "result.json", json.dumps(payload, default=float).encode())
    return result


def finished_results(dataset_id, target):
    """Saved CNN CV results of a data set and property, newest first.

    Returns
    -------
    list of dict
        ``run_id``, ``model``, ``names`` (list), ``outer``, ``group_column`` and ``result`` (a
        :class:`msdash.models.CVResult` rebuilt from the file).
    """
    found = []
    for meta in runs.list_runs(KIND):
        if meta.get("dataset_id") != dataset_id or meta.get("target") != target:
            continue
        path = runs.runs_root(KIND) / meta["run_id"] / "result.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        n = len(data["y"])
        tests = [np.asarray(t, dtype=int) for t in data["test_indices"]]
        folds = [(np.setdiff1d(np.arange(n), t), t) for t in tests]
        metrics = pd.DataFrame(data["metrics"]).set_index("fold")
        from msdash.models.cv import CVResult  # scikit-learn, only once there is a result to show

        result = CVResult(fold_scores=np.asarray(data["fold_scores"]), fold_params=data["fold_params"],
                          predictions=np.asarray(data["predictions"], dtype=float), folds=folds, metrics=metrics,
                          model=data["model"], scoring=data["scoring"], y=np.asarray(data["y"], dtype=float),
                          standardize=True, model_params=data["model_params"], inner=0, random_state=RANDOM_STATE)
        found.append({"run_id": meta["run_id"], "model": data["model"], "names": data["names"],
                      "outer": data["outer"], "group_column": data.get("group_column"), "result": result,
                      "histories": data.get("histories", [])})
    return found
