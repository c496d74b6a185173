"""Content-addressed on-disk cache of feature vectors, shared by app sessions, CLI runs and cluster shards.

Layout, next to the database ``<workspace>/features/features.sqlite``::

    features.blocks/<extractor key>/<sequence>-<uuid>.blk   -- the values: one immutable file per written block
    features.sqlite  tables(dataset_id, extractor_key, extractor, params_json, n, d, created, provenance_json)
                     features(image_hash, extractor_key, "values", error)   -- stores of earlier versions, read only

``image_hash`` is the SHA-256 of the decoded array (dtype, shape and bytes; see :func:`image_hash`);
``extractor_key`` is the SHA-256 of the extractor name, its complete parameters as canonical JSON and
its version (:func:`extractor_key`).

The block files are written and read by :mod:`msdash.features.blockfile`. A data set's whole table is a
*table block* there too (:mod:`msdash.features.tablecache`): the store answers from it like from any block,
and the plain blocks it covers are removed, so the workspace holds each value once.

Why block files and not one SQLite row per image (as up to this version): that store wrote 11–150× the
bytes it kept, every page once to the WAL and again to the database, and 1,024 random keys per commit
split and rewrote B-tree pages all over a 64 KiB-page file. A block is written once, sequentially.
``bench/feature_store.py`` (bytes written: ``wchar`` / ``write_bytes`` of /proc/<pid>/io in a child;
50,000 rows × 4,225 features put 1,024 rows at a time, as ``extract`` does; ext4, 2 cores):

=========================  =============  ===============  ======  ===========  ==========
store                      values kept    written          ratio   file size    time
=========================  =============  ===============  ======  ===========  ==========
SQLite (before), float64   1.69 GB        19.5 GB          11.5    3.83 GB      188 s
block files, float64       1.69 GB        1.694 GB         1.002   1.69 GB      10.1 s
block files, float32       0.845 GB       0.849 GB         1.005   0.85 GB      5.8 s
one ``np.save`` (minimum)  1.69 GB        1.69 GB          1.000   1.69 GB      5.4 s
=========================  =============  ===============  ======  ===========  ==========

The overhead is the header, ~70 bytes per row, so written/kept ≤ 1.5 holds for rows of ≥ 18 float64
features; a one-number feature (volume fraction) costs ~10× its 8 bytes (~4 MB for 50,000 images).
``get_many`` of 1,000 random rows of those 50,000 takes 0.07 s (0.35 s from the SQLite store).

Safety: a block is written under a temp name (:func:`msdash.data.atomic.temp_name`, recording the writer),
fsynced and renamed into place, so readers see whole blocks or none, and a process killed mid-write leaves
only a temp file, removed by the next write or :func:`msdash.data.datastore.startup_cleanup`. Names are unique,
so threads and processes write at once with no lock; the name's sequence (a per-process monotonic
nanosecond clock) orders blocks and a later block's row replaces an earlier one's (the old row's bytes
stay until :meth:`~FeatureStore.clear`: ``extract`` only stores rows it did not find, so replacing is rare).
Block files never change, so readers cache their headers by name. :meth:`~FeatureStore.get_many` merges
the headers into one hash → (block, row) index and gathers the rows asked for from each memory-mapped
block. Rows of a store written by an earlier version (the ``features`` table) are still read where no
block holds the hash, and :meth:`~FeatureStore.clear` removes them too.

A read-only workspace (permissions, a read-only mount) still shows what is stored: the database is then
opened with ``mode=ro``, or ``immutable=1`` when even its shared-memory file cannot be created (a WAL
database needs one to read); writes raise :class:`~msdash.errors.WorkspaceError` saying why.
"""

import contextlib
import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from msdash import config
from msdash.data import atomic
from msdash.errors import WorkspaceError
from msdash.features.blockfile import (BLOCK_NAME, Entry, folder_name, key_of, read_header, read_rows,
                                       write_block)
from msdash.features.storekeys import extractor_key, image_hash

__all__ = ["Entry", "FeatureStore", "image_hash", "extractor_key", "default_store", "save_table_meta", "list_tables"]

_CHUNK = 900  # SQLite parameters per query of the earlier versions' rows (its historical limit is 999)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS features (
    image_hash TEXT NOT NULL, extractor_key TEXT NOT NULL, "values" BLOB, error TEXT,
    PRIMARY KEY (image_hash, extractor_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tables (
    dataset_id TEXT NOT NULL, extractor_key TEXT NOT NULL, extractor TEXT NOT NULL, params_json TEXT NOT NULL,
    n INTEGER NOT NULL, d INTEGER NOT NULL, created TEXT NOT NULL, provenance_json TEXT NOT NULL,
    PRIMARY KEY (dataset_id, extractor_key));
"""


class FeatureStore:
    """The feature cache in the workspace (or next to ``path``).

    Files are opened per call, so one store object may be shared by threads (Streamlit sessions)
    and survives ``fork``.

    Parameters
    ----------
    path : path-like, optional
        Database file (table registry); the values go to the folder ``<path without suffix>.blocks``.
        Default ``<workspace>/features/features.sqlite``.
    """

    def __init__(self, path=None):
        self.path = Path(path) if path is not None else config.workspace() / "features" / "features.sqlite"
        self.blocks = self.path.with_suffix(".blocks")
        #: Why nothing can be stored (a sentence for the user), or None when the store is writable.
        self.read_only = None
        self._uri = None
        self._headers = {}  # block path -> Block; block files never change, so this never goes stale
        self._index = {}  # key -> (block names, {hash: (block number, row)})
        self._lock = threading.Lock()
        self._legacy = True  # rows of an earlier version may exist (False once none were found)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block the writer
                db.executescript(_SCHEMA)
            # sqlite opens a file it may not write read-only without a word (this needs no write).
            os.close(os.open(self.path, os.O_RDWR))
        except (OSError, sqlite3.OperationalError) as exc:
            problem = atomic.write_problem(self.path.parent)
            if problem is None and not _is_read_only_error(exc):
                raise
            state = f"is read-only ({problem})" if problem else f"cannot be written ({exc})"
            self.read_only = (f"The feature store {self.path} {state}: stored features can be shown but new ones "
                              f"cannot be stored. Set MSDASH_HOME to a writable folder.")
            self._open_read_only()

    def _open_read_only(self):
        if not self.path.is_file():
            self._uri = "file::memory:"  # nothing stored yet: an empty store
            return
        for mode in ("mode=ro", "immutable=1"):  # immutable: no -shm needed (nobody can write here anyway)
            self._uri = f"{self.path.resolve().as_uri()}?{mode}"
            try:
                with self._connect() as db:
                    db.execute("SELECT COUNT(*) FROM tables").fetchone()
                return
            except sqlite3.OperationalError as exc:
                error = exc
        raise WorkspaceError(f"The feature store {self.path} cannot be read ({error}).") from error

    def _connect(self):
        if self._uri is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        else:
            db = sqlite3.connect(self._uri, uri=True, timeout=30.0, isolation_level=None)
            if self._uri == "file::memory:":
                db.executescript(_SCHEMA)
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA synchronous = NORMAL")
        return _Closing(db)

    @contextlib.contextmanager
    def _writing(self):
        """A connection for writing; :class:`WorkspaceError` when the store cannot be written."""
        if self.read_only is not None:
            raise WorkspaceError(self.read_only)
        try:
            with self._connect() as db:
                yield db
        except sqlite3.OperationalError as exc:
            if not _is_read_only_error(exc):
                raise
            raise WorkspaceError(f"The feature store {self.path} cannot be written ({exc}): stored features can "
                                 "be shown but new ones cannot be stored. Set MSDASH_HOME to a writable "
                                 "folder.") from exc

    def get_many(self, hashes, key):
        """Stored results of ``key`` for the given image hashes.

        Returns
        -------
        dict of str to Entry
            Only the hashes found; ``values`` are float64 vectors (read-only).
        """
        hashes = list(dict.fromkeys(hashes))
        for attempt in range(3):  # a block removed by clear() between listing and reading: list again
            try:
                blocks, where = self._located(key)
                wanted = {}
                for h in hashes:
                    if h in where:
                        b, row = where[h]
                        wanted.setdefault(b, []).append((row, h))
                found = {}
                for b, rows in wanted.items():
                    found.update(read_rows(blocks[b], rows))
                break
            except FileNotFoundError:
                with self._lock:
                    self._index.pop(key, None)
                if attempt == 2:
                    raise
        missing = [h for h in hashes if h not in found]
        if missing and self._legacy:
            found.update(self._legacy_rows(missing, key))
        return found

    def put_many(self, key, items):
        """Store results of ``key``: one block file per row length, written once (existing rows are replaced).

        Parameters
        ----------
        key : str
            An :func:`extractor_key`.
        items : iterable of (str, array or None, str or None)
            ``(image_hash, values, error)``; ``values`` (a vector) is kept as float32 when every vector of
            its length is float32, else as float64.

        Returns
        -------
        int
            Rows written.
        """
        if self.read_only is not None:
            raise WorkspaceError(self.read_only)
        groups, failures, total = {}, [], 0
        for h, v, e in items:
            total += 1
            if v is None:
                failures.append((str(h), None, "" if e is None else str(e)))
                continue
            v = np.asarray(v).reshape(-1)
            groups.setdefault(v.size, []).append((str(h), v, None if e is None else str(e)))
        if not total:
            return 0
        if failures:  # failed samples join the first block (a row of zeros each) rather than cost a file
            first = next(iter(groups), 0)
            groups.setdefault(first, []).extend(failures)
        folder = self.blocks / folder_name(key)
        for d, rows in groups.items():
            write_block(folder, d, rows)
        return total

    def count(self, key=None):
        """Number of stored rows of ``key`` (all rows when None)."""
        if key is not None:
            hashes = set(self._located(key)[1])
            if self._legacy:
                with self._connect() as db:
                    hashes.update(h for (h,) in db.execute(
                        "SELECT image_hash FROM features WHERE extractor_key = ?", (key,)))
            return len(hashes)
        return sum(self.count(k) for k in self._keys())

    def clear(self, key=None):
        """Delete the rows of ``key`` (everything, table registry included, when None); return rows deleted."""
        if self.read_only is not None:
            raise WorkspaceError(self.read_only)
        deleted = self.count(key)
        target = self.blocks if key is None else self.blocks / folder_name(key)
        if target.is_dir():
            atomic.discard(target)
        with self._lock:
            self._index.clear()
        with self._writing() as db:
            if key is None:
                db.execute("DELETE FROM features")
                db.execute("DELETE FROM tables")
            else:
                db.execute("DELETE FROM features WHERE extractor_key = ?", (key,))
                db.execute("DELETE FROM tables WHERE extractor_key = ?", (key,))
        return deleted

    def save_table_meta(self, dataset_id, table):
        """Record that ``table`` (a :class:`~msdash.features.extract.FeatureTable`) was computed for a data set."""
        row = (str(dataset_id), table.key, table.extractor, json.dumps(table.params, sort_keys=True, default=str),
               int(table.values.shape[0]), int(table.values.shape[1]),
               datetime.now(timezone.utc).isoformat(timespec="seconds"),
               json.dumps(table.provenance, sort_keys=True, default=str))
        with self._writing() as db:
            db.execute("INSERT OR REPLACE INTO tables VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

    def list_tables(self, dataset_id):
        """Feature tables recorded for a data set, newest first.

        Returns
        -------
        list of dict
            ``dataset_id, extractor_key, extractor, params, n, d, created, provenance``.
        """
        with self._connect() as db:
            rows = db.execute("SELECT dataset_id, extractor_key, extractor, params_json, n, d, created, "
                              "provenance_json FROM tables WHERE dataset_id = ? ORDER BY created DESC, extractor",
                              (str(dataset_id),)).fetchall()
        return [{"dataset_id": r[0], "extractor_key": r[1], "extractor": r[2], "params": json.loads(r[3]),
                 "n": r[4], "d": r[5], "created": r[6], "provenance": json.loads(r[7])} for r in rows]

    def key_folder(self, key):
        """The folder of ``key``'s block files (it may not exist)."""
        return self.blocks / folder_name(key)

    def forget(self, key=None):
        """Drop the cached index of ``key`` (of every key when None) after blocks were added or removed."""
        with self._lock:
            if key is None:
                self._index.clear()
            else:
                self._index.pop(key, None)

    def _located(self, key):
        """The key's blocks, oldest first, and hash -> (block number, row) with later blocks winning."""
        folder = self.blocks / folder_name(key)
        try:
            names = tuple(sorted(n for n in os.listdir(folder) if BLOCK_NAME.match(n)))
        except (FileNotFoundError, NotADirectoryError):
            names = ()
        with self._lock:
            cached = self._index.get(key)
        if cached is not None and cached[0] == names:
            return cached[1], cached[2]
        blocks = [self._header(folder / name) for name in names]
        where = {}
        for b, block in enumerate(blocks):
            # A table block's row without a hash (a sample the table alone refused) is no store row.
            where.update((h, (b, row)) for row, h in enumerate(block.hashes) if h is not None)
        with self._lock:
            if len(self._index) >= 16:  # a few keys at a time: each index holds a string per row
                self._index.clear()
            self._index[key] = (names, blocks, where)
        return blocks, where

    def _header(self, path):
        with self._lock:
            block = self._headers.get(path)
        if block is None:
            block = read_header(path)
            with self._lock:
                if len(self._headers) >= 4096:
                    self._headers.clear()
                self._headers[path] = block
        return block

    def _keys(self):
        keys = set()
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            keys.update(key_of(n) for n in os.listdir(self.blocks) if not n.startswith("."))
        if self._legacy:
            with self._connect() as db:
                keys.update(k for (k,) in db.execute("SELECT DISTINCT extractor_key FROM features"))
        return keys

    def _legacy_rows(self, hashes, key):
        """Rows of ``key`` kept by an earlier version (one SQLite row each), by primary-key lookups."""
        found = {}
        with self._connect() as db:
            if db.execute("SELECT 1 FROM features LIMIT 1").fetchone() is None:
                self._legacy = False  # nothing writes that table any more: it stays empty
                return found
            for start in range(0, len(hashes), _CHUNK):
                chunk = hashes[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(f'SELECT image_hash, "values", error FROM features '
                                  f"WHERE extractor_key = ? AND image_hash IN ({marks})", [key, *chunk])
                for h, blob, error in rows:
                    found[h] = Entry(None if blob is None else np.frombuffer(blob, dtype="<f8"), error)
        return found


class _Closing:
    """Context manager closing an sqlite3 connection (sqlite3's own only ends transactions)."""

    def __init__(self, db):
        self.db = db

    def __enter__(self):
        return self.db

    def __exit__(self, *exc):
        self.db.close()


def _is_read_only_error(exc):
    # sqlite's words for a database or folder it may not write (SQLITE_READONLY, SQLITE_CANTOPEN).
    text = str(exc).lower()
    return isinstance(exc, PermissionError) or any(
        words in text for words in ("readonly database", "read-only", "unable to open database file"))


def default_store():
    """The store of the current workspace (``MSDASH_HOME`` is read at call time)."""
    return FeatureStore()


def save_table_meta(dataset_id, table):
    """:meth:`FeatureStore.save_table_meta` on the default store."""
    default_store().save_table_meta(dataset_id, table)


def list_tables(dataset_id):
    """:meth:`FeatureStore.list_tables` on the default store."""
    return default_store().list_tables(dataset_id)
