"""Removing what the workspace holds only for one data set: its feature tables, store rows, imported tables, runs."""

import contextlib
import json
import os
import re
import sqlite3
from pathlib import Path

from msdash import config
from msdash.data import atomic
from msdash.errors import InputError, WorkspaceError
from msdash.features.blockfile import BLOCK_NAME, key_of, read_header, values_of, write_block
from msdash.features.imported_store import imported_dir, rename_imported
from msdash.features.tablecache import dataset_hashes, hashes_file, table_blocks, tables_root

__all__ = ["delete_dataset_features", "rename_imported"]

_ID = re.compile(r"^[0-9a-f]{16}$")
_CHUNK = 900  # SQLite parameters per statement (its historical limit is 999)


def delete_dataset_features(dataset_id, *, root=None):
    """Remove everything the workspace holds only for one data set; return the bytes freed.

    Removed: the data set's cached feature tables (their table blocks in the store), the store rows of its
    images that no other saved data set has (plain blocks are removed, or rewritten without those rows),
    its entries in the store's table registry, its imported feature tables and the training runs recorded
    for it (``dataset_id`` in a run's ``meta.json``). Rows of images another saved data set shares stay
    (moved out of the data set's table blocks into a plain block); rows of other images are not touched.

    The data set's image hashes come from its table blocks, or from the saved data set when it has none:
    call this before :func:`msdash.data.datastore.delete_dataset` to also reach rows stored without a table
    (:func:`msdash.saved.delete_saved` does both, in that order).
    Other saved data sets' hashes come from their table blocks, else from loading them (in the current
    workspace only); when one cannot be read, every row is kept (shared ones cannot be told apart).

    Safe while other processes read: files are removed by unlinking (a memory map already open stays
    valid; the store lists its blocks again when one went missing) and a block is rewritten under a new
    name before the old one goes, so a kept row is always readable.

    Parameters
    ----------
    dataset_id : str
        The data set's id (16 hex characters, its content hash).
    root : path-like, optional
        The workspace (default :func:`msdash.config.workspace`).

    Returns
    -------
    int
        Bytes of files removed, less the bytes of rewritten blocks.

    Raises
    ------
    InputError
        ``dataset_id`` is not a data set id.
    WorkspaceError
        The workspace cannot be written.
    """
    if not isinstance(dataset_id, str) or not _ID.match(dataset_id):
        raise InputError(f"{dataset_id!r} is not a data set id (16 hex characters).", name="dataset_id")
    workspace = Path(root) if root is not None else config.workspace()
    blocks_root = workspace / "features" / "features.blocks"
    tables = table_blocks(workspace)
    mine = {k: p for k, p in tables.items() if k.startswith(dataset_id + "-")}
    doomed = set().union(*((_hashes(p) or set()) for p in mine.values()))
    if not mine:  # loading the data set is the slow way (its kept hash list, where there is one, is not)
        doomed = set(dataset_hashes(dataset_id, root=workspace, keep=False) or ())
    kept_tables = {p.name for k, p in tables.items() if k not in mine}
    protected = _other_hashes(workspace, dataset_id, tables) if doomed else set()
    # Where another data set's hashes cannot be read, shared rows cannot be told apart: keep every row.
    doomed = set() if protected is None else doomed - protected
    freed = 0
    for folder in _subfolders(tables_root(workspace)):  # the tables first: nothing then points at their blocks
        if folder.name.startswith(dataset_id + "-"):  # earlier versions' entries (values.npy) too
            freed += atomic.disk_bytes(folder)
            atomic.discard(folder)
    # Its table blocks go too, but rows of images other data sets have move to a plain block first.
    freed += _drop_rows(blocks_root, doomed, kept_tables, dataset_id)
    _forget_registry(workspace / "features" / "features.sqlite", dataset_id, doomed)
    for folder in [imported_dir(dataset_id, root=workspace), *_runs(workspace, dataset_id)]:
        if folder.is_dir():
            freed += atomic.disk_bytes(folder)
            atomic.discard(folder)
    hashes = hashes_file(dataset_id, root=workspace)
    freed += _size(hashes)
    hashes.unlink(missing_ok=True)
    return freed


def _drop_rows(blocks_root, doomed, kept_tables, dataset_id):
    """Remove the ``doomed`` rows from every block but the kept tables', and the data set's table blocks
    (their other rows moved to a plain block); return bytes freed.

    Blocks are visited newest first per key: a row a newer block replaces is dead and not copied, so a
    rewritten block (newer than all) never brings an old row back to life.
    """
    freed = 0
    by_key = {}
    for path, block in _blocks(blocks_root):
        by_key.setdefault(path.parent, []).append((path, block))
    for folder, found in by_key.items():
        newer = set()
        for path, block in sorted(found, key=lambda item: item[0].name, reverse=True):
            hashes = [h for h in block.hashes if h is not None]
            if path.name in kept_tables or not (_mine(block, dataset_id) or doomed.intersection(hashes)):
                newer.update(hashes)
                continue
            keep = [row for row, h in enumerate(block.hashes) if h is not None and h not in doomed and h not in newer]
            newer.update(hashes)
            size = _size(path)
            if keep:
                values = values_of(block)
                rows = [(block.hashes[r], None, block.errors[r]) if r in block.errors
                        else (block.hashes[r], values[r], None)
                        for r in keep]
                written = write_block(folder, block.d, rows)
                size -= _size(written)
                del values, rows
            path.unlink(missing_ok=True)
            freed += size
    return freed


def _other_hashes(workspace, dataset_id, tables):
    """Image hashes of the other saved data sets (from their table blocks, else from their images), and of
    tables that are no saved data set's; None when a saved data set's cannot be read."""
    saved = [p.name for p in _subfolders(workspace / "datasets") if _ID.match(p.name) and p.name != dataset_id
             and (p / "meta.json").is_file()]
    found = set()
    for other in saved:
        blocks = [p for k, p in tables.items() if k.startswith(other + "-")]
        hashes = _hashes(blocks[0]) if blocks else None
        if hashes is None:
            hashes = dataset_hashes(other, root=workspace)
        if hashes is None:
            return None
        found.update(hashes)
    # Tables of contents that are no saved data set (a CLI run, an earlier version of a data set) keep theirs.
    for table_key, block in tables.items():
        if not table_key.startswith(dataset_id + "-") and table_key[:16] not in saved:
            found.update(_hashes(block) or ())
    return found


def _forget_registry(path, dataset_id, doomed):
    """Drop the data set's rows of the table registry, and earlier versions' store rows of ``doomed``."""
    if not path.is_file():
        return
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=30.0, isolation_level=None)) as db:
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("DELETE FROM tables WHERE dataset_id = ?", (dataset_id,))
            doomed = sorted(doomed)
            for start in range(0, len(doomed), _CHUNK):
                chunk = doomed[start:start + _CHUNK]
                db.execute(f"DELETE FROM features WHERE image_hash IN ({','.join('?' * len(chunk))})", chunk)
    except sqlite3.OperationalError as exc:
        raise WorkspaceError(f"Could not update the feature store {path}: {exc}") from exc


def _runs(workspace, dataset_id):
    for kind in _subfolders(workspace / "learned"):
        for run in _subfolders(kind):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                if json.loads((run / "meta.json").read_text(encoding="utf-8")).get("dataset_id") == dataset_id:
                    yield run


def _blocks(blocks_root):
    """``(path, header)`` of every readable block file."""
    for folder in _subfolders(blocks_root):
        try:
            key_of(folder.name)
            names = os.listdir(folder)
        except (OSError, ValueError):
            continue
        for name in names:
            if BLOCK_NAME.match(name):
                with contextlib.suppress(OSError, ValueError):
                    yield folder / name, read_header(folder / name)


def _mine(block, dataset_id):
    """A table block of the data set (one no table entry names any more: a killed save's)."""
    return block.table is not None and block.table.startswith(dataset_id + "-")


def _hashes(path):
    with contextlib.suppress(OSError, ValueError):
        return {h for h in read_header(path).hashes if h is not None}
    return None


def _subfolders(folder):
    try:
        return [p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return []


def _size(path):
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
