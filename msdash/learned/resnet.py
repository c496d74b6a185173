"""ResNet-18/34/50 backbones from ``transformers`` (from scratch or a local folder), embeddings and a regressor.

The layer layouts are those of the standard models (He et al. 2016; torchvision's ``resnet18/34/50``):
depths (2, 2, 2, 2) / (3, 4, 6, 3) of basic blocks for ResNet-18/34 and (3, 4, 6, 3) of bottleneck blocks
for ResNet-50, a 7×7 stride-2 stem of 64 channels and a 3×3 max-pool. Weights are either drawn at random
(seeded) or read from a local folder written by ``save_pretrained``; nothing is ever downloaded and remote
code is never run. torch and transformers are imported inside the functions; the regressor module (a torch
``nn.Module``) is :mod:`msdash.learned.resnet_net`, imported by the functions that build it.
"""

import functools
from pathlib import Path

import numpy as np

from msdash.errors import InputError
from msdash.learned.resnet_layouts import ARCHS, LAYOUTS

__all__ = ["LAYOUTS", "ARCHS", "resnet_config", "build_resnet", "resnet_embed", "make_regressor",
           "regressor_from_config", "backbone_config", "default_device"]

_CONFIG_FIELDS = ("num_channels", "embedding_size", "hidden_sizes", "depths", "layer_type", "hidden_act",
                  "downsample_in_first_stage", "downsample_in_bottleneck")
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def _check_depth(depth):
    try:
        depth = int(depth)
    except (TypeError, ValueError):
        depth = None
    if depth not in LAYOUTS:
        raise InputError(f"`depth` must be one of {', '.join(map(str, LAYOUTS))}, got {depth!r}", name="depth")
    return depth


def resnet_config(depth=18, *, num_channels=3, overrides=None):
    """The ``transformers.ResNetConfig`` of a standard ResNet (optionally altered, e.g. tiny test models).

    Parameters
    ----------
    depth : {18, 34, 50}
    num_channels : int, optional
        Input channels (3 for RGB or pretrained weights; 1 for grey images trained from scratch).
    overrides : dict, optional
        ``ResNetConfig`` fields replacing the standard ones, e.g.
        ``{"hidden_sizes": [8, 16], "depths": [1, 1], "embedding_size": 8}``.

    Returns
    -------
    transformers.ResNetConfig

    Examples
    --------
    >>> cfg = resnet_config(34)
    >>> cfg.depths, cfg.layer_type, cfg.hidden_sizes[-1]
    ([3, 4, 6, 3], 'basic', 512)
    """
    from transformers import ResNetConfig

    depths, layer_type, hidden_sizes = LAYOUTS[_check_depth(depth)]
    fields = {"depths": list(depths), "layer_type": layer_type, "hidden_sizes": list(hidden_sizes),
              "embedding_size": 64, "num_channels": int(num_channels), "downsample_in_first_stage": False}
    fields.update(overrides or {})
    if len(fields["depths"]) != len(fields["hidden_sizes"]):
        raise InputError("`depths` and `hidden_sizes` of a ResNet need one entry per stage", name="overrides")
    return ResNetConfig(**fields)


def _seeded(seed, build):
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build()


def build_resnet(depth=18, *, folder=None, num_channels=3, seed=0, overrides=None):
    """A ``transformers.ResNetModel`` backbone: random weights (seeded) or weights from a local folder.

    Parameters
    ----------
    depth : {18, 34, 50}
        Standard layout; with ``folder`` it must match the folder's layout.
    folder : str or path, optional
        A folder written by ``save_pretrained`` (``config.json`` + weights) of a ``ResNetModel`` or
        ``ResNetForImageClassification``, read with ``local_files_only=True``; or a weights file in
        torchvision's layout (``.pth``, ``.pt``, ``.safetensors``…, e.g. a microscopy-pretrained encoder), mapped
        by :mod:`msdash.learned.resnet_import`.
    num_channels : int, optional
        Input channels of a random model (a folder's model keeps its own).
    seed : int, optional
        Seed of the random initialisation (the global torch RNG is left as it was).
    overrides : dict, optional
        See :func:`resnet_config` (random models only).

    Returns
    -------
    transformers.ResNetModel
        In eval mode, on the CPU.

    Raises
    ------
    InputError
        The folder is missing, holds no ``config.json``, cannot be read or has another layout than ``depth``.
    """
    from transformers import ResNetModel

    depth = _check_depth(depth)
    if folder is None:
        config = resnet_config(depth, num_channels=num_channels, overrides=overrides)
        return _seeded(seed, lambda: ResNetModel(config)).eval()
    folder = Path(folder).expanduser()
    if folder.is_file():
        return _from_weights_file(folder, depth)
    if not (folder / "config.json").is_file():
        raise InputError(f"`folder` {str(folder)!r} is not a folder of ResNet weights (no config.json); "
                         "save one with `model.save_pretrained(folder)`", name="folder")
    try:
        model = ResNetModel.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"Cannot read ResNet weights from {str(folder)!r}: {exc}", name="folder") from exc
    depths, layer_type, _ = LAYOUTS[depth]
    if list(model.config.depths) != list(depths) or model.config.layer_type != layer_type:
        raise InputError(f"The weights in {str(folder)!r} have the layout {list(model.config.depths)} "
                         f"{model.config.layer_type}, not ResNet-{depth}'s {list(depths)} {layer_type}",
                         name="folder")
    return model.eval()


def _from_weights_file(path, depth):
    from transformers import ResNetModel

    from msdash.learned.resnet_import import infer_depth, load_weights_file, torchvision_to_transformers

    state = load_weights_file(path)
    found = infer_depth(state)
    if found != depth:
        what = f"ResNet-{found}'s" if found else "not a standard ResNet-18/34/50's"
        hint = f"; choose depth {found}" if found else ""
        raise InputError(f"The weights in {path.name!r} are {what}, not ResNet-{depth}'s{hint}", name="folder")
    state = torchvision_to_transformers(state)
    channels = int(state["embedder.embedder.convolution.weight"].shape[1])
    model = ResNetModel(resnet_config(depth, num_channels=channels))
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise InputError(f"The weights in {path.name!r} do not fit ResNet-{depth}: {len(missing)} missing, "
                         f"{len(unexpected)} unexpected tensors, e.g. {(missing + unexpected)[:3]}", name="folder")
    return model.eval()


def default_device(device=None):
    """``device`` if given, else ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    if device is not None:
        return str(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@functools.lru_cache(maxsize=2)
def _embedding_model(depth, folder, seed, stamp, device):
    # ``stamp`` (the weights' modification times) makes a rewritten folder load afresh
    return build_resnet(depth, folder=folder, seed=seed).to(device)


def _stamp(folder):
    if folder is None:
        return None
    if Path(folder).expanduser().is_file():
        return (Path(folder).name, Path(folder).expanduser().stat().st_mtime_ns)
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in Path(folder).expanduser().glob("*")
                        if p.is_file()))


def _as_batch(images):
    """(n, H, W) grey or (n, H, W, 3) RGB, floats in [0, 1] or uint8 → float32 (n, 3, H, W) in [0, 1]."""
    try:
        array = np.asarray(images)
    except ValueError:  # ragged list
        raise InputError("`images` must all have one size; embed each size separately", name="images") from None
    if array.ndim == 3:
        array = np.repeat(array[:, None], 3, axis=1)
    elif array.ndim == 4 and array.shape[-1] == 3:
        array = np.moveaxis(array, -1, 1)
    else:
        raise InputError(f"`images` must be a stack (n, H, W) of grey or (n, H, W, 3) of RGB images, "
                         f"got shape {array.shape}", name="images")
    scale = 255.0 if array.dtype == np.uint8 else 1.0
    return array.astype(np.float32) / scale


def resnet_embed(images, *, depth=18, folder=None, batch_size=32, device=None, seed=0, progress=None):
    """Global-average-pooled ResNet features of a stack of images (CNN-PCA-SVR's first step, study D).

    Grey images are repeated into three channels; every channel is normalised with the ImageNet mean and
    standard deviation (what pretrained ResNets expect); images keep their size (the network pools
    globally; 64×64 images end in a 2×2 map). The model is built once per process for the same depth,
    folder and seed, in eval mode, and run under ``torch.inference_mode`` in float32.

    Parameters
    ----------
    images : array_like, shape (n, H, W) or (n, H, W, 3)
        Floats in [0, 1] or ``uint8``; one size for the whole stack.
    depth : {18, 34, 50}
    folder : str or path, optional
        Local folder or weights file of pretrained weights (see :func:`build_resnet`); default random weights
        drawn with
        ``seed`` (random convolutional features still carry texture statistics, but they are not the
        ImageNet features study D used).
    batch_size : int, optional
    device : str, optional
        Default: the GPU when present, else the CPU.
    seed : int, optional
        Seed of the random weights.
    progress : callable, optional
        ``progress(done, total, message)`` after every batch.

    Returns
    -------
    ndarray of float32, shape (n, 512) for ResNet-18/34, (n, 2048) for ResNet-50

    Examples
    --------
    >>> features = resnet_embed(np.random.default_rng(0).random((2, 32, 32)), batch_size=2)
    >>> features.shape, features.dtype, bool(np.isfinite(features).all())
    ((2, 512), dtype('float32'), True)
    """
    import torch

    depth = _check_depth(depth)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"`batch_size` must be a positive integer, got {batch_size!r}", name="batch_size")
    batch = _as_batch(images)
    device = default_device(device)
    folder = None if folder is None else str(Path(folder).expanduser())
    model = _embedding_model(depth, folder, int(seed), _stamp(folder), device)
    if model.config.num_channels != 3:
        raise InputError(f"The weights in {folder!r} take {model.config.num_channels} input channels; "
                         "embeddings need a 3-channel (RGB) ResNet", name="folder")
    mean = torch.tensor(_IMAGENET[0], device=device).view(1, 3, 1, 1)
    std = torch.tensor(_IMAGENET[1], device=device).view(1, 3, 1, 1)
    out = np.empty((len(batch), model.config.hidden_sizes[-1]), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(batch), batch_size):
            x = torch.from_numpy(batch[start:start + batch_size]).to(device)
            pooled = model(pixel_values=(x - mean) / std).pooler_output
            out[start:start + len(x)] = pooled.flatten(1).float().cpu().numpy()
            if progress is not None:
                progress(min(start + batch_size, len(batch)), len(batch), f"ResNet-{depth} embedding")
    return out


def make_regressor(arch="resnet18", *, in_channels=1, folder=None, seed=0, overrides=None):
    """A :class:`~msdash.learned.resnet_net.ResNetRegressor` with a random (seeded) or folder-initialised backbone.

    Parameters
    ----------
    arch : {"resnet18", "resnet34", "resnet50"}
    in_channels : int, optional
        Channels of the data (1 grey image, 3 MuCha). A random backbone takes exactly these; a folder's
        backbone keeps its own (a single channel is then repeated to its three).
    folder, overrides
        See :func:`build_resnet`.
    seed : int, optional
        Seed of the backbone and head initialisation.

    Returns
    -------
    ResNetRegressor
        In train mode, on the CPU.
    """
    if arch not in ARCHS:
        raise InputError(f"`arch` must be one of {', '.join(ARCHS)}, got {arch!r}", name="arch")
    backbone = build_resnet(ARCHS[arch], folder=folder, num_channels=in_channels, seed=seed, overrides=overrides)
    channels = backbone.config.num_channels
    if channels != in_channels and not (in_channels == 1 and channels == 3):
        raise InputError(f"The backbone takes {channels} channels but the inputs have {in_channels}",
                         name="folder")
    from msdash.learned.resnet_net import ResNetRegressor

    return _seeded(seed + 1, lambda: ResNetRegressor(backbone, in_channels=in_channels)).train()


def backbone_config(model):
    """The architecture of a regressor's backbone as a JSON-ready dict (what :func:`regressor_from_config` takes)."""
    config = model.backbone.config
    return {name: getattr(config, name) for name in _CONFIG_FIELDS}


def regressor_from_config(config, *, in_channels):
    """An untrained :class:`~msdash.learned.resnet_net.ResNetRegressor` of the architecture ``config``.

    ``config`` comes from :func:`backbone_config`.

    Used to rebuild a saved regressor before its weights are loaded; needs no weights folder.
    """
    from transformers import ResNetConfig, ResNetModel

    from msdash.learned.resnet_net import ResNetRegressor

    backbone = ResNetModel(ResNetConfig(**{k: v for k, v in config.items() if k in _CONFIG_FIELDS}))
    return ResNetRegressor(backbone, in_channels=in_channels)
