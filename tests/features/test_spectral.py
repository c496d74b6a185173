"""Radial PSD, physFeat1/2 and the gradient feature against direct computations and known invariances."""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.features.spectral import (grad_feature, grad_labels, phys_feat1, phys_feat1_labels, phys_feat2,
                                      phys_feat2_labels, psd_labels, radial_psd)

SHAPES = [(64, 64), (64, 48), (33, 70), (65, 65)]


def grey(shape, seed=0):
    return np.random.default_rng(seed).random(shape)


def direct_radial_psd(image, bins):
    """Full two-sided numpy FFT and one boolean mask per bin."""
    h, w = image.shape
    power = np.abs(np.fft.fft2(image)) ** 2 / (h * w)
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij"))
    edges = np.linspace(0, 0.5, bins + 1)
    out = []
    for i in range(bins):
        upper = k <= edges[i + 1] + 1e-12 if i == bins - 1 else k < edges[i + 1] - 1e-12
        out.append(power[(k >= edges[i] - 1e-12) & upper].mean())
    return np.array(out)


def direct_grad(image):
    """Periodic central differences written out with explicit index arithmetic."""
    h, w = image.shape
    y, x = np.indices((h, w))
    gy = (image[(y + 1) % h, x] - image[(y - 1) % h, x]) / 2
    gx = (image[y, (x + 1) % w] - image[y, (x - 1) % w]) / 2
    return np.sqrt(gy ** 2 + gx ** 2)


def power_law(n, exponent, seed=0):
    """Real field whose spectrum has |F|² ∝ |k|**exponent (random phases, no mean)."""
    k = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.rfftfreq(n)[None, :])
    amplitude = np.zeros_like(k)
    amplitude[k > 0] = k[k > 0] ** (exponent / 2)
    phases = np.exp(2j * np.pi * np.random.default_rng(seed).random(k.shape))
    return np.fft.irfft2(amplitude * phases, s=(n, n))


SYMMETRIES = {"roll": lambda u: np.roll(u, (5, -11), axis=(-2, -1)), "rot90": lambda u: np.rot90(u, axes=(-2, -1)),
              "flip_y": lambda u: u[..., ::-1, :], "flip_x": lambda u: u[..., ::-1],
              "transpose": lambda u: u.swapaxes(-1, -2)}


class TestRadialPsd:
    @pytest.mark.parametrize("shape", SHAPES)
    def test_matches_direct_binning(self, shape):
        u = grey((2, *shape), seed=shape[1])
        expected = np.stack([direct_radial_psd(image, 32) for image in u])
        np.testing.assert_allclose(radial_psd(u), expected, rtol=1e-10)

    @pytest.mark.parametrize("dtype", [np.uint8, bool, np.float32, np.float64])
    def test_dtypes(self, dtype):
        u = (grey((64, 64)) > 0.5).astype(dtype)
        np.testing.assert_allclose(radial_psd(u)[0], direct_radial_psd(u.astype(float), 32), rtol=1e-10)

    @pytest.mark.parametrize("name", sorted(SYMMETRIES))
    def test_invariances_on_square_images(self, name):
        u = grey((3, 64, 64), seed=4)
        np.testing.assert_allclose(radial_psd(SYMMETRIES[name](u)), radial_psd(u), rtol=1e-12, atol=1e-12)

    def test_sinusoid_lands_in_its_bin(self):
        k0, size, bins = 5, 64, 16  # k0 / size = 5/64 is the centre of bin 2 = [4/64, 6/64)
        u = np.cos(2 * np.pi * k0 * np.arange(size) / size)[None, :] * np.ones((size, 1))
        psd = radial_psd(u, bins=bins)[0]
        jy, jx = np.meshgrid(np.fft.fftfreq(size, 1 / size), np.fft.fftfreq(size, 1 / size), indexing="ij")
        in_bin = np.count_nonzero((np.hypot(jy, jx) >= 4) & (np.hypot(jy, jx) < 6))
        # two peaks at (0, ±k0), each |F|² / N = (N / 2)² / N = N / 4
        assert psd[2] == pytest.approx(2 * size * size / 4 / in_bin, rel=1e-12)
        assert np.abs(np.delete(psd, 2)).max() < 1e-20 * psd[2] + 1e-18

    def test_mean_is_not_subtracted(self):
        np.testing.assert_allclose(radial_psd(np.full((64, 64), 0.5))[0], [64 * 64 * 0.25] + [0] * 31, atol=1e-12)

    def test_single_image_and_mixed_sizes(self):
        a, b = grey((64, 64), seed=1), grey((80, 72), seed=2)
        np.testing.assert_array_equal(radial_psd([a, b, a]), np.vstack([radial_psd(a), radial_psd(b), radial_psd(a)]))

    @pytest.mark.parametrize("bad, match", [(dict(images=np.zeros((2, 16, 16))), r"`images`.*64 px"),
                                            (dict(images=np.zeros((64, 64)), bins=0), "`bins`"),
                                            (dict(images=np.zeros((64, 64)), bins=2.5), "`bins`"),
                                            (dict(images=np.zeros((2, 2, 64, 64))), r"`images`.*\(2, 2, 64, 64\)")])
    def test_refuses_bad_input(self, bad, match):
        with pytest.raises(InputError, match=match):
            radial_psd(**bad)


class TestPhysFeat1:
    @pytest.mark.parametrize("seed", [0, 1])
    def test_power_law_slope(self, seed):
        slope, amplitude = phys_feat1(power_law(128, -3.0, seed))[0]
        assert slope == pytest.approx(-3.0, abs=0.1)
        assert amplitude > 0

    def test_amplitude_is_the_back_transformed_intercept(self):
        u = power_law(128, -2.0)
        psd = radial_psd(u)[0]
        k = (np.arange(32) + 0.5) / 64
        slope, intercept = np.polyfit(np.log10(k[1:]), np.log10(psd[1:]), 1)
        np.testing.assert_allclose(phys_feat1(u)[0], [slope, 10 ** intercept], rtol=1e-10)
        np.testing.assert_allclose(phys_feat1(3 * u)[0], [slope, 9 * 10 ** intercept], rtol=1e-10)

    def test_constant_image_gives_nan(self):
        assert np.isnan(phys_feat1(np.ones((2, 64, 64)))).all()

    @pytest.mark.parametrize("shape", [(3, 64, 64), (64, 96)])
    def test_shape(self, shape):
        assert phys_feat1(grey(shape)).shape == (shape[0] if len(shape) == 3 else 1, 2)


class TestPhysFeat2:
    @pytest.mark.parametrize("shape", [(2, 64, 64), (1, 64, 80)])
    def test_halves(self, shape):
        u = grey(shape, seed=3)
        got = phys_feat2(u)
        assert got.shape == (shape[0], 64)
        np.testing.assert_array_equal(got[:, :32], np.log10(radial_psd(u) + 1))
        grads = np.stack([direct_grad(image) for image in u])
        np.testing.assert_allclose(got[:, 32:], np.log10(radial_psd(grads) + 1), rtol=1e-12)

    @pytest.mark.parametrize("name", sorted(SYMMETRIES))
    def test_invariances(self, name):
        u = (grey((2, 64, 64), seed=5) > 0.5).astype(np.float32)
        np.testing.assert_allclose(phys_feat2(SYMMETRIES[name](u)), phys_feat2(u), rtol=1e-12, atol=1e-12)


class TestGradFeature:
    @pytest.mark.parametrize("width", [8, 9, 16])
    def test_periodic_ramp(self, width):
        ramp = np.tile(np.arange(width) / width, (5, 1))
        # interior pixels: 1/W; the two pixels next to the wrap: (W - 2) / (2W) each
        np.testing.assert_allclose(grad_feature(ramp), [2 * (width - 2) / width ** 2], rtol=1e-12)

    @pytest.mark.parametrize("dtype", [np.uint8, bool, np.float32, np.float64])
    def test_checkerboard_has_no_central_difference(self, dtype):
        board = (np.indices((6, 8)).sum(axis=0) % 2).astype(dtype)
        np.testing.assert_array_equal(grad_feature(board), [0.0])

    @pytest.mark.parametrize("shape", [(3, 10, 12), (7, 5)])
    def test_matches_direct_gradient(self, shape):
        u = grey(shape, seed=8)
        stack = u if u.ndim == 3 else u[None]
        np.testing.assert_allclose(grad_feature(u), [direct_grad(image).mean() for image in stack], rtol=1e-12)

    def test_refuses_strings(self):
        with pytest.raises(InputError, match="`images`"):
            grad_feature(np.array([["a"]]))


class TestLabels:
    def test_labels_match_widths(self):
        assert psd_labels(32)[:2] == ["psd[k=0]", "psd[k=1]"] and len(psd_labels(32)) == 32
        assert phys_feat1_labels() == ["psd_slope", "psd_amplitude"]
        labels = phys_feat2_labels()
        assert len(labels) == 64 and labels[32] == "grad_psd[k=0]" and len(set(labels)) == 64
        assert grad_labels() == ["grad_mean"]


class TestLargeImages:
    """Images above FLOAT32_PIXELS with single-precision values take the float32 FFT, in memory-budget blocks."""

    @staticmethod
    def micrograph(n=1100, seed=0):
        """A 16-bit image with a steep power-law spectrum (|F|² ∝ k^-3.5): its high-k bins are ~1e-7 of its low-k
        ones, where float32 round-off would show first."""
        u = power_law(n, -3.5, seed)
        return np.round((u - u.min()) / (u.max() - u.min()) * 65535).astype(np.uint16)

    @pytest.mark.parametrize("dtype", [np.uint16, np.float32, bool])
    def test_float32_fft_matches_float64_within_its_round_off(self, dtype):
        from msdash.features.spectral import FLOAT32_PIXELS

        image = self.micrograph()
        image = image > 32768 if dtype is bool else image.astype(dtype)
        assert image.size > FLOAT32_PIXELS
        # float32 FFT round-off is about eps32 · log2(N) ≈ 6e-8 · 20 ≈ 1e-6 of the largest coefficient of the
        # mean-free image; averaged over the thousands of frequencies of a bin it is ~1e-7 relative: 1e-5 leaves
        # a 10× margin.
        single = radial_psd(image[None])[0]
        double = radial_psd(image[None].astype(np.float64))[0]
        np.testing.assert_allclose(single, double, rtol=1e-5)
        np.testing.assert_allclose(phys_feat2(image), phys_feat2(image.astype(np.float64)), rtol=1e-6, atol=1e-9)

    def test_the_mean_power_is_exact(self):
        n, value = 1100, 40000  # |F(0)|² / N = N · 40000² = 1.9e15, beyond float32's 24 bits
        psd = radial_psd(np.full((1, n, n), value, dtype=np.uint16), bins=4)[0]
        in_bin_0 = np.count_nonzero(np.hypot(*np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n))) < 1 / 8)
        assert psd[0] == pytest.approx(n * n * value ** 2 / in_bin_0, rel=1e-14)
        assert (psd[1:] == 0).all()

    def test_float64_images_stay_in_float64(self):
        u = grey((1, 1030, 1030), seed=9)
        np.testing.assert_allclose(radial_psd(u)[0], direct_radial_psd(u[0], 32), rtol=1e-10)

    def test_blocks_give_the_one_block_result(self, monkeypatch):
        u = grey((5, 96, 80), seed=10).astype(np.float32)
        whole = [radial_psd(u), phys_feat2(u), grad_feature(u)]
        monkeypatch.setenv("MSDASH_MEMORY_BUDGET", "1000")  # one image per block
        for got, expected in zip([radial_psd(u), phys_feat2(u), grad_feature(u)], whole):
            np.testing.assert_array_equal(got, expected)

    @pytest.mark.parametrize("shape", [(1, 6), (2, 6), (6, 2), (1, 1)])
    def test_gradient_of_thin_images_matches_direct(self, shape):
        u = grey(shape, seed=11)
        np.testing.assert_allclose(grad_feature(u), [direct_grad(u).mean()], rtol=1e-12)
