"""Property models: regressor presets, nested cross-validation, learning curves, hold-out, intervals.

Everything is re-exported here, so ``from msdash.models import nested_cv`` is the way in.
"""

from msdash.models.cv import CVResult, nested_cv
from msdash.models.evaluation import conformal_interval, fit_final, holdout, learning_curve
from msdash.models.metrics import SCORINGS, regression_metrics
from msdash.models.pcr import PiecewiseConstantRegressor
from msdash.models.presets import MODELS, ModelSpec, make_model

__all__ = ["MODELS", "ModelSpec", "make_model", "PiecewiseConstantRegressor", "nested_cv", "CVResult",
           "learning_curve", "holdout", "fit_final", "conformal_interval", "SCORINGS", "regression_metrics"]
