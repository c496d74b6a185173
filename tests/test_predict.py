"""Prediction helpers: model space, out-of-distribution flags, skops round trip, tiling."""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.features.patches import tile
from msdash.models import make_model
from msdash.predict import dump_model, load_model, model_space, ood_flags


@pytest.fixture
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    y = 10 + X[:, 0] + 0.5 * X[:, 1] ** 2
    return make_model("pr", n_components=3).fit(X, y), X, y


class TestModelSpace:
    def test_is_the_pca_scores_before_the_polynomial(self, fitted):
        pipeline, X, _ = fitted
        np.testing.assert_allclose(model_space(pipeline, X), pipeline.named_steps["pca"].transform(X))


class TestOodFlags:
    def test_far_sample_flagged_and_training_like_not(self, fitted):
        pipeline, X, _ = fitted
        distance, threshold, flags = ood_flags(pipeline, X, np.vstack([X[:1] + 1e-6, X[:1] + 50]))
        assert flags.tolist() == [False, True]
        assert distance[0] < 1e-5 and distance[1] > threshold
        scores = pipeline.named_steps["pca"].transform(X)
        own = np.sort(np.linalg.norm(scores[:, None] - scores[None], axis=-1), axis=1)[:, 1]
        assert threshold == pytest.approx(np.percentile(own, 99))  # independent brute force


class TestSkops:
    def test_round_trip_predicts_the_same(self, fitted):
        pipeline, X, _ = fitted
        again = load_model(dump_model(pipeline))
        np.testing.assert_array_equal(again.predict(X), pipeline.predict(X))

    def test_foreign_types_are_refused(self):
        import fractions
        import io

        import skops.io as sio

        buffer = io.BytesIO()
        sio.dump({"model": fractions.Fraction(1, 3)}, buffer)  # a type outside sklearn/numpy/scipy/msdash
        with pytest.raises(InputError, match="fractions.Fraction"):
            load_model(buffer.getvalue())


class TestTile:
    def test_grid_and_contents(self):
        image = np.arange(100.0).reshape(10, 10)
        patches, corners = tile(image, size=4, stride=3)
        assert corners.tolist() == [[y, x] for y in (0, 3, 6) for x in (0, 3, 6)]
        np.testing.assert_array_equal(patches[4], image[3:7, 3:7])

    def test_too_large_patch_is_refused(self):
        with pytest.raises(InputError, match="larger than the image"):
            tile(np.zeros((5, 5)), size=8)
