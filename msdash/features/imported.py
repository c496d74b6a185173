"""Bring-your-own features: embeddings computed elsewhere (CSV, XLSX, Parquet, NPY) matched to a data set.

Rows are matched to samples by name as property tables are (case-insensitive, image extension
stripped). Imported tables are kept in ``<workspace>/features/imported/<dataset_id>/`` as Parquet files,
written atomically (temp file + rename), so they survive a restart.
"""

import hashlib
import io
import json
import os
import uuid
from pathlib import Path

import numpy as np

from msdash import config
from msdash.errors import InputError
from msdash.features.extract import FeatureError, FeatureTable
from msdash.tables import _name_key  # one matching rule for properties and features

__all__ = ["import_features", "save_imported", "load_imported", "list_imported"]

_MISSING = "no row in the feature table"
_META_KEY = b"msdash"


def import_features(source, names, *, name_column=None):
    """Read a feature table and align its rows with a data set's samples.

    Parameters
    ----------
    source : path, (name, bytes) pair or upload
        ``.csv``/``.tsv``/``.txt``/``.xlsx`` (read by :func:`msdash.io.read_properties`), ``.parquet``, or
        ``.npy`` (a 2-D float array whose rows are in the data set's order: no names, ``n`` must equal
        ``len(names)``).
    names : sequence of str
        The data set's sample names, in order.
    name_column : str, optional
        Column holding the sample names; default: guessed (the column matching most names). For Parquet
        a non-default index is used when no column is given and none matches.

    Returns
    -------
    FeatureTable
        ``extractor = "imported:<file name>"``, kind ``"imported"``; labels are the column headers
        (``"<file stem>[i]"`` for NPY). Samples without a row are NaN rows with the error
        ``"no row in the feature table"``; extra rows are ignored and counted in ``provenance``.

    Raises
    ------
    InputError
        Unsupported file type, unreadable file, cells that are not numbers (a few are listed), an NPY
        array that is not 2-D or whose row count differs from ``len(names)``.

    Examples
    --------
    >>> table = import_features(("emb.csv", b"file,e0,e1\\nA.png,1,2\\nb,3,4\\n"), ["a", "b", "c"])
    >>> table.values.tolist()[:2], table.labels, [e.name for e in table.errors]
    ([[1.0, 2.0], [3.0, 4.0]], ['e0', 'e1'], ['c'])
    """
    file_name, data = _read_source(source)
    names = [str(n) for n in names]
    extension = Path(file_name).suffix.lower()
    if extension == ".npy":
        return _from_npy(file_name, data, names)
    if extension == ".parquet":
        import pandas as pd

        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:
            raise InputError(f"{file_name}: not a readable Parquet file ({exc})", name=file_name) from None
        if name_column is None and not _has_default_index(frame) and _best_column(frame, names) is None:
            frame = frame.reset_index()
            name_column = str(frame.columns[0])
        frame.columns = [str(c) for c in frame.columns]
        decimal_comma = False
    else:
        from msdash.io import read_properties

        frame = read_properties((file_name, data))
        decimal_comma = frame.attrs.get("delimiter") == ";"
    if name_column is None:
        name_column = _best_column(frame, names) or str(frame.columns[0])
    if name_column not in frame.columns:
        raise InputError(f"{file_name}: no column {name_column!r}; columns: {', '.join(map(str, frame.columns))}",
                         name=name_column)
    labels = [c for c in frame.columns if c != name_column]
    if not labels:
        raise InputError(f"{file_name}: no feature columns besides the name column {name_column!r}", name=file_name)
    matrix = _numeric(frame[labels], frame[name_column], file_name, decimal_comma)
    first = {}
    for row, raw in enumerate(frame[name_column]):
        first.setdefault(_name_key(raw), row)
    rows = [first.get(_name_key(n)) for n in names]
    values = np.full((len(names), len(labels)), np.nan)
    errors = []
    for i, row in enumerate(rows):
        if row is None:
            errors.append(FeatureError(names[i], _MISSING))
        else:
            values[i] = matrix[row]
    extra = len(first) - len({r for r in rows if r is not None})
    return _table(file_name, data, values, labels, names, errors, name_column,
                  extra_rows=extra, duplicate_rows=len(frame) - len(first))


def _read_source(source):
    if isinstance(source, tuple) and len(source) == 2:
        return Path(str(source[0])).name, bytes(source[1])
    if hasattr(source, "getvalue"):
        return Path(str(source.name)).name, bytes(source.getvalue())
    path = Path(source)
    try:
        return path.name, path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path.name}: cannot read the file ({exc.strerror or exc})", name=path.name) from None


def _from_npy(file_name, data, names):
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:
        raise InputError(f"{file_name}: not a readable NPY array ({exc})", name=file_name) from None
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise InputError(f"{file_name}: expected a 2-D array of numbers (samples × features), got "
                         f"{array.dtype} of shape {array.shape}", name=file_name)
    if array.shape[0] != len(names):
        raise InputError(f"{file_name}: {array.shape[0]} rows for {len(names)} samples; an NPY file has no "
                         "names, so its rows must be the data set's samples in order", name=file_name)
    labels = [f"{Path(file_name).stem}[{j}]" for j in range(array.shape[1])]
    return _table(file_name, data, array.astype(np.float64), labels, names, [], None, extra_rows=0, duplicate_rows=0)


def _has_default_index(frame):
    import pandas as pd

    return isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1


def _best_column(frame, names):
    """The column whose cells match the most sample names, or None when none matches.

    Only the first 10 non-numeric columns and their first 500 cells are scored: a wide embedding table
    would otherwise cost a name lookup per cell.
    """
    wanted = {_name_key(n) for n in names}
    candidates = [c for c in frame.columns if frame[c].dtype.kind not in "biufc"][:10]
    scores = {c: sum(_name_key(v) in wanted for v in frame[c].iloc[:500]) for c in candidates}
    best = max(scores, key=scores.get, default=None)
    return str(best) if best is not None and scores[best] > 0 else None


def _numeric(frame, row_names, file_name, decimal_comma):
    """The feature cells as float64; InputError listing a few cells that are not numbers."""
    import pandas as pd

    columns, bad = [], []
    for column in frame.columns:
        cells = frame[column]
        if cells.dtype.kind in "biuf":
            columns.append(cells.to_numpy(np.float64))
            continue
        text = cells.astype("str").str.strip()
        empty = cells.isna() | (text == "")
        if decimal_comma:
            text = text.str.replace(",", ".", regex=False)
        numbers = pd.to_numeric(text.where(~empty), errors="coerce")
        for row in np.flatnonzero(numbers.isna().to_numpy() & ~empty.to_numpy()):
            bad.append(f"{row_names.iloc[row]!s}/{column}: {cells.iloc[row]!r}")
        columns.append(numbers.to_numpy(np.float64))
    if bad:
        shown = "; ".join(bad[:5]) + (f"; … ({len(bad)} in all)" if len(bad) > 5 else "")
        raise InputError(f"{file_name}: feature cells must be numbers; these are not: {shown}", name=file_name)
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


def _table(file_name, data, values, labels, names, errors, name_column, *, extra_rows, duplicate_rows):
    extractor = f"imported:{file_name}"
    digest = hashlib.sha256(data).hexdigest()
    params = {"file": file_name, "sha256": digest, "name_column": name_column}
    provenance = {"extractor": extractor, "kind": "imported", "params": params, "n_samples": len(names),
                  "n_failed": len(errors), "extra_rows": int(extra_rows), "duplicate_rows": int(duplicate_rows)}
    key = hashlib.sha256(json.dumps([extractor, params], sort_keys=True).encode()).hexdigest()
    return FeatureTable(values, [str(label) for label in labels], list(names), errors, extractor, params,
                        provenance, key, "imported")


def _imported_dir(dataset_id):
    folder = config.workspace() / "features" / "imported" / hashlib.sha256(str(dataset_id).encode()).hexdigest()[:16]
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
    folder = _imported_dir(dataset_id)
    target = folder / f"{hashlib.sha256(meta['name'].encode()).hexdigest()[:16]}.parquet"
    tmp = folder / f".tmp-{uuid.uuid4().hex}.parquet"
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
    return sorted(_imported_dir(dataset_id).glob("[!.]*.parquet"), key=lambda p: p.stat().st_mtime)
