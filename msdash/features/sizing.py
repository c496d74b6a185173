"""How wide a feature table will be before it is computed, whether it fits the memory budget, and block sizes.

Pages and the CLI call :func:`check_feature_count` with the sample shapes before extracting: it refuses a
table that would not fit :func:`msdash.config.memory_budget` and returns a warning for very wide ones.
Only numpy and the registry are imported, so pages can call it freely.
"""

import math
from collections.abc import Mapping

from msdash.data.kinds import image_kind
from msdash.errors import InputError

__all__ = ["FEATURE_WARNING", "ALWAYS_FITS", "feature_count", "check_feature_count", "images_per_block"]

#: Features per sample above which :func:`check_feature_count` warns before a run.
FEATURE_WARNING = 100_000
#: Tables up to this many bytes are never refused: a budget below it asks for the smallest blocks
#: (one image at a time), not for refusing small tables.
ALWAYS_FITS = 16 * 2 ** 20


def images_per_block(bytes_per_image, *, safety=4, limit=None):
    """Images to process together so that their work arrays take at most ``budget / safety`` bytes.

    Parameters
    ----------
    bytes_per_image : int
        Bytes of the temporary arrays one image needs (FFT work arrays and the like).
    safety : float, optional
        Share of :func:`msdash.config.memory_budget` a block may take is ``1 / safety``: the rest is for the
        inputs, the results and the caller.
    limit : int, optional
        An upper bound (e.g. the number of images).

    Returns
    -------
    int
        At least 1: one image that alone exceeds the share is still processed.

    Examples
    --------
    >>> import os; os.environ["MSDASH_MEMORY_BUDGET"] = "4000"
    >>> images_per_block(100), images_per_block(100, limit=3), images_per_block(10**6)
    (10, 3, 1)
    >>> del os.environ["MSDASH_MEMORY_BUDGET"]
    """
    from msdash.config import memory_budget

    n = max(1, int(memory_budget() // (safety * max(1, int(bytes_per_image)))))
    return n if limit is None else max(1, min(n, int(limit)))


def feature_count(name, params=None, shapes=()):
    """Features per sample one extractor will produce for samples of the given shapes.

    Parameters
    ----------
    name : str or ExtractorSpec
        A key of :data:`msdash.features.EXTRACTORS`.
    params : dict, optional
        The user's parameters (strings accepted); missing ones take their defaults.
    shapes : iterable of tuple, or dict shape → number of samples
        Sample shapes as stored: ``(H, W)``, ``(H, W, 3)`` (RGB) or ``(D, H, W)`` (a volume, cut into three
        orthogonal sections by 2-D-only extractors). Only needed where the count depends on the size
        (``two_point`` without ``cutoff``).

    Returns
    -------
    int or None
        The widest count over the shapes (the table takes the most common one), or None when the extractor
        cannot say before running (foundation and learned models, plug-ins).

    Examples
    --------
    >>> feature_count("two_point", {}, [(4096, 4096)]), feature_count("two_point", {"cutoff": 2})
    (16641, 25)
    >>> feature_count("phys_feat2", {"bins": 16}), feature_count("two_point", {}, [(51, 51, 51)])
    (32, 2601)
    """
    from .registry import get_spec, resolve_params

    spec = get_spec(name)
    params = resolve_params(spec, params or {})
    counter = _COUNTS.get(spec.name)
    if counter is None:
        return None
    shapes = list(shapes.keys() if isinstance(shapes, Mapping) else shapes) or [None]
    counts = [_sample_count(spec, params, counter, shape) for shape in set(map(_shape, shapes))]
    return None if None in counts else max(counts)


def check_feature_count(name, params=None, shapes=(), *, n_samples=None):
    """Refuse a feature table that would not fit the memory budget; warn about a very wide one.

    Call it before extracting (the Features page, the CLI); :func:`msdash.features.extract` calls it too.

    Parameters
    ----------
    name, params, shapes
        As for :func:`feature_count`; ``shapes`` lists one shape per sample, or maps shape → number of samples.
    n_samples : int, optional
        Rows of the table; default the number of samples in ``shapes``.

    Returns
    -------
    str or None
        A warning naming the feature count and the table's size when a sample gets more than
        :data:`FEATURE_WARNING` features; None otherwise (or when the count is unknown before running).

    Raises
    ------
    InputError
        When ``n_samples × features × 8`` bytes (float64) exceed :func:`msdash.config.memory_budget` (and
        :data:`ALWAYS_FITS`); the message names both numbers and the fix (a smaller cutoff, fewer images or a
        larger budget).
    """
    from msdash.config import memory_budget
    from .registry import get_spec, resolve_params

    spec = get_spec(name)
    params = resolve_params(spec, params or {})
    shapes = shapes if isinstance(shapes, Mapping) else list(shapes)
    d = feature_count(spec, params, shapes)
    if d is None:
        return None
    if n_samples is None:
        n_samples = sum(shapes.values()) if isinstance(shapes, Mapping) else len(shapes)
    n_samples = max(1, int(n_samples))
    table, budget = n_samples * d * 8, memory_budget()
    what = f"{spec.title} would give {d:,} features per sample"
    if table > max(budget, ALWAYS_FITS):
        raise InputError(f"{what}: {n_samples:,} samples × {d:,} × 8 bytes = {_size(table)}, more than the "
                         f"memory budget of {_size(budget)} (MSDASH_MEMORY_BUDGET). {_fix(spec, n_samples, budget)}",
                         name="cutoff" if spec.name == "two_point" else "images")
    if d > FEATURE_WARNING:
        return (f"{what} ({_size(table)} for {n_samples:,} samples, and as much again in the feature store). "
                f"{_fix(spec, n_samples, budget)}")
    return None


def _fix(spec, n_samples, budget):
    """The way out: for two-point the largest cutoff (at most 64 px) whose table fits the budget."""
    fits = (math.isqrt(budget // (8 * n_samples)) - 1) // 2
    if spec.name == "two_point" and fits >= 1:
        c = min(64, fits)
        return (f"Choose a smaller cutoff: cutoff = c gives (2c + 1)² features per sample, e.g. cutoff = {c} "
                f"gives {(2 * c + 1) ** 2:,}; a few correlation lengths of the microstructure are enough.")
    return "Use fewer images or an extractor with fewer features, or raise MSDASH_MEMORY_BUDGET."


def _size(nbytes):
    return f"{nbytes / 1024 ** 3:.2f} GiB" if nbytes >= 1024 ** 3 else f"{nbytes / 1024 ** 2:.1f} MiB"


def _shape(shape):
    return None if shape is None else tuple(int(n) for n in shape)


def _sample_count(spec, params, counter, shape):
    """Features of one sample: its 2-D parts as :func:`msdash.features.extract` prepares them."""
    if shape is None:
        return counter(params, None)
    if len(shape) == 3 and image_kind(shape) == "rgb":  # RGB by its shape, as extract reads it
        shape = shape[:2]
    if len(shape) == 3 and 3 not in spec.dims:
        d, h, w = shape
        counts = [counter(params, part) for part in ((h, w), (d, w), (d, h))]
        if None in counts:
            return None
        return sum(counts) if params.get("sections") == "concat" else max(counts)
    return counter(params, shape)


def _two_point(params, shape):
    if params["cutoff"] is not None:
        c = params["cutoff"]
    elif shape is None:
        return None
    else:
        from .correlation import default_cutoff

        c = default_cutoff(shape)
    return (2 * c + 1) ** 2


_COUNTS = {
    "volume_fraction": lambda p, s: 1,
    "two_point": _two_point,
    "two_point_paper_a": lambda p, s: 41 * 41,
    "two_point_paper_b": lambda p, s: 159 * 159,
    "radial_psd": lambda p, s: p["bins"],
    "phys_feat1": lambda p, s: 2,
    "phys_feat2": lambda p, s: 2 * p["bins"],
    "grad_feature": lambda p, s: 1,
}
