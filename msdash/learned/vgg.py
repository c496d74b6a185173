"""VGG19's layout and where its weights are (no torch): what the network in :mod:`msdash.learned.vgg_net` is.

``VGG19.features`` (:class:`msdash.learned.vgg_net.VGG19`) is laid out exactly as torchvision's
``vgg19().features`` (16 3×3 convolutions, each followed by a ReLU, and five 2×2 max-pools), so a torchvision state
dict (``features.0.weight``, ``features.0.bias``, ``features.2.weight``, …) loads directly. Weights are read from a
local folder only — nothing is downloaded; :func:`vgg_status` says whether they are there without importing torch.

Input convention (torchvision's): RGB in [0, 1], normalised with the ImageNet mean (0.485, 0.456, 0.406) and
standard deviation (0.229, 0.224, 0.225); grey images are repeated over the three channels first.

References
----------
Simonyan & Zisserman, "Very deep convolutional networks for large-scale image recognition", ICLR 2015.
"""

import os
from pathlib import Path

from msdash.config import workspace

__all__ = ["CONFIG", "LAYERS", "STYLE_LAYERS", "IMAGENET_MEAN", "IMAGENET_STD", "SEED", "default_vgg_folder",
           "vgg_status", "weight_file"]

#: Layer layout of VGG19 ("E"): output channels of each 3×3 convolution, "M" for a 2×2 max-pool.
CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: The feature maps of the style loss (study C, after Gatys et al.).
STYLE_LAYERS = ("conv1_1", "pool1", "pool2", "pool3", "pool4")
#: Seed of the random-weight VGG19 used when no pretrained weights are found.
SEED = 19


def _layer_index():
    """Name → index in ``features`` of the module whose output is that layer.

    ``convB_L`` is the output of the ReLU after that convolution (in Caffe, where Gatys et al. named these
    layers, the ReLU is applied in place, so "conv1_1" is the rectified map); ``poolB`` the max-pool output.
    """
    names, index, block, conv = {}, 0, 1, 1
    for item in CONFIG:
        if item == "M":
            names[f"pool{block}"] = index
            index, block, conv = index + 1, block + 1, 1
        else:
            names[f"conv{block}_{conv}"] = index + 1
            index, conv = index + 2, conv + 1
    return names


#: Layer name (``"conv1_1"`` … ``"conv5_4"``, ``"pool1"`` … ``"pool5"``) → index in ``VGG19.features``.
LAYERS = _layer_index()



def default_vgg_folder():
    """Where pretrained VGG19 weights are looked for: ``$MSDASH_VGG19_DIR``, else ``<workspace>/weights/vgg19``."""
    folder = os.environ.get("MSDASH_VGG19_DIR")
    return Path(folder).expanduser() if folder else workspace() / "weights" / "vgg19"


def weight_file(folder):
    """The first ``*.safetensors``, ``*.pth`` or ``*.pt`` file in ``folder`` (None: none, or no folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    for pattern in ("*.safetensors", "*.pth", "*.pt"):
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    return None


def vgg_status(folder=None):
    """Say whether pretrained VGG19 weights are present (no loading, no network).

    Returns
    -------
    dict
        ``present`` (bool), ``folder`` (str), ``file`` (str or None) and ``message`` (plain text).
    """
    folder = Path(folder) if folder is not None else default_vgg_folder()
    file = weight_file(folder)
    if file is not None:
        return {"present": True, "folder": str(folder), "file": str(file), "message": f"VGG19 weights: {file.name}"}
    return {"present": False, "folder": str(folder), "file": None, "message": (
        f"No VGG19 weights in {folder}: put torchvision's vgg19 state dict there (vgg19-dcbb9e9d.pth, or the same "
        "tensors as .safetensors). Without them a random-weight VGG19 is used and every figure says so.")}
