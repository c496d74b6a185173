"""Imported feature tables kept with their data set in the workspace (``features/imported/<id>/``).

One Parquet file per source file name: values with the sample names as index, the labels, errors and
provenance in the file's metadata. Written to a temporary file named after its writer, then renamed.
"""

import hashlib
import json
import os

import numpy as np

from msdash import atomic, config
from msdash.errors import InputError
from msdash.features.extract import FeatureError, FeatureTable

_META_KEY = b"msdash"


def _imported_dir(dataset_id, *, create=False):
    folder = config.workspace() / "features" / "imported" / hashlib.sha256(str(dataset_id).encode()).hexdigest()[:16]
    if create:  # only saving creates it: listing a read-only workspace must work
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_imported(dataset_id, table):
    """Keep an imported table with a data set; return the file written.

    One file per source file name (importing ``emb.csv`` again replaces the earlier ``emb.csv``):
    values with the names as index, errors and provenance in the Parquet metadata, written to a temp
    file and renamed, so a reader never sees half a file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(set(table.labels)) != len(table.labels):
        raise InputError("the feature table has duplicate column labels; rename them before saving")
    arrow = pa.Table.from_pandas(table.to_frame(), preserve_index=True)
    meta = {"extractor": table.extractor, "params": table.params, "provenance": table.provenance, "key": table.key,
            "kind": table.kind, "labels": list(table.labels), "name": _source_name(table),
            "errors": [[e.name, e.message] for e in table.errors]}
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                           _META_KEY: json.dumps(meta, default=str).encode()})
    folder = _imported_dir(dataset_id, create=True)
    target = folder / f"{hashlib.sha256(meta['name'].encode()).hexdigest()[:16]}.parquet"
    tmp = folder / atomic.temp_name(".parquet")  # names its writer: a killed save's leftover is removable
    try:
        pq.write_table(arrow, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def list_imported(dataset_id):
    """Names (source file names, e.g. ``"emb.csv"``) of the tables saved for a data set, oldest first."""
    import pyarrow.parquet as pq

    names = []
    for path in _saved_files(dataset_id):
        try:
            names.append(json.loads(pq.read_schema(path).metadata[_META_KEY])["name"])
        except (OSError, KeyError, ValueError, TypeError):
            continue
    return names


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

    if name is not None and str(name).startswith("imported:"):
        name = str(name)[len("imported:"):]
    tables = []
    for path in _saved_files(dataset_id):
        try:
            arrow = pq.read_table(path)
            meta = json.loads(arrow.schema.metadata[_META_KEY])
            if name is not None and meta["name"] != name:
                continue
            frame = arrow.to_pandas()
            values = frame[meta["labels"]].to_numpy(np.float64) if meta["labels"] else np.empty((len(frame), 0))
            errors = [FeatureError(n, m) for n, m in meta["errors"]]
            tables.append(FeatureTable(values, list(meta["labels"]), [str(n) for n in frame.index], errors,
                                       meta["extractor"], meta["params"], meta["provenance"], meta["key"],
                                       meta["kind"]))
        except (OSError, KeyError, ValueError, TypeError):
            continue
    if name is None:
        return tables
    if not tables:
        raise InputError(f"No imported feature table {name!r} is saved for this data set.", name=str(name))
    return tables[-1]


def _source_name(table):
    return str(table.params.get("file") or table.extractor.removeprefix("imported:"))


def _saved_files(dataset_id):
    folder = _imported_dir(dataset_id)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("[!.]*.parquet"), key=lambda p: p.stat().st_mtime)
