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


class TestPredictSamples:
    def test_equals_the_steps_done_by_hand_and_reports_progress(self):
        from types import SimpleNamespace

        from msdash.features import extract
        from msdash.models import conformal_interval
        from msdash.models.intervals import cv_coverage
        from msdash.predict import predict_samples
        from msdash.synthetic import two_phase

        train = two_phase(40, (24, 24), volume_fraction=0.5, correlation_length=3.0, seed=1)
        table = extract(list(train), "two_point", store=False, cutoff=5)
        X = np.asarray(table.values)
        y = 100 * np.asarray([image.mean() for image in train])
        pipeline = make_model("lr", n_components=3).fit(X, y)
        folds = [(np.setdiff1d(np.arange(40), t), t) for t in np.array_split(np.arange(40), 4)]
        residuals = np.random.default_rng(2).normal(size=40)
        cv = SimpleNamespace(residuals=residuals, folds=folds)
        new = {f"n{i}": image for i, image in enumerate(two_phase(3, (24, 24), seed=9))}
        new["bad"] = np.full((24, 24), np.nan)  # not an image: an error row, the rest goes on
        steps = []
        out = predict_samples(new, extractor="two_point", params={"cutoff": 5}, pipeline=pipeline, X_train=X,
                              cv_result=cv, alpha=0.2, target="vf", store=False,
                              progress=lambda f, text: steps.append(f))
        assert [e.name for e in out.errors] == ["bad"] and out.table["name"].tolist() == ["n0", "n1", "n2"]
        X_new = np.asarray(extract([new[f"n{i}"] for i in range(3)], "two_point", store=False, cutoff=5).values)
        np.testing.assert_allclose(out.table["predicted vf"], pipeline.predict(X_new), rtol=1e-10)
        lower, upper = conformal_interval(cv, pipeline.predict(X_new), alpha=0.2)
        np.testing.assert_allclose(out.table["lower"], lower, rtol=1e-10)
        np.testing.assert_allclose(out.table["upper"], upper, rtol=1e-10)
        distance, _, flags = ood_flags(pipeline, X, X_new, folds=folds)
        np.testing.assert_allclose(out.table["distance inside the PCs"], distance)
        assert out.table["out of distribution"].tolist() == flags.tolist()
        assert out.intervals.measured_coverage == cv_coverage(residuals, folds, alpha=0.2)
        assert steps[-1] == 1.0 and steps == sorted(steps)

    def test_no_usable_sample_is_a_clear_error(self, fitted):
        from msdash.predict import predict_samples

        pipeline, X, _ = fitted
        with pytest.raises(InputError, match="no sample"):
            predict_samples({"bad": np.full((8, 8), np.nan)}, extractor="volume_fraction", params={},
                            pipeline=pipeline, X_train=X, cv_result=None, store=False)
