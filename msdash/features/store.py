"""Content-addressed on-disk cache of feature vectors, shared by app sessions, CLI runs and cluster shards.

Layout: one SQLite database, ``<workspace>/features/features.sqlite``, with two tables::

    features(image_hash TEXT, extractor_key TEXT, "values" BLOB, error TEXT,
             PRIMARY KEY (image_hash, extractor_key))          -- one row per (image, extractor call)
    tables(dataset_id TEXT, extractor_key TEXT, extractor TEXT, params_json TEXT, n INTEGER,
           d INTEGER, created TEXT, provenance_json TEXT,
           PRIMARY KEY (dataset_id, extractor_key))            -- what was computed for a data set

``image_hash`` is the SHA-256 of the decoded array (dtype, shape and bytes; see :func:`image_hash`);
``extractor_key`` is the SHA-256 of the extractor name, its complete parameters as canonical JSON and
its version (:func:`extractor_key`). ``values`` holds the raw little-endian float64 vector; a sample
the extractor failed on has ``values`` NULL and the message in ``error``.

Why SQLite and not one file per image: 50,000 images would mean 50,000 files per extractor call
(slow to list, and an ``npz`` per image costs a zip parse each). SQLite (stdlib) gives one file, atomic
transactions, and safe concurrent writers: WAL journal, a 30 s busy timeout, and one
``INSERT OR REPLACE`` transaction per batch, so two app sessions or many CLI shards can write at once.
A read-only workspace (permissions, a read-only mount) still shows what is stored: the database is then
opened with ``mode=ro``, or ``immutable=1`` when even its shared-memory file cannot be created (a WAL
database needs one to read); writes raise :class:`~msdash.errors.WorkspaceError` saying why.
Reads select by ``extractor_key`` and ``image_hash IN (...)`` in chunks of at most 900 parameters
(SQLite's historical limit is 999) and decode blobs with :func:`numpy.frombuffer`, so loading stays
proportional to the rows asked for.
"""

import contextlib
import hashlib
import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import numpy as np

from msdash import atomic, config
from msdash.errors import WorkspaceError

__all__ = ["Entry", "FeatureStore", "image_hash", "extractor_key", "default_store", "save_table_meta", "list_tables"]

_CHUNK = 900
_SCHEMA = """
CREATE TABLE IF NOT EXISTS features (
    image_hash TEXT NOT NULL, extractor_key TEXT NOT NULL, "values" BLOB, error TEXT,
    PRIMARY KEY (image_hash, extractor_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tables (
    dataset_id TEXT NOT NULL, extractor_key TEXT NOT NULL, extractor TEXT NOT NULL, params_json TEXT NOT NULL,
    n INTEGER NOT NULL, d INTEGER NOT NULL, created TEXT NOT NULL, provenance_json TEXT NOT NULL,
    PRIMARY KEY (dataset_id, extractor_key));
"""


class Entry(NamedTuple):
    """One stored result: ``values`` (float64 vector, read-only) or None, and ``error`` or None."""

    values: np.ndarray | None
    error: str | None


def image_hash(array):
    """Content hash of an image: hex SHA-256 of its dtype, shape and bytes.

    SHA-256 runs on the CPU's SHA extensions where present (about 1.5 GB/s), as fast as BLAKE2b here.

    Examples
    --------
    >>> a = np.zeros((2, 2), dtype=np.float32)
    >>> image_hash(a) == image_hash(a.copy()), image_hash(a) == image_hash(a.reshape(4))
    (True, False)
    """
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.data)
    return digest.hexdigest()


def extractor_key(name, params, version):
    """Hex SHA-256 naming one extractor call: name, canonical JSON of ``params``, version.

    Examples
    --------
    >>> extractor_key("x", {"a": 1, "b": 2}, "1") == extractor_key("x", {"b": 2, "a": 1}, "1")
    True
    >>> extractor_key("x", {"a": 1}, "1") == extractor_key("x", {"a": 1}, "2")
    False
    """
    text = json.dumps({"extractor": name, "params": params, "version": str(version)}, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class FeatureStore:
    """The feature cache in the workspace (or in ``path``).

    A connection is opened per call, so one store object may be shared by threads (Streamlit
    sessions) and survives ``fork``.

    Parameters
    ----------
    path : path-like, optional
        Database file; default ``<workspace>/features/features.sqlite``.
    """

    def __init__(self, path=None):
        self.path = Path(path) if path is not None else config.workspace() / "features" / "features.sqlite"
        #: Why nothing can be stored (a sentence for the user), or None when the store is writable.
        self.read_only = None
        self._uri = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                # Large pages: a 4,225-feature row (33 kB) then reads in one page instead of a chain of 4 kB ones.
                db.execute("PRAGMA page_size = 65536")  # takes effect only on a new, empty database
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
        db.execute("PRAGMA cache_size = -65536")  # 64 MB page cache (negative: KiB)
        db.execute("PRAGMA mmap_size = 1073741824")  # read blobs through the page cache of the OS
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
                                 f"be shown but new ones cannot be stored. Set MSDASH_HOME to a writable folder.") from exc

    def get_many(self, hashes, key):
        """Stored results of ``key`` for the given image hashes.

        Returns
        -------
        dict of str to Entry
            Only the hashes found.
        """
        hashes = list(dict.fromkeys(hashes))
        found = {}
        with self._connect() as db:
            for start in range(0, len(hashes), _CHUNK):
                chunk = hashes[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(f'SELECT image_hash, "values", error FROM features '
                                  f"WHERE extractor_key = ? AND image_hash IN ({marks})", [key, *chunk])
                for h, blob, error in rows:
                    found[h] = Entry(None if blob is None else np.frombuffer(blob, dtype="<f8"), error)
        return found

    def put_many(self, key, items):
        """Store results of ``key`` in one transaction (existing rows are replaced).

        Parameters
        ----------
        key : str
            An :func:`extractor_key`.
        items : iterable of (str, array or None, str or None)
            ``(image_hash, values, error)``; ``values`` is stored as float64.

        Returns
        -------
        int
            Rows written.
        """
        rows = [(h, key, None if v is None else np.ascontiguousarray(v, dtype="<f8").tobytes(),
                 None if e is None else str(e)) for h, v, e in items]
        if not rows:
            return 0
        with self._writing() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany('INSERT OR REPLACE INTO features (image_hash, extractor_key, "values", error) '
                               "VALUES (?, ?, ?, ?)", rows)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return len(rows)

    def count(self, key=None):
        """Number of stored rows of ``key`` (all rows when None)."""
        with self._connect() as db:
            if key is None:
                return db.execute("SELECT COUNT(*) FROM features").fetchone()[0]
            return db.execute("SELECT COUNT(*) FROM features WHERE extractor_key = ?", (key,)).fetchone()[0]

    def clear(self, key=None):
        """Delete the rows of ``key`` (everything, table registry included, when None); return rows deleted."""
        with self._writing() as db:
            if key is None:
                deleted = db.execute("DELETE FROM features").rowcount
                db.execute("DELETE FROM tables")
            else:
                deleted = db.execute("DELETE FROM features WHERE extractor_key = ?", (key,)).rowcount
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
