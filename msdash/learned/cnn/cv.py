"""CNN regressors on given outer folds, so they sit beside the feature models on the same splits.

The folds come from the caller: the Models page passes the ``CVResult.folds`` of its feature models (or
``msdash.models.cv.outer_splits``), so a CNN trained from scratch is scored on exactly the rows the other
models were. Each fold is one resumable training run inside the CV run's folder.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from msdash.errors import InputError
from msdash.learned.runs import new_run, read_meta, write_meta
from msdash.models.cv import CVResult
from msdash.models.metrics import check_scoring, regression_metrics, score

__all__ = ["CNNCVResult", "cnn_cv", "check_folds"]


@dataclass
class CNNCVResult(CVResult):
    """A :class:`msdash.models.CVResult` of a CNN, plus its training curves.

    ``model`` is ``"cnn-<arch>"`` or ``"mucha-<arch>"``; ``fold_params`` holds per fold ``best_epoch`` and
    ``epochs_run``; ``model_params`` the training settings; ``standardize`` is True (inputs and target are
    standardised inside each training set); ``inner`` is 0 (a single validation split replaces the inner
    search). Rows outside every test fold have NaN predictions.

    Attributes
    ----------
    histories : list of list of dict
        Per fold, the per-epoch events of :func:`msdash.learned.cnn.train.train_cnn_regressor`.
    run_dir : str
        Folder of the CV run; fold ``k`` trained in ``<run_dir>/fold-<k>``.
    """

    histories: list = field(default_factory=list)
    run_dir: str = ""

    def to_dict(self):
        """:meth:`CVResult.to_dict` plus ``histories`` and ``run_dir``."""
        return {**super().to_dict(), "histories": self.histories, "run_dir": self.run_dir}


def check_folds(folds, n):
    """Validate outer folds: a list of ``(train_idx, test_idx)`` integer arrays over ``range(n)``.

    Returns
    -------
    list of (ndarray, ndarray)
    """
    if not isinstance(folds, (list, tuple)) or not folds:
        raise InputError("`folds` must be a non-empty list of (train indices, test indices)", name="folds")
    checked = []
    for k, fold in enumerate(folds):
        try:
            train, test = (np.asarray(part).ravel() for part in fold)
        except (TypeError, ValueError):
            raise InputError(f"fold {k} must be a pair (train indices, test indices)", name="folds") from None
        for part in (train, test):
            if part.size and (not np.issubdtype(part.dtype, np.integer) or part.min() < 0 or part.max() >= n):
                raise InputError(f"fold {k} has indices that are not integers in [0, {n})", name="folds")
        if len(test) == 0 or len(train) < 4:
            raise InputError(f"fold {k} needs test rows and at least 4 training rows", name="folds")
        if np.intersect1d(train, test).size:
            raise InputError(f"fold {k} has rows on both sides of the split", name="folds")
        checked.append((train.astype(np.intp), test.astype(np.intp)))
    return checked


def _take(images, rows):
    return images[rows] if isinstance(images, np.ndarray) else [images[i] for i in rows]


def _fold_dir(run_dir, k):
    path = Path(run_dir) / f"fold-{k}"
    if not (path / "meta.json").is_file():
        path.mkdir(exist_ok=True)
        write_meta(path, {"kind": "cnn", "run_id": path.name, "config": {}, "history": [], "status": "new",
                          "created": time.time()})
    return path


def cnn_cv(images, y, *, folds, scoring="mape", run_dir=None, resume=False, callback=None, device=None,
           groups=None, **train_options):
    """Train a CNN regressor on each outer training fold and predict its test fold.

    Parameters
    ----------
    images : array_like, shape (n, H, W), or sequence of (H, W) arrays
    y : array_like, shape (n,)
    folds : list of (ndarray, ndarray)
        Outer ``(train_idx, test_idx)``, e.g. ``CVResult.folds`` of the feature models.
    scoring : {"mape", "rmse", "r2"}
        What ``fold_scores`` holds (MAPE in %).
    run_dir : path, optional
        Folder of the CV run; default a new ``new_run("cnn_cv", ...)``. Events carry it, so a cancelled
        run can be resumed.
    resume : bool
        Continue a cancelled CV run: finished folds are reused, the interrupted one resumes.
    callback : callable, optional
        As for :func:`msdash.learned.cnn.train.train_cnn_regressor`; events also carry ``fold`` (0-based),
        ``folds`` and ``run_dir``. Returning ``False`` cancels the whole CV.
    device : str, optional
    groups : array_like, shape (n,), optional
        Related images stay on one side of each fold's validation split.
    **train_options
        Passed to :func:`msdash.learned.cnn.train.train_cnn_regressor` (``arch``, ``inputs``, ``loss``,
        ``epochs``, ``patience``, ``seed``, ...).

    Returns
    -------
    CNNCVResult or None
        None when cancelled.
    """
    from msdash.learned.cnn.train import predict_cnn, read_run, train_cnn_regressor

    for name in ("run_dir", "resume", "callback"):
        train_options.pop(name, None)
    check_scoring(scoring)
    if not isinstance(images, np.ndarray):
        images = list(images)
    y = np.asarray(y, dtype=np.float64).ravel()
    if len(y) != len(images):
        raise InputError(f"`y` has {len(y)} values for {len(images)} images", name="y")
    if groups is not None:
        groups = np.asarray(groups).ravel()
        if len(groups) != len(y):
            raise InputError(f"`groups` has {len(groups)} labels for {len(y)} images", name="groups")
    folds = check_folds(folds, len(y))
    if run_dir is None:
        run_dir = new_run("cnn_cv", {"folds": len(folds), "n": len(y), "scoring": scoring,
                                     **{k: v for k, v in train_options.items() if k != "overrides"}})
    run_dir = Path(run_dir)
    meta = read_run(run_dir)
    predictions = np.full(len(y), np.nan)
    fits, rows = [], []
    for k, (train, test) in enumerate(folds):
        fold_dir = _fold_dir(run_dir, k)
        fold_resume = bool(resume) and "training" in read_meta(fold_dir)

        def relay(event, k=k):
            event.update({"fold": k, "folds": len(folds), "run_dir": str(run_dir)})
            return True if callback is None else callback(event)

        fit = train_cnn_regressor(_take(images, train), y[train], run_dir=fold_dir, resume=fold_resume,
                                  callback=relay, device=device,
                                  groups=None if groups is None else groups[train], **train_options)
        if fit.status == "cancelled":
            write_meta(run_dir, {**meta, "status": "cancelled", "folds_done": k})
            return None
        predictions[test] = predict_cnn(fit.model, _take(images, test), device=device)
        rows.append({**regression_metrics(y[test], predictions[test]), "n_test": len(test)})
        fits.append(fit)
    settings = read_meta(fits[0].run_dir)["training"]["settings"]
    name = f"{'mucha' if settings['inputs'] == 'mucha' else 'cnn'}-{settings['arch']}"
    result = CNNCVResult(
        fold_scores=np.array([score(y[test], predictions[test], scoring) for _, test in folds]),
        fold_params=[{"best_epoch": f.best_epoch, "epochs_run": len(f.history)} for f in fits],
        predictions=predictions, folds=folds, metrics=pd.DataFrame(rows).rename_axis("fold"), model=name,
        scoring=scoring, y=y, candidates=[None] * len(folds), inner_scores=[None] * len(folds), standardize=True,
        model_params=settings, inner=0, random_state=settings["seed"], histories=[f.history for f in fits],
        run_dir=str(run_dir))
    write_meta(run_dir, {**meta, "status": "done", "model": name, "summary": result.summary(),
                         "fold_scores": result.fold_scores.tolist()})
    return result
