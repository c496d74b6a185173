"""Imported feature tables kept with their data set in the workspace (``features/imported/<id>/``).

One Parquet file per table name (at first its source file name; :func:`rename_imported` changes it): values
with the sample names as index, the labels, errors and provenance in the file's metadata. A table wider than
:data:`~msdash.features.labels.LIST_LABELS_MAX` columns is one fixed-size-list column ``values`` beside a
``sample`` column, and its labels are kept as their rule where they follow one
(:func:`~msdash.features.labels.encode_labels`), never as a million column names. Written to a temporary
file named after its writer, fsynced, then renamed (:func:`msdash.data.atomic.write_file_atomic`).
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from msdash import config
from msdash.data import atomic
from msdash.errors import InputError
from msdash.features.labels import LIST_LABELS_MAX, decode_labels, encode_labels
from msdash.features.table import FeatureError, FeatureTable

__all__ = ["save_imported", "list_imported", "load_imported", "rename_imported", "imported_dir"]

_META_KEY = b"msdash"
#: Longest name of an imported table (characters).
MAX_NAME = 200


def imported_dir(dataset_id, *, root=None, create=False):
    """The folder of a data set's imported tables (in ``root``'s workspace when given)."""
    workspace = Path(root) if root is not None else config.workspace()
    folder = workspace / "features" / "imported" / hashlib.sha256(str(dataset_id).encode()).hexdigest()[:16]
    if create:  # only saving creates it: listing a read-only workspace must work
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_imported(dataset_id, table):
    """Keep an imported table with a data set; return the file written.

    One file per table name (importing ``emb.csv`` again replaces the earlier ``emb.csv``):
    values with the names as index, errors and provenance in the Parquet metadata, written to a temp
    file and renamed, so a reader never sees half a file.
    """
    import pyarrow as pa

    labels = encode_labels(table.labels)
    if isinstance(labels, list) and len(set(labels)) != len(labels):  # a rule's labels are distinct
        raise InputError("the feature table has duplicate column labels; rename them before saving")
    wide = len(table.labels) > LIST_LABELS_MAX
    if wide:
        d = table.values.shape[1]
        flat = pa.array(np.ascontiguousarray(table.values, dtype=np.float64).reshape(-1))
        arrow = pa.table({"sample": pa.array([str(x) for x in table.names], pa.string()),
                          "values": pa.FixedSizeListArray.from_arrays(flat, d)})
    else:
        arrow = pa.Table.from_pandas(table.to_frame(), preserve_index=True)
    meta = {"extractor": table.extractor, "params": table.params, "provenance": table.provenance, "key": table.key,
            "kind": table.kind, "labels": labels, "name": _source_name(table), "layout": "wide" if wide else "columns",
            "errors": [[e.name, e.message] for e in table.errors]}
    folder = imported_dir(dataset_id, create=True)
    return _write(folder, arrow, meta)


def list_imported(dataset_id):
    """Names (source file names, e.g. ``"emb.csv"``, or given names) of a data set's tables, oldest first."""
    return [meta["name"] for _, meta in _saved(dataset_id)]


def load_imported(dataset_id, name=None):
    """Imported tables saved for a data set.

    Parameters
    ----------
    dataset_id : str
    name : str, optional
        A name from :func:`list_imported` (or the table's ``extractor``, ``"imported:<name>"``).

    Returns
    -------
    list of FeatureTable or FeatureTable
        All readable tables (oldest first) when ``name`` is None, else that table.

    Raises
    ------
    InputError
        ``name`` is given and no readable table has it.
    """
    import pyarrow.parquet as pq

    name = _plain(name)
    tables = []
    for path, meta in _saved(dataset_id):
        if name is not None and meta["name"] != name:
            continue
        try:
            arrow = pq.read_table(path)
            labels = decode_labels(meta["labels"])
            if meta.get("layout") == "wide":
                names = [str(x) for x in arrow.column("sample").to_pylist()]
                flat = arrow.column("values").combine_chunks().flatten().to_numpy(zero_copy_only=False)
                values = np.asarray(flat, dtype=np.float64).reshape(len(names), len(labels))
            else:
                frame = arrow.to_pandas()
                names = [str(x) for x in frame.index]
                values = frame[labels].to_numpy(np.float64) if labels else np.empty((len(frame), 0))
            errors = [FeatureError(n, m) for n, m in meta["errors"]]
            tables.append(FeatureTable(values, labels, names, errors, meta["extractor"], meta["params"],
                                       meta["provenance"], meta["key"], meta["kind"]))
        except (OSError, KeyError, ValueError, TypeError):
            continue
    if name is None:
        return tables
    if not tables:
        raise InputError(f"No imported feature table {name!r} is saved for this data set.", name=str(name))
    return tables[-1]


def rename_imported(dataset_id, name, new_name, *, root=None):
    """Give an imported table of a data set another name (its ``extractor`` becomes ``"imported:<new_name>"``).

    The values are not touched; the file is rewritten with the new metadata under a temp name and renamed,
    then the old file is removed, and the table keeps its place in the listing.

    Parameters
    ----------
    dataset_id : str
    name : str
        The table's current name (from :func:`list_imported`, or ``"imported:<name>"``).
    new_name : str
        Up to :data:`MAX_NAME` characters, one line, not the name of another of the data set's tables.

    Returns
    -------
    str
        The new name (stripped of surrounding spaces).

    Raises
    ------
    InputError
        No table ``name``, or ``new_name`` is empty, too long, several lines or taken.
    """
    import pyarrow.parquet as pq

    name, new_name = _plain(name), str(new_name).strip()
    if not new_name or len(new_name) > MAX_NAME or any(c in new_name for c in "\r\n\t\0"):
        raise InputError(f"A feature set's name must be one line of 1 to {MAX_NAME} characters, got {new_name!r}.",
                         name="new_name")
    saved = _saved(dataset_id, root=root)
    found = [(path, meta) for path, meta in saved if meta["name"] == name]
    if not found:
        raise InputError(f"No imported feature table {name!r} is saved for this data set.", name=str(name))
    if new_name == name:
        return new_name
    if any(meta["name"] == new_name for _, meta in saved):
        raise InputError(f"This data set already has a feature set named {new_name!r}; choose another name.",
                         name="new_name")
    path, meta = found[-1]
    before = path.stat()
    meta = {**meta, "name": new_name, "extractor": f"imported:{new_name}",
            "provenance": {**meta["provenance"], "extractor": f"imported:{new_name}", "renamed_from": name}}
    target = _write(path.parent, pq.read_table(path), meta)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # keeps its place (oldest first)
    path.unlink(missing_ok=True)
    return new_name


def _write(folder, arrow, meta):
    """Write ``arrow`` with ``meta`` as one Parquet file, by :func:`msdash.data.atomic.write_file_atomic`
    (temp file named after its writer, fsync, rename, fsync of the folder); return its path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                           _META_KEY: json.dumps(meta, default=str).encode()})
    target = folder / f"{hashlib.sha256(meta['name'].encode()).hexdigest()[:16]}.parquet"
    buffer = pa.BufferOutputStream()  # the import limit (MSDASH_MAX_IMPORT_BYTES) bounds its size
    pq.write_table(arrow, buffer)
    atomic.write_file_atomic(target, buffer.getvalue().to_pybytes())
    return target


def _plain(name):
    if name is not None and str(name).startswith("imported:"):
        return str(name)[len("imported:"):]
    return None if name is None else str(name)


def _source_name(table):
    # The extractor first: a renamed table saved again (a data set copied to a new id) keeps its name.
    extractor = str(table.extractor)
    if extractor.startswith("imported:") and len(extractor) > len("imported:"):
        return extractor[len("imported:"):]
    return str(table.params.get("file") or extractor)


def _saved(dataset_id, *, root=None):
    """``(path, metadata)`` of the readable tables, oldest first."""
    import pyarrow.parquet as pq

    folder = imported_dir(dataset_id, root=root)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("[!.]*.parquet"):
        try:  # a file renamed or removed meanwhile is skipped
            found.append((path.stat().st_mtime_ns, path, json.loads(pq.read_schema(path).metadata[_META_KEY])))
        except (OSError, KeyError, ValueError, TypeError):
            continue
    return [(path, meta) for _, path, meta in sorted(found, key=lambda item: item[:2])]
