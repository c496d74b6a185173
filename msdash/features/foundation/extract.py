"""Foundation-model features of data-set samples: 2-D images, tiles of large micrographs, sections of volumes.

:func:`extract_foundation` is what the registry entries ``dinov2``/``clip``/``sam`` call (through
:func:`msdash.features.extract`): each sample becomes one or more 2-D images (tiles, sections), all of them go
through one batched :func:`~msdash.features.foundation.embed`, and the features are averaged back per sample.
:func:`reporting` lets a caller that goes through ``extract`` (which calls the extractor once per chunk)
receive per-batch progress with images/s and time left, and cancel.

References
----------
- Study A: S. E. Whitman, G. Hu, M. I. Latypov, "Learning microstructure–property relationships in materials with
  robust features from vision transformers" (``docs/references.md``).
"""

import contextlib
import contextvars
import json
import time
from pathlib import Path

import numpy as np

from msdash.errors import InputError
from msdash.features.foundation.embedding import EmbeddingCancelled, embed, rate_message
from msdash.features.foundation.models import PRESETS, _get_model, model_status
from msdash.features.patches import tile as tile_image
from msdash.features.sections import orthogonal_sections

__all__ = ["SECTIONS", "SECTION_MODES", "extract_foundation", "section_indices", "reporting",
           "feature_dim", "EmbeddingCancelled"]

#: Where the three orthogonal sections of a volume are cut.
SECTIONS = ("first", "centre", "mean")
#: How the features of the three sections are combined.
SECTION_MODES = ("mean", "concat")

_REPORTER = contextvars.ContextVar("msdash_foundation_reporter", default=None)


class _Reporter:
    def __init__(self, progress, cancel, total):
        self.progress, self.cancel, self.total = progress, cancel, total
        self.samples, self.images, self.start = 0.0, 0, None

    def callback(self, n_samples, n_images):
        """An ``embed`` progress callback for one call holding ``n_samples`` samples as ``n_images`` images."""
        base_samples, base_images = self.samples, self.images
        self.start = self.start or time.perf_counter()

        def report(done, total, message):
            samples = base_samples + done * n_samples / max(total, 1)
            elapsed = time.perf_counter() - self.start
            if done == total:
                self.samples, self.images = samples, base_images + done
            if self.progress is None:
                return None
            # images/s counts model inputs (tiles, sections); the time left is in samples.
            message = rate_message(samples, self.total, elapsed, images=base_images + done)
            return self.progress(int(round(samples)), self.total, message)

        return report


@contextlib.contextmanager
def reporting(progress=None, *, cancel=None, total=None):
    """Report the progress of every :func:`extract_foundation` call inside the block, and allow cancelling.

    Parameters
    ----------
    progress : callable, optional
        ``progress(done, total, message)`` after every batch: ``done`` samples of ``total`` (None when not
        given), ``message`` like ``"12.5 images/s, about 0:08 left"`` (images = model inputs: tiles and
        sections count one each). Returning ``False`` cancels.
    cancel : threading.Event, optional
        Checked before every batch.
    total : int, optional
        Samples the block will compute (for the time left).

    Yields
    ------
    None
    """
    token = _REPORTER.set(_Reporter(progress, cancel, total))
    try:
        yield
    finally:
        _REPORTER.reset(token)


def section_indices(length, section, slices=3):
    """Positions along one axis of length ``length`` where sections are cut.

    ``"first"``: index 0 (study A); ``"centre"``: ``length // 2``; ``"mean"``: the centres of ``slices``
    equal bins, ``(2j + 1) * length // (2 * slices)``.

    Examples
    --------
    >>> section_indices(51, "first"), section_indices(51, "centre"), section_indices(51, "mean", 3)
    ([0], [25], [8, 25, 42])
    """
    if section == "first":
        return [0]
    if section == "centre":
        return [length // 2]
    if section == "mean":
        if int(slices) < 1:
            raise InputError(f"`slices` must be >= 1, got {slices}", name="slices")
        return sorted({(2 * j + 1) * length // (2 * int(slices)) for j in range(int(slices))})
    raise InputError(f"`section` must be one of {SECTIONS}, got {section!r}", name="section")


def _is_volume(array):
    return array.ndim == 3 and array.shape[-1] not in (3, 4)


def _views(array, section, slices):
    """A sample → list over axes (z, y, x; one for an image) of lists of 2-D images (slices)."""
    array = np.asarray(array)
    if array.ndim == 2 or (array.ndim == 3 and not _is_volume(array)):
        return [[array]]
    if array.ndim != 3:
        raise InputError(f"a sample must be (H, W), (H, W, 3) or a volume (D, H, W), got shape {array.shape}",
                         name="images")
    positions = [section_indices(n, section, slices) for n in array.shape]
    axes = [[], [], []]
    for axis in range(3):
        for p in positions[axis]:
            index = [n // 2 for n in array.shape]
            index[axis] = p
            axes[axis].append(orthogonal_sections(array, index=tuple(index))[axis])
    return axes


def _tiles(image, size, stride):
    if size is None:
        return [image]
    patches, _ = tile_image(image, size=int(size), stride=None if stride is None else int(stride))
    return list(patches)


def extract_foundation(images, *, model, folder=None, family=None, mode="paper", fit="resize", size=None,
                       pooling="cls", batch_size=None, section="centre", slices=3, sections="mean", tile=None,
                       stride=None, progress=None, cancel=None):
    """Features of a batch of samples: one row per sample, float32.

    Parameters
    ----------
    images : ndarray or sequence of ndarray
        Samples: (H, W) grey, (H, W, 3) RGB or (D, H, W) volumes (a stack puts the sample axis first).
    model : str
        A :data:`PRESETS` name (or any source :func:`~msdash.features.foundation.embed` takes).
    folder : str, optional
        A local folder with ``config.json`` and ``model.safetensors``; overrides ``model`` when set.
    family : {"dinov2", "clip", "sam"}, optional
        When given, the weights must be of this family (the registry entry's), else :class:`InputError`.
    mode, fit, size, pooling, batch_size
        As in :func:`~msdash.features.foundation.embed`.
    section : {"first", "centre", "mean"}
        Volumes: cut the three orthogonal sections at index 0 (study A), through the centre, or at
        ``slices`` evenly spaced positions per axis (:func:`section_indices`) with their features averaged.
    slices : int
        Sections per axis for ``section="mean"``.
    sections : {"mean", "concat"}
        Volumes: average the three axes' features, or concatenate them (z, y, x; 3 × d columns).
    tile, stride : int, optional
        Cut every 2-D image (or section) into ``tile × tile`` patches ``stride`` apart
        (:func:`msdash.features.patches.tile`) and average the patches' features; None embeds it whole.
    progress, cancel
        As in :func:`~msdash.features.foundation.embed`; inside :func:`reporting` its callback and event are
        used instead.

    Returns
    -------
    ndarray, shape (n_samples, d) or (n_samples, 3 d) for concatenated volume sections, float32
    """
    if sections not in SECTION_MODES:
        raise InputError(f"`sections` must be one of {SECTION_MODES}, got {sections!r}", name="sections")
    source = folder if folder is not None else model
    if folder is not None or family is not None:
        status = model_status(source)
        if not status["present"]:
            raise InputError(status["message"], name="folder" if folder is not None else "model")
        if family is not None and status["family"] != family:
            raise InputError(f"{source} holds {status['family']} weights, not {family}; choose the "
                             f"{status['family']} extractor for it", name="folder")
    samples = list(images)
    views = [_views(sample, section, slices) for sample in samples]
    flat, owner = [], []
    for s, axes in enumerate(views):
        for a, slices_of_axis in enumerate(axes):
            for k, image in enumerate(slices_of_axis):
                for patch in _tiles(image, tile, stride):
                    flat.append(patch)
                    owner.append((s, a, k))
    reporter = _REPORTER.get()
    if reporter is not None:
        _get_model(source)  # load first, so the reported rate does not include loading
        progress, cancel = reporter.callback(len(samples), len(flat)), reporter.cancel
    features = embed(flat, model=source, mode=mode, pooling=pooling, batch_size=batch_size, size=size, fit=fit,
                     progress=progress, cancel=cancel)
    grouped = {}
    for key, row in zip(owner, features):
        grouped.setdefault(key, []).append(row)
    rows = []
    for s, axes in enumerate(views):
        per_axis = [np.mean([np.mean(grouped[(s, a, k)], axis=0) for k in range(len(axes[a]))], axis=0)
                    for a in range(len(axes))]
        rows.append(np.concatenate(per_axis) if sections == "concat" else np.mean(per_axis, axis=0))
    return np.asarray(rows, dtype=np.float32)


def feature_dim(model, pooling="cls"):
    """Feature length of one 2-D image for a preset or local folder (None when it cannot be told).

    Examples
    --------
    >>> feature_dim("dinov2-small", "cls+mean"), feature_dim("sam-base", "cls+mean")
    (768, 256)
    """
    if model in PRESETS:
        preset = PRESETS[model]
        dim = preset.dim
        family = preset.family
    else:
        try:
            config = json.loads((Path(model).expanduser() / "config.json").read_text())
        except (OSError, ValueError):
            return None
        vision = config.get("vision_config") or config
        family = "sam" if str(config.get("model_type", "")).startswith("sam") else None
        dim = vision.get("output_channels" if family == "sam" else "hidden_size")
        if dim is None:
            return None
    return int(dim) if family == "sam" or pooling != "cls+mean" else 2 * int(dim)
