"""Regression metrics of the studies: MAPE in %, RMSE, MAE, R², and the scorer names CV searches with."""

import numpy as np
from sklearn.metrics import (mean_absolute_error, mean_absolute_percentage_error, r2_score,
                             root_mean_squared_error)

from msdash.errors import InputError

__all__ = ["SCORINGS", "score", "regression_metrics"]

# scoring name → (scikit-learn scorer string used by the inner searches, what fold_scores report)
SCORINGS = {
    "mape": ("neg_mean_absolute_percentage_error", "MAPE in % (mean |y − ŷ| / |y| × 100; lower is better)"),
    "rmse": ("neg_root_mean_squared_error", "RMSE in target units (lower is better)"),
    "r2": ("r2", "coefficient of determination R² (higher is better)"),
}


def check_scoring(scoring):
    """Return ``scoring`` if it is a key of :data:`SCORINGS`, else raise :class:`InputError`."""
    if scoring not in SCORINGS:
        raise InputError(f"`scoring` must be one of {', '.join(SCORINGS)}, got {scoring!r}", name="scoring")
    return scoring


def score(y_true, y_pred, scoring):
    """The reported score of one fold: MAPE in %, RMSE or R².

    MAPE is scikit-learn's ``mean_absolute_percentage_error`` (a fraction, with |y| floored at machine
    epsilon) × 100.

    >>> round(score([1.0, 2.0], [1.1, 1.8], "mape"), 6)
    10.0
    """
    if scoring == "mape":
        return float(mean_absolute_percentage_error(y_true, y_pred) * 100.0)
    if scoring == "rmse":
        return float(root_mean_squared_error(y_true, y_pred))
    return float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan")


def regression_metrics(y_true, y_pred):
    """MAPE (%), RMSE, MAE and R² of one set of predictions.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,)

    Returns
    -------
    dict
        ``mape_pct``, ``rmse``, ``mae``, ``r2`` (NaN when ``n < 2``).

    Examples
    --------
    >>> m = regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    >>> round(m["mape_pct"], 3), round(m["mae"], 3), m["r2"]
    (11.111, 0.333, 0.5)
    """
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    return {
        "mape_pct": float(mean_absolute_percentage_error(y_true, y_pred) * 100.0),
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
    }
