"""Study B's segmentation preset ``paper-b`` equals the notebook's OpenCV steps, re-implemented here without OpenCV.

The notebook (``Experimental_case_study/Thresholding_Experimental_Images.ipynb`` of whishei/MicroPropViT, study B
of ``docs/references.md``) runs: RGBA→RGB→GRAY, ``cv2.fastNlMeansDenoising(gray, None, 10, 7, 21)``,
``cv2.adaptiveThreshold(…, ADAPTIVE_THRESH_MEAN_C, THRESH_BINARY, window, 5)`` with the window from the short
side. ``bench/paper_b_segmentation.py`` compares with OpenCV itself where it is installed.
"""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.features.segmentation import adaptive_nlm_threshold, paper_b_threshold
from msdash.synthetic import two_phase


def noisy_two_phase(shape=(128, 128), noise=0.15, seed=0):
    """A 0/1 truth and its grey picture: phases at 0.3 and 0.7 plus Gaussian noise, clipped to [0, 1]."""
    truth = two_phase(1, shape, volume_fraction=0.4, correlation_length=4, seed=seed)[0].astype(np.float32)
    rng = np.random.default_rng(seed)
    return truth, np.clip(0.3 + 0.4 * truth + rng.normal(0, noise, shape), 0, 1)


def _reflect101(index, n):
    """OpenCV's BORDER_REFLECT_101 index map (mirror without repeating the edge), for any integer index."""
    period = 2 * n - 2
    index = np.abs(index) % period
    return np.where(index < n, index, period - index)


def notebook_threshold(rgb_u8):
    """Study B's notebook steps on an 8-bit RGB image, written from OpenCV's documented definitions.

    RGB2GRAY in fixed point; fastNlMeansDenoising(h=10, template 7, search 21) pixel by pixel with explicit
    reflect-101 indices; adaptiveThreshold(MEAN_C, BINARY, window from the short side, C=5) with the
    replicated-border mean rounded to a level. No OpenCV, no msdash.
    """
    r, g, b = (rgb_u8[..., i].astype(np.int64) for i in range(3))
    grey = ((4899 * r + 9617 * g + 1868 * b + 8192) >> 14).astype(float)
    n_y, n_x = grey.shape
    t, s = 3, 10
    offsets = np.arange(-s - t, s + t + 1)
    denoised = np.empty_like(grey)
    for i in range(n_y):
        rows = _reflect101(i + offsets, n_y)
        for j in range(n_x):
            near = grey[np.ix_(rows, _reflect101(j + offsets, n_x))]  # (2(s + t) + 1)² around (i, j)
            centre = near[s: s + 2 * t + 1, s: s + 2 * t + 1]
            patches = np.lib.stride_tricks.sliding_window_view(near, (2 * t + 1, 2 * t + 1))  # (21, 21, 7, 7)
            d2 = ((patches - centre) ** 2).mean(axis=(2, 3))
            w = np.exp(-d2 / 10.0**2)
            w[w < 0.001] = 0
            denoised[i, j] = np.rint((w * near[t: t + 2 * s + 1, t: t + 2 * s + 1]).sum() / w.sum())
    half = min(n_y, n_x) // 2
    window = half + 1 if half % 2 == 0 else half
    k = window // 2
    mean = np.empty_like(grey)
    for i in range(n_y):
        rows = np.clip(np.arange(i - k, i + k + 1), 0, n_y - 1)
        for j in range(n_x):
            cols = np.clip(np.arange(j - k, j + k + 1), 0, n_x - 1)
            mean[i, j] = np.rint(denoised[np.ix_(rows, cols)].mean())
    return (denoised > mean - 5).astype(np.float32)


class TestPaperBThreshold:
    """``paper-b`` repeats study B's notebook; checked against an OpenCV-free re-implementation."""

    def test_equals_the_notebook_steps_on_a_synthetic_micrograph(self):
        _, grey = noisy_two_phase((30, 38), noise=0.03, seed=4)  # noise ≈ h: weights neither 0 nor 1
        tint = np.array([1.0, 0.9, 0.75])  # unequal channels exercise the grey conversion
        rgb_u8 = np.rint(np.clip(grey[..., None] * tint, 0, 1) * 255).astype(np.uint8)
        expected = notebook_threshold(rgb_u8)
        got = paper_b_threshold(rgb_u8)
        assert got.dtype == np.float32 and got.shape == (30, 38)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(paper_b_threshold(rgb_u8 / 255.0), expected)  # floats in [0, 1]
        assert 0.1 < expected.mean() < 0.9  # a real two-phase split, not a trivial answer

    def test_row_blocks_from_a_small_memory_budget_give_the_same_map(self, monkeypatch):
        _, grey = noisy_two_phase((40, 24), noise=0.03, seed=5)
        whole = paper_b_threshold(grey)
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(10 * 8 * (24 + 26) * 30))  # 4 rows per block
        np.testing.assert_array_equal(paper_b_threshold(grey), whole)

    def test_nearly_uniform_image_is_almost_all_one_unlike_the_variant(self):
        # The example: the notebook gives volume fraction 0.997 on a nearly uniform micrograph.
        image = np.clip(0.5 + np.random.default_rng(1).normal(0, 0.01, (48, 64)), 0, 1)
        assert paper_b_threshold(image).mean() > 0.99
        assert 0.3 < adaptive_nlm_threshold(image).mean() < 0.7

    def test_offset_and_strength_are_used(self):
        _, grey = noisy_two_phase((24, 24), noise=0.1, seed=2)
        base = paper_b_threshold(grey)
        assert paper_b_threshold(grey, offset=0).mean() < base.mean()
        assert not np.array_equal(paper_b_threshold(grey, h=40.0), base)

    @pytest.mark.parametrize("image, kwargs, name", [
        (np.full((3, 8), 0.5), {}, "image"), (np.full((8, 8), 1.5), {}, "image"),
        (np.full((8, 8), 300, dtype=np.int64), {}, "image"), (np.full((8, 8), 0.5), {"window": 4}, "window"),
        (np.full((8, 8), 0.5), {"h": 0.0}, "h"), (np.full((8, 8), 0.5), {"offset": np.nan}, "offset"),
    ])
    def test_refuses_bad_input(self, image, kwargs, name):
        with pytest.raises(InputError) as error:
            paper_b_threshold(image, **kwargs)
        assert error.value.name == name and f"`{name}`" in str(error.value)
