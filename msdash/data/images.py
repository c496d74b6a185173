"""Decode one image file (PNG, JPEG, BMP, TIFF, NPY, MAT) into a float32 array.

The loaders here work on one open binary file and raise :class:`~msdash.errors.InputError` for anything
the user can fix; :func:`msdash.io.load_images` turns those into per-file error records. Output
conventions (float32): grey ``(H, W)`` and volumes ``(D, H, W)`` in [0, 1], colour ``(H, W, 3)`` in
[0, 1], and two-valued images as 0/1 labels. ``scipy.io``, ``h5py``, ``tifffile`` and PIL are imported
inside the functions so that ``import msdash.io`` stays fast.
"""

import re
import warnings

import numpy as np

from msdash.budget import check_decode
from msdash.errors import InputError
# What a sample is and how RGB becomes grey: one rule each, in their own module, re-exported here.
from msdash.data.kinds import KINDS, LUMA_WEIGHTS, RGB_MIN_SIDE, _luma, image_kind, to_grey  # noqa: F401

#: File extensions msdash reads as images (compared case-insensitively); ``.zip`` archives are opened too.
SUPPORTED_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".npy", ".mat")


def format_pixels(count):
    """Return a pixel count in words, in megapixels when large.

    >>> format_pixels(900_000_000), format_pixels(1_500_000), format_pixels(10**10)
    ('900 MP', '1.5 MP', '10,000 MP')
    >>> format_pixels(100)
    '100 pixels'
    """
    if count >= 1_000_000:
        megapixels = count / 1e6
        return f"{megapixels:,.0f} MP" if megapixels >= 100 else f"{megapixels:.3g} MP"
    return f"{count} pixels"


def check_pixels(shape, max_pixels, name):
    """Raise :class:`InputError` when an image of ``shape`` (colour axis excluded) is over the limit.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(D, H, W)``; the product is the pixel (voxel) count.
    max_pixels : int
        Largest pixel count accepted.
    name : str
        File name used in the message.
    """
    count = int(np.prod(shape, dtype=np.int64))
    if count > max_pixels:
        dims = "×".join(str(int(n)) for n in shape)
        raise InputError(
            f"{name}: {dims} = {format_pixels(count)} is over the limit of {format_pixels(max_pixels)}; "
            "downscale or crop it, or raise MSDASH_MAX_PIXELS",
            name=name,
        )


def normalise(array, name, *, colour=False, compact=False):
    """Convert decoded pixel values to the float32 conventions of msdash.

    Parameters
    ----------
    array : ndarray
        ``(H, W)`` or ``(D, H, W)`` values, or with ``colour=True`` a trailing channel axis of
        length 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
    name : str
        File name used in messages.
    colour : bool
        Whether the last axis holds channels.
    compact : bool
        Return 8-bit and 16-bit images in their own dtype and binary maps as bool, the form
        :class:`msdash.data.imagestore.Images` keeps (``to_float32`` of it is the float32 result, bit for bit).

    Returns
    -------
    image : ndarray, float32 (or compact)
        ``(H, W)`` / ``(D, H, W)`` in [0, 1] (two-valued images as 0/1 labels) or ``(H, W, 3)`` in [0, 1].
    notes : list of str
        Non-fatal remarks about conversions made.

    Examples
    --------
    >>> image, notes = normalise(np.array([[0, 255], [255, 0]], dtype=np.uint8), "a.png")
    >>> image.tolist(), notes
    ([[0.0, 1.0], [1.0, 0.0]], [])
    >>> image, notes = normalise(np.array([[0, 128], [255, 255]], dtype=np.uint8), "b.png")
    >>> bool(image[0, 1] == np.float32(128 / 255))
    True
    """
    array = np.asarray(array)
    if not array.dtype.isnative:  # big-endian TIFF/PIL data; the bit-depth rules compare native dtypes
        array = array.astype(array.dtype.newbyteorder("="))
    _check_values(array, name)
    notes = []
    if colour:
        array, notes, is_colour = _flatten_colour(array, name, compact)
        if is_colour:
            return array, notes
    binary = _binary_labels(array)
    if binary is not None:
        labels, low, high = binary
        if (low, high) != (0.0, 1.0):
            notes.append(f"two-valued image read as a binary map ({low:g} → 0, {high:g} → 1)")
        return (labels if compact else labels.astype(np.float32)), notes
    image, note = _scale(array, compact)
    return image, notes + ([note] if note else [])


def _check_values(array, name):
    if np.iscomplexobj(array):
        raise InputError(f"{name}: holds complex numbers; save the magnitude or the real part", name=name)
    if array.dtype.kind not in "biuf":
        raise InputError(f"{name}: holds {array.dtype} data, not pixel values; save a numeric array", name=name)
    if array.size == 0:
        raise InputError(f"{name}: the image has no pixels (shape {array.shape})", name=name)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise InputError(
            f"{name}: contains NaN or infinite values; replace them with numbers before loading", name=name
        )


def _dtype_scale(array):
    """Return ``array`` as float32 divided by its bit depth (8/16-bit), else unchanged values."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    return array.astype(np.float32)


def _flatten_colour(array, name, compact=False):
    """Composite alpha on white and collapse identical channels; return (array, notes, is_colour).

    Grey results keep their source dtype (so the binary and bit-depth rules still apply);
    colour results are float32 (H, W, 3) in [0, 1].
    """
    notes = []
    channels = array.shape[-1]
    if channels not in (1, 2, 3, 4):
        raise InputError(f"{name}: has {channels} channels; expected grey, RGB or RGBA", name=name)
    if channels in (2, 4):
        values = _dtype_scale(array)
        values, _ = _scale(values) if values.min() < 0 or values.max() > 1 else (values, None)
        alpha = values[..., -1:]
        colour = values[..., :-1] * alpha + (1.0 - alpha)  # composite on white
        notes.append(("RGBA" if channels == 4 else "grey+alpha") + " converted to "
                     + ("RGB" if channels == 4 else "grey") + " (composited on white)")
        array = np.clip(colour, 0.0, 1.0).astype(np.float32)
        channels -= 1
    if channels == 1 or (
        np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 0], array[..., 2])
    ):
        return array[..., 0], notes, False
    if array.ndim == 4:
        notes.append("colour volume converted to grey (ITU-R BT.601 luminance)")
        return _luma(_scale_colour(array)), notes, False
    if compact and array.dtype in (np.uint8, np.uint16):
        return array, notes, True
    return _scale_colour(array), notes, True


def _scale_colour(array):
    if array.dtype.kind == "f" and array.min() >= 0 and array.max() <= 1:
        return array.astype(np.float32)
    if array.dtype in (np.uint8, np.uint16):
        return _dtype_scale(array)
    return _scale(array)[0]


def _binary_labels(array):
    """Return (bool labels, low, high) for an image with exactly two values, else None.

    ``low`` and ``high`` are the two values after bit-depth scaling, for the note.
    """
    low, high = array.min(), array.max()
    if low == high or np.count_nonzero((array != low) & (array != high)):
        return None
    scaled = _dtype_scale(np.array([low, high], dtype=array.dtype))
    return array == high, float(scaled[0]), float(scaled[1])


def _scale(array, compact=False):
    """Return (float32 array in [0, 1], note or None) following the bit-depth / min–max rules.

    With ``compact``, bool, 8-bit and 16-bit arrays come back unchanged (their float32 form is implied).
    """
    if array.dtype == np.bool_ or array.dtype == np.uint8:
        return (array if compact else _dtype_scale(array)), None
    if array.dtype == np.uint16:
        return (array if compact else _dtype_scale(array)), "16-bit scaled by 1/65535"
    low, high = float(array.min()), float(array.max())
    if low >= 0 and high <= 1:
        return array.astype(np.float32), None
    kind = "float" if array.dtype.kind == "f" else f"{array.dtype} integer"
    if low == high:
        return np.zeros(array.shape, np.float32), f"constant {kind} image (value {low:g}) set to 0"
    image = ((array.astype(np.float64) - low) / (high - low)).astype(np.float32)
    return image, f"{kind} image rescaled from [{low:g}, {high:g}] to [0, 1]"


def read_pil(fh, name, *, label, max_pixels, budget=None):
    """Decode a PNG/JPEG/BMP (or fallback TIFF) with PIL; return (array, colour).

    The size (pixels, and bytes against ``budget``, a :class:`msdash.budget.DecodeBudget`) is checked
    on the lazily opened image, before any pixel is decoded.
    """
    Image = _pil_image(max_pixels)
    try:
        with warnings.catch_warnings():
            # Our own limit is checked below; PIL's warning would only duplicate it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fh)
            check_pixels((im.height, im.width), max_pixels, name)
            bands = 4 if im.mode in ("P", "PA") else len(im.getbands())  # palettes expand to RGB(A)
            itemsize = 2 if im.mode.startswith("I;16") else 4 if im.mode in ("I", "F") else 1
            check_decode(budget, name, (im.height, im.width, bands), np.dtype(f"u{itemsize}"), colour=bands > 1)
            im.load()
            return _pil_to_array(im)
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = format_pixels(int(found.group(1))) if found else "the image"
        raise InputError(
            f"{name}: {size} is over the limit of {format_pixels(max_pixels)}; "
            "downscale or crop it, or raise MSDASH_MAX_PIXELS",
            name=name,
        ) from None
    except Image.UnidentifiedImageError:
        raise InputError(
            f"{name}: could not be read as {label}: it is not an image PIL recognises; the file may be "
            "damaged or mislabelled, re-export it", name=name,
        ) from None
    except Exception as exc:  # PIL raises many types for damaged files
        raise InputError(
            f"{name}: could not be read as {label}: {exc}; the file may be damaged, re-export it", name=name
        ) from None


def _pil_image(max_pixels):
    from PIL import Image

    # PIL refuses images over twice this value before we can look at them; keep its guard at least as
    # generous as ours so that our message (with the size and the fix) is the one users see.
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels
    return Image


def _pil_to_array(im):
    """Return (array, colour) for a decoded PIL image of any mode."""
    mode = im.mode
    if mode == "P" or mode == "PA":
        im = im.convert("RGBA" if ("transparency" in im.info or mode == "PA") else "RGB")
    elif mode in ("LA", "La", "RGBa"):
        im = im.convert("RGBA")
    elif mode not in ("1", "L", "I", "F", "RGB", "RGBA") and not mode.startswith("I;16"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, ...
    array = np.asarray(im)
    return array, array.ndim == 3


def read_tiff(fh, name, *, max_pixels, budget=None, meta=None):
    """Decode a TIFF with tifffile, falling back to PIL; return (array, colour).

    Equal-shaped pages become a ``(D, H, W)`` volume; pages of different shapes are refused. When ``meta`` is
    a dict, the pixel size the file states (:func:`msdash.data.pixelsize.tiff_pixel_size`) is put under
    ``"pixel_size"``.
    """
    try:
        return _read_tiff_pages(fh, name, max_pixels, budget, meta)
    except InputError:
        raise
    except Exception as exc:  # palette TIFFs, or codecs tifffile lacks: PIL may still read them
        fh.seek(0)
        try:
            return read_pil(fh, name, label="TIFF", max_pixels=max_pixels, budget=budget)
        except InputError as pil_error:
            limit = "over the limit" in pil_error.message or "over its limit" in pil_error.message
            if isinstance(exc, _UsePil) or limit:
                raise
            raise InputError(
                f"{name}: could not be read as TIFF: {exc}; the file may be damaged, re-export it", name=name
            ) from None


def _read_tiff_pages(fh, name, max_pixels, budget, meta=None):
    import tifffile

    from msdash.data.pixelsize import tiff_pixel_size

    # Never open other files: multi-file OME series name them by path, Micro-Manager and NDTiff series
    # look for siblings in the file's folder. An uploaded TIFF is read from its own bytes only.
    with tifffile.TiffFile(fh, _multifile=False, is_mmstack=False, is_ndtiff=False) as tif:
        series = tif.series
        if not series:
            raise InputError(
                f"{name}: could not be read as TIFF: it holds no readable image; the file may be damaged, "
                "re-export it", name=name,
            )
        if len({(s.shape, s.axes) for s in series}) > 1:
            shapes = ", ".join("×".join(map(str, s.shape)) for s in series[:5])
            raise InputError(
                f"{name}: the TIFF pages have different sizes ({shapes}); save each page as its own file",
                name=name,
            )
        page = tif.pages.first
        if page.photometric == tifffile.PHOTOMETRIC.PALETTE:
            raise _UsePil()
        shape, axes = series[0].shape, series[0].axes
        if len(series) > 1:
            shape, axes = (len(series), *shape), "I" + axes
        # The file says whether a short axis is colour: RGB photometric marks samples as channels.
        colour = "S" in axes and page.photometric == tifffile.PHOTOMETRIC.RGB
        spatial = tuple(n for n, ax in zip(shape, axes) if n > 1 and not (colour and ax == "S"))
        if len(spatial) not in (2, 3):
            raise InputError(
                f"{name}: expected a 2-D image or 3-D volume, got shape {tuple(shape)} (axes {axes})",
                name=name,
            )
        check_pixels(spatial, max_pixels, name)
        samples = shape[axes.index("S")] if "S" in axes else 1
        if samples > 4:
            raise InputError(
                f"{name}: has {samples} samples per pixel; expected grey, RGB or RGBA (1 to 4); save the "
                "channels as separate images", name=name,
            )
        if budget is not None:
            budget.check(name, shape, series[0].dtype,
                         kept_values=int(np.prod(spatial, dtype=np.int64)) * (3 if colour else 1))
        array = np.stack([s.asarray() for s in series]) if len(series) > 1 else series[0].asarray()
        if meta is not None:
            meta["pixel_size"] = tiff_pixel_size(tif)
    array = array.reshape(shape)
    if colour:
        array = np.moveaxis(array, axes.index("S"), -1)
    keep = [i for i, n in enumerate(array.shape) if n > 1 or (colour and i == array.ndim - 1)]
    return array.reshape([array.shape[i] for i in keep]), colour


class _UsePil(Exception):
    """Raised by :func:`_read_tiff_pages` for TIFF flavours PIL converts better (palette)."""


def read_npy(fh, name, *, max_pixels, budget=None):
    """Decode a NumPy ``.npy`` file without ever unpickling; return (array, colour).

    The header is read first so that dtype, dimensionality and pixel count are checked before the
    array is allocated.
    """
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):  # 3.0 differs only by a UTF-8 header (structured names)
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise InputError(
                f"{name}: could not be read as NPY (unknown format version {version[0]}.{version[1]}); "
                "the file may be damaged, save the array again with numpy.save", name=name,
            )
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            f"{name}: could not be read as NPY: {exc}; the file may be damaged, save it again with numpy.save",
            name=name,
        ) from None
    if dtype.hasobject:
        raise InputError(
            f"{name}: holds Python objects (dtype {dtype}), which are never loaded for safety; "
            "save a plain numeric array", name=name,
        )
    colour = check_shape(shape, dtype, name)
    check_pixels(shape[:2] if colour else shape, max_pixels, name)
    check_decode(budget, name, shape, dtype, colour=colour)
    fh.seek(0)
    try:
        return np.load(fh, allow_pickle=False), colour
    except Exception as exc:
        raise InputError(
            f"{name}: could not be read as NPY: {exc}; the file may be truncated, save it again", name=name
        ) from None


def check_shape(shape, dtype, name):
    """Check dtype and shape of an NPY/MAT array; return whether it is an (H, W, 3) colour image."""
    if dtype.kind == "c":
        raise InputError(f"{name}: holds complex numbers; save the magnitude or the real part", name=name)
    if dtype.kind not in "biuf":
        raise InputError(f"{name}: holds {dtype} data, not pixel values; save a numeric array", name=name)
    if len(shape) not in (2, 3):
        raise InputError(f"{name}: expected a 2-D image or 3-D volume, got shape {tuple(shape)}", name=name)
    # (D, H, W) is a volume; (H, W, 3) with a large H and W can only sensibly be RGB (the one rule).
    return image_kind(tuple(shape)) == "rgb"
