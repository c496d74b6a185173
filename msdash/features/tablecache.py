"""Whole feature tables of saved data sets, one ``.npy`` plus ``meta.json`` per (data set, extractor call).

The per-image store (:mod:`msdash.features.store`) never computes a sample twice, but reading thousands of
rows back costs about as much as a cheap extractor computes them. A data set's complete table is therefore
also kept as one array: the warm path is then a single memory-mapped read. The key is the data set's
content hash plus the extractor key, so it can never serve stale numbers; deleting it only costs time.

Layout: ``<workspace>/features/tables/<dataset hash>-<extractor key>/{values.npy, meta.json}``; both are
written atomically and ``meta.json`` (written last, holding the size of ``values.npy``) marks completion.
``values.npy`` is streamed to disk in blocks of rows sized from :func:`msdash.config.memory_budget`
(the header, then each block converted to float64), never built whole in memory: a 50,000 × 4,225 table
(1.7 GB) used to be one ``np.save`` into a memory buffer first.
"""

import json
import os
import re

import numpy as np

from msdash import atomic, config

#: Most bytes of float64 rows converted and written at once (also at most 1/16 of the memory budget).
MAX_BLOCK_BYTES = 64 * 2**20

_KEY = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{64}$")


def _folder(table_key):
    if not _KEY.match(table_key):
        raise ValueError(f"not a table key: {table_key!r}")
    return config.workspace() / "features" / "tables" / table_key


def load_table(table_key):
    """Return the cached table for ``table_key``, or None when absent or incomplete.

    Returns
    -------
    dict or None
        ``values`` (read-only memory-mapped float64, shape (n, d)), ``labels``, ``names``, ``errors``
        (list of ``[name, message]``), ``params`` and ``provenance``.
    """
    folder = _folder(table_key)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        values_path = folder / "values.npy"
        if values_path.stat().st_size != meta["values_bytes"]:
            return None
        values = np.load(values_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, KeyError):
        return None
    if values.shape != (len(meta["names"]), len(meta["labels"])):
        return None
    return {"values": values, **{k: meta[k] for k in ("labels", "names", "errors", "params", "provenance")}}


def save_table(table_key, table):
    """Keep a complete FeatureTable (failures included) under ``table_key``; errors are not raised."""
    folder = _folder(table_key)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        values_bytes = write_npy(folder / "values.npy", table.values)
        meta = {"values_bytes": values_bytes, "labels": [str(x) for x in table.labels],
                "names": list(table.names), "errors": [[e.name, e.message] for e in table.errors],
                "params": table.params, "provenance": table.provenance}
        atomic.write_file_atomic(folder / "meta.json", json.dumps(meta, default=str).encode())
        return True
    except OSError:
        return False


def write_npy(path, values):
    """Write a 2-D array as a float64 ``.npy`` file atomically, streaming blocks of rows.

    The file goes to a temp name (:func:`msdash.atomic.temp_name`) in the same folder, is fsynced and
    renamed into place; at most ``min(MAX_BLOCK_BYTES, memory_budget() / 16)`` bytes of converted rows
    (at least one row) are held at a time. ``np.load`` reads the result exactly as an ``np.save`` of
    ``values.astype(float64)``.

    Parameters
    ----------
    path : pathlib.Path
        Destination; its folder must exist.
    values : array_like, shape (n, d)
        Any real dtype (a memory map is read block by block).

    Returns
    -------
    int
        Bytes of the file written.

    Raises
    ------
    OSError
        When it cannot be written; the temp file is removed.
    """
    values = values if isinstance(values, np.ndarray) else np.asarray(values)
    n, d = values.shape
    rows = max(1, min(MAX_BLOCK_BYTES, config.memory_budget() // 16) // max(1, 8 * d))
    tmp = path.parent / atomic.temp_name(f"-{path.name}")
    try:
        with open(tmp, "xb") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (n, d)})
            for start in range(0, n, rows):
                f.write(np.ascontiguousarray(values[start:start + rows], dtype="<f8").data)
            size = f.tell()
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        atomic.fsync_dir(path.parent)
        return size
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
