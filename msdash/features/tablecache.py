"""Whole feature tables of data sets, kept as one block of the feature store: the only copy of their values.

The per-image store (:mod:`msdash.features.store`) never computes a sample twice, but gathering thousands
of rows back costs about as much as a cheap extractor computes them. A data set's complete table is
therefore written as one *table block* of the store (:func:`~msdash.features.blockfile.write_table_block`:
rows in sample order, each with its image hash), and the warm path memory-maps that block as the table.
The store's earlier blocks whose rows the table block holds are then removed (:func:`_compact`): the
store answers for those images from the table block, so the workspace keeps one copy of the values, not two
(the table cache used to repeat them in a ``values.npy``: 1.90× the source images + values for 50,000
64×64 images with two-point at 4,225 features, now 1.01×; ``bench/feature_store.py --workspace 50000`` and
``tests/data/test_workspace_size.py`` measure it). Data sets with the same images (a property table edited gives
a new content hash) share one table block.

Layout: ``<workspace>/features/tables/<dataset hash>-<extractor key>/meta.json`` (written last, atomically;
it marks completion) names the block (relative to the workspace), holds the sample names, the failures,
params, provenance and the labels — the *rule* of a wide table's labels, never millions of strings
(:func:`msdash.features.labels.encode_labels`). The key is the data set's content hash plus the extractor
key, so it can never serve stale numbers; deleting it only costs time.

A table block records each row's image hash. :func:`save_table` takes them from its caller, else from the
saved data set of that content hash (:func:`dataset_hashes`, computed once and kept in
``<workspace>/features/hashes/<id>.json``); a table of no saved data set serves that table only.

Rows are written in blocks sized from :func:`msdash.config.memory_budget`, never built whole in memory.
The first extraction of a table writes its values twice (the store's blocks as they are computed, so a
killed run keeps them, then the table block) and keeps them once. A store block also held by another data
set's table (images shared by two data sets) stays: each table is one contiguous block.
Entries written by earlier versions (``values.npy`` beside ``meta.json``) are still read. A save killed
before its ``meta.json`` leaves a table block no entry names: the store still answers from it, and the next
save of that table (the next extraction, a cache miss) removes it.
"""

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from msdash import config
from msdash.data import atomic
from msdash.errors import WorkspaceError
from msdash.features.blockfile import BLOCK_NAME, read_header, values_of, write_table_block
from msdash.features.labels import decode_labels, encode_labels

__all__ = ["load_table", "save_table", "table_blocks", "dataset_hashes", "MAX_BLOCK_BYTES"]

#: Most bytes of float64 rows converted and written at once (also at most 1/16 of the memory budget).
MAX_BLOCK_BYTES = 64 * 2**20

#: Longest wait (seconds) for another process's save of the same table.
LOCK_WAIT_S = 600.0

_KEY = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{64}$")


def tables_root(root=None):
    """``<workspace>/features/tables`` (of ``root`` when given); not created here."""
    return Path(root if root is not None else config.workspace()) / "features" / "tables"


def _folder(table_key, root=None):
    if not _KEY.match(table_key):
        raise ValueError(f"not a table key: {table_key!r}")
    return tables_root(root) / table_key


def load_table(table_key):
    """Return the cached table for ``table_key``, or None when absent, incomplete or damaged.

    Returns
    -------
    dict or None
        ``values`` (read-only memory-mapped float64, shape (n, d)), ``labels`` (a list, or a lazy sequence
        beyond :data:`~msdash.features.labels.LIST_LABELS_MAX` columns), ``names``, ``errors`` (list of
        ``[name, message]``), ``params`` and ``provenance``.
    """
    folder = _folder(table_key)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        labels = decode_labels(meta["labels"])
        if "values_bytes" in meta:  # an entry of an earlier version: its own values.npy
            values_path = folder / "values.npy"
            if values_path.stat().st_size != meta["values_bytes"]:
                return None
            values = np.load(values_path, mmap_mode="r", allow_pickle=False)
        else:
            block = read_header(_block_path(meta["block"]))
            if block.dtype != "<f8" or os.stat(block.path).st_size != block.size:
                return None
            if block.table != table_key and meta.get("rows") != _rows_digest(block.hashes, block.errors):
                return None  # a block shared with another table must still hold the same rows
            values = values_of(block)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if values.shape != (len(meta["names"]), len(labels)):
        return None
    return {"values": values, "labels": labels, **{k: meta[k] for k in ("names", "errors", "params", "provenance")}}


def save_table(table_key, table, *, hashes=None, store=None):
    """Keep a complete FeatureTable (failures included) as one table block; errors are not raised.

    Parameters
    ----------
    table_key : str
        ``"<data set content hash>-<extractor key>"``.
    table : FeatureTable
    hashes : list of (str or None), optional
        Image hash of each row (:meth:`msdash.data.dataset.Dataset.image_hashes`; None for a sample that could
        not be read). When None, they are taken from the saved data set of that content hash if there is
        one; otherwise the table block serves this table only.
    store : FeatureStore, optional
        The store the table's rows were read from and written to (default: the workspace's).

    Returns
    -------
    bool
        True when the table was kept.
    """
    from msdash.features.store import default_store

    folder = _folder(table_key)
    key = table_key.split("-", 1)[1]
    try:
        store = default_store() if store is None else store
        if store.read_only is not None:
            return False
        n, d = table.values.shape
        if hashes is None:
            hashes = _saved_hashes(table_key[:16], n)
        row_hashes, errors = _row_hashes(store, key, table, hashes)
        folder.mkdir(parents=True, exist_ok=True)
        rows = max(1, min(MAX_BLOCK_BYTES, config.memory_budget() // 16) // max(1, 8 * d))
        # One save of a table at a time (threads, processes): none leaves a block that meta.json does not name.
        with atomic.exclusive(folder / ".lock", wait_s=LOCK_WAIT_S, busy=f"Another save of table {table_key} "
                              f"has run for over {LOCK_WAIT_S:.0f} s."):
            shared = _same_rows(store.key_folder(key), row_hashes, errors, (n, d))
            path = shared or write_table_block(store.key_folder(key), table_key, table.values, row_hashes, errors,
                                               rows_at_once=rows)
            meta = {"block": _relative(path), "labels": encode_labels(table.labels), "names": list(table.names),
                    "errors": [[e.name, e.message] for e in table.errors], "params": table.params,
                    "provenance": table.provenance, "rows": _rows_digest(row_hashes, errors)}
            try:
                atomic.write_file_atomic(folder / "meta.json", json.dumps(meta, default=str).encode())
            except OSError:
                if shared is None:  # a shared block is another table's
                    path.unlink(missing_ok=True)
                raise
            with contextlib.suppress(OSError):  # the copies this one replaces; the store's blocks it covers
                (folder / "values.npy").unlink(missing_ok=True)
                _compact(path, table_key)
        store.forget(key)
        return True
    except OSError:
        return False


def table_blocks(root=None):
    """``{table key: block path}`` of the complete table-cache entries (of ``root``'s workspace)."""
    found = {}
    with contextlib.suppress(OSError):
        for folder in tables_root(root).iterdir():
            if _KEY.match(folder.name):
                with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
                    if "block" in meta:
                        found[folder.name] = _block_path(meta["block"], root)
    return found


def _row_hashes(store, key, table, hashes):
    """Each row's hash as the table block records it, and ``{row: message}`` of the failed rows.

    A failed row keeps its hash only where the store holds that very failure: a failure of the table alone
    (a feature length other than the table's, an unreadable sample) must not answer store look-ups.
    """
    row_of = {name: i for i, name in enumerate(table.names)}
    errors = {row_of[e.name]: e.message for e in table.errors if e.name in row_of}
    if hashes is None or len(hashes) != len(table.names):
        return [None] * len(table.names), errors
    row_hashes = [None if h is None else str(h) for h in hashes]
    failed = [row_hashes[i] for i in errors if row_hashes[i] is not None]
    try:
        stored = store.get_many(failed, key) if failed else {}
    except Exception:  # a broken store (e.g. a damaged database): these failures then answer no look-up
        stored = {}
    for i, message in errors.items():
        h = row_hashes[i]
        if h is not None and (h not in stored or stored[h].error != message):
            row_hashes[i] = None
    return row_hashes, errors


def _same_rows(folder, row_hashes, errors, shape):
    """The newest table block of another table holding these very rows (same images), or None.

    Two data sets with the same images (a property table edited: a new content hash) then share one block.
    Rows are equal when the image hashes and failures are: a row is a function of its image and the key.
    """
    if all(h is None for h in row_hashes):
        return None
    with contextlib.suppress(OSError):
        for name in sorted(os.listdir(folder), reverse=True):
            if BLOCK_NAME.match(name):
                with contextlib.suppress(OSError, ValueError):
                    block = read_header(folder / name)
                    if (block.table is not None and (block.n, block.d) == shape and block.dtype == "<f8"
                            and block.hashes == row_hashes and block.errors == errors):
                        return block.path
    return None


def _rows_digest(hashes, errors):
    """Hex SHA-256 of a table's row hashes and failures (what a shared block must still hold)."""
    text = json.dumps([list(hashes), sorted((int(i), str(m)) for i, m in errors.items())], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _compact(table_path, table_key):
    """Remove the blocks the table block ``table_path`` (of ``table_key``, or shared with it) replaces: the
    table's earlier blocks (also one a concurrent save left) and the store's older plain blocks whose every
    row it holds.

    Readers that listed a removed block list again (:meth:`~msdash.features.store.FeatureStore.get_many`);
    a block already mapped stays readable until unmapped. Other tables' blocks are never removed here.
    """
    table = read_header(table_path)
    held = {h for h in table.hashes if h is not None}
    for name in sorted(os.listdir(table_path.parent)):
        path = table_path.parent / name
        if not BLOCK_NAME.match(name) or path == table_path:
            continue
        try:
            block = read_header(path)
        except (OSError, ValueError):
            continue
        if block.table == table_key or (block.table is None and name < table_path.name
                                        and all(h in held for h in block.hashes)):
            path.unlink(missing_ok=True)


def _saved_hashes(dataset_id, n):
    """Image hashes of the saved data set ``dataset_id`` (None when there is none of ``n`` samples)."""
    hashes = dataset_hashes(dataset_id)
    return hashes if hashes is not None and len(hashes) == n else None


def dataset_hashes(dataset_id, *, root=None, keep=True):
    """Image hashes of a saved data set, in sample order, or None when it is not saved (or unreadable).

    Computed once (loading the data set: ~10 s for 50,000 images) and kept in
    ``<workspace>/features/hashes/<id>.json``; the id is the content hash, so the file never goes stale.
    A data set is only loaded from the current workspace; of another ``root`` only kept files are read.
    ``keep=False`` does not write the file (a data set about to be deleted).
    """
    from msdash.data import datastore

    workspace = Path(root) if root is not None else config.workspace()
    path = hashes_file(dataset_id, root=workspace)
    with contextlib.suppress(OSError, ValueError):
        hashes = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(hashes, list) and all(isinstance(h, str) for h in hashes):
            return hashes
    if workspace.resolve() != config.workspace().resolve() or not datastore.dataset_exists(dataset_id):
        return None
    try:
        hashes = datastore.load_dataset(dataset_id).image_hashes()
    except WorkspaceError:
        return None
    if keep:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_file_atomic(path, json.dumps(hashes).encode())
    return hashes


def hashes_file(dataset_id, *, root=None):
    """``<workspace>/features/hashes/<id>.json`` (see :func:`dataset_hashes`)."""
    if not re.fullmatch(r"[0-9a-f]{16}", str(dataset_id)):
        raise ValueError(f"not a data set id: {dataset_id!r}")
    return Path(root if root is not None else config.workspace()) / "features" / "hashes" / f"{dataset_id}.json"


def _relative(path, root=None):
    workspace = Path(root if root is not None else config.workspace())
    try:
        return Path(path).relative_to(workspace).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def _block_path(text, root=None):
    path = Path(text)
    if path.is_absolute():
        return path
    if ".." in path.parts:
        raise ValueError(f"not a block path: {text!r}")
    return Path(root if root is not None else config.workspace()) / path
