"""List the images of files, folders and zip archives by sample name, and decode them in bounded blocks.

``python -m msdash extract --shard i/n`` picks its share of a folder from :func:`list_images` (names only,
nothing decoded), then :func:`plan_blocks` cuts the share into blocks whose estimated decoded size fits
:func:`memory_budget`, and :func:`read_block` decodes one block with :func:`msdash.io.load_images`. Peak memory
therefore follows one block, not the folder.

The listing walks with the walker of :func:`~msdash.io.load_images` itself (same sorted walk, clutter skipping,
zip checks and messages) and applies its naming rules: the sample is the file name without folders and
extension, unsupported extensions are reported, and files whose names are equal up to case (or Unicode
normalisation) share one *slot*. A slot's files are decoded together in walk order, so the first that decodes
claims the name and the others are reported as duplicates, exactly as one ``load_images`` call does.
"""

import contextlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from msdash.config import memory_budget  # one definition, re-exported for the CLI

__all__ = ["Block", "ImageSource", "Listing", "list_images", "estimate_bytes", "memory_budget", "plan_blocks",
           "read_block"]

#: float32 copies of a decoded image alive while it is extracted: the image kept in the block, the
#: extractor's prepared copies (grey, segmented) and working arrays. Measured: ``volume_fraction`` with Otsu
#: segmentation peaks at about 20 bytes per pixel of a 4000×4000 8-bit PNG (bench/_upload_shard.py).
_WORKING_COPIES = 5
_FLOAT32 = 4


@dataclass(frozen=True)
class ImageSource:
    """One image file, listed but not read.

    Attributes
    ----------
    name : str
        The file as :func:`msdash.io.load_images` names it in messages (``"pngs/sub/a.png"``, ``"set.zip/a.png"``).
    sample : str
        Sample name: the file name without folders and extension.
    path : Path
        The file, or the zip archive holding it.
    member : zipfile.ZipInfo or None
        The archive member, for files inside a zip.
    size : int
        Bytes of the file (uncompressed size for a zip member).
    """

    name: str
    sample: str
    path: Path
    member: zipfile.ZipInfo | None = None
    size: int = 0


@dataclass
class Listing:
    """What :func:`list_images` found.

    Attributes
    ----------
    slots : list of tuple of ImageSource
        One tuple per sample name, sorted by name (``sorted`` order of the first file's sample name); a tuple
        holds more than one file when names collide, in walk order.
    errors : list of LoadError
        Files refused without decoding: unsupported types, unsafe or oversized zips, missing paths.
    """

    slots: list = field(default_factory=list)
    errors: list = field(default_factory=list)


def list_images(sources):
    """List the image files of paths, folders and zip archives without decoding any.

    Parameters
    ----------
    sources : path or iterable of paths
        Files, folders (walked recursively in sorted order) and ``.zip`` archives.

    Returns
    -------
    Listing
        Slots sorted by sample name, and the files refused while listing.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("b.png", "a.tif", "sub/A.npy", "notes.txt"):
    ...     (folder / name).parent.mkdir(exist_ok=True)
    ...     _ = (folder / name).write_bytes(b"x")
    >>> listing = list_images(folder)
    >>> [[s.sample for s in slot] for slot in listing.slots]
    [['a', 'A'], ['b']]
    >>> listing.errors[0].name.endswith("notes.txt")
    True
    """
    from msdash.data.loader import SUPPORTED_EXTENSIONS, LoadResult, _as_list, _files_of, _split_name, _unsupported

    refused = LoadResult()
    slots = {}
    for source in _as_list(sources):
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(f"`sources` items must be paths, got {type(source).__name__}")
        for name, data in _files_of(source, refused):
            shown, sample, extension = _split_name(name)  # the loader's naming rule, NFC included
            if extension not in SUPPORTED_EXTENSIONS:
                refused.errors.append(_unsupported(shown, extension))
                continue
            if isinstance(data, Path):
                item = ImageSource(name, sample, data, None, data.stat().st_size)
            else:  # a lazy zip member; its archive is closed once the walk is over, so keep where it lives
                item = ImageSource(name, sample, Path(data.archive.filename), data.info, data.info.file_size)
            slots.setdefault(sample.casefold(), []).append(item)
    ordered = sorted(slots.values(), key=lambda slot: slot[0].sample)
    return Listing([tuple(slot) for slot in ordered], refused.errors)


def estimate_bytes(source, *, archive=None):
    """Estimated peak bytes of one image while it is decoded and extracted, from its header.

    PNG, JPEG, BMP, TIFF and NPY headers give the value count (pixels × channels); other files, and headers
    that cannot be read (the decoder will report them), count one value per byte of the file.

    Parameters
    ----------
    source : ImageSource
    archive : zipfile.ZipFile, optional
        The open archive of a zip member (saves re-reading its directory for every member).

    Returns
    -------
    int
        ``values × 4 bytes (float32) × 5 working copies``.
    """
    try:
        with _opened(source, archive) as fh:
            values = _header_values(fh, os.path.splitext(source.name)[1].lower())
    except Exception:  # noqa: BLE001 — a damaged header is the decoder's to report
        values = None
    return max(1, values or source.size) * _FLOAT32 * _WORKING_COPIES


class Block(NamedTuple):
    """Slots decoded together, and their estimated peak bytes (:func:`estimate_bytes`)."""

    slots: list
    nbytes: int


def plan_blocks(slots, budget):
    """Cut ``slots`` (in order) into blocks whose estimated bytes stay within ``budget``.

    Parameters
    ----------
    slots : list of tuple of ImageSource
    budget : int
        Bytes; a slot larger than the budget makes a block of its own.

    Returns
    -------
    list of Block
    """
    with contextlib.ExitStack() as stack:
        archives = _ArchiveCache(stack)
        costs = [max(estimate_bytes(s, archive=archives.get(s)) for s in slot) for slot in slots]
    blocks, current, used = [], [], 0
    for slot, cost in zip(slots, costs):
        if current and used + cost > budget:
            blocks.append(Block(current, used))
            current, used = [], 0
        current.append(slot)
        used += cost
    return blocks + ([Block(current, used)] if current else [])


def read_block(slots, **options):
    """Decode the files of ``slots`` with :func:`msdash.io.load_images`, reading nothing else.

    Parameters
    ----------
    slots : list of tuple of ImageSource
    **options
        Passed to :func:`~msdash.io.load_images` (``max_pixels``, ``mat_variables``, ``max_bytes``).

    Returns
    -------
    LoadResult
        As one ``load_images`` call over the whole folder would give for these files: same sample names,
        same messages (naming the file as the folder walk does).
    """
    from msdash.errors import InputError
    from msdash.data.loader import LoadError, LoadResult, _is_clutter, _ZipMember, load_images

    pairs, failed = [], []
    with contextlib.ExitStack() as stack:
        archives = _ArchiveCache(stack)
        for source in (source for slot in slots for source in slot):
            try:
                if source.member is None:
                    data = source.path.read_bytes()
                else:
                    data = _ZipMember(archives.get(source), source.member).read(source.name)
            except InputError as exc:
                failed.append(LoadError(source.name, exc.message))
                continue
            except Exception as exc:  # the file vanished or the disk failed since the listing
                failed.append(LoadError(source.name, f"{source.name}: could not be read ({exc}); "
                                                     "the file may be damaged"))
                continue
            name = source.name
            # An upload's name is walked again: a folder given as ".." or ".data" would look like clutter.
            if "\\" in name or any(_is_clutter(part) for part in name.split("/") if part):
                name = source.sample + os.path.splitext(source.name)[1]
            pairs.append((name, data))
    result = load_images(pairs, **options) if pairs else LoadResult()
    result.errors[:0] = failed
    return result


class _ArchiveCache:
    """Zip archives opened once each, closed with ``stack``."""

    def __init__(self, stack):
        self._stack, self._open = stack, {}

    def get(self, source):
        if source.member is None:
            return None
        if source.path not in self._open:
            self._open[source.path] = self._stack.enter_context(zipfile.ZipFile(source.path))
        return self._open[source.path]


@contextlib.contextmanager
def _opened(source, archive):
    if source.member is None:
        with open(source.path, "rb") as fh:
            yield fh
    elif archive is None:
        with zipfile.ZipFile(source.path) as owned, owned.open(source.member) as fh:
            yield fh
    else:
        with archive.open(source.member) as fh:
            yield fh


def _header_values(fh, extension):
    """Pixels × channels declared by the header, or None for formats read whole (MAT)."""
    import numpy as np

    shape = _header_shape(fh, extension)
    return None if shape is None else int(np.prod(shape, dtype=np.int64))


def _header_shape(fh, extension):
    """The array shape the header declares, ``(H, W)``, ``(H, W, bands)`` or ``(pages, …)``; None for MAT."""
    if extension == ".npy":
        import numpy as np

        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        return tuple(int(n) for n in read(fh)[0])
    if extension in (".tif", ".tiff"):
        import tifffile

        with tifffile.TiffFile(fh, _multifile=False, is_mmstack=False, is_ndtiff=False) as tif:
            series = [tuple(int(n) for n in s.shape) for s in tif.series]
        return series[0] if len(series) == 1 else (len(series), *series[0]) if series else None
    if extension in (".png", ".jpg", ".jpeg", ".bmp"):
        import warnings

        from PIL import Image

        with warnings.catch_warnings():  # an image over PIL's guard raises: the decoder reports it
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fh) as im:
                bands = len(im.getbands())
                return (im.height, im.width) if bands == 1 else (im.height, im.width, bands)
    return None


def header_shapes(slots):
    """The distinct image shapes the files' headers declare, without decoding a pixel.

    Parameters
    ----------
    slots : list of tuple of ImageSource
        From :func:`list_images`.

    Returns
    -------
    set of tuple
        Shapes as the loader will keep them: ``(H, W)``, ``(H, W, 3)`` for colour (alpha dropped) or
        ``(D, H, W)`` for a volume, squeezed of axes of length 1. Files whose header cannot be read (MAT, a
        damaged file) are left out; their decoder reports them.
    """
    shapes = set()
    with contextlib.ExitStack() as stack:
        archives = _ArchiveCache(stack)
        for slot in slots:
            for source in slot:
                try:
                    extension = os.path.splitext(source.name)[1].lower()
                    with _opened(source, archives.get(source)) as fh:
                        shape = _header_shape(fh, extension)
                except Exception:  # noqa: BLE001 — a damaged header is the decoder's to report
                    shape = None
                if shape is not None:
                    shape = tuple(n for n in shape if n > 1)
                    # An image file's last short axis holds colour bands (alpha is dropped); an NPY array has
                    # no colour tag and keeps its shape (image_kind: a (D, H, 4) array is a volume).
                    if len(shape) == 3 and shape[-1] in (3, 4) and extension != ".npy":
                        shape = (*shape[:2], 3)
                    shapes.add(shape)
    return shapes
