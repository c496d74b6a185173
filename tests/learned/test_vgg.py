"""VGG19 in plain torch: torchvision's layout and key names, local weights (safetensors / .pth), random fallback."""

import numpy as np
import pytest
import torch

from msdash.errors import InputError
from msdash.learned import vgg as V, vgg_net as N

CONV_INDICES = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
POOL_INDICES = [4, 9, 18, 27, 36]


@pytest.fixture(scope="module")
def donor():
    """A VGG19 with weights other than the default random ones, standing in for pretrained weights."""
    return N.VGG19(seed=3)


def torchvision_state(model, scale=1.0):
    """The donor's weights under torchvision's vgg19 keys, plus classifier tensors that must be ignored."""
    state = {k: v.clone() * scale for k, v in model.state_dict().items()}
    assert all(k.startswith("features.") for k in state)
    state["classifier.0.weight"] = torch.zeros(4, 7)
    state["classifier.0.bias"] = torch.zeros(4)
    return state


class TestLayout:
    def test_sixteen_convolutions_and_five_pools_at_torchvision_indices(self):
        features = N.VGG19().features
        assert len(features) == 37
        assert [i for i, m in enumerate(features) if isinstance(m, torch.nn.Conv2d)] == CONV_INDICES
        assert [i for i, m in enumerate(features) if isinstance(m, torch.nn.MaxPool2d)] == POOL_INDICES
        assert [features[i].out_channels for i in CONV_INDICES] == [64, 64, 128, 128] + [256] * 4 + [512] * 8
        assert all(features[i].kernel_size == (3, 3) and features[i].padding == (1, 1) for i in CONV_INDICES)

    def test_layer_names(self):
        assert V.LAYERS["conv1_1"] == 1 and V.LAYERS["conv5_4"] == 35
        assert [V.LAYERS[f"pool{b}"] for b in range(1, 6)] == POOL_INDICES
        assert V.STYLE_LAYERS == ("conv1_1", "pool1", "pool2", "pool3", "pool4")


class TestLoad:
    def test_random_fallback_is_seeded_and_flagged(self):
        first, second = N.load_vgg19(), N.load_vgg19()
        assert first.pretrained is False and "random" in first.source
        assert N.fingerprint(first) == N.fingerprint(second)
        assert N.fingerprint(first) != N.fingerprint(N.VGG19(seed=3))
        assert not any(p.requires_grad for p in first.parameters())

    @pytest.mark.parametrize("fmt", ["safetensors", "pth"])
    def test_torchvision_state_dict_loads_and_gives_identical_outputs(self, donor, tmp_path, fmt):
        state = torchvision_state(donor)
        if fmt == "safetensors":
            from safetensors.torch import save_file
            save_file(state, tmp_path / "vgg19.safetensors")
        else:
            torch.save(state, tmp_path / "vgg19-dcbb9e9d.pth")
        loaded = N.load_vgg19(tmp_path)
        assert loaded.pretrained is True and loaded.source.endswith(fmt)
        x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            expected = donor.features(N._as_batch(x, "cpu"))  # the whole stack, torchvision-style
            got = loaded.features(N._as_batch(x, "cpu"))
        assert torch.equal(got, expected)
        assert N.fingerprint(loaded) == N.fingerprint(donor)

    def test_features_alone_and_safetensors_preferred(self, donor, tmp_path):
        from safetensors.torch import save_file
        doubled = N.VGG19(seed=3)
        with torch.no_grad():
            for p in doubled.parameters():
                p.mul_(2.0)
        torch.save(doubled.features.state_dict(), tmp_path / "features.pth")  # keys "0.weight", ...
        assert N.fingerprint(N.load_vgg19(tmp_path)) == N.fingerprint(doubled)
        save_file(torchvision_state(donor), tmp_path / "vgg19.safetensors")
        assert N.fingerprint(N.load_vgg19(tmp_path)) == N.fingerprint(donor)

    def test_default_folder_is_used_when_it_holds_weights(self, donor, workspace):
        from safetensors.torch import save_file
        V.default_vgg_folder().mkdir(parents=True)
        assert V.vgg_status()["present"] is False
        save_file(torchvision_state(donor), V.default_vgg_folder() / "vgg19.safetensors")
        assert V.vgg_status()["present"] is True
        assert N.load_vgg19().pretrained is True

    def test_bad_folders_raise(self, tmp_path):
        with pytest.raises(InputError, match="No VGG19 weights"):
            N.load_vgg19(tmp_path)
        torch.save({"features.0.weight": torch.zeros(3, 3, 3, 3)}, tmp_path / "bad.pth")
        with pytest.raises(InputError, match="do not fit VGG19"):
            N.load_vgg19(tmp_path)


class TestFeatures:
    def test_shapes_and_grey_equals_repeated_rgb(self):
        vgg = N.load_vgg19()
        grey = torch.rand(2, 32, 48, generator=torch.Generator().manual_seed(1))
        maps = N.vgg_features(vgg, grey)
        assert [tuple(m.shape) for m in maps] == [(2, 64, 32, 48), (2, 64, 16, 24), (2, 128, 8, 12),
                                                  (2, 256, 4, 6), (2, 512, 2, 3)]
        rgb = N.vgg_features(vgg, grey[:, None].expand(-1, 3, -1, -1))
        assert all(torch.equal(a, b) for a, b in zip(maps, rgb))

    def test_conv1_1_is_the_rectified_convolution_of_the_imagenet_normalised_input(self):
        vgg = N.load_vgg19()
        rng = np.random.default_rng(2)
        image = rng.random((1, 3, 8, 8)).astype(np.float32)
        mean, std = np.array(V.IMAGENET_MEAN)[:, None, None], np.array(V.IMAGENET_STD)[:, None, None]
        x = np.pad((image[0] - mean) / std, ((0, 0), (1, 1), (1, 1)))
        w, b = vgg.features[0].weight.numpy(), vgg.features[0].bias.numpy()
        expected = np.zeros((64, 8, 8))
        for dy in range(3):
            for dx in range(3):
                expected += np.einsum("oc,chw->ohw", w[:, :, dy, dx], x[:, dy:dy + 8, dx:dx + 8])
        expected = np.maximum(expected + b[:, None, None], 0)
        got = N.vgg_features(vgg, torch.from_numpy(image), layers=("conv1_1",))[0][0].numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)

    def test_gradients_reach_the_input_and_bad_input_raises(self):
        vgg = N.load_vgg19()
        x = torch.rand(1, 32, 32, requires_grad=True)
        sum(m.sum() for m in N.vgg_features(vgg, x)).backward()
        assert x.grad is not None and x.grad.abs().sum() > 0
        with pytest.raises(InputError, match="Unknown VGG19 layer"):
            N.vgg_features(vgg, x, layers=("pool9",))
        with pytest.raises(InputError, match="must be"):
            N.vgg_features(vgg, torch.rand(2, 2, 8, 8))
