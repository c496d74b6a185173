"""Predicting new samples with a fitted property model: distances to the training set, and safe model files.

Out-of-distribution flag: a new sample is flagged when its distance to the nearest training sample, in the
model's own feature space before the regressor (after scaling and PCA), exceeds the 99th percentile of the
training samples' distances to their nearest other training sample.

Model files use skops (``.skops``), whose loader refuses any type that is not on a list of trusted ones —
never a plain pickle.
"""

import io

import numpy as np

from msdash.errors import InputError


def model_space(pipeline, X):
    """Transform ``X`` through every step of ``pipeline`` except the final regressor.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline (fitted)
    X : array_like, shape (n_samples, n_features)

    Returns
    -------
    ndarray, shape (n_samples, k)
        E.g. the PCA scores the regressor sees (before polynomial expansion, which is dropped so that
        distances stay in PC units).
    """
    X = np.asarray(X, dtype=float)
    for name, step in pipeline.steps[:-1]:
        if name in ("poly", "polynomialfeatures"):
            break
        X = step.transform(X)
    return X


def ood_flags(pipeline, X_train, X_new, *, percentile=99.0):
    """Out-of-distribution flags of new samples.

    Parameters
    ----------
    pipeline : fitted Pipeline
    X_train : array_like, shape (n_train, n_features)
        The samples the pipeline was fitted on.
    X_new : array_like, shape (n_new, n_features)
    percentile : float
        Percentile of the training samples' nearest-neighbour distances used as the threshold.

    Returns
    -------
    distance : ndarray, shape (n_new,)
        Distance of each new sample to its nearest training sample, in model space.
    threshold : float
    flags : ndarray of bool, shape (n_new,)
        ``distance > threshold``.
    """
    from scipy.spatial import cKDTree

    train = model_space(pipeline, X_train)
    new = model_space(pipeline, X_new)
    if len(train) < 2:
        raise InputError("at least two training samples are needed for an out-of-distribution threshold")
    tree = cKDTree(train)
    own = tree.query(train, k=2)[0][:, 1]  # nearest *other* training sample
    threshold = float(np.percentile(own, percentile))
    distance = tree.query(new, k=1)[0]
    return distance, threshold, distance > threshold


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
