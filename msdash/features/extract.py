"""Batch feature extraction: any registered extractor over a data set, cached and tolerant of bad samples.

:func:`extract` prepares each sample for the extractor, groups samples by shape so every group is one
batched call, reads what the :mod:`~msdash.features.store` already holds and stores what it computes.
A sample the extractor fails on becomes a row of NaN plus a :class:`FeatureError`; the rest goes on.
"""

import importlib
import os
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import msdash
from msdash.errors import InputError
from msdash.data.imagestore import Images, to_float32
from msdash.data.kinds import image_kind, to_grey
from msdash.features.registry import get_spec, resolve_params
from msdash.features.store import FeatureStore, default_store
from msdash.features.storekeys import feature_key
from msdash.features.failures import Failure, failure, length_message, off_length, summary_text, error_summary
from msdash.features.table import FeatureError, FeatureTable

__all__ = ["FeatureError", "FeatureTable", "extract", "error_summary"]

#: Samples per batched call at most: enough for vectorised FFTs, small enough to move progress. Large images
#: go in fewer: a call's stack takes at most 1/8 of the memory budget (:func:`_chunk_size`).
CHUNK = 256
#: Samples prepared, computed and written to the store together.
_BLOCK = 1024
_AXES = ("z", "y", "x")


def extract(images, name, *, progress=None, store=None, **params):
    """Compute one extractor's features for every sample.

    Input preparation, per sample (recorded in ``provenance``):

    1. RGB ``(H, W, 3)`` becomes grey (:func:`msdash.io.to_grey`) unless the extractor takes ``"any"``. What a
       sample is comes from the data set (:meth:`~msdash.data.dataset.Dataset.kind`, which keeps what the file
       said), else from its shape (:func:`msdash.data.images.image_kind`).
    2. A volume ``(D, H, W)`` given to a 2-D-only extractor is cut into its three orthogonal sections
       (:func:`~msdash.features.sections.orthogonal_sections`); their features are averaged
       (``sections="mean"``) or concatenated (``"concat"``, labels suffixed ``@z``, ``@y``, ``@x``).
    3. Extractors of ``"labels"`` get 0/1 phase maps: grey images that are not binary are segmented by
       ``segmentation`` (``"otsu"``, ``"paper-b"`` = study B's pipeline; ``"none"`` makes them errors).

    Prepared images are grouped by shape, each group computed in batched calls of :data:`CHUNK` samples.
    A call that raises is retried one sample at a time so only the bad samples fail. When feature lengths
    would differ between samples (e.g. ``two_point`` without ``cutoff`` on images of different sizes), this
    is seen from the shapes before any work: the most common length wins and the other samples become errors
    asking for a cutoff or a crop, without being computed or stored.
    (:func:`~msdash.features.registry.fit_to_sizes` chooses parameters that suit every size; the app calls it.)

    Parameters
    ----------
    images : Dataset, dict of str to ndarray, or sequence of ndarray
        The samples; a sequence gets names ``"0"``, ``"1"``, …
    name : str
        A key of :data:`msdash.features.EXTRACTORS`.
    progress : callable, optional
        ``progress(done, total, message)``, called after each batch (``done``/``total`` in samples).
    store : FeatureStore, path, None or False
        Cache: None uses the workspace store, False computes everything and stores nothing.
    **params
        The extractor's parameters (strings accepted); missing ones take their defaults.

    Returns
    -------
    FeatureTable

    Raises
    ------
    InputError
        Unknown extractor or parameter (the message lists the valid ones), bad value, no samples, a table
        that would not fit the memory budget
        (:func:`~msdash.features.sizing.check_feature_count`, which pages call first for its warning), or
        no sample giving features (one message per distinct reason, with its count: 143 tiles too small for
        the window make one line, not 143).

    Examples
    --------
    >>> board = (np.indices((4, 4)).sum(axis=0) % 2).astype(np.float32)
    >>> table = extract({"board": board, "white": np.ones((4, 4))}, "volume_fraction", store=False)
    >>> table.values.ravel().tolist(), table.labels
    ([0.5, 1.0], ['volume fraction (phase 1)'])
    """
    spec = get_spec(name)
    params = resolve_params(spec, params)
    key = feature_key(spec, params)
    names, raw, read, recorded = _as_samples(images)
    function = spec.load()
    store = _open_store(store)
    table_key = None
    if store is not None and hasattr(images, "content_hash"):  # a Dataset: whole-table cache first
        from msdash.features import tablecache

        table_key = f"{images.content_hash()}-{key}"
        cached = tablecache.load_table(table_key)
        if cached is not None and cached["names"] == names:
            if progress is not None:
                progress(len(names), len(names), "read from the feature store")
            provenance = dict(cached["provenance"], table_cache=True, store_hits=len(names), store_misses=0)
            errors = [FeatureError(n, m) for n, m in cached["errors"]]
            return FeatureTable(cached["values"], cached["labels"], names, errors, spec.name, dict(params),
                                provenance, key, spec.kind)
    n = len(names)
    results, cacheable, kinds = [None] * n, [False] * n, Counter()
    samples, sample_kinds = [], [None] * n
    for i, array in enumerate(raw):
        try:
            samples.append(_check_array(array, convert=read is None))
            sample_kinds[i] = recorded.get(names[i]) or image_kind(samples[-1])
            kinds[sample_kinds[i]] += 1
        except InputError as exc:
            samples.append(None)
            results[i] = Failure(str(exc))
    from msdash.features.sizing import check_feature_count

    check_feature_count(spec, params, Counter(s.shape for s in samples if s is not None))
    if store is None:
        hashes = [None] * n
    elif hasattr(images, "image_hashes"):  # a Dataset remembers its hashes: no re-hashing on warm calls
        hashes = [None if s is None else h for s, h in zip(samples, images.image_hashes())]
    else:
        hashes = _hash_all(samples if read is None else [None if s is None else read(s) for s in samples],
                           [recorded.get(name) for name in names])
    provenance = {"store": None, "store_hits": 0, "store_misses": 0}
    if store is not None:
        provenance["store"] = str(store.path)
        try:
            found = store.get_many([h for h in hashes if h is not None], key)
        except Exception as exc:  # a broken cache must not stop the work
            found, provenance["store_error"] = {}, str(exc)
        for i, h in enumerate(hashes):
            if h in found:
                entry = found[h]
                results[i] = entry.values if entry.error is None else Failure(entry.error)
                provenance["store_hits"] += 1
    for i, message in off_length(spec, params, samples).items():
        if results[i] is None:  # decided from the shapes: never computed, never stored
            results[i] = Failure(message, cacheable=False)
    for i in range(n):
        if results[i] is None and not np.isfinite(samples[i]).all():  # checked only where computed
            results[i] = Failure("the image holds NaN or infinite values")
    todo = [i for i in range(n) if results[i] is None]
    provenance["store_misses"] = len(todo) if store is not None else 0
    segmented = 0
    for start, block in _blocks(todo, samples):
        # Compact (8/16-bit, bool) images become float32 one block at a time, never all at once.
        block_samples = [samples[i] if read is None else read(samples[i]) for i in block]
        outcome, seg = _compute_block(spec, function, params, block_samples, [sample_kinds[i] for i in block],
                                      progress, start, len(todo))
        del block_samples
        segmented += seg
        for i, result in zip(block, outcome):
            results[i] = result
            cacheable[i] = not (isinstance(result, Failure) and not result.cacheable)
        if store is not None:
            rows = [(hashes[i], None, results[i].message) if isinstance(results[i], Failure)
                    else (hashes[i], results[i], None) for i in block if cacheable[i]]
            try:
                store.put_many(key, rows)
            except Exception as exc:
                provenance["store_error"] = str(exc)
    if progress is not None:
        progress(n, n, "done" if todo else "read from the feature store")
    values, labels, errors = _assemble(spec, params, names, samples, sample_kinds, results)
    if n and len(errors) == n:
        raise InputError(f"{spec.title}: no sample gave features. " + summary_text(errors), name="images")
    provenance.update({
        "extractor": spec.name, "title": spec.title, "kind": spec.kind, "params": dict(params),
        "version": spec.version, "segmentation": params.get("segmentation"), "segmented": segmented,
        "sections": params.get("sections"), "n_samples": n, "n_failed": len(errors),
        "input_kinds": dict(kinds), "code_version": msdash.__version__,
    })
    table = FeatureTable(values, labels, names, errors, spec.name, dict(params), provenance, key, spec.kind)
    if table_key is not None and not any(isinstance(r, Failure) and not r.cacheable for r in results):
        from msdash.features import tablecache

        tablecache.save_table(table_key, table, hashes=hashes, store=store)  # hashes known: not again
    return table


def _blocks(todo, samples):
    """``(offset, indices)`` of blocks of :data:`_BLOCK` samples at most, whose float32 copies take at most
    1/8 of the memory budget (one larger sample makes a block of its own)."""
    from msdash.config import memory_budget

    share, start, block, held = memory_budget() // 8, 0, [], 0
    for i in todo:
        size = 4 * samples[i].size
        if block and (len(block) == _BLOCK or held + size > share):
            yield start, block
            start, block, held = start + len(block), [], 0
        block.append(i)
        held += size
    if block:
        yield start, block


def _as_samples(images):
    """Names, arrays, how to read one as float32 (None: the arrays are read as they are) and the recorded kinds.

    A Dataset's (or a LoadResult's) :class:`~msdash.data.imagestore.Images` gives its compact arrays and
    :func:`~msdash.data.imagestore.to_float32`, so images are converted block by block, not all at once.
    Recorded kinds (sample → kind where the shape alone would mislead) come from a Dataset's ``kinds`` or
    a loader's ``images.kinds``; other samples are what :func:`~msdash.data.images.image_kind` says.
    """
    recorded = {}
    if hasattr(images, "images") and hasattr(images, "names"):
        recorded = dict(getattr(images, "kinds", None) or {})
        images = images.images
    recorded = {**(getattr(images, "kinds", None) or {}), **recorded}
    read = None
    if isinstance(images, Images):
        names, arrays, read = [str(k) for k in images], images.raw_values(), to_float32
    elif isinstance(images, Mapping):
        names, arrays = [str(k) for k in images], list(images.values())
    elif isinstance(images, (list, tuple, np.ndarray)):
        names, arrays = [str(i) for i in range(len(images))], list(images)
    else:
        raise InputError(f"`images` must be a Dataset, a dict name → array or a list of arrays, "
                         f"got {type(images).__name__}", name="images")
    if not arrays:
        raise InputError("`images` holds no samples", name="images")
    return names, arrays, read, recorded


def _check_array(array, *, convert=True):
    try:
        array = np.asarray(array, dtype=np.float32) if convert else np.asarray(array)
    except (TypeError, ValueError) as exc:
        raise InputError(f"not a numeric image ({exc})") from None
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise InputError(f"an image must be (H, W), (H, W, 3) or (D, H, W), got shape {array.shape}")
    return array


def _hash_all(samples, kinds):
    """Feature-store keys (:func:`~msdash.data.dataset.sample_hash`; None for bad samples), on a few threads:
    hashlib releases the GIL on large buffers. ``kinds``: the recorded kind of each sample, or None."""
    from msdash.data.dataset import sample_hash  # pandas only when hashing

    def hashes(pairs):
        return [None if s is None else sample_hash(s, k) for s, k in pairs]

    pairs = list(zip(samples, kinds))
    workers = min(8, os.cpu_count() or 1, max(1, len(samples) // 64))
    if workers == 1:
        return hashes(pairs)
    parts = [pairs[w::workers] for w in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        done = list(pool.map(hashes, parts))
    hashes = [None] * len(samples)
    for w, part in enumerate(done):
        hashes[w::workers] = part
    return hashes


def _open_store(store):
    if store is False:
        return None
    if store is None or store is True:
        return default_store()
    return store if isinstance(store, FeatureStore) else FeatureStore(store)


def _prepare(spec, params, array, kind):
    """The 2-D (or native) parts one sample of ``kind`` is computed on, and how many parts were segmented."""
    if kind == "rgb" and spec.input != "any":
        array, kind = to_grey(array, kind=kind), "2d"
    if kind == "3d" and 3 not in spec.dims:
        parts = importlib.import_module("msdash.features.sections").orthogonal_sections(array)
    else:
        parts = [array]
    if spec.input != "labels":
        return [np.ascontiguousarray(p) for p in parts], 0
    out, segmented = [], 0
    for part in parts:
        if not _is_binary(part):
            if params.get("segmentation", "otsu") == "none":
                raise InputError("the image is not a binary phase map (values other than 0 and 1) and "
                                 "segmentation is 'none'; choose a segmentation method")
            segmentation = importlib.import_module("msdash.features.segmentation")
            part = np.asarray(segmentation.segment_stack(part[np.newaxis], method=params["segmentation"]))[0]
            segmented += 1
        out.append(np.ascontiguousarray(part, dtype=np.float32))
    return out, segmented


def _is_binary(image):
    return bool(((image == 0) | (image == 1)).all())


def _compute_block(spec, function, params, samples, kinds, progress, offset, total):
    """Results (vector or Failure) of a block of samples (of ``kinds``) and the number of segmented parts."""
    units, owner, failures, segmented = [], [], {}, 0
    for j, (sample, kind) in enumerate(zip(samples, kinds)):
        try:
            parts, seg = _prepare(spec, params, sample, kind)
        except Exception as exc:
            failures[j] = failure(exc)
            continue
        segmented += min(seg, 1)
        units.extend(parts)
        owner.extend([j] * len(parts))
    groups = {}
    for u, part in enumerate(units):
        groups.setdefault(part.shape, []).append(u)
    kwargs = spec.kwargs(params)
    vectors, done = [None] * len(units), 0
    for shape, members in groups.items():
        step = _chunk_size(shape)
        for start in range(0, len(members), step):
            chunk = members[start:start + step]
            for u, vector in zip(chunk, _call(function, [units[u] for u in chunk], kwargs)):
                vectors[u] = vector
            done += len(chunk)
            if progress is not None:
                label = "×".join(map(str, shape))
                progress(offset + round(done / len(units) * len(samples)), total, f"{spec.title}: {label} images")
    results = [failures.get(j) for j in range(len(samples))]
    parts_of = {}
    for u, j in enumerate(owner):
        parts_of.setdefault(j, []).append(vectors[u])
    for j, parts in parts_of.items():
        results[j] = _combine(parts, params.get("sections", "mean"))
    return results, segmented


def _chunk_size(shape):
    """Samples of ``shape`` per batched call: :data:`CHUNK`, fewer when their float32 stack would take more
    than 1/8 of the memory budget (the extractor sizes its own work arrays from the rest)."""
    from msdash.features.sizing import images_per_block

    return images_per_block(4 * int(np.prod(shape)), safety=8, limit=CHUNK)


def _call(function, arrays, kwargs):
    """Feature vectors (or Failure) of equal-shape arrays: one batched call, else one call per array."""
    try:
        out = np.asarray(function(np.stack(arrays), **kwargs), dtype=np.float64)
        if out.ndim == 0 or out.shape[0] != len(arrays):
            raise ValueError(f"the extractor returned shape {out.shape} for {len(arrays)} images")
        out = out.reshape(len(arrays), -1)
        return list(out)
    except Exception as exc:
        if len(arrays) == 1:
            return [failure(exc)]
    return [_call(function, [a], kwargs)[0] for a in arrays]


def _combine(parts, mode):
    """One sample's vector from the vectors of its parts (one for an image, three sections of a volume)."""
    for part in parts:
        if isinstance(part, Failure):
            return part
    if len(parts) == 1:
        return parts[0]
    if mode == "concat":
        return np.concatenate(parts)
    lengths = sorted({len(p) for p in parts})
    if len(lengths) > 1:
        return Failure(f"the three sections of the volume give {lengths} features; sections of different "
                        "sizes need a fixed cutoff (or sections='concat')")
    return np.mean(parts, axis=0)


def _assemble(spec, params, names, samples, kinds, results):
    """Values (n, d) with NaN rows, labels and errors; the most common feature length wins."""
    lengths = Counter(len(r) for r in results if not isinstance(r, Failure))
    d = max(lengths, key=lambda length: (lengths[length], length)) if lengths else 0
    values = np.full((len(names), d), np.nan)
    errors, first = [], None
    for i, result in enumerate(results):
        if isinstance(result, Failure):
            errors.append(FeatureError(names[i], result.message))
        elif len(result) != d:
            errors.append(FeatureError(names[i], length_message(len(result), d, samples[i].shape)))
        else:
            values[i] = result
            first = i if first is None else first
    if first is None:
        return values, [], errors
    sample, kind = samples[first], kinds[first]
    shape = sample.shape[:2] if kind == "rgb" else sample.shape[-2:]
    if kind == "3d" and 3 not in spec.dims and params.get("sections") == "concat":
        base = spec.labels(params, shape, d // 3)
        return values, [f"{label}@{axis}" for axis in _AXES for label in base], errors
    return values, spec.labels(params, shape, d), errors
