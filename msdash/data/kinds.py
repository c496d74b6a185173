"""What a sample is (grey image, RGB image or volume) and how RGB becomes grey: one rule each.

Re-exported by :mod:`msdash.data.images` and :mod:`msdash.io`; every part of msdash asks these functions
instead of looking at an array's last axis itself.
"""

import numpy as np

from msdash.errors import InputError

__all__ = ["KINDS", "LUMA_WEIGHTS", "RGB_MIN_SIDE", "image_kind", "kind_of", "to_grey"]

#: ITU-R BT.601 luma weights for R, G, B (what :func:`to_grey` uses, the one RGB → grey rule of msdash).
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
#: What a sample is: a grey image ``(H, W)``, a colour image ``(H, W, 3)`` or a volume ``(D, H, W)``.
KINDS = ("2d", "rgb", "3d")
#: An ``(H, W, 3)`` array is RGB by its shape alone only when both sides are longer than this (px).
RGB_MIN_SIDE = 4


def image_kind(image, *, colour=None):
    """Say what a sample is: ``"2d"`` (grey image), ``"rgb"`` (colour image) or ``"3d"`` (volume).

    The one rule of msdash. A 2-D array is ``"2d"``. A 3-D array is RGB when the file said so (``colour``:
    a PNG/JPEG/BMP colour mode, a TIFF's RGB photometric tag), else a ``(D, H, W)`` volume. A plain array has
    no such tag (NPY, MAT, or an array handed over in code, ``colour=None``): it is read as the loader reads
    NPY and MAT files, RGB when its last axis has length 3 and its first two are longer than
    :data:`RGB_MIN_SIDE` pixels, else a volume. Where a file's tag and this shape rule disagree (a 4×4 RGB
    PNG, a 3-pixel-wide TIFF stack), the loader records the kind (:attr:`msdash.io.LoadResult.images`'s
    ``kinds``) and the data set keeps it (:attr:`msdash.data.dataset.Dataset.kinds`).

    Parameters
    ----------
    image : ndarray or tuple of int
        The image, or its shape.
    colour : bool, optional
        Whether its last axis holds colour channels, as the file said; None: decide from the shape.

    Returns
    -------
    str
        One of :data:`KINDS`.

    Raises
    ------
    InputError
        A shape other than ``(H, W)``, ``(H, W, 3)`` or ``(D, H, W)``, or ``colour=True`` without 3 channels.

    Examples
    --------
    >>> image_kind((64, 64)), image_kind((64, 64, 3)), image_kind((4, 64, 64))
    ('2d', 'rgb', '3d')
    >>> image_kind((4, 4, 3)), image_kind((4, 4, 3), colour=True), image_kind((9, 9, 3), colour=False)
    ('3d', 'rgb', '3d')
    """
    shape = tuple(int(n) for n in image) if isinstance(image, tuple) else np.shape(image)
    if len(shape) == 2:
        return "2d"
    if len(shape) != 3:
        raise InputError(f"`image` must be (H, W), (H, W, 3) or (D, H, W), got shape {shape}", name="image")
    if colour is None:
        colour = shape[-1] == 3 and min(shape[:2]) > RGB_MIN_SIDE
    elif colour and shape[-1] != 3:
        raise InputError(f"`image` must have 3 colour channels (H, W, 3) to be RGB, got shape {shape}",
                         name="image")
    return "rgb" if colour else "3d"


def kind_of(images, name):
    """The kind of sample ``name`` of a set: what the set recorded when it knows (a file can decide it), else
    :func:`image_kind` of the array.

    Parameters
    ----------
    images : mapping of str to ndarray, or an image container with ``raw(name)`` and possibly ``kind(name)``
        (:class:`msdash.data.loader.LoadedImages` records the files' kinds; a plain mapping or
        :class:`msdash.data.imagestore.Images` gives the shape rule).
    name : str

    Returns
    -------
    str
        ``"2d"``, ``"rgb"`` or ``"3d"``.

    Examples
    --------
    >>> kind_of({"a": np.zeros((4, 4, 3))}, "a"), kind_of({"b": np.zeros((8, 8, 3))}, "b")
    ('3d', 'rgb')
    """
    if callable(getattr(images, "kind", None)):
        return images.kind(name)
    return image_kind(np.asarray(images.raw(name) if hasattr(images, "raw") else images[name]))


def to_grey(image, *, kind=None):
    """Return the grey-level version of an image: the one RGB → grey rule of msdash.

    Parameters
    ----------
    image : ndarray
        ``(H, W, 3)`` RGB, or ``(H, W)`` grey / ``(D, H, W)`` volume (returned unchanged as float32).
    kind : {"2d", "rgb", "3d"}, optional
        What the image is (:meth:`msdash.data.dataset.Dataset.kind`); default :func:`image_kind` of the array.

    Returns
    -------
    ndarray, float32
        ``(H, W)`` luminance ``Y = 0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601, :data:`LUMA_WEIGHTS`; the
        values keep the input's scale) for RGB, else the input.

    Examples
    --------
    >>> rgb = np.zeros((5, 5, 3), dtype=np.float32)
    >>> rgb[..., 1] = 1.0  # pure green
    >>> round(float(to_grey(rgb)[0, 0]), 3)
    0.587
    >>> to_grey(np.zeros((4, 5))).shape, to_grey(np.ones((4, 4, 3)), kind="rgb").shape
    ((4, 5), (4, 4))
    """
    image = np.asarray(image)
    kind = image_kind(image) if kind is None else kind
    if kind not in KINDS:
        raise InputError(f"`kind` must be one of {', '.join(KINDS)}, got {kind!r}", name="kind")
    if kind == "rgb":
        image_kind(image, colour=True)  # checks the channels
        return _luma(image)
    if image.ndim != (2 if kind == "2d" else 3):
        raise InputError(f"`image` of kind {kind!r} cannot have shape {image.shape}", name="image")
    return image.astype(np.float32, copy=False)


def _luma(rgb):
    """BT.601 luma of the last (R, G, B) axis, float32."""
    return rgb.astype(np.float32, copy=False) @ np.asarray(LUMA_WEIGHTS, dtype=np.float32)
