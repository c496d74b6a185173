"""Foundation-model image features (DINOv2, CLIP, SAM): presets, local weight status, loading and batched embedding.

Nothing here touches the network: weights come from the Hugging Face cache (``HF_HUB_CACHE`` / ``HF_HOME``)
or from a local folder holding ``config.json`` and ``model.safetensors``. torch and transformers are imported
inside the functions that need them, so importing this module stays cheap.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from msdash.errors import InputError

__all__ = ["Preset", "PRESETS", "FoundationModel", "model_status", "status_table", "load_model", "embed",
           "embed_labels", "extract_foundation"]

MODES = ("paper", "standard")
POOLINGS = ("cls", "mean", "cls+mean")
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


@dataclass(frozen=True)
class Preset:
    """A named pretrained image encoder.

    Parameters
    ----------
    hub_id : str
        Hugging Face model id, e.g. ``"facebook/dinov2-small"``.
    family : {"dinov2", "clip", "sam"}
    dim : int
        Length of the "cls" feature (SAM: channels of the image embedding after global average pooling).
    patch_size : int
    image_size : int
        Default input side in pixels ("standard" mode; CLIP and SAM also in "paper" mode).
    """

    hub_id: str
    family: str
    dim: int
    patch_size: int
    image_size: int


def _presets():
    presets = {}
    for size, dim in (("small", 384), ("base", 768), ("large", 1024), ("giant", 1536)):
        presets[f"dinov2-{size}"] = Preset(f"facebook/dinov2-{size}", "dinov2", dim, 14, 224)
        presets[f"dinov2-{size}-with-registers"] = Preset(f"facebook/dinov2-with-registers-{size}", "dinov2",
                                                          dim, 14, 224)
    for name, hub, dim, patch in (("clip-b32", "base-patch32", 768, 32), ("clip-b16", "base-patch16", 768, 16),
                                  ("clip-l14", "large-patch14", 1024, 14)):
        presets[name] = Preset(f"openai/clip-vit-{hub}", "clip", dim, patch, 224)
    for size in ("base", "large", "huge"):
        presets[f"sam-{size}"] = Preset(f"facebook/sam-vit-{size}", "sam", 256, 16, 1024)
    return presets


#: Preset name → :class:`Preset`.
PRESETS = _presets()


# --- where the weights are --------------------------------------------------------------------------

def _hub_cache(cache_dir=None):
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def _resolve(source):
    """Return ``(hub_id or None, local folder or None, preset or None)`` for a preset name, hub id or folder."""
    source = str(source)
    if source in PRESETS:
        return PRESETS[source].hub_id, None, PRESETS[source]
    preset = next((p for p in PRESETS.values() if p.hub_id == source), None)
    if preset is not None:
        return source, None, preset
    folder = Path(source).expanduser()
    looks_like_id = source.count("/") == 1 and not source.startswith(("/", ".", "~")) and not folder.exists()
    if looks_like_id:
        return source, None, None  # another hub id
    if folder.exists() or os.sep in source or "/" in source or source.startswith((".", "~")):
        return None, folder, None
    raise InputError(f"Unknown model {source!r}: give a preset ({', '.join(PRESETS)}), a Hugging Face id or a "
                     "local folder with config.json and model.safetensors.", name="model")


def _cached_snapshot(hub_id, cache_dir=None):
    """Folder of the cached snapshot of ``hub_id`` holding a config.json, or None."""
    repo = _hub_cache(cache_dir) / ("models--" + hub_id.replace("/", "--"))
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = repo / "refs" / "main"
    if ref.is_file() and (snapshots / ref.read_text().strip() / "config.json").is_file():
        return snapshots / ref.read_text().strip()
    found = sorted((p for p in snapshots.iterdir() if (p / "config.json").is_file()), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def _size_bytes(folder):
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def _how_to_get(hub_id):
    if hub_id is None:
        return "Choose a folder holding config.json and model.safetensors (saved with `save_pretrained`)."
    return (f"Download it on a machine with network access: `huggingface-cli download {hub_id}` (then copy the "
            f"Hugging Face cache, or set HF_HOME), or choose a local folder with config.json and model.safetensors.")


def model_status(preset_or_path, *, cache_dir=None):
    """Say whether the weights of a preset, hub id or local folder are present on this machine.

    Parameters
    ----------
    preset_or_path : str or Path
        A :data:`PRESETS` name, a Hugging Face id or a local folder.
    cache_dir : str or Path, optional
        Hugging Face hub cache; default ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``.

    Returns
    -------
    dict
        ``name``, ``id`` (hub id or None), ``family`` (None when unknown), ``present`` (bool), ``path``
        (str or None), ``size_mb`` (float or None) and ``message`` (plain text; how to get missing weights).
    """
    hub_id, folder, preset = _resolve(preset_or_path)
    if folder is None:
        folder = _cached_snapshot(hub_id, cache_dir)
    present = folder is not None and (Path(folder) / "config.json").is_file()
    where = f"the Hugging Face cache ({_hub_cache(cache_dir)})" if hub_id else str(folder)
    if present:
        message = f"{hub_id or folder} is available in {where}."
    else:
        message = f"{hub_id or folder} is not available in {where}. {_how_to_get(hub_id)}"
    return {"name": str(preset_or_path), "id": hub_id, "family": preset.family if preset else None,
            "present": present, "path": str(folder) if present else None,
            "size_mb": round(_size_bytes(folder) / 2**20, 1) if present else None, "message": message}


def status_table(*, cache_dir=None):
    """:func:`model_status` of every preset, as a list of dicts (one row per preset, in :data:`PRESETS` order)."""
    return [model_status(name, cache_dir=cache_dir) for name in PRESETS]


# --- loading ------------------------------------------------------------------------------------------

@dataclass
class FoundationModel:
    """A loaded encoder and what :func:`embed` needs to prepare its input.

    Attributes
    ----------
    model : torch.nn.Module
        In eval mode.
    processor : object or None
        The image processor saved with the weights (only its mean, std and size are used).
    family : {"dinov2", "clip", "sam"}
    name : str
        Label of the feature columns (preset name or folder name).
    device, dtype : torch.device, torch.dtype
    patch_size, image_size : int
    num_registers : int
        Register tokens after the CLS token (DINOv2 with registers), excluded from "mean" pooling.
    """

    model: object
    processor: object
    family: str
    name: str
    device: object
    dtype: object
    patch_size: int
    image_size: int
    num_registers: int = 0


def _family(config):
    kind = config.model_type
    if kind.startswith("dinov2"):
        return "dinov2"
    if kind.startswith("clip"):
        return "clip"
    if kind.startswith("sam"):
        return "sam"
    raise InputError(f"Model type {kind!r} is not supported; use a DINOv2, CLIP or SAM model.", name="model")


def _from_pretrained(cls, folder, dtype):
    kwargs = {"local_files_only": True, "dtype": dtype}
    if any(Path(folder).glob("*.safetensors")):
        kwargs["use_safetensors"] = True
    try:
        return cls.from_pretrained(folder, attn_implementation="sdpa", **kwargs)
    except (ValueError, ImportError, NotImplementedError):  # SDPA not supported by this architecture
        return cls.from_pretrained(folder, **kwargs)


def load_model(source, *, device=None, dtype=None):
    """Load an encoder from the local Hugging Face cache or a local folder, never from the network.

    Parameters
    ----------
    source : str or Path
        A :data:`PRESETS` name, a Hugging Face id (must be in the cache) or a folder saved with ``save_pretrained``.
    device : str or torch.device, optional
        Default ``"cuda"`` when available, else ``"cpu"``.
    dtype : torch.dtype, optional
        Default bfloat16 (float16 where unsupported) on CUDA, float32 on the CPU.

    Returns
    -------
    FoundationModel

    Raises
    ------
    InputError
        Unknown preset, weights not present locally (the message names the id and how to get it), or an
        unsupported model type.
    """
    import torch
    from transformers import AutoConfig, AutoImageProcessor, AutoModel, CLIPVisionModel, SamModel

    status = model_status(source)
    if not status["present"]:
        raise InputError(status["message"], name="model")
    folder = status["path"]
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dtype is None:
        dtype = torch.float32
        if device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        family = _family(config)
        cls = {"dinov2": AutoModel, "clip": CLIPVisionModel, "sam": SamModel}[family]
        model = _from_pretrained(cls, folder, dtype).to(device).eval()
    except OSError as exc:
        raise InputError(f"Could not load the weights of {status['id'] or folder} from {folder} ({exc}). "
                         f"{_how_to_get(status['id'])}", name="model") from exc
    try:
        processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError):
        processor = None
    vision = getattr(model.config, "vision_config", model.config)
    patch, image = vision.patch_size, vision.image_size
    name = str(source) if str(source) in PRESETS else (status["id"] or Path(folder).name)
    return FoundationModel(model, processor, family, name, device, dtype, int(patch), int(image),
                           int(getattr(model.config, "num_register_tokens", 0) or 0))


_LOADED = {}


def _get_model(model, device=None):
    """A :class:`FoundationModel` for a loaded model, preset name, hub id or folder (loaded once per process)."""
    if isinstance(model, FoundationModel):
        return model
    key = (str(model), None if device is None else str(device))
    if key not in _LOADED:
        _LOADED[key] = load_model(model, device=device)
    return _LOADED[key]


# --- preprocessing and embedding ----------------------------------------------------------------------

def _as_rgb(image):
    """(H, W) grey or (H, W, 3) RGB, floats in [0, 1] or uint8 → float32 (H, W, 3) in [0, 1]."""
    array = np.asarray(image)
    scale = 255.0 if array.dtype == np.uint8 else 1.0
    array = array.astype(np.float32) / scale
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise InputError(f"`images` must be 2-D grey or (H, W, 3) RGB arrays, got shape {np.shape(image)}",
                         name="images")
    return array[:, :, :3]


def _pil_resize(rgb, side):
    """PIL bilinear resize of the 8-bit version of ``rgb`` (what torchvision's ``Resize`` does on a PIL image)."""
    from PIL import Image

    eight_bit = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    resized = Image.fromarray(eight_bit).resize((side, side), Image.BILINEAR)
    return np.asarray(resized, dtype=np.float32) / 255.0


def _mean_std(fm):
    processor = fm.processor
    if processor is not None and getattr(processor, "image_mean", None) is not None:
        return tuple(processor.image_mean), tuple(processor.image_std)
    return _CLIP if fm.family == "clip" else _IMAGENET


def _standard_side(fm):
    processor = fm.processor
    for attr in ("crop_size", "size"):
        size = getattr(processor, attr, None) if processor is not None else None
        size = dict(size) if size is not None and not isinstance(size, int) else size
        if isinstance(size, int):
            return size
        if size:
            return int(size.get("height") or size.get("shortest_edge") or size.get("longest_edge"))
    return fm.image_size


def _prepare(image, fm, mode):
    """One image → float32 (3, h, w) model input, following :func:`embed`'s ``mode``."""
    rgb = _as_rgb(image)
    h, w = rgb.shape[:2]
    if mode == "paper":
        if fm.family == "dinov2":
            h, w = h // fm.patch_size * fm.patch_size, w // fm.patch_size * fm.patch_size
            if h == 0 or w == 0:
                raise InputError(f"Image of shape {rgb.shape[:2]} is smaller than one {fm.patch_size}-pixel patch.",
                                 name="images")
            rgb = rgb[:h, :w]
        else:
            step = fm.patch_size if fm.family == "clip" else 14
            side = min(h, w) // step * step
            if side == 0:
                raise InputError(f"Image of shape {rgb.shape[:2]} is smaller than {step} pixels.", name="images")
            rgb = _pil_resize(rgb[:side, :side], fm.image_size)
        return np.ascontiguousarray(rgb.transpose(2, 0, 1))
    import torch
    import torch.nn.functional as F

    side = _standard_side(fm)
    tensor = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    tensor = F.interpolate(tensor, size=(side, side), mode="bilinear", align_corners=False, antialias=True)[0]
    mean, std = (torch.tensor(v, dtype=torch.float32)[:, None, None] for v in _mean_std(fm))
    return ((tensor - mean) / std).numpy()


def _forward(fm, pixels, pooling):
    """Features of one batch of prepared images, float32 tensor (b, d)."""
    import torch

    if fm.family == "sam":
        return fm.model.get_image_embeddings(pixel_values=pixels).float().mean(dim=(2, 3))
    out = fm.model(pixel_values=pixels)
    cls = out.pooler_output.float()
    if pooling == "cls":
        return cls
    patches = out.last_hidden_state[:, 1 + fm.num_registers:].float().mean(dim=1)
    return patches if pooling == "mean" else torch.cat([cls, patches], dim=1)


def embed(images, *, model, mode="paper", pooling="cls", batch_size=None, device=None, progress=None):
    """Image-level features of a foundation model, batched.

    Parameters
    ----------
    images : sequence of ndarray
        ``n`` images, each (H, W) grey or (H, W, 3) RGB with floats in [0, 1] (uint8 is divided by 255);
        grey images become three identical channels. Sizes may differ: images are grouped by prepared size.
    model : str, Path or FoundationModel
        A :data:`PRESETS` name, a cached Hugging Face id, a local folder, or a model from :func:`load_model`.
        Names and folders are loaded once per process.
    mode : {"paper", "standard"}
        ``"paper"`` reproduces study B: DINOv2 gets the top-left crop to multiples of the patch size (14) at
        full resolution; CLIP the top-left square crop whose side is the largest multiple of its patch size,
        resized (PIL bilinear, 8-bit) to its image size (224); SAM the top-left square crop to a multiple of
        14 resized to its image size (1024). No normalisation (``ToTensor`` only). ``"standard"``: the whole
        image resized (bilinear, antialiased; no crop) to the processor's size and normalised with its mean
        and std (ImageNet for DINOv2 and SAM, CLIP's for CLIP when no processor was saved).
    pooling : {"cls", "mean", "cls+mean"}
        ViTs: ``pooler_output`` (DINOv2: normed CLS; CLIP: post-layernorm CLS of the vision tower), the mean
        of the patch tokens (CLS and register tokens excluded), or both concatenated. SAM has no CLS token:
        its feature is always the global average of ``get_image_embeddings`` and ``pooling`` is ignored.
    batch_size : int, optional
        Images per forward pass; default 32.
    device : str, optional
        Used when ``model`` is loaded here.
    progress : callable, optional
        Called as ``progress(done, total)`` after every batch.

    Returns
    -------
    ndarray, shape (n, d), float32
        ``d`` is the preset's ``dim`` for "cls" (SAM: the image-embedding channels), twice that for "cls+mean".
    """
    import torch

    if mode not in MODES:
        raise InputError(f"`mode` must be one of {MODES}, got {mode!r}", name="mode")
    if pooling not in POOLINGS:
        raise InputError(f"`pooling` must be one of {POOLINGS}, got {pooling!r}", name="pooling")
    batch_size = 32 if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise InputError(f"`batch_size` must be >= 1, got {batch_size}", name="batch_size")
    fm = _get_model(model, device)
    prepared = [_prepare(image, fm, mode) for image in images]
    groups = {}
    for index, array in enumerate(prepared):
        groups.setdefault(array.shape, []).append(index)
    rows, done = [None] * len(prepared), 0
    with torch.inference_mode():
        for indices in groups.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start:start + batch_size]
                pixels = torch.from_numpy(np.stack([prepared[i] for i in chunk])).to(fm.device, fm.dtype)
                features = _forward(fm, pixels, pooling).cpu().numpy()
                for i, row in zip(chunk, features):
                    rows[i] = row
                done += len(chunk)
                if progress is not None:
                    progress(done, len(prepared))
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack(rows).astype(np.float32, copy=False)


def embed_labels(d, name):
    """Column labels ``["<name>[0]", ..., "<name>[d-1]"]``.

    Examples
    --------
    >>> embed_labels(2, "dinov2-small")
    ['dinov2-small[0]', 'dinov2-small[1]']
    """
    return [f"{name}[{i}]" for i in range(int(d))]


def extract_foundation(images, *, model, mode="paper", pooling="cls", batch_size=32, progress=None):
    """Registry adapter of :func:`embed`: a stack or list of images → (n, d) float32, model loaded once per process."""
    return embed(list(images), model=model, mode=mode, pooling=pooling, batch_size=batch_size, progress=progress)
