"""Input checks shared by the descriptors: image stacks with the sample axis first, grouped by size."""

import numpy as np

from ..errors import InputError

__all__ = ["check_stack", "by_size"]

_STACK_SHAPES = {2: "(n, H, W)", 3: "(n, D, H, W)"}


def check_stack(images, *, ndim=None, labels=False, dtype=np.float64, name="images"):
    """Check an image stack and return it as float64 with the sample axis first.

    The one input check of the feature modules: every error names the argument and says what was expected.

    Parameters
    ----------
    images : array_like
        A single image ``(H, W)``, a stack of 2-D images ``(n, H, W)`` or a stack of volumes ``(n, D, H, W)``.
    ndim : {None, 2, 3}, optional
        Spatial dimension of one sample. None reads a 2-D or 3-D input as 2-D images and a 4-D input as
        volumes; 2 accepts ``(H, W)`` or ``(n, H, W)``; 3 accepts ``(D, H, W)`` (one volume) or ``(n, D, H, W)``.
    labels : bool, optional
        Require integer-valued labels (integer, bool or whole-valued float arrays).
    dtype : dtype or None, optional
        Type of the returned stack; None keeps the input's (saves a copy when only labels are compared).
    name : str, optional
        The argument name used in error messages.

    Returns
    -------
    stack : ndarray of `dtype`, shape (n, *spatial)
    ndim : int
        The spatial dimension, 2 or 3.

    Examples
    --------
    >>> stack, d = check_stack(np.zeros((4, 5)))
    >>> stack.shape, d
    ((1, 4, 5), 2)
    """
    if ndim not in (None, 2, 3):
        raise InputError(f"`ndim` must be None, 2 or 3, got {ndim!r}", name="ndim")
    try:
        array = np.asarray(images)
    except ValueError:  # ragged list
        raise InputError(f"`{name}` must be images of one size stacked in an array; got a ragged sequence "
                         "(sizes differ)", name=name) from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"`{name}` must be a numeric array, got dtype {array.dtype} and shape {array.shape}",
                         name=name)
    if np.iscomplexobj(array):
        raise InputError(f"`{name}` must be real-valued, got complex values in shape {array.shape}", name=name)
    spatial = ndim if ndim is not None else (3 if array.ndim == 4 else 2)
    if array.ndim == spatial:
        array = array[np.newaxis]
    if array.ndim != spatial + 1:
        expected = ("a 2-D image (H, W), a stack of 2-D images (n, H, W) or a stack of volumes (n, D, H, W)"
                    if ndim is None else f"a stack {_STACK_SHAPES[spatial]} or a single sample (ndim={ndim})")
        raise InputError(f"`{name}` must be {expected}, got shape {np.shape(images)}", name=name)
    if array.size == 0:
        raise InputError(f"`{name}` has no pixels, got shape {np.shape(images)}", name=name)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise InputError(f"`{name}` must hold finite values, got NaN or inf in shape {np.shape(images)}",
                             name=name)
        if labels and not np.array_equal(array, np.round(array)):
            raise InputError(f"`{name}` must be label images with integer values (e.g. phases 0/1), got "
                             f"non-integer values in shape {np.shape(images)}; threshold grey images first",
                             name=name)
    return (array if dtype is None else array.astype(dtype, copy=False)), spatial


def by_size(images, features, *, labels=False, keep_dtype=False):
    """Apply ``features`` to a stack of 2-D images, or to each group of equal-size images of a sequence.

    Parameters
    ----------
    images : array_like or sequence of arrays
        A stack ``(n_samples, n_y, n_x)``, one image, or a sequence of images (or stacks) whose sizes may differ.
    features : callable
        ``features(stack) -> ndarray (len(stack), n_features)`` on a float64 stack of one size.
    labels : bool, optional
        Require integer-valued label images (see :func:`check_stack`).
    keep_dtype : bool, optional
        Hand a stack of one size to ``features`` in its own dtype (no float64 copy of the whole stack: the
        caller converts block by block); sequences of mixed sizes are still converted.

    Returns
    -------
    ndarray, shape (n_samples, n_features)
        Rows in the order of the input.

    Examples
    --------
    >>> by_size([np.ones((2, 2)), np.ones((3, 3))], lambda s: s.sum(axis=(1, 2))[:, None])
    array([[4.],
           [9.]])
    """
    try:
        whole = np.asarray(images)
    except ValueError:  # ragged: sizes differ
        whole = None
    if whole is not None and whole.dtype != object:
        return features(check_stack(whole, ndim=2, labels=labels, **({"dtype": None} if keep_dtype else {}))[0])
    items = [check_stack(image, ndim=2, labels=labels)[0] for image in images]
    if not items:
        raise InputError("`images` must hold at least one image, got an empty sequence", name="images")
    groups = {}
    for i, item in enumerate(items):
        groups.setdefault(item.shape[1:], []).append(i)
    out = None
    for indices in groups.values():
        rows = features(np.concatenate([items[i] for i in indices]))
        if out is None:
            out = np.empty((sum(len(item) for item in items), rows.shape[1]), dtype=rows.dtype)
        out[_sample_rows(items, indices)] = rows
    return out


def _sample_rows(items, indices):
    """Output rows of the samples of ``items[indices]`` (an item may hold several samples)."""
    starts = np.cumsum([0] + [len(item) for item in items])
    return np.concatenate([np.arange(starts[i], starts[i + 1]) for i in indices])
