"""Extract features of listed image files block by block, so memory follows one block, not the folder.

:func:`extract_streamed` decodes one block of :func:`msdash.data.sources.plan_blocks` at a time, runs
:func:`msdash.features.extract` on it (filling the same feature store), keeps only the small feature rows and
frees the images before the next block. The joined table equals one ``extract`` call over all images: rows in
sorted-name order, and the rule "the most common feature length wins" applied over all blocks.
"""

import sys
from collections import Counter

import numpy as np

__all__ = ["extract_streamed"]


def extract_streamed(slots, name, *, budget, store=None, before_extract=None, report=None, notify=None, **params):
    """Compute one extractor's features for listed image files, decoding one block at a time.

    Parameters
    ----------
    slots : list of tuple of ImageSource
        From :func:`msdash.data.sources.list_images` (possibly a shard of its slots).
    name : str
        A key of :data:`msdash.features.EXTRACTORS`.
    budget : int
        Bytes one block of decoded images may take (:func:`msdash.data.sources.memory_budget`).
    store : FeatureStore, path, None or False
        As for :func:`~msdash.features.extract`.
    before_extract : callable, optional
        ``before_extract(images)`` with each block's ``{name: image}`` before it is extracted (the Ray engine
        fills the store there).
    report : callable, optional
        ``report(load_error)`` for each file that could not be decoded, as soon as its block is read.
    notify : callable, optional
        ``notify(text)`` with the warning of :func:`~msdash.features.sizing.check_feature_count` for the
        whole run (a very wide table), checked once the first block's shapes are known.
    **params
        The extractor's parameters.

    Returns
    -------
    table : FeatureTable or None
        Rows sorted by sample name; None when no file decoded.
    unreadable : list of LoadError
        The files that could not be decoded.
    """
    from msdash.data.sources import plan_blocks

    from msdash.features.sizing import check_feature_count

    tables, shapes, unreadable = [], {}, []
    for block in plan_blocks(slots, budget):
        table = _extract_block(block, budget, name, store, before_extract, shapes, unreadable, report, params)
        if table is not None:
            if not tables:  # the whole run's table, judged from the first block's shapes, before going on
                warning = check_feature_count(name, params, Counter(shapes.values()), n_samples=len(slots))
                if warning and notify is not None:
                    notify(warning)
            tables.append(table)
    return (_join(tables, shapes) if tables else None), unreadable


def _extract_block(block, budget, name, store, before_extract, shapes, unreadable, report, params):
    """One block: decode, extract, keep the rows. The images die with this frame, before the next block."""
    from msdash.budget import DecodeBudget
    from msdash.features import extract
    from msdash.data.sources import read_block

    # The block was sized to the budget from headers; load_images' per-upload limit must not cut it again.
    limit = DecodeBudget(max(budget, block.nbytes), variable="MSDASH_MEMORY_BUDGET")
    loaded = read_block(block.slots, max_bytes=limit)
    for error in loaded.errors:
        unreadable.append(error)
        if report is not None:
            report(error)
    # Kept compact: extract converts them to float32 one of its own blocks at a time.
    images = loaded.images
    del loaded
    if not images:
        return None
    shapes.update((sample, images.raw(sample).shape) for sample in images)
    if before_extract is not None:
        before_extract(images)
    return extract(images, name, store=store, **params)


def _join(tables, shapes):
    """One FeatureTable from block tables, as one ``extract`` call would have assembled it."""
    from msdash.features.extract import FeatureError, FeatureTable

    first = tables[0]
    if len(tables) == 1:
        return _sorted(first)
    ok_rows = Counter()
    for table in tables:
        ok_rows[table.values.shape[1]] += int(table.ok.sum())
    d = max(ok_rows, key=lambda length: (ok_rows[length], length))
    labels = next((t.labels for t in tables if t.values.shape[1] == d and t.ok.any()), first.labels)
    values, names, errors = [], [], []
    for table in tables:
        names += table.names
        errors += table.errors
        if table.values.shape[1] == d:
            values.append(table.values)
            continue
        values.append(np.full((len(table.names), d), np.nan))
        failed = {e.name for e in table.errors}
        errors += [FeatureError(n, (
            f"gives {table.values.shape[1]} features where most samples give {d} (shape {shapes[n]}); "
            "images of different sizes need a fixed cutoff, or crop them to one size (volumes mixed with 2-D "
            "images need sections='mean')")) for n in table.names if n not in failed]
    provenance = dict(first.provenance)
    for count in ("store_hits", "store_misses", "segmented", "n_samples"):
        if count in provenance:
            provenance[count] = sum(t.provenance.get(count) or 0 for t in tables)
    provenance["n_failed"] = len(errors)
    provenance["input_kinds"] = dict(sum((Counter(t.provenance.get("input_kinds", {})) for t in tables),
                                         Counter()))
    provenance["blocks"] = len(tables)
    joined = FeatureTable(np.concatenate(values), list(labels), names, errors, first.extractor,
                          dict(first.params), provenance, first.key, first.kind)
    return _sorted(joined)


def _sorted(table):
    """``table`` with rows (and errors) in sorted-name order, as the single-process run writes them."""
    order = sorted(range(len(table.names)), key=table.names.__getitem__)
    rank = {table.names[i]: position for position, i in enumerate(order)}
    if order != list(range(len(order))):
        table.values = table.values[order]
        table.names = [table.names[i] for i in order]
    table.errors = sorted(table.errors, key=lambda e: rank.get(e.name, sys.maxsize))
    return table
