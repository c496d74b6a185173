"""Block files of the feature store: one immutable file per :meth:`~msdash.features.store.FeatureStore.put_many`.

A block file holds what one ``put_many`` call stores for one row length: an 8-byte magic, the header length
(uint64), a JSON header (``n``, ``d``, ``dtype``, the row ``hashes``, ``errors`` by row) padded to 64 bytes,
then the ``(n, d)`` values in C order as ``<f8`` (``<f4`` when every row came as float32; read back as
float64, exactly). A failed sample keeps a row of zeros (NaN in a table block) and its message.

A *table block* (:func:`write_table_block`) holds a data set's whole feature table, rows in sample order, so
that the table cache (:mod:`msdash.features.tablecache`) memory-maps it as the table: its header also
names the ``table``, and a row the table alone refused (no image hash) has the hash ``null``. Files are named
``<sequence>-<uuid>.blk`` (the sequence orders blocks: a later block's row replaces an earlier one's) and
written under a temp name, fsynced and renamed, so readers see whole blocks or none.
"""

import contextlib
import json
import os
import re
import threading
import time
import uuid
from pathlib import Path
from typing import NamedTuple

import numpy as np

from msdash.data import atomic
from msdash.errors import WorkspaceError

_MAGIC = b"MSDFBLK1"
_ALIGN = 64
BLOCK_NAME = re.compile(r"^\d{20}-[0-9a-f]{32}\.blk$")
_SAFE_KEY = re.compile(r"^[0-9A-Za-z_-]{1,200}$")


class Entry(NamedTuple):
    """One stored result: ``values`` (float64 vector, read-only) or None, and ``error`` or None."""

    values: np.ndarray | None
    error: str | None


class Block(NamedTuple):
    """The header of one block file: where its values start and what each row is."""

    path: Path
    n: int
    d: int
    dtype: str
    offset: int
    hashes: list
    errors: dict
    table: str | None = None

    @property
    def size(self):
        """Bytes the file should hold: header and values."""
        return self.offset + self.n * self.d * np.dtype(self.dtype).itemsize


def folder_name(key):
    """A file name for ``key``: itself when plain, else ``%`` and its UTF-8 bytes in hex."""
    key = str(key)
    if _SAFE_KEY.match(key):
        return key
    name = "%" + key.encode().hex()
    if len(name) > 250:
        raise ValueError(f"extractor key too long for the feature store: {key[:40]!r}…")
    return name


def key_of(name):
    return bytes.fromhex(name[1:]).decode() if name.startswith("%") else name


_CLOCK = [0]
_CLOCK_LOCK = threading.Lock()


def _sequence():
    """Nanoseconds since the epoch, strictly increasing within this process (block order)."""
    with _CLOCK_LOCK:
        _CLOCK[0] = max(time.time_ns(), _CLOCK[0] + 1)
        return _CLOCK[0]


def write_block(folder, d, rows):
    """Write ``rows`` (hash, vector or None, error) of length ``d`` as one block file, atomically.

    Returns
    -------
    pathlib.Path
        The block file.
    """
    dtype = "<f4" if all(v is None or v.dtype == np.float32 for _, v, _ in rows) else "<f8"
    header = {"n": len(rows), "d": d, "dtype": dtype, "hashes": [h for h, _, _ in rows],
              "errors": {str(i): e for i, (_, v, e) in enumerate(rows) if v is None}}
    zeros = np.zeros(d, dtype=dtype)

    def chunks():  # row by row: no copy of the whole block
        for _, v, _ in rows:
            yield zeros if v is None else np.ascontiguousarray(v, dtype=dtype)

    return _write(folder, header, chunks)


def write_table_block(folder, table_key, values, hashes, errors, *, rows_at_once):
    """Write a whole feature table as one float64 block file, atomically; return its path.

    Parameters
    ----------
    folder : pathlib.Path
        The extractor key's block folder.
    table_key : str
        The table cache key, recorded in the header.
    values : array_like, shape (n, d)
        The table, NaN rows for failed samples; read ``rows_at_once`` rows at a time (a memory map is fine).
    hashes : list of (str or None), length n
        Image hash per row; None for a row no store look-up may return.
    errors : dict of int to str
        Row → message of the failed rows.
    rows_at_once : int
        Rows converted to float64 and written at once.
    """
    n, d = values.shape
    header = {"n": n, "d": d, "dtype": "<f8", "hashes": list(hashes), "table": table_key,
              "errors": {str(i): str(e) for i, e in errors.items()}}

    def chunks():
        for start in range(0, n, rows_at_once):
            yield np.ascontiguousarray(values[start:start + rows_at_once], dtype="<f8")

    return _write(folder, header, chunks)


def _write(folder, header, chunks):
    """Write a block (``chunks()`` yields its values in order) under a temp name, then rename it."""
    header = json.dumps(header).encode()
    start = len(_MAGIC) + 8
    header += b" " * (-(start + len(header)) % _ALIGN)
    for attempt in range(2):  # clear() may remove the folder between mkdir and rename: once more
        try:
            folder.mkdir(parents=True, exist_ok=True)
            atomic.remove_stale(folder)
            tmp = folder / atomic.temp_name(".blk")
            target = folder / f"{_sequence():020d}-{uuid.uuid4().hex}.blk"
            try:
                with open(tmp, "xb") as f:
                    f.write(_MAGIC + len(header).to_bytes(8, "little") + header)
                    for chunk in chunks():  # made again on the second attempt
                        f.write(chunk.data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, target)
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
            atomic.fsync_dir(folder)
            return target
        except FileNotFoundError:
            if attempt:
                raise
        except OSError as exc:
            raise WorkspaceError(f"Could not store features in {folder}: {exc}") from exc


def read_header(path):
    with open(path, "rb") as f:
        start = f.read(len(_MAGIC) + 8)
        if start[:len(_MAGIC)] != _MAGIC:
            raise WorkspaceError(f"{path} is not a feature block")
        length = int.from_bytes(start[len(_MAGIC):], "little")
        header = json.loads(f.read(length))
    return Block(Path(path), header["n"], header["d"], header["dtype"], len(start) + length, header["hashes"],
                 {int(k): v for k, v in header["errors"].items()}, header.get("table"))


def values_of(block):
    """The block's values, shape (n, d), as a read-only memory map (no copy; an empty array when n·d = 0)."""
    if block.n * block.d == 0:
        empty = np.zeros((block.n, block.d), dtype=block.dtype)
        empty.flags.writeable = False
        return empty
    return np.memmap(block.path, dtype=block.dtype, mode="r", offset=block.offset, shape=(block.n, block.d))


def read_rows(block, rows):
    """``{hash: Entry}`` for ``rows`` [(row, hash)] of one block, read through a memory map."""
    found = {}
    ok = [(row, h) for row, h in rows if row not in block.errors]
    if ok and block.d:
        order = sorted({row for row, _ in ok})  # sorted: the memory map is read forwards
        values = values_of(block)
        picked = np.array(values[order], dtype=np.float64)
        del values
        picked.flags.writeable = False
        at = {row: i for i, row in enumerate(order)}
        found.update((h, Entry(picked[at[row]], None)) for row, h in ok)
    elif ok:
        found.update((h, Entry(np.zeros(0), None)) for _, h in ok)
    found.update((h, Entry(None, block.errors[row])) for row, h in rows if row in block.errors)
    return found
