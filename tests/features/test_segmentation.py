"""Segmentation of grey micrographs into 0/1 phase maps, checked against the known truth of synthetic images."""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.features.segmentation import (
    adaptive_nlm_threshold,
    is_binary,
    noise_sigma,
    otsu,
    paper_b_threshold,
    segment_stack,
)
from msdash.synthetic import two_phase


def noisy_two_phase(shape=(128, 128), noise=0.15, seed=0):
    """A 0/1 truth and its grey picture: phases at 0.3 and 0.7 plus Gaussian noise, clipped to [0, 1]."""
    truth = two_phase(1, shape, volume_fraction=0.4, correlation_length=4, seed=seed)[0].astype(np.float32)
    rng = np.random.default_rng(seed)
    return truth, np.clip(0.3 + 0.4 * truth + rng.normal(0, noise, shape), 0, 1)


class TestIsBinary:
    @pytest.mark.parametrize("values, expected", [([0, 1], True), ([1, 1], True), ([0.0, 0.0], True),
                                                  ([True, False], True), ([0, 2], False), ([0, 0.5], False),
                                                  ([-1, 1], False), (["0", "1"], False)])
    def test_values(self, values, expected):
        assert is_binary(np.array(values)) is expected


class TestOtsu:
    @pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
    def test_separates_two_levels(self, dtype):
        truth = np.zeros((16, 16), dtype=np.uint8)
        truth[4:10, 3:12] = 1
        image = (np.where(truth, 200, 40)).astype(dtype)
        got = otsu(image)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, truth)

    def test_noisy_image_is_mostly_right(self):
        truth, image = noisy_two_phase(noise=0.08)
        assert np.mean(otsu(image) == truth) > 0.95

    def test_constant_image_gives_zeros(self):
        np.testing.assert_array_equal(otsu(np.full((5, 7), 0.3)), np.zeros((5, 7)))

    def test_rgb_is_converted(self):
        grey = np.tile([0.1, 0.9], (4, 2))
        np.testing.assert_array_equal(otsu(np.repeat(grey[..., None], 3, axis=2)), otsu(grey))

    @pytest.mark.parametrize("bad", [np.zeros((2, 4, 5)), np.zeros(5), np.full((3, 3), np.nan)])
    def test_refuses_bad_input(self, bad):
        with pytest.raises(InputError, match="`image`"):
            otsu(bad)


class TestNoiseSigma:
    @pytest.mark.parametrize("sigma", [0.05, 0.2])
    def test_white_noise(self, sigma):
        noise = np.random.default_rng(0).normal(0.5, sigma, (256, 256))
        assert noise_sigma(noise) == pytest.approx(sigma, rel=0.05)

    def test_smooth_image_has_little_noise(self):
        y, x = np.indices((64, 64)) / 64
        assert noise_sigma(np.sin(2 * np.pi * x) * np.cos(2 * np.pi * y)) < 0.01  # vs amplitude 1


class TestAdaptiveNlmThreshold:
    @pytest.mark.parametrize("seed", [0, 1])
    def test_recovers_the_truth(self, seed):
        truth, image = noisy_two_phase(seed=seed)
        got = adaptive_nlm_threshold(image)
        assert got.dtype == np.float32 and is_binary(got)
        assert np.mean(got == truth) > 0.95

    @pytest.mark.parametrize("shape", [(40, 60), (33, 33)])
    def test_non_square_and_odd_sizes(self, shape):
        truth, image = noisy_two_phase(shape, noise=0.05)
        got = adaptive_nlm_threshold(image)
        assert got.shape == shape and is_binary(got)

    def test_default_window_is_odd_half_side(self, monkeypatch):
        import skimage.filters

        seen = []
        original = skimage.filters.threshold_local

        def spy(image, block_size, **kwargs):
            seen.append(block_size)
            return original(image, block_size, **kwargs)

        monkeypatch.setattr(skimage.filters, "threshold_local", spy)
        for shape, window in [((40, 60), 21), ((41, 50), 21), ((44, 80), 23), ((4, 4), 3)]:
            adaptive_nlm_threshold(np.random.default_rng(0).random(shape))
            assert seen[-1] == window and window % 2 == 1

    @pytest.mark.parametrize("bad, match", [(dict(window=20), "`window`"), (dict(window=1), "`window`"),
                                            (dict(h=-1.0), "`h`")])
    def test_refuses_bad_options(self, bad, match):
        with pytest.raises(InputError, match=match):
            adaptive_nlm_threshold(np.random.default_rng(0).random((16, 16)), **bad)

    def test_noise_free_image_skips_denoising(self):
        stripes = np.tile([0.2, 0.2, 0.8, 0.8], (8, 4))
        np.testing.assert_array_equal(adaptive_nlm_threshold(stripes), stripes > 0.5)


class TestSegmentStack:
    @pytest.mark.parametrize("method", ["otsu", "paper-b", "nlm-adaptive"])
    def test_array_in_array_out(self, method):
        images = np.stack([noisy_two_phase((48, 48), noise=0.05, seed=s)[1] for s in range(3)])
        got = segment_stack(images, method=method)
        assert isinstance(got, np.ndarray) and got.shape == (3, 48, 48) and got.dtype == np.float32
        single = {"otsu": otsu, "paper-b": paper_b_threshold, "nlm-adaptive": adaptive_nlm_threshold}[method]
        np.testing.assert_array_equal(got[1], single(images[1]))

    def test_sequence_of_sizes_gives_a_list(self):
        images = [np.random.default_rng(0).random((10, 12)), np.random.default_rng(1).random((8, 8))]
        got = segment_stack(images)
        assert isinstance(got, list) and [g.shape for g in got] == [(10, 12), (8, 8)]

    @pytest.mark.parametrize("dtype", [np.uint8, bool, np.float32])
    def test_none_keeps_binary_maps(self, dtype):
        maps = (np.random.default_rng(2).random((2, 6, 7)) > 0.5).astype(dtype)
        got = segment_stack(maps, method="none")
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, maps.astype(np.float32))

    def test_none_refuses_grey(self):
        with pytest.raises(InputError, match="method='none'"):
            segment_stack(np.full((1, 4, 4), 0.5), method="none")

    def test_refuses_unknown_method(self):
        with pytest.raises(InputError, match="`method`"):
            segment_stack(np.zeros((1, 4, 4)), method="kmeans")
