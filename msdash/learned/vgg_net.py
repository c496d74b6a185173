"""VGG19 feature extractor in plain torch (no torchvision), loading torchvision-format weights from a local folder.

Imports torch at module level: import it inside the functions that need the network (the layout and the weight
status are in :mod:`msdash.learned.vgg`, which stays light). Without weights, :func:`load_vgg19` returns a seeded
random-weight network flagged ``pretrained=False``: random convolutional networks still carry texture statistics
(Ustyuzhaninov et al. 2017), so the texture workflow runs, but every figure made with such a network must say so.

References
----------
Simonyan & Zisserman, "Very deep convolutional networks for large-scale image recognition", ICLR 2015.
Gatys, Ecker & Bethge, "Texture synthesis using convolutional neural networks", NeurIPS 2015.
"""

import copy
import hashlib
from pathlib import Path

import torch
from torch import nn

from msdash.errors import InputError
from msdash.learned.vgg import CONFIG, IMAGENET_MEAN, IMAGENET_STD, LAYERS, SEED, STYLE_LAYERS, vgg_status

__all__ = ["VGG19", "load_vgg19", "random_vgg19", "vgg_features", "fingerprint"]

class _Conv3x3(nn.Conv2d):
    """A Conv2d without torch's default initialisation: :meth:`VGG19.reset_random` sets the weights once."""

    def reset_parameters(self):
        pass


class VGG19(nn.Module):
    """The convolutional part of VGG19, with torchvision's module indices.

    Attributes
    ----------
    features : nn.Sequential
        37 modules: Conv2d(3×3, padding 1), ReLU, …, MaxPool2d(2, 2).
    pretrained : bool
        Whether trained weights were loaded (False: seeded random weights).
    source : str
        The weight file, or ``"random (seed 19)"``.

    Parameters
    ----------
    seed : int or None
        Seed of the initial random weights (:meth:`reset_random`); None leaves the weights uninitialised, for
        a state dict to fill.
    """

    def __init__(self, *, seed=SEED):
        super().__init__()
        layers, channels = [], 3
        for item in CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [_Conv3x3(channels, item, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = item
        self.features = nn.Sequential(*layers)
        self.pretrained, self.source = False, "uninitialised"
        if seed is not None:
            self.reset_random(seed)

    def reset_random(self, seed=SEED):
        """Seeded random weights as torchvision initialises them (Kaiming normal, fan-out, zero bias)."""
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for module in self.features:
                if isinstance(module, nn.Conv2d):
                    fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
                    std = (2.0 / fan_out) ** 0.5
                    module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
                    module.bias.zero_()
        self.pretrained, self.source = False, f"random (seed {seed})"
        return self

    def forward(self, images, layers=STYLE_LAYERS):
        """Feature maps at ``layers``; see :func:`vgg_features`."""
        return vgg_features(self, images, layers=layers)


def _read_state(file):
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(file)
    else:
        state = torch.load(file, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(f"{file.name} does not hold a state dict (got {type(state).__name__}).", name="vgg_folder")
    if not any(k.startswith("features.") for k in state):  # a saved `vgg.features` alone: "0.weight", …
        state = {f"features.{k}": v for k, v in state.items()}
    return {k: v for k, v in state.items() if k.startswith("features.")}


def load_vgg19(folder=None, *, device=None):
    """VGG19 with pretrained weights from a local folder, else with seeded random weights.

    Parameters
    ----------
    folder : path, optional
        Folder holding one ``*.safetensors`` (preferred) or torchvision ``*.pth`` / ``*.pt`` state dict (read
        with ``torch.load(weights_only=True)``). None looks in :func:`default_vgg_folder` and falls back to
        random weights when nothing is there; a folder given explicitly must hold weights.
    device : str or torch.device, optional
        Default ``"cpu"``.

    Returns
    -------
    VGG19
        In ``eval()`` mode with ``requires_grad=False`` parameters; check ``.pretrained`` before trusting
        figures (False: random weights).

    Raises
    ------
    InputError
        ``folder`` given without weights, or weights that do not fit VGG19.

    Examples
    --------
    >>> vgg = load_vgg19()  # no weights in a fresh workspace
    >>> vgg.pretrained, vgg.source, len(vgg.features)
    (False, 'random (seed 19)', 37)
    """
    explicit = folder is not None
    status = vgg_status(folder)
    if status["present"]:
        model = VGG19(seed=None)
        file = Path(status["file"])
        try:
            model.load_state_dict(_read_state(file), strict=True)
        except (RuntimeError, OSError, ValueError) as exc:
            raise InputError(f"The weights in {file} do not fit VGG19: {exc}", name="vgg_folder") from exc
        model.pretrained, model.source = True, str(file)
    elif explicit:
        raise InputError(status["message"], name="vgg_folder")
    else:
        model = random_vgg19()
    model.requires_grad_(False)
    return model.eval().to(device or "cpu")


_RANDOM = {}


def random_vgg19(seed=SEED):
    """A fresh copy of the seeded random-weight VGG19 (generated once per process and seed, then copied)."""
    if seed not in _RANDOM:
        _RANDOM[seed] = VGG19(seed=seed).requires_grad_(False).eval()
    return copy.deepcopy(_RANDOM[seed])


def _as_batch(images, device):
    """(n, H, W), (n, 1, H, W) or (n, 3, H, W) in [0, 1] → normalised float (n, 3, H, W) tensor."""
    x = torch.as_tensor(images, dtype=torch.float32, device=device)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise InputError(f"`images` must be (n, H, W), (n, 1, H, W) or (n, 3, H, W), got shape {tuple(x.shape)}",
                         name="images")
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def vgg_features(vgg, images, *, layers=STYLE_LAYERS):
    """Feature maps of a batch at named layers.

    Parameters
    ----------
    vgg : VGG19
    images : tensor or ndarray, shape (n, H, W), (n, 1, H, W) or (n, 3, H, W)
        Values in [0, 1]; grey is repeated to RGB, then ImageNet-normalised (see the module docstring).
        Gradients flow back to ``images`` when it is a tensor that requires them.
    layers : sequence of str
        Keys of :data:`LAYERS`; default :data:`STYLE_LAYERS` (conv1_1, pool1 … pool4).

    Returns
    -------
    list of tensor
        One ``(n, C, H / 2^k, W / 2^k)`` map per layer, in the order of ``layers`` (``C`` = 64 for conv1_1 and
        pool1, 128, 256, 512 for pool2 … pool4). Only the layers up to the deepest one asked for are computed.

    Examples
    --------
    >>> maps = vgg_features(load_vgg19(), torch.rand(2, 32, 32))
    >>> [tuple(m.shape) for m in maps]
    [(2, 64, 32, 32), (2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4), (2, 512, 2, 2)]
    """
    unknown = [name for name in layers if name not in LAYERS]
    if unknown or not layers:
        raise InputError(f"Unknown VGG19 layer(s) {unknown}; valid: {', '.join(LAYERS)}", name="layers")
    device = next(vgg.parameters()).device
    x = _as_batch(images, device)
    wanted = {LAYERS[name]: name for name in layers}
    found = {}
    for index, module in enumerate(vgg.features[:max(wanted) + 1]):
        # in-place ReLU would overwrite a conv output we keep; use the functional form instead
        x = torch.relu(x) if isinstance(module, nn.ReLU) else module(x)
        if index in wanted:
            found[wanted[index]] = x
    return [found[name] for name in layers]


def fingerprint(vgg, *, upto="pool4"):
    """Hex digest (16 characters) of the weights up to ``upto``: tells whether two VGGs give the same features."""
    digest = hashlib.sha256()
    for name, tensor in vgg.features[:LAYERS[upto] + 1].state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]
