"""Bring-your-own features: embeddings computed elsewhere (CSV, XLSX, Parquet, NPY) matched to a data set.

Rows are matched to samples by name as property tables are (case-insensitive, image extension
stripped). Imported tables are kept in ``<workspace>/features/imported/<dataset_id>/`` as Parquet files,
written atomically (temp file + rename), so they survive a restart.
"""

import hashlib
import io
import itertools
import json
from pathlib import Path

import numpy as np

from msdash import config
from msdash.errors import InputError
from msdash.features.extract import FeatureError, FeatureTable
# One matching rule and one reader for property tables and feature tables.
from msdash.data.names import best_name_column, name_key, name_keys
from msdash.data.tables import read_source

__all__ = ["import_features", "feature_table_columns", "save_imported", "load_imported", "list_imported"]

_MISSING = "no row in the feature table"


def import_features(source, names, *, name_column=None):
    """Read a feature table and align its rows with a data set's samples.

    Nothing is read beyond what can match the data set: a table with more than
    ``max(2 * len(names), len(names) + 1000)`` rows is refused from its metadata (Parquet), its header
    (NPY) or after that many rows (CSV, XLSX), and so is one whose values would take more than
    ``MSDASH_MAX_IMPORT_BYTES`` (rows × columns × 8 bytes).

    Parameters
    ----------
    source : path, (name, bytes) pair or upload
        ``.csv``/``.tsv``/``.txt``/``.xlsx``/``.xlsm`` (read by :func:`msdash.io.read_properties`),
        ``.parquet``, or ``.npy`` (a 2-D float array whose rows are in the data set's order: no names,
        ``n`` must equal ``len(names)``). Only the given bytes are read: a Parquet file referring to
        other files is refused.
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
        ``"no row in the feature table"``; extra rows are ignored and counted in ``provenance``, whose
        ``notes`` list what the user should know (a workbook's ignored external links).

    Raises
    ------
    InputError
        Unsupported file type, unreadable file, too many rows or values, cells that are not finite
        numbers (a few are listed), an NPY array that is not 2-D or whose row count differs from
        ``len(names)``, a Parquet file referring to other files. The message names the file.

    Examples
    --------
    >>> table = import_features(("emb.csv", b"file,e0,e1\\nA.png,1,2\\nb,3,4\\n"), ["a", "b", "c"])
    >>> table.values.tolist()[:2], table.labels, [e.name for e in table.errors]
    ([[1.0, 2.0], [3.0, 4.0]], ['e0', 'e1'], ['c'])
    """
    import pandas as pd

    file_name, data = read_source(source)
    names = [str(n) for n in names]
    extension = Path(file_name).suffix.lower()
    if extension == ".npy":
        return _from_npy(file_name, data, names)
    notes = []
    if extension == ".parquet":
        frame = _read_parquet(file_name, data, len(names))
        if name_column is None and not _has_default_index(frame) and _best_column(frame, names) is None:
            frame = frame.reset_index()
            name_column = str(frame.columns[0])
        frame.columns = [str(c) for c in frame.columns]
        decimal_comma = False
    else:
        from msdash.data.loader import read_properties

        limit = _max_rows(len(names))
        frame = read_properties((file_name, data), max_rows=limit)
        if len(frame) > limit:
            raise InputError(f"{file_name}: more than {limit:,} rows for a data set of {len(names):,} samples; "
                             f"{_ONE_ROW_PER_SAMPLE}", name=file_name)
        _check_values_size(file_name, len(frame), frame.shape[1])
        decimal_comma = frame.attrs.get("delimiter") == ";"
        notes = list(frame.attrs.get("notes", []))
    if name_column is None:
        name_column = _best_column(frame, names) or str(frame.columns[0])
    if name_column not in frame.columns:
        raise InputError(f"{file_name}: no column {name_column!r}; columns: {', '.join(map(str, frame.columns))}",
                         name=name_column)
    labels = [c for c in frame.columns if c != name_column]
    if not labels:
        raise InputError(f"{file_name}: no feature columns besides the name column {name_column!r}", name=file_name)
    matrix = _numeric(frame[labels], frame[name_column], file_name, decimal_comma)
    keys = name_keys(frame[name_column])
    first = pd.Series(np.arange(len(keys)), index=keys.to_numpy())  # key → first row with it
    first = first[~first.index.duplicated(keep="first")]
    rows = first.reindex([name_key(n) for n in names]).to_numpy()
    found = ~np.isnan(rows)
    values = np.full((len(names), len(labels)), np.nan)
    values[found] = matrix[rows[found].astype(np.int64)]
    errors = [FeatureError(names[i], _MISSING) for i in np.flatnonzero(~found)]
    extra = len(first) - len(np.unique(rows[found]))
    return _table(file_name, data, values, labels, names, errors, name_column,
                  extra_rows=extra, duplicate_rows=len(frame) - len(first), notes=notes)


def feature_table_columns(source):
    """Column headers of a feature table, read from its header only (for the name-column choice).

    Parquet: from the footer's schema (pandas index columns left out); CSV/XLSX: the header row and
    one row below it. ``[]`` for NPY, which has no names.

    Raises
    ------
    InputError
        Unreadable or unsupported file (the message names it).

    >>> feature_table_columns(("e.csv", b"name,e0\\na,1\\nb,2\\n"))
    ['name', 'e0']
    """
    file_name, data = read_source(source)
    extension = Path(file_name).suffix.lower()
    if extension == ".npy":
        return []
    if extension != ".parquet":
        from msdash.data.loader import read_properties

        return list(read_properties((file_name, data), max_rows=0).columns)
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.ParquetFile(pa.BufferReader(data)).schema_arrow
    except Exception as exc:  # ArrowInvalid, OSError, ... on anything that is not a Parquet file
        raise _unreadable_parquet(file_name, exc) from None
    index = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
    return [name for name in schema.names if name not in index]


def _unreadable_parquet(file_name, exc):
    return InputError(f"{file_name}: not a readable Parquet file ({type(exc).__name__}: {exc}); export the "
                      "table again as Parquet, or as CSV", name=file_name)


def _max_rows(n_samples):
    """Most rows a table may have and still be meant for ``n_samples`` samples (duplicates and extras allowed)."""
    return max(2 * n_samples, n_samples + 1000)


_ONE_ROW_PER_SAMPLE = ("a feature table has one row per sample, so it cannot match this data set: keep only "
                       "this data set's rows, or check that the right data set is open")


def _check_rows(file_name, n_rows, n_samples):
    if n_rows > _max_rows(n_samples):
        raise InputError(f"{file_name}: {n_rows:,} rows for a data set of {n_samples:,} samples; "
                         f"{_ONE_ROW_PER_SAMPLE}", name=file_name)


def _check_values_size(file_name, n_rows, n_columns, extra_bytes=0):
    needed = n_rows * n_columns * 8 + extra_bytes
    if needed > config.max_import_bytes():
        raise InputError(f"{file_name}: {n_rows:,} rows × {n_columns:,} columns would take {needed / 1e6:,.0f} MB, "
                         f"over the import limit of {config.max_import_bytes() / 1e6:,.0f} MB "
                         "(MSDASH_MAX_IMPORT_BYTES); keep only the columns you need", name=file_name)


def _read_parquet(file_name, data, n_samples):
    """A Parquet table as a DataFrame, refused from its footer before any value is read when it cannot match.

    The footer gives the row count, the column types and each column chunk's location: a chunk kept in
    another file (``file_path``) is refused, never opened. Text columns are read as dictionaries first,
    so a short value repeated on every row is measured before it is expanded.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        footer = pq.ParquetFile(pa.BufferReader(data))
        metadata, schema = footer.metadata, footer.schema_arrow
        chunks = list(itertools.islice((metadata.row_group(i).column(j) for i in range(metadata.num_row_groups)
                                        for j in range(metadata.num_columns)), _MAX_PARQUET_CHUNKS + 1))
    except Exception as exc:  # ArrowInvalid, OSError, ... on anything that is not a Parquet file
        raise _unreadable_parquet(file_name, exc) from None
    if len(chunks) > _MAX_PARQUET_CHUNKS:
        raise InputError(f"{file_name}: more than {_MAX_PARQUET_CHUNKS:,} column chunks ({metadata.num_row_groups:,} "
                         "row groups); write it again with fewer, larger row groups", name=file_name)
    if any(chunk.file_path for chunk in chunks):
        raise InputError(f"{file_name}: the Parquet file refers to data kept in other files (a column chunk "
                         "'file_path'); such files are not read. Write the table into one self-contained file",
                         name=file_name)
    _check_rows(file_name, metadata.num_rows, n_samples)
    odd = [f"{f.name} ({f.type})" for f in schema if not (_is_fixed_width(f.type) or _is_text(f.type))]
    if odd:
        raise InputError(f"{file_name}: columns must hold numbers (features) or text (names); these do not: "
                         f"{', '.join(odd[:5])}", name=file_name)
    _check_values_size(file_name, metadata.num_rows, len(schema),
                       extra_bytes=sum(chunk.total_uncompressed_size for chunk in chunks))
    text = [f.name for f in schema if _is_text(f.type)]
    try:
        arrow = pq.ParquetFile(pa.BufferReader(data), read_dictionary=text).read(use_pandas_metadata=True)
        decoded = sum(_decoded_bytes(arrow.column(name)) for name in text)
        _check_values_size(file_name, metadata.num_rows, len(schema), extra_bytes=decoded)
        return arrow.cast(schema).to_pandas()
    except InputError:
        raise
    except Exception as exc:
        raise _unreadable_parquet(file_name, exc) from None


#: Most column chunks (row groups × columns) a Parquet footer may list: far more than a feature table needs.
_MAX_PARQUET_CHUNKS = 100_000


def _is_fixed_width(arrow_type):
    import pyarrow as pa

    return any(test(arrow_type) for test in (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean,
                                             pa.types.is_decimal, pa.types.is_temporal, pa.types.is_null))


def _is_text(arrow_type):
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return _is_text(arrow_type.value_type)
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _decoded_bytes(column):
    """Bytes of text a dictionary-encoded column would take once expanded (one length per row, summed)."""
    import pyarrow.compute as pc

    total = 0
    for chunk in column.chunks:
        lengths = pc.take(pc.binary_length(chunk.dictionary), chunk.indices)
        total += int(pc.sum(lengths).as_py() or 0)
    return total


def _from_npy(file_name, data, names):
    """An NPY array checked from its header (shape, dtype, size) before its values are read."""
    buffer = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buffer)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(buffer)
    except Exception as exc:
        raise InputError(f"{file_name}: not a readable NPY array ({exc}); save it again with numpy.save "
                         "(a 2-D array of numbers, one row per sample)", name=file_name) from None
    if len(shape) != 2 or dtype.hasobject or not np.issubdtype(dtype, np.number) or dtype.kind == "c":
        raise InputError(f"{file_name}: expected a 2-D array of numbers (samples × features), got "
                         f"{dtype} of shape {shape}", name=file_name)
    if shape[0] != len(names):
        raise InputError(f"{file_name}: {shape[0]} rows for {len(names)} samples; an NPY file has no "
                         "names, so its rows must be the data set's samples in order", name=file_name)
    _check_values_size(file_name, shape[0], shape[1])
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:
        raise InputError(f"{file_name}: not a readable NPY array ({exc}); save it again with numpy.save",
                         name=file_name) from None
    labels = [f"{Path(file_name).stem}[{j}]" for j in range(array.shape[1])]
    values = array.astype(np.float64)
    _refuse_infinite(file_name, values, np.asarray(names), labels)
    return _table(file_name, data, values, labels, names, [], None, extra_rows=0, duplicate_rows=0)


def _has_default_index(frame):
    import pandas as pd

    return isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1


def _best_column(frame, names):
    """The column whose cells match the most sample names (scored on the first 500 rows), or None."""
    return best_name_column(frame, names, max_rows=500)


def _numeric(frame, row_names, file_name, decimal_comma):
    """The feature cells as float64; InputError listing a few cells that are not finite numbers."""
    import pandas as pd

    columns, shown, n_bad = [], [], 0
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
        wrong = np.flatnonzero(numbers.isna().to_numpy() & ~empty.to_numpy())
        n_bad += len(wrong)
        shown += [f"{row_names.iloc[row]!s}/{column}: {cells.iloc[row]!r}" for row in wrong[:5 - len(shown)]]
        columns.append(numbers.to_numpy(np.float64))
    if n_bad:
        listed = "; ".join(shown) + (f"; … ({n_bad} in all)" if n_bad > len(shown) else "")
        raise InputError(f"{file_name}: feature cells must be numbers; these are not: {listed}", name=file_name)
    values = np.column_stack(columns) if columns else np.empty((len(frame), 0))
    _refuse_infinite(file_name, values, row_names.to_numpy(), list(frame.columns))
    return values


def _refuse_infinite(file_name, values, row_names, labels):
    """InputError listing a few infinite cells (``1e999`` in a text table, ``inf`` in a binary one)."""
    rows, cols = np.nonzero(np.isinf(values))
    if len(rows):
        shown = "; ".join(f"{row_names[r]!s}/{labels[c]}: {values[r, c]}" for r, c in zip(rows[:5], cols[:5]))
        more = f"; … ({len(rows)} in all)" if len(rows) > 5 else ""
        raise InputError(f"{file_name}: feature cells must be finite numbers; these are infinite (too large for "
                         f"a float): {shown}{more}. Replace them, or leave the cells empty", name=file_name)


def _table(file_name, data, values, labels, names, errors, name_column, *, extra_rows, duplicate_rows, notes=()):
    extractor = f"imported:{file_name}"
    digest = hashlib.sha256(data).hexdigest()
    params = {"file": file_name, "sha256": digest, "name_column": name_column}
    provenance = {"extractor": extractor, "kind": "imported", "params": params, "n_samples": len(names),
                  "n_failed": len(errors), "extra_rows": int(extra_rows), "duplicate_rows": int(duplicate_rows),
                  "notes": list(notes)}
    key = hashlib.sha256(json.dumps([extractor, params], sort_keys=True).encode()).hexdigest()
    return FeatureTable(values, [str(label) for label in labels], list(names), errors, extractor, params,
                        provenance, key, "imported")


# Kept with the data set in the workspace: see msdash.features.imported_store (re-exported here).
from msdash.features.imported_store import list_imported, load_imported, save_imported  # noqa: E402
