"""Foundation-model image features (DINOv2, CLIP, SAM): batched embedding in study B's "paper" mode or "standard" mode.

Presets, weight status and loading live in :mod:`msdash.features.foundation_models` and are re-exported here.
Nothing touches the network, and torch/transformers are imported inside the functions that need them.
"""

import numpy as np

from msdash.errors import InputError
from msdash.features.foundation_models import (PRESETS, FoundationModel, Preset, _get_model, load_model,
                                               model_status, status_table)

__all__ = ["Preset", "PRESETS", "FoundationModel", "model_status", "status_table", "load_model", "embed",
           "embed_labels", "extract_foundation"]

MODES = ("paper", "standard")
POOLINGS = ("cls", "mean", "cls+mean")
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


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
