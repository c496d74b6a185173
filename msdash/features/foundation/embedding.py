"""Batched foundation-model embedding (:func:`embed`) in study B's "paper" mode or "standard" mode.

Presets, weight status and loading live in :mod:`msdash.features.foundation.models`, preprocessing in
:mod:`~msdash.features.foundation.prep`; the package :mod:`msdash.features.foundation` re-exports the public
names. Nothing touches the network, and torch/transformers are imported inside the functions that need them.

References
----------
- Study B: "Machine learning of microstructure-property relationships in materials with robust features from
  foundational vision transformers", https://github.com/whishei/MicroPropViT (``docs/references.md``).
"""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from msdash.errors import InputError
from msdash.features.foundation.models import _get_model
from msdash.features.foundation.prep import FITS, MODES, prepare, prepared_shape

__all__ = ["embed", "embed_labels", "auto_batch_size", "rate_message", "EmbeddingCancelled", "POOLINGS",
           "CPU_MAX_BATCH", "GPU_MAX_BATCH", "CPU_BUDGET"]

POOLINGS = ("cls", "mean", "cls+mean")
#: Bytes of activations one CPU batch may take.
CPU_BUDGET = 1 << 30
#: On the CPU a forward pass is compute-bound: DINOv2-S-sized at 224 px ran at the same images/s (±10%) with
#: batches of 1, 4, 8 and 32 here, so small batches keep progress and Cancel responsive at no cost.
CPU_MAX_BATCH = 8
GPU_MAX_BATCH = 512


class EmbeddingCancelled(BaseException):  # noqa: N818 — reads as what happened
    """Raised when a progress callback returns False or the cancel event is set.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that per-sample error handling, which turns an
    ``Exception`` into a cached failure, lets it through: a cancelled batch is never stored.
    """


# --- batch size, progress -----------------------------------------------------------------------------

def _activation_bytes(fm, shape):
    """Rough peak activation bytes of one image of prepared ``shape`` (3, h, w) in one transformer layer."""
    config = getattr(fm.model.config, "vision_config", fm.model.config)
    hidden = int(getattr(config, "hidden_size", 768))
    heads = int(getattr(config, "num_attention_heads", 12))
    tokens = (shape[1] // fm.patch_size) * (shape[2] // fm.patch_size) + 1 + fm.num_registers
    element = 2 if str(fm.dtype) in ("torch.bfloat16", "torch.float16") else 4
    # q, k, v, attention output, MLP (4× hidden) and residuals ≈ 12 × hidden per token; scores if materialised.
    return element * tokens * (12 * hidden + heads * tokens) + 4 * int(np.prod(shape))


def auto_batch_size(fm, shape, *, free_bytes=None):
    """Images per forward pass for images of prepared ``shape``, from the memory one image needs.

    Parameters
    ----------
    fm : FoundationModel
    shape : tuple of int
        Prepared image shape ``(3, h, w)``.
    free_bytes : int, optional
        Memory the batch may use. Default: half the free memory of the CUDA device, or :data:`CPU_BUDGET`
        on the CPU.

    Returns
    -------
    int
        Between 1 and :data:`GPU_MAX_BATCH` (CUDA) or :data:`CPU_MAX_BATCH` (CPU).
    """
    cuda = getattr(fm.device, "type", str(fm.device)) == "cuda"
    if free_bytes is None:
        if cuda:
            import torch

            free_bytes = torch.cuda.mem_get_info(fm.device)[0] // 2
        else:
            free_bytes = CPU_BUDGET
    limit = GPU_MAX_BATCH if cuda else CPU_MAX_BATCH
    return int(max(1, min(limit, free_bytes // _activation_bytes(fm, shape))))


def rate_message(done, total, seconds, *, images=None):
    """Progress text: images per second and the time left for ``done`` of ``total`` after ``seconds``.

    Parameters
    ----------
    done, total : float
        Work done and to do, in any unit (images, or samples when one sample is several images);
        ``total=None`` leaves out the time left.
    seconds : float
        Time spent on ``done``.
    images : int, optional
        Images embedded in ``seconds`` (the rate's numerator); default ``done``.

    Examples
    --------
    >>> rate_message(50, 150, 4.0)
    '12.5 images/s, about 0:08 left'
    >>> rate_message(5, 15, 4.0, images=50)
    '12.5 images/s, about 0:08 left'
    >>> rate_message(0, 10, 0.0)
    'starting'
    """
    if done <= 0 or seconds <= 0:
        return "starting"
    text = f"{(done if images is None else images) / seconds:.3g} images/s"
    if total is None:
        return text
    left = int(round(max(0.0, total - done) * seconds / done))
    return f"{text}, about {left // 60}:{left % 60:02d} left"


# --- forward ------------------------------------------------------------------------------------------

def _forward(fm, pixels, pooling):
    """Features of one batch of prepared images, float32 tensor (b, d)."""
    import torch

    if fm.family == "sam":
        return fm.model.get_image_embeddings(pixel_values=pixels).float().mean(dim=(2, 3))
    kwargs = {}
    if fm.family == "clip" and tuple(pixels.shape[2:]) != (fm.image_size, fm.image_size):
        kwargs["interpolate_pos_encoding"] = True  # CLIP refuses other sizes otherwise
    out = fm.model(pixel_values=pixels, **kwargs)
    cls = out.pooler_output.float()
    if pooling == "cls":
        return cls
    patches = out.last_hidden_state[:, 1 + fm.num_registers:].float().mean(dim=1)
    return patches if pooling == "mean" else torch.cat([cls, patches], dim=1)


def _check_options(mode, pooling, fit, batch_size):
    if mode not in MODES:
        raise InputError(f"`mode` must be one of {MODES}, got {mode!r}", name="mode")
    if pooling not in POOLINGS:
        raise InputError(f"`pooling` must be one of {POOLINGS}, got {pooling!r}", name="pooling")
    if fit not in FITS:
        raise InputError(f"`fit` must be one of {FITS}, got {fit!r}", name="fit")
    if batch_size is not None and int(batch_size) < 1:
        raise InputError(f"`batch_size` must be >= 1, got {batch_size}", name="batch_size")


def _batches(images, fm, mode, size, fit, batch_size):
    """Index lists of equal prepared shape, each at most one batch long, and their shape."""
    groups = {}
    for index, image in enumerate(images):
        groups.setdefault(prepared_shape(np.shape(image), fm, mode=mode, size=size, fit=fit), []).append(index)
    for shape, indices in groups.items():
        step = int(batch_size) if batch_size is not None else auto_batch_size(fm, shape)
        for start in range(0, len(indices), step):
            yield indices[start:start + step]


def embed(images, *, model, mode="paper", pooling="cls", batch_size=None, device=None, progress=None,
          size=None, fit="resize", cancel=None):
    """Image-level features of a foundation model, batched.

    Images are bucketed by prepared shape (one forward pass never mixes sizes), each batch is prepared on a
    CPU thread while the model runs the previous one, and the model runs under ``torch.inference_mode()``
    in the dtype it was loaded with (bf16/fp16 on CUDA, float32 on the CPU); features are float32.

    Parameters
    ----------
    images : sequence of ndarray
        ``n`` images, each (H, W) grey or (H, W, 3) RGB with floats in [0, 1] (uint8 is divided by 255);
        grey images become three identical channels. Sizes may differ.
    model : str, Path or FoundationModel
        A :data:`PRESETS` name, a cached Hugging Face id, a local folder, or a model from :func:`load_model`.
        Names and folders are loaded once per process.
    mode : {"paper", "standard"}
        ``"paper"`` reproduces study B's notebook (top-left crops, PIL resize for CLIP/SAM, no normalisation);
        ``"standard"`` resizes, crops or pads (``fit``) to ``size`` and normalises. See
        :func:`msdash.features.foundation.prep.prepare`, which also says what happens to sizes that are not
        multiples of the patch size (never a silent truncation).
    pooling : {"cls", "mean", "cls+mean"}
        ViTs: ``pooler_output`` (DINOv2: normed CLS; CLIP: post-layernorm CLS of the vision tower), the mean
        of the patch tokens (CLS and register tokens excluded), or both concatenated. SAM has no CLS token:
        its feature is always the global average of ``get_image_embeddings`` and ``pooling`` is ignored.
    batch_size : int, optional
        Images per forward pass; default :func:`auto_batch_size` per shape (from free GPU memory on CUDA).
    device : str, optional
        Used when ``model`` is loaded here.
    progress : callable, optional
        Called as ``progress(done, total, message)`` after every batch, ``message`` like
        ``"12.5 images/s, about 0:08 left"`` (:func:`rate_message`). Returning ``False`` cancels.
    size : int, optional
        Input side in pixels, a multiple of the patch size (see ``prepare``).
    fit : {"resize", "crop", "pad"}
        How "standard" mode reaches ``size``; ignored in "paper" mode.
    cancel : threading.Event, optional
        Checked before every batch; when set, the call stops.

    Returns
    -------
    ndarray, shape (n, d), float32
        ``d`` is the preset's ``dim`` for "cls" (SAM: the image-embedding channels), twice that for "cls+mean".

    Raises
    ------
    InputError
        Bad option, image or size.
    EmbeddingCancelled
        ``progress`` returned False or ``cancel`` was set; nothing is returned.
    """
    import torch

    _check_options(mode, pooling, fit, batch_size)
    fm = _get_model(model, device)
    images = list(images)
    batches = list(_batches(images, fm, mode, size, fit, batch_size))
    rows, done, start = [None] * len(images), 0, time.perf_counter()

    def load(chunk):
        arrays = [prepare(images[i], fm, mode=mode, size=size, fit=fit) for i in chunk]
        return torch.from_numpy(np.stack(arrays))

    with ThreadPoolExecutor(1) as pool, torch.inference_mode():
        pending = pool.submit(load, batches[0]) if batches else None
        for k, chunk in enumerate(batches):
            if cancel is not None and cancel.is_set():
                raise EmbeddingCancelled("cancelled")
            pixels = pending.result()
            pending = pool.submit(load, batches[k + 1]) if k + 1 < len(batches) else None
            features = _forward(fm, pixels.to(fm.device, fm.dtype), pooling).cpu().numpy()
            for i, row in zip(chunk, features):
                rows[i] = row
            done += len(chunk)
            if progress is not None:
                message = rate_message(done, len(images), time.perf_counter() - start)
                if progress(done, len(images), message) is False:
                    if pending is not None:
                        pending.cancel()
                    raise EmbeddingCancelled("cancelled")
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
