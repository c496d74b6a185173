"""Preparing images for a foundation model: study B's "paper" preprocessing, or resize / crop / pad ("standard").

Every function here works on one image and is pure numpy (plus PIL for study B's 8-bit resize, and torch's
antialiased bilinear interpolation for "standard"); :func:`prepared_shape` says what :func:`prepare` will return
without doing the work, so :func:`msdash.features.foundation.embed` can bucket images by shape first.

Sizes that are not multiples of the patch size: DINOv2's patch embedding is a stride-``p`` convolution, so it
silently drops the last ``H % 14`` rows and ``W % 14`` columns; CLIP refuses any size other than its
``image_size`` unless called with ``interpolate_pos_encoding=True``; SAM's encoder has fixed absolute position
embeddings (1024 px). Here nothing is dropped silently: "paper" mode crops explicitly (top-left, as study B),
a chosen ``size`` must be a multiple of the patch size (else :class:`InputError` naming the nearest valid
sizes), CLIP gets ``interpolate_pos_encoding=True`` whenever the prepared size is not its own, and SAM accepts
only its own size.

References
----------
- Study A: S. E. Whitman, G. Hu, M. I. Latypov, "Learning microstructure–property relationships in materials with
  robust features from vision transformers" (``docs/references.md``).
- Study B: "Machine learning of microstructure-property relationships in materials with robust features from
  foundational vision transformers", https://github.com/whishei/MicroPropViT (``docs/references.md``).
"""

import numpy as np

from msdash.errors import InputError

__all__ = ["MODES", "FITS", "prepared_shape", "prepare", "as_rgb"]

MODES = ("paper", "standard")
#: How "standard" mode brings an image to ``size × size`` (see :func:`prepare`).
FITS = ("resize", "crop", "pad")
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


def as_rgb(image):
    """(H, W) grey or (H, W, 3|4) colour, floats in [0, 1] or uint8 → float32 (H, W, 3) in [0, 1].

    Grey and binary images become three identical channels; an alpha channel is dropped.

    Examples
    --------
    >>> as_rgb(np.array([[0, 255]], dtype=np.uint8)).tolist()
    [[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]]
    """
    array = np.asarray(image)
    scale = 255.0 if array.dtype == np.uint8 else 1.0
    array = array.astype(np.float32) / scale
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise InputError(f"`images` must be 2-D grey or (H, W, 3) RGB arrays, got shape {np.shape(image)}",
                         name="images")
    return array[:, :, :3]


def _check_size(size, fm):
    if size is None:
        return None
    size = int(size)
    if fm.family == "sam":
        if size != fm.image_size:
            raise InputError(f"SAM's image encoder takes {fm.image_size}×{fm.image_size} px only (fixed position "
                             f"embeddings), got size {size}; leave size empty", name="size")
        return size
    p = fm.patch_size
    if size < p or size % p:
        nearest = " or ".join(str(v) for v in (size // p * p, (size // p + 1) * p) if v >= p)
        raise InputError(f"`size` must be a multiple of the model's {p}-px patch (a ViT drops the remainder), got "
                         f"{size}; use {nearest}", name="size")
    return size


def _standard_side(fm):
    processor = fm.processor
    for attr in ("crop_size", "size"):
        value = getattr(processor, attr, None) if processor is not None else None
        value = dict(value) if value is not None and not isinstance(value, int) else value
        if isinstance(value, int):
            return value
        if value:
            return int(value.get("height") or value.get("shortest_edge") or value.get("longest_edge"))
    return fm.image_size


def _mean_std(fm):
    processor = fm.processor
    if processor is not None and getattr(processor, "image_mean", None) is not None:
        return tuple(processor.image_mean), tuple(processor.image_std)
    return _CLIP if fm.family == "clip" else _IMAGENET


def _pad_shape(h, w, side):
    scale = side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def prepared_shape(shape, fm, *, mode="paper", size=None, fit="resize"):
    """Shape ``(3, h, w)`` that :func:`prepare` gives an image of spatial shape ``shape`` (no pixels touched).

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, C)`` of the image.
    fm : FoundationModel
    mode, size, fit
        As in :func:`prepare`.

    Returns
    -------
    tuple of int
    """
    if mode not in MODES:
        raise InputError(f"`mode` must be one of {MODES}, got {mode!r}", name="mode")
    if fit not in FITS:
        raise InputError(f"`fit` must be one of {FITS}, got {fit!r}", name="fit")
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (3, 4)):
        raise InputError(f"`images` must be 2-D grey or (H, W, 3) RGB arrays, got shape {tuple(shape)}",
                         name="images")
    size = _check_size(size, fm)
    h, w = int(shape[0]), int(shape[1])
    p = fm.patch_size
    if mode == "paper":
        if fm.family == "dinov2" and size is None:
            h, w = h // p * p, w // p * p
            if h == 0 or w == 0:
                raise InputError(f"Image of shape {(int(shape[0]), int(shape[1]))} is smaller than one {p}-pixel "
                                 "patch.", name="images")
            return 3, h, w
        if fm.family != "dinov2":
            step = p if fm.family == "clip" else 14
            if min(h, w) < step:
                raise InputError(f"Image of shape {(h, w)} is smaller than {step} pixels.", name="images")
        side = size or fm.image_size
        return 3, side, side
    side = size or _standard_side(fm)
    if fit == "crop" and min(h, w) < side:
        raise InputError(f"Image of shape {(h, w)} is smaller than the {side}×{side} crop; choose fit 'resize' or "
                         "'pad', or a smaller size", name="fit")
    return 3, side, side


def _pil_resize(rgb, side):
    """PIL bilinear resize of the 8-bit version of ``rgb`` (what torchvision's ``Resize`` does on a PIL image)."""
    from PIL import Image

    eight_bit = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    resized = Image.fromarray(eight_bit).resize((side, side), Image.BILINEAR)
    return np.asarray(resized, dtype=np.float32) / 255.0


def _interpolate(chw, h, w):
    """Bilinear (antialiased when shrinking) resize of a float32 (3, H, W) array to (3, h, w)."""
    import torch
    import torch.nn.functional as F

    if chw.shape[1:] == (h, w):
        return chw
    tensor = torch.from_numpy(np.ascontiguousarray(chw))[None]
    return F.interpolate(tensor, size=(h, w), mode="bilinear", align_corners=False, antialias=True)[0].numpy()


def prepare(image, fm, *, mode="paper", size=None, fit="resize"):
    """One image → float32 ``(3, h, w)`` model input.

    Parameters
    ----------
    image : ndarray
        (H, W) grey or (H, W, 3) RGB, floats in [0, 1] or uint8 (see :func:`as_rgb`).
    fm : FoundationModel
        The loaded model (family, patch size, image size, processor's mean/std and size).
    mode : {"paper", "standard"}
        ``"paper"`` is study B's notebook, no normalisation (``ToTensor`` only): DINOv2 at full resolution,
        top-left crop to multiples of the patch size (a 51×51 section becomes 42×42: study A's crop); CLIP the
        top-left square crop whose side is the largest multiple of its patch size, SAM the top-left square
        crop to a multiple of 14, each resized with PIL's bilinear filter on the 8-bit image to the model's
        size (224; SAM 1024). With ``size`` set, DINOv2 interpolates the whole image (bilinear) to
        ``size × size`` instead of cropping (study A's "interpolate to 224×224") and CLIP resizes to ``size``.
        ``"standard"`` brings the image to ``size × size`` by ``fit`` and normalises with the processor's
        mean and std (ImageNet's for DINOv2 and SAM, CLIP's for CLIP when no processor was saved).
    size : int, optional
        Side in pixels; a multiple of the patch size (SAM: only its own 1024). Default: "paper" as above;
        "standard" the processor's size (224 for DINOv2 and CLIP, 1024 for SAM).
    fit : {"resize", "crop", "pad"}
        "standard" only. ``"resize"``: the whole image, stretched to a square (aspect ratio not kept);
        ``"crop"``: the central ``size × size`` window at full resolution (images smaller than that are an
        error); ``"pad"``: scaled so the longer side is ``size`` (aspect kept), then padded at the bottom and
        right with zeros after normalisation, i.e. with the mean colour (what SAM's own processor does).
        Nothing is centre-cropped unless you choose ``"crop"``.

    Returns
    -------
    ndarray, float32, shape (3, h, w)
        ``(3, h, w) == prepared_shape(image.shape, fm, mode=mode, size=size, fit=fit)``.
    """
    rgb = as_rgb(image)
    _, h, w = prepared_shape(rgb.shape, fm, mode=mode, size=size, fit=fit)
    if mode == "paper":
        if fm.family == "dinov2":
            if size is None:
                return np.ascontiguousarray(rgb[:h, :w].transpose(2, 0, 1))
            return _interpolate(rgb.transpose(2, 0, 1), h, w)
        step = fm.patch_size if fm.family == "clip" else 14
        side = min(rgb.shape[:2]) // step * step
        return np.ascontiguousarray(_pil_resize(rgb[:side, :side], h).transpose(2, 0, 1))
    chw = rgb.transpose(2, 0, 1)
    height, width = chw.shape[1:]
    if fit == "resize":
        chw = _interpolate(chw, h, w)
    elif fit == "crop":
        top, left = (height - h) // 2, (width - w) // 2
        chw = chw[:, top:top + h, left:left + w]
    else:
        chw = _interpolate(chw, *_pad_shape(height, width, h))
    mean, std = (np.asarray(v, dtype=np.float32)[:, None, None] for v in _mean_std(fm))
    chw = (chw - mean) / std
    if fit == "pad":
        padded = np.zeros((3, h, w), dtype=np.float32)
        padded[:, :chw.shape[1], :chw.shape[2]] = chw
        chw = padded
    return np.ascontiguousarray(chw, dtype=np.float32)
