"""ResNet weights in the layout they are published in (torchvision state dicts) mapped onto ``transformers``.

Microscopy-pretrained encoders (e.g. the MicroNet ResNet-50 of Stuckner et al. 2022) and most ImageNet
checkpoints are distributed as torchvision ``state_dict`` files (``conv1``, ``bn1``, ``layer1.0.conv1``, …),
not as ``save_pretrained`` folders. :func:`load_weights_file` reads such a file without running any code from
it and :func:`torchvision_to_transformers` renames its tensors to ``transformers.ResNetModel``'s layout.
"""

import re
from pathlib import Path

from msdash.errors import InputError
from msdash.learned.resnet_layouts import LAYOUTS

__all__ = ["WEIGHT_SUFFIXES", "load_weights_file", "torchvision_to_transformers", "infer_depth"]

#: File types read as a state dict: safetensors, or torch's zip format read with ``weights_only=True``.
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".tar")
#: Prefixes that wrappers put before torchvision's names (DataParallel, segmentation_models_pytorch encoders,
#: Lightning modules); one of them is removed when every backbone key carries it.
_PREFIXES = ("module.", "encoder.", "backbone.", "model.", "net.")
_BLOCK = re.compile(r"layer(\d)\.(\d+)\.(conv|bn)(\d)\.(.+)")
_SHORTCUT = re.compile(r"layer(\d)\.(\d+)\.downsample\.([01])\.(.+)")
_STEM = {"conv1.weight": "embedder.embedder.convolution.weight"}


def load_weights_file(path):
    """Read a state dict (name → tensor) from a weights file, never executing code stored in it.

    Parameters
    ----------
    path : str or path
        ``.safetensors``, or a torch checkpoint (``.pth``/``.pt``/``.bin``/``.pth.tar``) read with
        ``torch.load(weights_only=True)``, whose restricted unpickler admits only tensors and plain containers.
        A checkpoint holding ``{"state_dict": …}`` or ``{"model": …}`` is unwrapped.

    Returns
    -------
    dict of str → torch.Tensor

    Raises
    ------
    InputError
        The file is missing, of another type, unreadable, or holds no tensors.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"No weights file at {str(path)!r}", name="folder")
    if not path.name.lower().endswith(WEIGHT_SUFFIXES):
        raise InputError(f"{path.name!r} is not a weights file ({', '.join(WEIGHT_SUFFIXES)})", name="folder")
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            import torch

            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a hostile or truncated file: any failure is the file's, said once
        raise InputError(f"Cannot read weights from {path.name!r}: {type(exc).__name__}: {exc}",
                         name="folder") from None
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    import torch

    tensors = {str(k): v for k, v in state.items() if isinstance(v, torch.Tensor)} if isinstance(state, dict) else {}
    if not tensors:
        raise InputError(f"{path.name!r} holds no tensors (expected a ResNet state dict)", name="folder")
    return tensors


def _strip_prefix(state):
    # A wrapper's backbone (``encoder.conv1.weight``…): keep its tensors, drop the wrapper's own (decoder, head).
    if "conv1.weight" in state:
        return state
    for prefix in _PREFIXES:
        if prefix + "conv1.weight" in state:
            return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return state


def torchvision_to_transformers(state):
    """Rename a torchvision ResNet state dict to the keys of ``transformers.ResNetModel``.

    ``conv1``/``bn1`` become the embedder, ``layer{s}.{b}.conv{k}``/``bn{k}`` become
    ``encoder.stages.{s-1}.layers.{b}.layer.{k-1}``'s convolution/normalization, ``downsample.0/1`` the
    block's shortcut; the classifier (``fc``) is dropped. Both torchvision and ``transformers`` (with
    ``downsample_in_bottleneck=False``) put a bottleneck's stride in its 3×3 convolution, so the tensors carry
    over unchanged.

    Parameters
    ----------
    state : dict of str → tensor
        torchvision ``resnet18/34/50`` names, optionally behind one wrapper prefix (``module.``, ``encoder.``…).

    Returns
    -------
    dict of str → tensor

    Raises
    ------
    InputError
        A backbone tensor has a name outside torchvision's ResNet layout.

    Examples
    --------
    >>> sorted(torchvision_to_transformers({"conv1.weight": 0, "layer2.1.bn2.bias": 1, "fc.weight": 2}))
    ['embedder.embedder.convolution.weight', 'encoder.stages.1.layers.1.layer.1.normalization.bias']
    """
    out, unknown = {}, []
    for key, value in _strip_prefix(dict(state)).items():
        if key.startswith("fc."):
            continue
        if key in _STEM:
            out[_STEM[key]] = value
        elif key.startswith("bn1."):
            out["embedder.embedder.normalization." + key[4:]] = value
        elif match := _BLOCK.fullmatch(key):
            stage, block, kind, index, rest = match.groups()
            part = "convolution" if kind == "conv" else "normalization"
            out[f"encoder.stages.{int(stage) - 1}.layers.{block}.layer.{int(index) - 1}.{part}.{rest}"] = value
        elif match := _SHORTCUT.fullmatch(key):
            stage, block, index, rest = match.groups()
            part = "convolution" if index == "0" else "normalization"
            out[f"encoder.stages.{int(stage) - 1}.layers.{block}.shortcut.{part}.{rest}"] = value
        else:
            unknown.append(key)
    if unknown:
        raise InputError(f"Not a torchvision ResNet state dict: {len(unknown)} tensors outside its layout, e.g. "
                         f"{', '.join(map(repr, unknown[:3]))}", name="folder")
    return out


def infer_depth(state):
    """The depth (18, 34 or 50) of a torchvision ResNet state dict from its blocks per stage and block type.

    Parameters
    ----------
    state : dict of str → tensor
        As read by :func:`load_weights_file`.

    Returns
    -------
    int or None
        ``None`` when the blocks match none of the standard layouts.

    Examples
    --------
    >>> keys = [f"layer{s}.{b}.conv2.weight" for s, n in zip(range(1, 5), (2, 2, 2, 2)) for b in range(n)]
    >>> infer_depth(dict.fromkeys(keys))
    18
    """
    state = _strip_prefix(dict(state))
    blocks = [1 + max((int(m.group(2)) for k in state if (m := _BLOCK.fullmatch(k)) and m.group(1) == str(s)),
                      default=-1) for s in range(1, 5)]
    bottleneck = any(_BLOCK.fullmatch(k) and ".conv3." in f".{k}" for k in state)
    for depth, (depths, kind, _) in LAYOUTS.items():
        if tuple(blocks) == tuple(depths) and (kind == "bottleneck") == bottleneck:
            return depth
    return None
