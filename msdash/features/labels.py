"""Column labels made on demand, so a table of millions of columns never holds millions of Python strings."""

from collections.abc import Sequence

import numpy as np

__all__ = ["WindowLabels", "IndexLabels", "LIST_LABELS_MAX", "encode_labels", "decode_labels"]

#: Tables up to this many columns get a plain ``list`` of labels; wider ones keep a lazy sequence.
LIST_LABELS_MAX = 100_000


class _LazyLabels(Sequence):
    """A read-only sequence of str: ``len``, indexing, slicing (a list), iteration, equality with lists."""

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._label(i) for i in range(*index.indices(len(self)))]
        try:
            i = int(np.asarray(index).item()) if not isinstance(index, int) else index
        except (TypeError, ValueError):
            raise TypeError(f"label indices must be integers or slices, not {type(index).__name__}") from None
        if not -len(self) <= i < len(self):
            raise IndexError(f"label index {index} out of range for {len(self)} labels")
        return self._label(i % len(self))

    def __eq__(self, other):
        if type(other) is type(self):
            return self._key() == other._key()
        if isinstance(other, (list, tuple, _LazyLabels)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        head = ", ".join(repr(self[i]) for i in range(min(3, len(self))))
        return f"{type(self).__name__}([{head}{', …' if len(self) > 3 else ''}], n={len(self)})"

    def tolist(self):
        """All labels as a list of str (costs ~70 bytes per label: mind the length)."""
        return list(self)


class WindowLabels(_LazyLabels):
    """Labels ``"S2[dy=3,dx=-1]"`` of a flattened ``(2c+1)**ndim`` displacement window, made on demand.

    Parameters
    ----------
    cutoff : int
        The window half-width ``c``.
    names : tuple of str
        Axis names, slowest first: ``("dy", "dx")`` or ``("dz", "dy", "dx")``.
    order : {"C", "F"}
        Flattening order of the window (row-major, or column-major as MATLAB's ``(:)``).
    prefix : str, optional
        Text before the bracket.

    Examples
    --------
    >>> labels = WindowLabels(1, ("dy", "dx"), "C")
    >>> len(labels), labels[0], labels[-1]
    (9, 'S2[dy=-1,dx=-1]', 'S2[dy=1,dx=1]')
    >>> labels.index("S2[dy=0,dx=1]")
    5
    """

    def __init__(self, cutoff, names=("dy", "dx"), order="C", prefix="S2"):
        self.cutoff, self.names, self.order, self.prefix = int(cutoff), tuple(names), order, prefix
        self._shape = (2 * self.cutoff + 1,) * len(self.names)

    def __len__(self):
        return int(np.prod(self._shape, dtype=np.int64))

    def _key(self):
        return self.cutoff, self.names, self.order, self.prefix

    def _label(self, i):
        lags = np.unravel_index(i, self._shape, order=self.order)
        return f"{self.prefix}[" + ",".join(f"{n}={int(v) - self.cutoff}" for n, v in zip(self.names, lags)) + "]"

    def __iter__(self):
        for lags in np.ndindex(*(self._shape if self.order == "C" else self._shape[::-1])):
            lags = lags if self.order == "C" else lags[::-1]
            yield f"{self.prefix}[" + ",".join(f"{n}={v - self.cutoff}" for n, v in zip(self.names, lags)) + "]"

    def index(self, value, start=0, stop=None):
        """Position of a label, parsed from its text (no search)."""
        try:
            head, body = str(value).rstrip("]").split("[", 1)
            parts = [part.split("=") for part in body.split(",")]
            ok = head == self.prefix and tuple(n for n, _ in parts) == self.names
            lags = [int(v) + self.cutoff for _, v in parts]
        except ValueError:
            ok = False
        if not ok or not all(0 <= lag < side for lag, side in zip(lags, self._shape)) or f"{value}" != self._label(
                int(np.ravel_multi_index(lags, self._shape, order=self.order))):
            raise ValueError(f"{value!r} is not a label of this window")
        i = int(np.ravel_multi_index(lags, self._shape, order=self.order))
        if not start <= i < (len(self) if stop is None else stop):
            raise ValueError(f"{value!r} is not in the given range")
        return i

    def __contains__(self, value):
        try:
            self.index(value)
        except ValueError:
            return False
        return True


class IndexLabels(_LazyLabels):
    """Labels ``"<name>[i]"`` for ``i = 0 .. n-1``, made on demand.

    Examples
    --------
    >>> IndexLabels("psd", 3)[:]
    ['psd[0]', 'psd[1]', 'psd[2]']
    """

    def __init__(self, name, n):
        self.name, self.n = str(name), int(n)

    def __len__(self):
        return self.n

    def _key(self):
        return self.name, self.n

    def _label(self, i):
        return f"{self.name}[{i}]"


def encode_labels(labels):
    """JSON-ready form of column labels: the rule of a lazy sequence, else the list of str.

    A list that follows the ``"<name>[i]"`` rule (as an imported NPY table's) is written as that rule too, so
    a table of millions of columns never writes millions of labels.

    Parameters
    ----------
    labels : sequence of str

    Returns
    -------
    list of str or dict
        ``{"rule": "window", "cutoff", "names", "order", "prefix"}``, ``{"rule": "index", "name", "n"}``
        or the labels themselves.

    Examples
    --------
    >>> encode_labels(["psd[0]", "psd[1]"]), encode_labels(["a", "b"])
    ({'rule': 'index', 'name': 'psd', 'n': 2}, ['a', 'b'])
    >>> decode_labels(encode_labels(WindowLabels(1))) == WindowLabels(1)
    True
    """
    if isinstance(labels, WindowLabels):
        return {"rule": "window", "cutoff": labels.cutoff, "names": list(labels.names), "order": labels.order,
                "prefix": labels.prefix}
    if isinstance(labels, IndexLabels):
        return {"rule": "index", "name": labels.name, "n": labels.n}
    labels = [str(label) for label in labels]
    if labels and labels[0].endswith("[0]"):
        rule = IndexLabels(labels[0][:-3], len(labels))
        if labels[-1] == rule[-1] and rule == labels:
            return encode_labels(rule)
    return labels


def decode_labels(encoded):
    """Labels from :func:`encode_labels`: a list of str, or a lazy sequence when the table is wider than
    :data:`LIST_LABELS_MAX` columns.

    Raises
    ------
    ValueError
        ``encoded`` is neither a list nor a known rule.
    """
    if isinstance(encoded, list):
        return [str(label) for label in encoded]
    try:
        if encoded["rule"] == "window":
            labels = WindowLabels(encoded["cutoff"], tuple(encoded["names"]), encoded["order"], encoded["prefix"])
        elif encoded["rule"] == "index":
            labels = IndexLabels(encoded["name"], encoded["n"])
        else:
            raise ValueError(f"unknown label rule {encoded['rule']!r}")
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a label rule: {exc}") from None
    return labels if len(labels) > LIST_LABELS_MAX else list(labels)
