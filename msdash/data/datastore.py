"""The content-addressed store of data sets in the workspace.

A saved data set lives in ``<workspace>/datasets/<id>/`` where ``id`` is :meth:`Dataset.content_hash`:

- ``meta.json`` — name, source, notes, group column, formulas of derived columns, sample names (in order),
  creation time, format;
- ``images.npz`` — one array per sample under the keys ``"0"``, ``"1"``, … (uncompressed ``np.savez``), in
  the compact form of :class:`msdash.data.imagestore.Images` (uint8, uint16, bool or float32; format 2; format 1
  entries hold float32 only and still load);
- ``properties.parquet`` — the property columns without the index (absent when there are none);
  parquet keeps float64 (NaN included), strings and any column name exactly.

Saving writes a hidden temp folder (named after its writer, see :mod:`msdash.data.atomic`), fsyncs it and
renames it to ``<id>`` in one step, so a killed save never leaves a half entry that lists or loads.
Saves of one id are serialised by a lock file (``.lock-<id>``, removed after the save): when two sessions
save the same contents at once, the first to start writes the entry and keeps its label, the second waits
and gets the same id. Leftovers of killed saves are removed by :func:`clean_stale_temporaries`.

A saved set can be renamed (``meta.json`` rewritten atomically, same id) and its property table replaced
(:func:`replace_dataset`: a new entry, as the id is the content hash, whose ``images.npz`` is a hard link to
the old one, so the images are never rewritten; features stay, as the store keys them by image content).

A read-only workspace still lists and loads what it holds; saving says why it cannot.
"""

import json
import os
import re
import shutil

import numpy as np
import pandas as pd

from .. import config
from . import atomic
from . import dataset as _sets
# One entry's files and its meta.json (writing and checking them) have their own module; same names here.
from .dataset_entry import IMAGES as _IMAGES, META as _META, PROPERTIES as _PROPERTIES
from .dataset_entry import read_meta as _read_meta, write_entry as _write_entry
from ..errors import InputError, WorkspaceError
from .imagestore import Images
# Workspace upkeep (leftovers of killed saves, the read-only check) has its own module; same names here.
from .workspace_upkeep import _LOCK_PREFIX, clean_stale_temporaries, cleanup_summary, startup_cleanup, workspace_problem

__all__ = ["save_dataset", "load_dataset", "list_datasets", "delete_dataset", "dataset_exists", "rename_dataset",
           "replace_dataset", "set_pixel_size", "clean_stale_temporaries", "cleanup_summary", "startup_cleanup",
           "workspace_problem"]

_ID = re.compile(r"[0-9a-f]{16}")
#: Longest wait (seconds) for another process's save of the same contents before giving up.
LOCK_WAIT_S = 600.0


def save_dataset(ds):
    """Save a data set in the workspace and return its id (its content hash).

    Saving the same contents again returns the same id without rewriting (the first label is kept),
    also when two sessions or processes save at once: the second waits for the first.

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
        When the workspace cannot be written (read-only, disk full); nothing saved before is touched.
    """
    dataset_id = ds.content_hash()
    root = _datasets_root()
    target = root / dataset_id
    if _read_meta(target, dataset_id, quiet=True) is not None:
        return dataset_id  # no write at all: works in a read-only workspace too
    try:
        root.mkdir(parents=True, exist_ok=True)
        with _id_lock(root, dataset_id):
            if _read_meta(target, dataset_id, quiet=True) is not None:
                return dataset_id  # saved by another session while we waited
            atomic.remove_stale(root)
            if os.path.lexists(target):
                atomic.discard(target)  # a damaged entry with the same id: replace it
            _write_and_rename(root, ds, dataset_id)
    except WorkspaceError:
        raise
    except OSError as exc:
        raise WorkspaceError(_save_problem(ds, root, exc)) from exc
    return dataset_id


def _write_and_rename(root, ds, dataset_id, images_from=None):
    tmp, target = root / atomic.temp_name(), root / dataset_id
    try:
        tmp.mkdir()
        if images_from is None:
            _write_entry(tmp, ds, dataset_id)
        else:
            _write_entry(tmp, ds, dataset_id, images_from=images_from)
        os.rename(tmp, target)
        atomic.fsync_dir(root)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        # A writer without the lock (no flock on this system) won the rename: its entry is ours too.
        if _read_meta(target, dataset_id, quiet=True) is None:
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _save_problem(ds, root, exc):
    problem = atomic.write_problem(root)
    if problem is not None:
        return (f"The workspace {root.parent} is read-only ({problem}): saved data sets can be opened but "
                f"{ds.name!r} cannot be saved. Set MSDASH_HOME to a writable folder.")
    return f"Could not save data set {ds.name!r} in {root}: {exc}"


def _id_lock(root, dataset_id):
    return atomic.exclusive(root / f"{_LOCK_PREFIX}{dataset_id}", wait_s=LOCK_WAIT_S,
                            busy=f"Another save of data set {dataset_id} has run for over {LOCK_WAIT_S:.0f} s; "
                                 f"try again later.")


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
            images = Images({name: npz[str(i)] for i, name in enumerate(names)})
        if meta["columns"]:
            properties = pd.read_parquet(folder / _PROPERTIES)
            if list(properties.columns) != meta["columns"] or len(properties) != len(names):
                raise ValueError("property table does not match meta.json")
            properties.index = pd.Index(names)
        else:
            properties = None
        return _sets.Dataset(meta["name"], images, properties, group_column=meta["group_column"],
                             source=meta["source"], notes=meta["notes"], derived=meta.get("derived", {}),
                             pixel_size_um=meta.get("pixel_size_um"), kinds=meta.get("sample_kinds", {}))
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
    root = _datasets_root()
    atomic.remove_stale(root)
    try:
        folders = list(root.iterdir())
    except FileNotFoundError:  # nothing saved yet (and perhaps a read-only workspace)
        return []
    infos = []
    for folder in folders:
        if not _ID.fullmatch(folder.name) or not folder.is_dir():
            continue
        meta = _read_meta(folder, folder.name, quiet=True)
        if meta is None:
            continue
        size = sum(meta["files"].values()) + (folder / _META).stat().st_size
        infos.append(
            _sets.DatasetInfo(folder.name, meta["name"], len(meta["names"]), meta["created"], meta["source"],
                        dict(meta["kinds"]), size)
        )
    return sorted(infos, key=lambda info: (info.created, info.id), reverse=True)


def delete_dataset(dataset_id):
    """Delete a saved data set's entry (its images, table and meta.json).

    What the workspace derived from it (feature tables, imported features, runs) is not touched here:
    :func:`msdash.saved.delete_saved` deletes both, and is what the app calls.

    Raises
    ------
    WorkspaceError
        When the id is malformed or no such data set exists.
    """
    folder = _entry_folder(dataset_id)
    if not folder.is_dir():
        raise WorkspaceError(f"No saved data set with id {dataset_id!r}; it may be deleted already.")
    atomic.discard(folder)


def set_pixel_size(dataset_id, pixel_size_um):
    """Set (or clear, with None) a saved data set's pixel size; its id, images and table stay as they are.

    Parameters
    ----------
    dataset_id : str
    pixel_size_um : float or None
        Micrometres per pixel.

    Returns
    -------
    float or None
        The pixel size as saved.

    Raises
    ------
    InputError
        Not a positive number.
    WorkspaceError
        No such data set, a damaged one, or a workspace that cannot be written.
    """
    value = _sets._check_pixel_size(pixel_size_um)
    _edit_meta(dataset_id, lambda meta: meta.update(pixel_size_um=value), "set the pixel size of")
    return value


def _edit_meta(dataset_id, change, what):
    folder = _entry_folder(dataset_id)
    if not folder.is_dir():
        raise WorkspaceError(f"No saved data set with id {dataset_id!r}; it may have been deleted.")
    try:
        with _id_lock(_datasets_root(), dataset_id):
            meta = _read_meta(folder, dataset_id)
            change(meta)
            atomic.write_file_atomic(folder / _META, json.dumps(meta, ensure_ascii=False, indent=1).encode())
    except FileNotFoundError:
        raise WorkspaceError(f"No saved data set with id {dataset_id!r}; it may have been deleted.") from None
    except OSError as exc:
        raise WorkspaceError(f"Could not {what} data set {dataset_id}: {exc}") from exc


def rename_dataset(dataset_id, name):
    """Give a saved data set a new label (its id, images and table stay as they are).

    Parameters
    ----------
    dataset_id : str
    name : str
        1 to 200 characters after stripping spaces.

    Returns
    -------
    str
        The name as saved.

    Raises
    ------
    InputError
        Empty or over-long name.
    WorkspaceError
        No such data set, a damaged one, or a workspace that cannot be written.
    """
    name = str(name or "").strip()
    if not name or len(name) > 200:
        raise InputError(f"a data set name has 1 to 200 characters, got {len(name)}", name="name")
    _edit_meta(dataset_id, lambda meta: meta.update(name=name), "rename")
    return name


def replace_dataset(dataset_id, ds, *, keep_old=False):
    """Save an edited version of a saved data set (new table, renamed columns…) without rewriting its images.

    The id is the content hash, so a changed table gives a new id: its entry is written with ``images.npz``
    hard-linked to the old entry's (copied only where the file system cannot link), and the old entry is
    deleted unless ``keep_old``. Features computed for the images stay valid: the feature store keys them by
    image content. :func:`msdash.saved.replace_saved` also moves what the workspace keeps per data set id
    (imported feature tables, training runs); the app calls that.

    Parameters
    ----------
    dataset_id : str
        The saved data set that ``ds`` edits.
    ds : Dataset
        The edited set; it must hold the saved set's images (as :func:`load_dataset` gave them).
    keep_old : bool
        Keep the old entry too.

    Returns
    -------
    str
        The id of the edited set (the old id when nothing but the name changed).
    """
    folder = _entry_folder(dataset_id)
    if not folder.is_dir():
        raise WorkspaceError(f"No saved data set with id {dataset_id!r}; it may have been deleted.")
    meta = _read_meta(folder, dataset_id)
    if ds.names != meta["names"] or ds.kind_counts() != meta["kinds"]:
        raise InputError("the edited data set does not hold the saved set's images; only its table can change",
                         name="ds")
    new_id = ds.content_hash()
    if new_id == dataset_id:
        if ds.name != meta["name"]:
            rename_dataset(dataset_id, ds.name)
        return dataset_id
    root = _datasets_root()
    try:
        with _id_lock(root, new_id):
            if _read_meta(root / new_id, new_id, quiet=True) is None:
                atomic.remove_stale(root)
                if os.path.lexists(root / new_id):
                    atomic.discard(root / new_id)
                _write_and_rename(root, ds, new_id, images_from=folder / _IMAGES)
    except (WorkspaceError, InputError):
        raise
    except OSError as exc:
        raise WorkspaceError(_save_problem(ds, root, exc)) from exc
    if not keep_old:
        delete_dataset(dataset_id)
    return new_id


def _entry_folder(dataset_id):
    # The id may come from a URL query parameter: only 16 hex digits can name a folder.
    if not isinstance(dataset_id, str) or not _ID.fullmatch(dataset_id):
        raise WorkspaceError(f"{dataset_id!r} is not a data set id (16 hex characters).")
    return _datasets_root() / dataset_id


def _datasets_root():
    # Not created here: reading a read-only workspace must work; save_dataset creates it.
    return config.workspace() / "datasets"
