"""The content-addressed store of data sets in the workspace.

A saved data set lives in ``<workspace>/datasets/<id>/`` where ``id`` is :meth:`Dataset.content_hash`:

- ``meta.json`` — name, source, notes, group column, sample names (in order), creation time, format;
- ``images.npz`` — one array per sample under the keys ``"0"``, ``"1"``, … (uncompressed ``np.savez``);
- ``properties.parquet`` — the property columns without the index (absent when there are none);
  parquet keeps float64 (NaN included), strings and any column name exactly.

Saving writes a hidden ``.tmp-<uuid>`` folder, fsyncs it and renames it to ``<id>`` in one step, so a
killed save never leaves a half entry that lists or loads; stale temp folders are removed after an hour.
"""

import io
import json
import os
import re
import shutil
import uuid
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from . import atomic, config
from .errors import WorkspaceError

__all__ = ["save_dataset", "load_dataset", "list_datasets", "delete_dataset", "dataset_exists"]

_FORMAT = 1
_ID = re.compile(r"[0-9a-f]{16}")
_META, _IMAGES, _PROPERTIES = "meta.json", "images.npz", "properties.parquet"
_TMP_PREFIX = atomic.TMP_PREFIX


def _dataset():
    # msdash.dataset re-exports this module's functions, so it is imported at call time, not at the top.
    from . import dataset

    return dataset


def save_dataset(ds):
    """Save a data set in the workspace and return its id (its content hash).

    Saving the same contents again returns the same id without rewriting (the first label is kept).

    Parameters
    ----------
    ds : Dataset

    Returns
    -------
    str
        16 hex characters; pass it to :func:`load_dataset`.

    Raises
    ------
    WorkspaceError
        When the workspace cannot be written (disk full, permissions).
    """
    dataset_id = ds.content_hash()
    root = config.datasets_dir()
    atomic.remove_stale(root)
    target = root / dataset_id
    if target.exists():
        if _read_meta(target, dataset_id, quiet=True) is not None:
            return dataset_id
        atomic.discard(target)  # a damaged entry with the same id: replace it
    tmp = root / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
    try:
        tmp.mkdir()
        _write_entry(tmp, ds, dataset_id)
        os.rename(tmp, target)
        atomic.fsync_dir(root)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        # A concurrent save of the same contents won the rename: its entry is ours too.
        if _read_meta(target, dataset_id, quiet=True) is not None:
            return dataset_id
        raise WorkspaceError(f"Could not save data set {ds.name!r} in {root}: {exc}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dataset_id


def load_dataset(dataset_id):
    """Load a saved data set.

    Parameters
    ----------
    dataset_id : str
        An id returned by :func:`save_dataset` (16 lowercase hex characters).

    Returns
    -------
    Dataset

    Raises
    ------
    WorkspaceError
        When the id is malformed, no such data set exists, or its files are damaged.
    """
    folder = _entry_folder(dataset_id)
    if not folder.is_dir():
        raise WorkspaceError(f"No saved data set with id {dataset_id!r}; it may have been deleted.")
    meta = _read_meta(folder, dataset_id)
    try:
        names = meta["names"]
        with np.load(folder / _IMAGES, allow_pickle=False) as npz:
            if len(npz.files) != len(names):
                raise ValueError(f"{len(npz.files)} arrays for {len(names)} names")
            images = {name: npz[str(i)] for i, name in enumerate(names)}
        if meta["columns"]:
            properties = pd.read_parquet(folder / _PROPERTIES)
            if list(properties.columns) != meta["columns"] or len(properties) != len(names):
                raise ValueError("property table does not match meta.json")
            properties.index = pd.Index(names)
        else:
            properties = None
        return _dataset().Dataset(meta["name"], images, properties, group_column=meta["group_column"],
                       source=meta["source"], notes=meta["notes"])
    except MemoryError:
        raise
    except Exception as exc:  # any failure to read back means the entry is damaged
        raise WorkspaceError(
            f"Saved data set {dataset_id} is damaged ({exc}). Delete it and add the data again."
        ) from exc


def dataset_exists(dataset_id):
    """True when ``dataset_id`` names a complete saved data set (cheap: no listing, no parsing)."""
    try:
        folder = _entry_folder(dataset_id)
    except WorkspaceError:
        return False
    return (folder / _META).is_file()


def list_datasets():
    """Saved data sets, newest first; damaged or half-written entries are skipped.

    Returns
    -------
    list of DatasetInfo
    """
    root = config.datasets_dir()
    atomic.remove_stale(root)
    infos = []
    for folder in root.iterdir():
        if not _ID.fullmatch(folder.name) or not folder.is_dir():
            continue
        meta = _read_meta(folder, folder.name, quiet=True)
        if meta is None:
            continue
        size = sum(meta["files"].values()) + (folder / _META).stat().st_size
        infos.append(
            _dataset().DatasetInfo(folder.name, meta["name"], len(meta["names"]), meta["created"], meta["source"],
                        dict(meta["kinds"]), size)
        )
    return sorted(infos, key=lambda info: (info.created, info.id), reverse=True)


def delete_dataset(dataset_id):
    """Delete a saved data set.

    Raises
    ------
    WorkspaceError
        When the id is malformed or no such data set exists.
    """
    folder = _entry_folder(dataset_id)
    if not folder.is_dir():
        raise WorkspaceError(f"No saved data set with id {dataset_id!r}; it may be deleted already.")
    atomic.discard(folder)


def _entry_folder(dataset_id):
    # The id may come from a URL query parameter: only 16 hex digits can name a folder.
    if not isinstance(dataset_id, str) or not _ID.fullmatch(dataset_id):
        raise WorkspaceError(f"{dataset_id!r} is not a data set id (16 hex characters).")
    return config.datasets_dir() / dataset_id


def _write_entry(folder, ds, dataset_id):
    with open(folder / _IMAGES, "wb") as f:
        np.savez(f, **{str(i): image for i, image in enumerate(ds.images.values())})
        f.flush()
        os.fsync(f.fileno())
    if len(ds.properties.columns):
        buffer = io.BytesIO()
        ds.properties.reset_index(drop=True).to_parquet(buffer, index=False)
        atomic.write_bytes(folder / _PROPERTIES, buffer.getvalue())
    meta = {
        "format": _FORMAT,
        # Sizes let listing spot a truncated or replaced file without reading it.
        "files": _file_sizes(folder),
        "id": dataset_id,
        "name": ds.name,
        "source": ds.source,
        "notes": ds.notes,
        "group_column": ds.group_column,
        "names": ds.names,
        "columns": list(ds.properties.columns),
        "kinds": _dataset()._count_kinds(ds.images.values()),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    atomic.write_bytes(folder / _META, json.dumps(meta, ensure_ascii=False, indent=1).encode())
    atomic.fsync_dir(folder)


def _read_meta(folder, dataset_id, *, quiet=False):
    """meta.json of an entry, checked; None (quiet) or WorkspaceError when missing or damaged."""
    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
        names, columns = meta["names"], meta["columns"]
        valid = (
            meta["format"] == _FORMAT
            and meta["id"] == dataset_id
            and all(isinstance(meta[k], str) for k in ("name", "source", "created"))
            and isinstance(names, list) and all(isinstance(n, str) for n in names)
            and isinstance(columns, list) and all(isinstance(c, str) for c in columns)
            and isinstance(meta["notes"], list) and isinstance(meta["kinds"], dict)
            and (meta["group_column"] is None or meta["group_column"] in columns)
            and _file_sizes(folder) == meta["files"]
        )
        if not valid:
            raise ValueError("unexpected contents")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if quiet:
            return None
        raise WorkspaceError(
            f"Saved data set {dataset_id} is damaged (meta.json: {exc}). Delete it and add the data again."
        ) from exc
    return meta


def _file_sizes(folder):
    return {f.name: f.stat().st_size for f in folder.iterdir() if f.name != _META}
