"""The constant baseline (msdash.models.evaluation.constant_baseline) against closed forms."""

import numpy as np
import pytest
from sklearn.model_selection import KFold

from msdash.errors import InputError
from msdash.models.evaluation import constant_baseline


@pytest.fixture
def folds_and_y():
    y = np.random.default_rng(5).lognormal(3, 0.3, size=23)
    return y, list(KFold(5, shuffle=True, random_state=1).split(y))


class TestConstantBaseline:
    def test_mape_uses_the_training_median(self, folds_and_y):
        y, folds = folds_and_y
        base = constant_baseline(y, folds, scoring="mape")
        by_hand = [100 * np.mean(np.abs(y[te] - np.median(y[tr])) / np.abs(y[te])) for tr, te in folds]
        np.testing.assert_allclose(base.fold_scores, by_hand, rtol=1e-12)
        np.testing.assert_allclose(base.metrics["mape_pct"], by_hand, rtol=1e-12)
        assert [p["constant"] for p in base.fold_params] == [np.median(y[tr]) for tr, _ in folds]

    def test_rmse_and_r2_use_the_training_mean(self, folds_and_y):
        y, folds = folds_and_y
        base = constant_baseline(y, folds, scoring="r2")
        rmse = [np.sqrt(np.mean((y[te] - y[tr].mean()) ** 2)) for tr, te in folds]
        r2 = [1 - np.sum((y[te] - y[tr].mean()) ** 2) / np.sum((y[te] - y[te].mean()) ** 2) for tr, te in folds]
        np.testing.assert_allclose(base.metrics["rmse"], rmse, rtol=1e-12)
        np.testing.assert_allclose(base.fold_scores, r2, rtol=1e-12)
        assert (base.fold_scores <= 0).all()  # a constant never explains variance out of sample

    def test_out_of_fold_predictions_cover_every_sample(self, folds_and_y):
        y, folds = folds_and_y
        base = constant_baseline(y, folds, scoring="rmse")
        for tr, te in folds:
            assert np.all(base.predictions[te] == y[tr].mean())
        assert base.model == "baseline" and base.to_dict()["fold_params"][0]["constant"] == y[folds[0][0]].mean()

    def test_unknown_scoring_is_refused(self, folds_and_y):
        y, folds = folds_and_y
        with pytest.raises(InputError, match="`scoring`"):
            constant_baseline(y, folds, scoring="mae%")
