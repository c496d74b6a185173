"""Predicting new samples with a fitted property model: out-of-distribution checks and safe model files.

Out-of-distribution check (:mod:`msdash.ood`), in two parts as in PCA-based process monitoring: *inside*
the retained PCs, the distance to the nearest training sample (threshold: the 99th percentile of the training
samples' distances to their nearest other one); *outside* them, the distance to the PCA subspace (the Q/SPE
residual; threshold: the 99th percentile of the training samples' out-of-fold residuals). A model that keeps 6
of 1,024 dimensions does not see a sample moved along the other 1,018; only the second part does.

Model files use skops (``.skops``), whose loader refuses any type that is not on a list of trusted ones —
never a plain pickle.
"""

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msdash.errors import InputError
from msdash.modelspace import model_space, nearest_distance, predict  # noqa: F401 — part of this API


def ood_flags(pipeline, X_train, X_new, *, percentile=99.0, folds=None):
    """Out-of-distribution flags of new samples: :func:`msdash.ood.ood_check` as a tuple.

    Returns
    -------
    distance : ndarray, shape (n_new,)
        Distance of each new sample to its nearest training sample, in model space.
    threshold : float
        Its threshold.
    flags : ndarray of bool, shape (n_new,)
        Either part fired: the distance inside the retained PCs or the residual outside them
        (:meth:`msdash.ood.OODCheck.flags`).
    """
    from msdash.ood import ood_check

    check = ood_check(pipeline, X_train, X_new, folds=folds, percentile=percentile)
    return check.distance, check.distance_threshold, check.flags


def dump_model(pipeline):
    """Serialise a fitted pipeline with skops; returns the bytes of a ``.skops`` file."""
    import skops.io as sio

    buffer = io.BytesIO()
    sio.dump(pipeline, buffer)
    return buffer.getvalue()


def load_model(data):
    """Load a ``.skops`` model file, accepting only scikit-learn, numpy and msdash types.

    Parameters
    ----------
    data : bytes

    Raises
    ------
    InputError
        When the file holds any other type (it is refused, not loaded).
    """
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    allowed = [t for t in untrusted if t.split(".")[0] in ("sklearn", "numpy", "msdash", "scipy")]
    refused = sorted(set(untrusted) - set(allowed))
    if refused:
        raise InputError(f"The model file holds types msdash does not load: {', '.join(refused[:5])}.")
    return sio.load(io.BytesIO(data), trusted=allowed)


@dataclass
class Prediction:
    """Outcome of :func:`predict_samples`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per sample whose features could be computed: ``name``, ``predicted <target>``, ``lower``,
        ``upper``, ``distance inside the PCs``, ``residual outside the PCs``, ``out of distribution`` (bool) and
        ``why`` (which part of the check fired).
    errors : list of FeatureError
        Samples whose features failed or were not finite (left out of ``table``).
    ood : OODCheck
    intervals : Intervals
    """

    table: pd.DataFrame
    errors: list
    ood: object
    intervals: object


def predict_samples(images, *, extractor, params, pipeline, X_train, cv_result, alpha=0.1, group_column=None,
                    random_result=None, target="property", progress=None, store=None):
    """New samples through a fitted model: features, predictions, intervals and out-of-distribution checks.

    Parameters
    ----------
    images : dict of str to ndarray, Dataset or sequence of ndarray
        The new samples (as :func:`msdash.features.extract` takes them).
    extractor : str
        The extractor of the model's feature set, with ``params`` (dict) its parameters.
    pipeline : fitted Pipeline
        The final model (:func:`msdash.models.fit_final` on ``X_train``).
    X_train : ndarray, shape (n_train, n_features)
        Its training table.
    cv_result : CVResult
        The run whose out-of-fold residuals give the intervals and whose outer folds calibrate the
        out-of-distribution residual: the *grouped* run when there is one (see
        :func:`msdash.models.intervals.prediction_intervals`).
    alpha : float in (0, 1)
        Miscoverage of the intervals (0.1 → 90 %).
    group_column : str, optional
        The group column of a grouped ``cv_result``.
    random_result : CVResult, optional
        The random-fold run of the same model, to say what its intervals would have covered.
    target : str
        Name of the property, for the column ``predicted <target>``.
    progress : callable, optional
        ``progress(fraction, text)`` with ``fraction`` in [0, 1], after each batch of features and each step.
    store : FeatureStore, path, None or False
        Feature cache, as in :func:`msdash.features.extract`.

    Returns
    -------
    Prediction

    Raises
    ------
    InputError
        No sample has finite features, or an input is not valid (message says which).
    """
    from msdash.features import extract
    from msdash.features.table import FeatureError
    from msdash.models.intervals import prediction_intervals
    from msdash.ood import ood_check

    def report(fraction, text):
        if progress is not None:
            progress(min(1.0, max(0.0, fraction)), text)

    def features_done(done, total, message):
        report(0.8 * (done / max(1, total)), f"Features: {done} of {total} samples ({message})")

    report(0.0, "Computing features…")
    table = extract(images, extractor, progress=features_done, store=store, **dict(params or {}))
    values = np.asarray(table.values, dtype=float)
    ok = np.asarray(table.ok) & np.isfinite(values).all(axis=1)
    failed = {error.name for error in table.errors}
    errors = list(table.errors) + [FeatureError(name, "features are not finite (NaN or infinite)")
                                   for name, good in zip(table.names, ok) if not good and name not in failed]
    if not ok.any():
        raise InputError("No sample has finite features for this model; see the errors listed.")
    X_new = values[ok]
    report(0.8, "Predicting…")
    predicted = predict(pipeline, X_new)
    intervals = prediction_intervals(cv_result, predicted, alpha=alpha, group_column=group_column,
                                     random_result=random_result)
    report(0.85, "Out-of-distribution check (out-of-fold residuals of the training set)…")
    check = ood_check(pipeline, X_train, X_new, folds=cv_result.folds)
    out = pd.DataFrame({"name": np.asarray(table.names, dtype=object)[ok], f"predicted {target}": predicted,
                        "lower": intervals.lower, "upper": intervals.upper,
                        "distance inside the PCs": check.distance, "residual outside the PCs": check.residual,
                        "out of distribution": check.flags, "why": check.reasons()})
    report(1.0, "Done")
    return Prediction(out, errors, check, intervals)
