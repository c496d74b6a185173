"""The SEM data bar: the info strip (text, scale bar) many electron microscopes write below the micrograph."""

import numpy as np

from ..errors import InputError
from .kinds import kind_of

__all__ = ["find_data_bar", "data_bar_heights", "crop_rows", "cropped_dataset"]

#: Tolerance of "the bar's background value", as a fraction of the image's value range (≈ 2.5 grey levels).
_TOLERANCE = 2.5 / 255
#: A bar row has at least this fraction of its pixels at the background value (text and scale bar are sparse).
_BACKGROUND_SHARE = 0.4
#: A row this uniform around its own median is a separator line of the bar.
_FLAT_SHARE = 0.9
#: Pixels this far from the background (fraction of the range) are the bar's text or scale bar.
_CONTENT_CONTRAST = 0.25


def _grey(image):
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 3:  # a block of rows of an RGB image (the caller knows its kind)
        image = image.mean(axis=-1, dtype=np.float32)
    if image.ndim != 2:
        raise InputError(f"`image` must be a 2-D or RGB (H, W, 3) micrograph, got shape {image.shape}",
                         name="image")
    return image.astype(np.float32, copy=False)


def _mode(values, tol):
    # The most common value up to ``tol``: the background of a rendered strip is one exact grey level.
    bins = np.round(values.ravel() / tol).astype(np.int64)
    uniques, counts = np.unique(bins, return_counts=True)
    return float(uniques[np.argmax(counts)] * tol)


def find_data_bar(image, *, max_fraction=0.4):
    """Height in rows of the data bar at the bottom of a micrograph, or 0 when there is none.

    A data bar is a band of rows reaching the bottom edge in which most pixels share one background value
    (to ±2.5/255 of the image's range), interrupted only by sparse text and a scale bar that stand out by at
    least a quarter of the range; separator lines (rows uniform around their own median) count as bar rows.
    It is reported only when the rows above it are not like it (at most 10 % of them would pass as bar rows
    and at most 10 % of their pixels are at the bar's background: a micrograph has texture and noise), when
    they are not a phase map (no grey level holds half of their pixels), when the band holds such text, and
    when it is 3 rows to ``max_fraction`` of the height tall. Binary phase maps, noise, smooth fields, dark
    bands inside the image and uniform bands without text give 0.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        Any numeric type (uint8, uint16, float).
    max_fraction : float
        Tallest bar looked for, as a fraction of ``H``.

    Returns
    -------
    int
        Rows to crop from the bottom (0: none).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sem = rng.integers(60, 200, size=(64, 80)).astype(np.uint8)  # a noisy micrograph
    >>> sem[52:] = 0                                                  # a 12-row black strip...
    >>> sem[55:60, 5:30] = 255                                        # ...with a white label
    >>> find_data_bar(sem), find_data_bar(sem[:52])
    (12, 0)
    """
    image = np.asarray(image)
    _grey(image[:1])  # checks the shape
    height, width = image.shape[:2]
    if height < 16 or width < 8:
        return 0
    tallest = int(height * max_fraction)
    top = height - min(height, tallest + max(8, height // 10))  # rows above this cannot be bar or just above it
    blocks = _row_blocks(top, height, width)
    low = min(float(np.min(_grey(image[a:b]))) for a, b in blocks)
    span = max(float(np.max(_grey(image[a:b]))) for a, b in blocks) - low
    if not np.isfinite(span) or span <= 0:
        return 0
    tol = span * _TOLERANCE
    background = _mode(_grey(image[height - max(2, min(8, tallest // 4)):]) - low, tol)
    share, flat = np.empty(height - top), np.empty(height - top, bool)
    for a, b in blocks:  # row statistics a block at a time: a 64-megapixel image is never copied whole
        block = _grey(image[a:b]) - low
        share[a - top: b - top] = np.mean(np.abs(block - background) <= tol, axis=1)
        median = np.median(block, axis=1, keepdims=True)
        flat[a - top: b - top] = np.mean(np.abs(block - median) <= tol, axis=1) >= _FLAT_SHARE
    bar_row = (share >= _BACKGROUND_SHARE) | flat
    rows = len(bar_row) if bar_row.all() else int(np.argmin(bar_row[::-1]))
    if not 3 <= rows <= tallest:
        return 0
    above = slice(max(0, len(bar_row) - rows - max(8, rows)), len(bar_row) - rows)
    if bar_row[above].mean() > 0.1 or share[above].mean() > 0.1:
        return 0
    # A micrograph has many grey levels; a phase map (two values) with a blob at the bottom is no data bar.
    step = max(1, (above.stop - above.start) * width // 1_000_000)  # a sample of rows is enough for a share
    sample = _grey(image[top + above.start: top + above.stop: step]) - low
    if np.mean(np.abs(sample - _mode(sample, tol)) <= tol) > 0.5:
        return 0
    content = content_rows = pixels = 0
    for a, b in _row_blocks(height - rows, height, width):
        block = (_grey(image[a:b]) - low)[~flat[a - top: b - top]]
        found = np.abs(block - background) > _CONTENT_CONTRAST * span
        content, content_rows, pixels = (content + int(found.sum()),
                                         content_rows + int(np.count_nonzero(found.any(axis=1))), pixels + found.size)
    if content < max(4, 0.001 * pixels) or content_rows < 2:
        return 0
    return rows


def _row_blocks(start, stop, width):
    # Rows per block from the memory budget (about five float32 copies of a block are alive at once), at most
    # 64 MB: larger blocks are no faster and raise the peak (bench/databar.py, 8192²: ~137 MB RSS, not ~480 MB).
    from ..config import memory_budget

    step = max(1, min(memory_budget(), 64 * 2**20) // (20 * max(1, width)))
    return [(a, min(stop, a + step)) for a in range(start, stop, step)]


def data_bar_heights(images, *, names=None, max_fraction=0.4, progress=None):
    """:func:`find_data_bar` of each 2-D or RGB image of a set (3-D volumes: 0).

    Parameters
    ----------
    images : Images or mapping of str to ndarray
        Read one at a time in their kept type (no float32 copy of the whole set).
    names : sequence of str, optional
        Which images (default all).
    max_fraction : float
    progress : callable(done, total), optional

    Returns
    -------
    dict of str to int
    """
    names = list(images) if names is None else list(names)
    raw = images.raw if hasattr(images, "raw") else images.__getitem__
    heights = {}
    for i, name in enumerate(names):
        image = np.asarray(raw(name))
        planar = kind_of(images, name) != "3d"
        heights[name] = find_data_bar(image, max_fraction=max_fraction) if planar else 0
        if progress is not None:
            progress(i + 1, len(names))
    return heights


def crop_rows(images, rows):
    """The images without their bottom ``rows`` rows, kept in their compact type (views, nothing copied).

    Parameters
    ----------
    images : Images or mapping of str to ndarray
    rows : int or mapping of str to int
        One height for all, or one per image (missing names: 0).

    Returns
    -------
    Images

    Raises
    ------
    InputError
        A negative height, a height that leaves fewer than 8 rows, or a 3-D volume with rows to crop.

    Examples
    --------
    >>> crop_rows({"a": np.zeros((20, 5), np.uint8)}, 4).raw("a").shape
    (16, 5)
    """
    from .imagestore import Images

    raw = images.raw if hasattr(images, "raw") else images.__getitem__
    cropped = Images()
    for name in images:
        image = np.asarray(raw(name))
        cut = rows.get(name, 0) if hasattr(rows, "get") else rows
        try:
            cut = int(cut)
        except (TypeError, ValueError):
            raise InputError(f"Rows to crop must be a whole number, got {cut!r}", name="rows") from None
        if cut < 0:
            raise InputError(f"Rows to crop must be 0 or more, got {cut}", name="rows")
        if cut and kind_of(images, name) == "3d":
            raise InputError(f"{name}: a 3-D volume has no data bar to crop", name=name)
        if cut and image.shape[0] - cut < 8:
            raise InputError(f"{name}: cropping {cut} rows would leave {max(0, image.shape[0] - cut)} of its "
                             f"{image.shape[0]} rows; choose fewer rows", name=name)
        cropped[name] = image[: image.shape[0] - cut] if cut else image
    return cropped


def cropped_dataset(dataset, rows):
    """A new data set: ``dataset`` with its data bars cropped, the same table, group column and pixel size.

    Parameters
    ----------
    dataset : Dataset
    rows : int or mapping of str to int
        As for :func:`crop_rows`.

    Returns
    -------
    Dataset
        Named ``"<name> (data bar cropped)"``; its images (and so its id) are new.

    Raises
    ------
    InputError
        Nothing to crop, or a height :func:`crop_rows` refuses.
    """
    from .dataset import Dataset

    heights = [rows.get(n, 0) for n in dataset.names] if hasattr(rows, "get") else [rows]
    if not any(int(h) for h in heights):
        raise InputError("No rows to crop: no data bar was found or chosen.", name="rows")
    images = crop_rows(dataset.images, rows)
    cut = [int(h) for h in heights if int(h)]
    described = f"{min(cut)}" if min(cut) == max(cut) else f"{min(cut)}–{max(cut)}"
    note = f"data bar cropped: {described} rows removed from the bottom of the images"
    return Dataset(f"{dataset.name} (data bar cropped)", images, dataset.properties,
                   group_column=dataset.group_column, source=dataset.source, notes=[*dataset.notes, note],
                   derived=dict(dataset.derived), pixel_size_um=dataset.pixel_size_um,
                   kinds={name: kind for name, kind in dataset.kinds.items() if name in images})
