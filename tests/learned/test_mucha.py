"""MuCha channels against NumPy's FFT and PyWavelets computed here."""

import numpy as np
import pytest
from PIL import Image

from msdash.errors import InputError
from msdash.learned.mucha import mucha_channels


def _minmax(a):
    return (a - a.min()) / (a.max() - a.min()) * 255.0


class TestMuchaChannels:
    def test_channels_equal_numpy_fft_and_pywavelets(self):
        import pywt

        rng = np.random.default_rng(0)
        images = rng.random((3, 64, 64))
        x = mucha_channels(images)
        assert x.shape == (3, 3, 64, 64) and x.dtype == np.float32
        for image, channels in zip(images, x):
            g = image * 255.0
            np.testing.assert_allclose(channels[0], g, rtol=1e-6)
            magnitude = np.abs(np.fft.fftshift(np.fft.fft2(g)))
            np.testing.assert_allclose(channels[1], _minmax(np.log(1.0 + magnitude)), atol=1e-3)
            _, (_, _, diagonal) = pywt.dwt2(g, "sym4")
            assert diagonal.shape == (35, 35)
            back = np.asarray(Image.fromarray(diagonal.astype(np.float32)).resize((64, 64), Image.BILINEAR))
            np.testing.assert_allclose(channels[2], _minmax(back.astype(np.float64)), atol=1e-3)

    def test_fft_channel_peaks_at_the_centre_for_a_bright_image(self):
        image = np.full((64, 64), 0.9)
        image[::2, ::2] = 0.1
        spectrum = mucha_channels(image[None])[0, 1]
        assert np.unravel_index(np.argmax(spectrum), spectrum.shape) == (32, 32)
        assert spectrum.min() == 0.0 and spectrum.max() == 255.0

    def test_other_wavelet_order(self):
        import pywt

        image = np.random.default_rng(1).random((64, 64))
        _, (_, _, diagonal) = pywt.dwt2(image * 255.0, "sym2")
        back = np.asarray(Image.fromarray(diagonal.astype(np.float32)).resize((64, 64), Image.BILINEAR))
        np.testing.assert_allclose(mucha_channels(image[None], wavelet="sym2")[0, 2],
                                   _minmax(back.astype(np.float64)), atol=1e-3)

    def test_large_images_are_resized_with_pillow_bilinear(self):
        image = np.random.default_rng(2).random((100, 80)).astype(np.float32)
        expected = np.asarray(Image.fromarray(image).resize((64, 64), Image.BILINEAR)) * 255.0
        x = mucha_channels([image, np.zeros((64, 64))])
        np.testing.assert_allclose(x[0, 0], expected, rtol=1e-5, atol=1e-3)
        assert x.shape == (2, 3, 64, 64)

    def test_uint8_and_bool_inputs(self):
        rng = np.random.default_rng(3)
        binary = rng.random((64, 64)) > 0.5
        eight_bit = (binary * 255).astype(np.uint8)
        np.testing.assert_array_equal(mucha_channels([binary])[0], mucha_channels([eight_bit])[0])
        np.testing.assert_array_equal(mucha_channels([binary.astype(float)])[0, 0], binary * 255.0)

    def test_uniform_image_gives_zero_detail(self):
        x = mucha_channels(np.full((1, 64, 64), 0.5))
        assert np.all(x[0, 2] == 0) and np.all(x[0, 0] == 127.5)

    def test_size_option(self):
        assert mucha_channels(np.random.default_rng(4).random((2, 40, 40)), size=32).shape == (2, 3, 32, 32)

    @pytest.mark.parametrize("images, what", [
        (np.zeros((4, 4)), "stack"),
        (np.full((1, 16, 16), 2.0), r"\[0, 1\]"),
        (np.zeros((1, 16, 16), dtype=np.int16), "integer type"),
        (np.full((1, 16, 16), np.nan), "NaN"),
        ([np.zeros((3, 16, 16))], "2-D grey"),
        ([], "empty"),
    ])
    def test_bad_images(self, images, what):
        with pytest.raises(InputError, match=what):
            mucha_channels(images)

    def test_bad_wavelet_and_size(self):
        with pytest.raises(InputError, match="wavelet"):
            mucha_channels(np.zeros((1, 16, 16)), wavelet="morl")
        with pytest.raises(InputError, match="size"):
            mucha_channels(np.zeros((1, 16, 16)), size=4)
