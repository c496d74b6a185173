"""Whole feature tables of saved data sets, one ``.npy`` plus ``meta.json`` per (data set, extractor call).

The per-image store (:mod:`msdash.features.store`) never computes a sample twice, but reading thousands of
rows back costs about as much as a cheap extractor computes them. A data set's complete table is therefore
also kept as one array: the warm path is then a single memory-mapped read. The key is the data set's
content hash plus the extractor key, so it can never serve stale numbers; deleting it only costs time.

Layout: ``<workspace>/features/tables/<dataset hash>-<extractor key>/{values.npy, meta.json}``; both are
written atomically and ``meta.json`` (written last, holding the size of ``values.npy``) marks completion.
"""

import io
import json
import re

import numpy as np

from msdash import atomic, config

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
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(table.values, dtype=np.float64), allow_pickle=False)
        atomic.write_file_atomic(folder / "values.npy", buffer.getvalue())
        meta = {"values_bytes": buffer.getbuffer().nbytes, "labels": [str(x) for x in table.labels],
                "names": list(table.names), "errors": [[e.name, e.message] for e in table.errors],
                "params": table.params, "provenance": table.provenance}
        atomic.write_file_atomic(folder / "meta.json", json.dumps(meta, default=str).encode())
        return True
    except OSError:
        return False
