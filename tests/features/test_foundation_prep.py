"""Preprocessing options (paper / standard: resize, crop, pad, size), automatic batch size, progress and cancel."""

import threading

import numpy as np
import pytest
import torch

from foundation_tiny import DIM, save_tiny_models
from msdash.errors import InputError
from msdash.features.foundation import (CPU_MAX_BATCH, EmbeddingCancelled, auto_batch_size, embed,
                                        load_model, rate_message)
from msdash.features.foundation.prep import prepare, prepared_shape

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folders = save_tiny_models(tmp_path_factory.mktemp("models"))
    return {name: load_model(folder, device="cpu") for name, folder in folders.items()}


def _images(n, shape, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random(shape).astype(np.float32) for _ in range(n)]


def _hand_cls(fm, chw, **kwargs):
    with torch.no_grad():
        return fm.model(pixel_values=torch.from_numpy(np.ascontiguousarray(chw))[None], **kwargs).pooler_output[0]


class TestStandardMode:
    """Closed forms on constant images: any resize keeps a constant, normalisation is (c - mean) / std."""

    def test_resize_of_a_constant_image(self, models):
        out = prepare(np.full((20, 50), 0.6, dtype=np.float32), models["dinov2"], mode="standard", size=28)
        expected = (0.6 - IMAGENET_MEAN) / IMAGENET_STD
        assert out.shape == (3, 28, 28)
        np.testing.assert_allclose(out, np.broadcast_to(expected[:, None, None], out.shape), atol=1e-5)

    def test_pad_keeps_the_aspect_ratio_and_pads_with_the_mean_colour(self, models):
        out = prepare(np.full((20, 40), 0.6, dtype=np.float32), models["dinov2"], mode="standard", size=28,
                      fit="pad")
        expected = (0.6 - IMAGENET_MEAN) / IMAGENET_STD  # 20×40 scaled to 14×28 at the top, zeros below
        np.testing.assert_allclose(out[:, :14], np.broadcast_to(expected[:, None, None], (3, 14, 28)), atol=1e-5)
        assert np.all(out[:, 14:] == 0)

    def test_crop_is_the_central_window_at_full_resolution(self, models):
        image = np.arange(40 * 60, dtype=np.float32).reshape(40, 60) / (40 * 60)
        out = prepare(image, models["dinov2"], mode="standard", size=28, fit="crop")
        window = image[6:34, 16:44]
        np.testing.assert_allclose(out[1], (window - IMAGENET_MEAN[1]) / IMAGENET_STD[1], atol=1e-5)

    def test_crop_larger_than_the_image_is_refused(self, models):
        with pytest.raises(InputError, match="smaller than the 28×28 crop"):
            prepare(np.zeros((20, 60)), models["dinov2"], mode="standard", size=28, fit="crop")

    def test_default_size_is_the_model_input_size(self, models):
        assert prepared_shape((30, 70), models["dinov2"], mode="standard") == (3, 56, 56)
        assert prepared_shape((30, 70), models["clip"], mode="standard", fit="pad") == (3, 32, 32)

    def test_clip_uses_its_own_mean(self, models):
        out = prepare(np.full((8, 8), 0.5, dtype=np.float32), models["clip"], mode="standard", size=32)
        mean, std = 0.48145466, 0.26862954
        np.testing.assert_allclose(out[0], (0.5 - mean) / std, atol=1e-5)


class TestSizes:
    @pytest.mark.parametrize("size, nearest", [(50, "use 42 or 56"), (10, "got 10; use 14$")])
    def test_size_must_be_a_patch_multiple(self, models, size, nearest):
        with pytest.raises(InputError, match=nearest):
            prepared_shape((60, 60), models["dinov2"], mode="standard", size=size)

    def test_sam_takes_only_its_own_size(self, models):
        with pytest.raises(InputError, match="64×64"):
            prepared_shape((60, 60), models["sam"], size=32)
        assert prepared_shape((60, 60), models["sam"], size=64) == (3, 64, 64)

    def test_study_a_crop_of_a_51_section(self, models):
        section = _images(1, (51, 51))[0]
        np.testing.assert_array_equal(prepare(section, models["dinov2"]), np.repeat(section[None, :42, :42], 3, 0))

    def test_study_a_interpolation_of_a_51_section(self, models):
        section = (_images(1, (51, 51))[0] > 0.5).astype(np.float32)  # binary, as study A's phase maps
        fm = models["dinov2"]
        out = embed([section], model=fm, size=56)
        pixels = torch.nn.functional.interpolate(torch.from_numpy(np.repeat(section[None, None], 3, 1)),
                                                 size=(56, 56), mode="bilinear", align_corners=False)
        with torch.no_grad():
            expected = fm.model(pixel_values=pixels).pooler_output.numpy()  # upsampling: antialias changes nothing
        np.testing.assert_allclose(out, expected, atol=1e-5)

    def test_clip_at_another_size_interpolates_its_position_encoding(self, models):
        fm = models["clip"]
        image = np.full((48, 48), 0.25, dtype=np.float32)
        out = embed([image], model=fm, mode="standard", size=48)
        chw = np.broadcast_to(((0.25 - np.array([0.48145466, 0.4578275, 0.40821073])) /
                               np.array([0.26862954, 0.26130258, 0.27577711]))[:, None, None], (3, 48, 48))
        expected = _hand_cls(fm, chw.astype(np.float32), interpolate_pos_encoding=True)
        np.testing.assert_allclose(out[0], expected.numpy(), atol=1e-5)


class TestBatching:
    def test_auto_batch_size_follows_the_memory(self, models):
        from msdash.features.foundation.embedding import _activation_bytes

        fm, shape = models["dinov2"], (3, 56, 56)
        per_image = _activation_bytes(fm, shape)
        # at least the MLP's hidden activations of one image: tokens × 4·hidden float32 values
        assert per_image >= (4 * 4 + 1) * 4 * DIM * 4
        assert auto_batch_size(fm, shape, free_bytes=3 * per_image) == 3
        assert auto_batch_size(fm, shape, free_bytes=3 * per_image - 1) == 2
        assert auto_batch_size(fm, shape, free_bytes=1) == 1
        assert auto_batch_size(fm, shape, free_bytes=1 << 40) == CPU_MAX_BATCH
        assert auto_batch_size(fm, (3, 560, 560), free_bytes=1 << 24) < auto_batch_size(fm, shape, free_bytes=1 << 24)

    def test_automatic_batches_equal_single_images(self, models):
        images = _images(5, (30, 44)) + _images(3, (44, 30), seed=1)
        np.testing.assert_allclose(embed(images, model=models["dinov2"]),
                                   embed(images, model=models["dinov2"], batch_size=1), atol=1e-5)

    def test_mixed_sizes_come_back_in_input_order(self, models):
        images = [_images(1, (28 + 14 * (i % 3), 42))[0] for i in range(6)]
        together = embed(images, model=models["dinov2"], batch_size=4)
        for image, row in zip(images, together):
            np.testing.assert_allclose(row, embed([image], model=models["dinov2"])[0], atol=1e-5)


class TestProgressAndCancel:
    def test_progress_reports_rate_and_time_left(self, models):
        calls = []
        embed(_images(5, (28, 28)), model=models["dinov2"], batch_size=2, progress=lambda *a: calls.append(a))
        assert [c[:2] for c in calls] == [(2, 5), (4, 5), (5, 5)]
        assert all("images/s" in c[2] and "left" in c[2] for c in calls) and calls[-1][2].endswith("0:00 left")

    def test_progress_returning_false_cancels(self, models):
        calls = []

        def stop(done, total, message):
            calls.append(done)
            return False

        with pytest.raises(EmbeddingCancelled):
            embed(_images(6, (28, 28)), model=models["dinov2"], batch_size=2, progress=stop)
        assert calls == [2]

    def test_cancel_event(self, models):
        event = threading.Event()
        event.set()
        with pytest.raises(EmbeddingCancelled):
            embed(_images(2, (28, 28)), model=models["dinov2"], cancel=event)

    def test_cancelled_is_not_an_exception(self):
        # per-sample error handling catches Exception and caches it as a failure; a cancel must pass through
        assert not issubclass(EmbeddingCancelled, Exception)

    def test_rate_message(self):
        assert rate_message(30, 90, 3.0) == "10 images/s, about 0:06 left"
        assert rate_message(3, None, 1.0, images=12) == "12 images/s"


def test_dims(models):
    assert embed(_images(2, (28, 28)), model=models["registers"], pooling="cls+mean").shape == (2, 2 * DIM)
