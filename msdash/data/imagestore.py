"""Images kept in their source type (8-bit, 16-bit, binary labels) and handed out as float32 in [0, 1].

A 64×64 8-bit micrograph takes 4 KiB as uint8 and 16 KiB as float32. :class:`Images` keeps the compact
array and converts on access, with exactly the arithmetic of :func:`msdash.data.images.normalise`, so every
reader sees the same float32 values (and the same content hashes) as when float32 was kept.
"""

from collections.abc import Mapping, MutableMapping

import numpy as np

#: Kept dtypes and what one stored value means.
COMPACT_MEANING = {
    "uint8": "8-bit value v, read as v / 255",
    "uint16": "16-bit value v, read as v / 65535",
    "bool": "binary label, read as 0.0 or 1.0",
    "float32": "read as is",
}


def to_float32(raw):
    """Return the float32 image a compact array stands for.

    Parameters
    ----------
    raw : ndarray
        uint8 (divided by 255), uint16 (divided by 65535), bool (0/1 labels) or any other numeric type
        (cast to float32), any shape.

    Returns
    -------
    ndarray, float32, same shape

    Examples
    --------
    >>> to_float32(np.array([0, 51, 255], np.uint8)).tolist()
    [0.0, 0.20000000298023224, 1.0]
    >>> to_float32(np.array([True, False])).tolist()
    [1.0, 0.0]
    """
    raw = np.asarray(raw)
    if raw.dtype == np.uint8:
        return raw.astype(np.float32) / 255.0
    if raw.dtype == np.uint16:
        return raw.astype(np.float32) / 65535.0
    return raw.astype(np.float32, copy=False)


class Images(MutableMapping):
    """Sample name → image, stored compactly, read as float32.

    ``images[name]`` returns a new float32 array (``(H, W)``, ``(H, W, 3)`` or ``(D, H, W)`` in [0, 1]
    for loaded micrographs); :meth:`raw` returns the kept array, whose dtype says how it is read
    (:data:`COMPACT_MEANING`). Assigning stores the array as given, so assign compact arrays only with
    that meaning in mind (a float32 array is always safe).

    Parameters
    ----------
    raw : mapping of str to ndarray, optional
        Compact arrays in sample order.

    Examples
    --------
    >>> images = Images({"a": np.array([[0, 255]], np.uint8)})
    >>> images["a"].dtype, images["a"].tolist(), images.raw("a").nbytes, images.nbytes
    (dtype('float32'), [[0.0, 1.0]], 2, 2)
    >>> dict(images)["a"].dtype
    dtype('float32')
    """

    def __init__(self, raw=None):
        self._raw = {}
        for name, array in (raw or {}).items():
            self[name] = array

    def __getitem__(self, name):
        return to_float32(self._raw[name])

    def __setitem__(self, name, array):
        self._raw[name] = np.asarray(array)

    def __delitem__(self, name):
        del self._raw[name]

    def __iter__(self):
        return iter(self._raw)

    def __len__(self):
        return len(self._raw)

    def __contains__(self, name):
        return name in self._raw

    def __repr__(self):
        kinds = sorted({str(a.dtype) for a in self._raw.values()})
        return f"Images({len(self)} samples, kept as {', '.join(kinds) or 'nothing'}, {self.nbytes:,} bytes)"

    def __eq__(self, other):
        if not isinstance(other, Mapping) or len(self) != len(other) or set(self) != set(other):
            return False
        return all(np.array_equal(self[name], other[name]) for name in self)

    __hash__ = None

    def raw(self, name):
        """Return the kept (compact) array of one sample; do not modify it."""
        return self._raw[name]

    def raw_values(self):
        """Kept arrays in sample order (shapes without conversion)."""
        return list(self._raw.values())

    @property
    def nbytes(self):
        """Bytes the kept arrays take (int)."""
        return sum(int(a.nbytes) for a in self._raw.values())
