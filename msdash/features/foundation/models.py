"""Foundation-model presets, where their weights are on this machine, and loading them without the network.

Weights come from the Hugging Face cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``) or from a local folder holding
``config.json`` and ``model.safetensors``; nothing is ever downloaded here. torch and transformers are imported
inside :func:`load_model` only.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from msdash.errors import InputError

__all__ = ["Preset", "PRESETS", "FoundationModel", "model_status", "status_table", "weights_fingerprint",
           "load_model"]


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


_FAMILIES = {"dinov2": "dinov2", "dinov2_with_registers": "dinov2", "clip": "clip", "clip_vision_model": "clip",
             "sam": "sam", "sam_vision_model": "sam"}


def _weight_files(folder):
    folder = Path(folder)
    return sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin"))


def _check_folder(folder):
    """``(family or None, problem or None)`` of a folder: config.json readable, a known model type, weights."""
    import json

    folder = Path(folder)
    if not folder.is_dir():
        return None, "the folder does not exist"
    try:
        config = json.loads((folder / "config.json").read_text())
    except FileNotFoundError:
        return None, "it holds no config.json"
    except (OSError, ValueError) as exc:
        return None, f"its config.json cannot be read ({exc})"
    kind = str(config.get("model_type", "")) if isinstance(config, dict) else ""
    family = _FAMILIES.get(kind)
    if family is None:
        return None, f"its config.json names model type {kind or 'none'!r}; DINOv2, CLIP or SAM are supported"
    if not _weight_files(folder):
        return family, "it holds no weights (model.safetensors)"
    return family, None


def weights_fingerprint(folder):
    """Short hex digest of a weights folder's config and weight files (names, sizes, modification times).

    Cheap (no file is read) and changes whenever the weights are replaced; for a Hugging Face cache snapshot
    the folder name (the commit hash) already names the revision.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    str
        16 hex characters.
    """
    import hashlib

    digest = hashlib.sha256()
    for path in [Path(folder) / "config.json", *_weight_files(folder)]:
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _how_to_get(hub_id):
    if hub_id is None:
        return "Choose a folder holding config.json and model.safetensors (saved with `save_pretrained`)."
    return (f"Download it on a machine with network access: `huggingface-cli download {hub_id}` (then copy the "
            f"Hugging Face cache, or set HF_HOME), or choose a local folder with config.json and model.safetensors.")


def model_status(preset_or_path, *, cache_dir=None):
    """Say whether the weights of a preset, hub id or local folder are present and loadable on this machine.

    A folder (or cached snapshot) is loadable when its ``config.json`` names a DINOv2, CLIP or SAM model
    type and it holds weights (``*.safetensors``, else ``pytorch_model*.bin``); nothing is imported or read
    beyond the config.

    Parameters
    ----------
    preset_or_path : str or Path
        A :data:`PRESETS` name, a Hugging Face id or a local folder.
    cache_dir : str or Path, optional
        Hugging Face hub cache; default ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``.

    Returns
    -------
    dict
        ``name``, ``id`` (hub id or None), ``family`` (from the preset, else from the folder's config; None
        when unknown), ``present`` (bool: loadable), ``path`` (str or None), ``size_mb`` (float or None),
        ``fingerprint`` (:func:`weights_fingerprint`, or None) and ``message`` (plain text; what is missing and
        how to get it).
    """
    hub_id, folder, preset = _resolve(preset_or_path)
    if folder is None:
        folder = _cached_snapshot(hub_id, cache_dir)
    family, problem = _check_folder(folder) if folder is not None else (None, "not downloaded")
    present = problem is None
    where = f"the Hugging Face cache ({_hub_cache(cache_dir)})" if hub_id else f"the folder {folder}"
    if present:
        message = f"{hub_id or folder} is available in {where}."
    elif hub_id is None or folder is None:
        message = f"{hub_id or folder} is not available in {where}: {problem}. {_how_to_get(hub_id)}"
    else:
        message = f"{hub_id} is in {where} but cannot be loaded: {problem}. {_how_to_get(hub_id)}"
    return {"name": str(preset_or_path), "id": hub_id, "family": preset.family if preset else family,
            "present": present, "path": str(folder) if present else None,
            "size_mb": round(_size_bytes(folder) / 2**20, 1) if present else None,
            "fingerprint": weights_fingerprint(folder) if present else None, "message": message}


def status_table(*, cache_dir=None, folders=()):
    """:func:`model_status` of every preset (in :data:`PRESETS` order), then of each of ``folders``.

    Returns
    -------
    list of dict
        One row per preset and per folder.
    """
    return [model_status(name, cache_dir=cache_dir) for name in [*PRESETS, *map(str, folders)]]


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
    # The fingerprint makes a folder whose weights were replaced load again instead of reusing the old model.
    key = (str(model), None if device is None else str(device), model_status(model)["fingerprint"])
    if key not in _LOADED:
        _LOADED[key] = load_model(model, device=device)
    return _LOADED[key]
