"""Checks of the tables the CV functions take: a finite numeric ``X`` (n, d), ``y`` (n,) and ``groups`` (n,)."""

import numpy as np

from msdash.errors import InputError

__all__ = ["check_data"]


def check_data(X, y, groups=None):
    """Validate and convert ``X`` (n, d), ``y`` (n,) and ``groups`` (n,) for the CV functions."""
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("`X` must be a numeric table (n_samples, n_features)", name="X") from None
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise InputError(f"`X` must be 2-D with at least 2 rows and 1 column, got shape {X.shape}", name="X")
    bad_rows = _non_finite_rows(X)
    if bad_rows:
        raise InputError(f"`X` has {bad_rows} rows with NaN or infinite features; drop or fix them first",
                         name="X")
    try:
        y = np.asarray(y, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InputError("`y` must be numeric", name="y") from None
    if len(y) != len(X):
        raise InputError(f"`y` has {len(y)} values for {len(X)} rows of `X`", name="y")
    if not np.isfinite(y).all():
        raise InputError("`y` has NaN or infinite values; drop those samples first", name="y")
    if groups is not None:
        groups = np.asarray(groups).ravel()
        if len(groups) != len(X):
            raise InputError(f"`groups` has {len(groups)} labels for {len(X)} rows of `X`", name="groups")
    return X, y, groups


def _non_finite_rows(X):
    # by row blocks: a mask of the whole table would be an n×d array of its own
    from msdash.models.blocked import block_length

    step = block_length(X.shape[1])
    return sum(int((~np.isfinite(X[start:start + step])).any(axis=1).sum()) for start in range(0, len(X), step))
