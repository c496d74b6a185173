"""torchvision-layout ResNet state dicts load into ``resnet_embed`` (issue 15: pretrained CNN backbones).

The oracle is a ResNet written here in plain torch with torchvision's module names (torchvision itself does not
import beside the pinned torch): its random state dict is saved in the published layout, and the embedding msdash
computes from that file must equal this network's global-pooled features.
"""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.learned.resnet import resnet_embed
from msdash.learned.resnet_import import infer_depth, load_weights_file, torchvision_to_transformers

_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def _reference_resnet(depth):
    """torchvision's ResNet-18/50 (v1.5: the bottleneck's stride in its 3×3 convolution), without torchvision."""
    import torch
    from torch import nn

    class Basic(nn.Module):
        expansion = 1

        def __init__(self, cin, width, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.downsample = None
            if stride != 1 or cin != width:
                self.downsample = nn.Sequential(nn.Conv2d(cin, width, 1, stride, bias=False), nn.BatchNorm2d(width))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, cin, width, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(width * 4)
            self.downsample = None
            if stride != 1 or cin != width * 4:
                self.downsample = nn.Sequential(nn.Conv2d(cin, width * 4, 1, stride, bias=False),
                                                nn.BatchNorm2d(width * 4))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = torch.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    block, blocks = {18: (Basic, (2, 2, 2, 2)), 50: (Bottleneck, (3, 4, 6, 3))}[depth]

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            cin = 64
            for stage, (n, width) in enumerate(zip(blocks, (64, 128, 256, 512)), start=1):
                layers = []
                for b in range(n):
                    layers.append(block(cin, width, 2 if (b == 0 and stage > 1) else 1))
                    cin = width * block.expansion
                setattr(self, f"layer{stage}", nn.Sequential(*layers))
            self.fc = nn.Linear(cin, 1000)

        def features(self, x):
            x = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 3, 2, 1)
            for stage in range(1, 5):
                x = getattr(self, f"layer{stage}")(x)
            return x.mean(dim=(2, 3))

    torch.manual_seed(depth)
    model = ResNet()
    with torch.no_grad():  # non-trivial running statistics, so a swapped mean/var would show
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
    return model.eval()


def _expected(model, images):
    import torch

    x = torch.from_numpy(np.repeat(images[:, None], 3, axis=1).astype(np.float32))
    x = (x - torch.tensor(_IMAGENET[0]).view(1, 3, 1, 1)) / torch.tensor(_IMAGENET[1]).view(1, 3, 1, 1)
    with torch.no_grad():
        return model.features(x).numpy()


@pytest.mark.parametrize("depth,suffix", [(18, ".pth"), (50, ".safetensors")])
def test_torchvision_state_dict_gives_the_reference_networks_features(tmp_path, depth, suffix):
    import torch

    model = _reference_resnet(depth)
    path = tmp_path / f"encoder{suffix}"
    if suffix == ".pth":
        torch.save(model.state_dict(), path)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    images = np.random.default_rng(depth).random((3, 48, 48), dtype=np.float32)
    got = resnet_embed(images, depth=depth, folder=path, batch_size=2, device="cpu")
    expected = _expected(model, images)
    assert got.shape == (3, 512 if depth == 18 else 2048)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_wrapped_checkpoints_are_unwrapped(tmp_path):
    import torch

    model = _reference_resnet(18)
    wrapped = {"state_dict": {"encoder." + k: v for k, v in model.state_dict().items()}}
    wrapped["state_dict"]["decoder.head.weight"] = torch.zeros(2)  # a segmentation wrapper's own tensor
    path = tmp_path / "micronet.pth.tar"
    torch.save(wrapped, path)
    state = load_weights_file(path)
    assert infer_depth(state) == 18
    images = np.random.default_rng(1).random((2, 40, 40), dtype=np.float32)
    np.testing.assert_allclose(resnet_embed(images, depth=18, folder=path, device="cpu"), _expected(model, images),
                               rtol=1e-4, atol=1e-5)


def test_the_wrong_depth_names_the_right_one(tmp_path):
    import torch

    path = tmp_path / "r18.pt"
    torch.save(_reference_resnet(18).state_dict(), path)
    with pytest.raises(InputError, match="ResNet-18's, not ResNet-34's; choose depth 18"):
        resnet_embed(np.zeros((1, 32, 32), np.float32), depth=34, folder=path, device="cpu")


def test_a_pickled_object_is_refused_without_running_it(tmp_path):
    import pickle

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"conv1.weight": Payload()}))
    with pytest.raises(InputError, match="Cannot read weights from 'evil.pth'"):
        load_weights_file(path)
    assert not marker.exists()


def test_names_outside_the_layout_are_refused():
    with pytest.raises(InputError, match="tensors outside its layout"):
        torchvision_to_transformers({"conv1.weight": 0, "features.0.weight": 1})
    with pytest.raises(InputError, match="not a weights file"):
        load_weights_file(__file__)
