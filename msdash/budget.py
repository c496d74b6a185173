"""Decode budget: how many bytes one upload may take in memory, checked from headers before decoding.

A small compressed file can declare a huge image (a 1 MB zip of all-zero 8000×8000 PNGs decodes to
gigabytes). The per-image pixel limit bounds one image; :class:`DecodeBudget` bounds the sum over an
upload. Each reader calls :meth:`DecodeBudget.check` with the decoded shape (every axis, colour samples
included) and dtype it read from the file's header, before it decodes a pixel; :func:`msdash.io.load_images`
then records what the kept image really holds with :meth:`DecodeBudget.add`.
"""

import threading
import weakref

import numpy as np

from msdash.errors import InputError

#: Bytes per value of the images msdash keeps (float32).
KEPT_ITEMSIZE = 4


def format_bytes(count):
    """Return a byte count in words.

    >>> format_bytes(512), format_bytes(3 * 1024**3), format_bytes(1536 * 1024)
    ('512 bytes', '3.0 GiB', '1.5 MiB')
    """
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{int(count)} bytes"


class DecodeBudget:
    """Running total of the bytes an upload's images take, against a limit.

    Parameters
    ----------
    limit : int
        Largest total in bytes.
    used : int
        Bytes already taken (e.g. by the session's other unsaved data).
    variable : str
        Environment variable that raises the limit, named in the message.

    Examples
    --------
    >>> budget = DecodeBudget(1000)
    >>> budget.check("a.png", (10, 10), np.uint8, kept_values=100)  # 100 float32 values: 400 bytes
    400
    >>> budget.add(400)
    >>> budget.check("b.png", (10, 20), np.uint8, kept_values=200)
    Traceback (most recent call last):
    ...
    msdash.errors.InputError: b.png: decodes to 800 bytes, and this upload already holds 400 bytes: over its limit of 1000 bytes; upload fewer or smaller images at a time (save, then add the rest), or raise MSDASH_MAX_UPLOAD_BYTES
    """

    def __init__(self, limit, *, used=0, variable="MSDASH_MAX_UPLOAD_BYTES"):
        self.limit = int(limit)
        self.used = int(used)
        self.variable = variable

    def check(self, name, shape, dtype, *, kept_values=None):
        """Raise :class:`InputError` when decoding an array of ``shape`` and ``dtype`` would pass the limit.

        Parameters
        ----------
        name : str
            File name for the message.
        shape : tuple of int
            Decoded shape, every axis (slices, rows, columns, samples).
        dtype : numpy dtype
            Decoded value type.
        kept_values : int, optional
            Number of values the kept image holds (default: every decoded value).

        Returns
        -------
        int
            Bytes the image needs at its peak: the larger of its decoded and kept (float32) sizes.
        """
        values = int(np.prod([int(n) for n in shape], dtype=np.int64))
        kept = values if kept_values is None else int(kept_values)
        need = max(values * np.dtype(dtype).itemsize, kept * KEPT_ITEMSIZE)
        if self.used + need > self.limit:
            held = f", and this upload already holds {format_bytes(self.used)}" if self.used else ""
            raise InputError(
                f"{name}: decodes to {format_bytes(need)}{held}: over its limit of {format_bytes(self.limit)}; "
                "upload fewer or smaller images at a time (save, then add the rest), or raise "
                f"{self.variable}", name=name,
            )
        return need

    def add(self, nbytes):
        """Count ``nbytes`` (an image now kept) against the limit."""
        self.used += int(nbytes)


def check_decode(budget, name, shape, dtype, *, colour=False):
    """Check one image's decoded size against ``budget`` (no-op when ``budget`` is None).

    ``shape`` is the decoded shape; with ``colour`` its last axis holds channels, of which the kept
    image has 3 (RGB) or 1 (grey).
    """
    if budget is None:
        return
    spatial = int(np.prod([int(n) for n in (shape[:-1] if colour else shape)], dtype=np.int64))
    budget.check(name, shape, dtype, kept_values=spatial * (3 if colour else 1))


# Unsaved uploads of every session of this server process: id(result) -> (weak reference, bytes).
# A session's upload is released when it replaces it, or when the session (and so the result) is gone.
_HELD = {}
_HELD_LOCK = threading.Lock()


def hold_unsaved(result, nbytes):
    """Count ``nbytes`` of an unsaved upload ``result`` against the server-wide limit while it lives.

    Parameters
    ----------
    result : object
        The object holding the images (any object that supports weak references).
    nbytes : int
        Bytes it holds.
    """
    key = id(result)

    def forget(_ref, key=key):
        with _HELD_LOCK:
            _HELD.pop(key, None)

    with _HELD_LOCK:
        _HELD[key] = (weakref.ref(result, forget), int(nbytes))


def release_unsaved(result):
    """Stop counting an unsaved upload (replaced or dropped by its session)."""
    with _HELD_LOCK:
        _HELD.pop(id(result), None)


def unsaved_bytes():
    """Return the bytes held by the live unsaved uploads of all sessions (int)."""
    with _HELD_LOCK:
        return sum(nbytes for ref, nbytes in _HELD.values() if ref() is not None)


def upload_budget():
    """Return the :class:`DecodeBudget` for a new upload of one session.

    The smallest of: the upload limit, the session limit and what the server-wide limit of unsaved
    uploads leaves after the other sessions' unsaved uploads (call :func:`release_unsaved` on the
    session's previous upload first). Its message names the variable of the limit that binds.
    """
    from msdash import config

    others = unsaved_bytes()
    limits = [
        (config.max_upload_bytes(), "MSDASH_MAX_UPLOAD_BYTES"),
        (config.max_session_bytes(), "MSDASH_MAX_SESSION_BYTES"),
        (max(config.max_unsaved_bytes() - others, 0),
         f"MSDASH_MAX_UNSAVED_BYTES (other sessions' unsaved uploads hold {format_bytes(others)}; "
         "saving them frees it)"),
    ]
    limit, variable = min(limits, key=lambda item: item[0])
    return DecodeBudget(limit, variable=variable)
