"""Load micrographs from files, folders, zip archives and uploads into float32 arrays.

:func:`load_images` never raises for a bad file: each problem becomes a :class:`LoadError` naming the
file, saying what was wrong and what to do, and the other files still load. Pixel conventions are those
of :func:`msdash.data.images.normalise`. Property tables are read by :mod:`msdash.data.tables`, re-exported here.
"""

import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from msdash import config
from msdash.budget import DecodeBudget
from msdash.errors import InputError
from msdash.data.imagestore import Images
from msdash.data.images import SUPPORTED_EXTENSIONS, image_kind, normalise, read_npy, read_pil, read_tiff, to_grey
from msdash.data.matfile import MatChoiceError, read_mat
from msdash.data.tables import MatchReport, match_properties, read_properties

__all__ = [
    "SUPPORTED_EXTENSIONS", "LoadError", "LoadResult", "LoadedImages", "load_images", "to_grey", "image_kind",
    "read_properties", "match_properties", "MatchReport",
]

_PIL_LABELS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}
# Operating-system clutter that is skipped silently rather than reported.
_CLUTTER = {"__macosx", "thumbs.db", "desktop.ini"}


@dataclass
class LoadError:
    """A problem (or, in :attr:`LoadResult.notes`, a remark) about one input file.

    Attributes
    ----------
    name : str
        The file as the user knows it: ``"bad.png"``, ``"set.zip/sub/bad.png"``, ``"folder/sub/bad.png"``.
    message : str
        Plain-language sentence naming the file, saying what happened and what to do.
    """

    name: str
    message: str

    def __str__(self):
        return self.message


class LoadedImages(Images):
    """:class:`~msdash.data.imagestore.Images` that also say what the files said their samples are.

    Attributes
    ----------
    kinds : dict of str to str
        Sample name → ``"rgb"`` or ``"3d"``, only where the file's colour tag says otherwise than the shape
        rule of :func:`~msdash.data.images.image_kind` (a 4×4 RGB PNG; a TIFF stack 3 pixels wide). A
        :class:`~msdash.data.dataset.Dataset` built from these images keeps them.
    """

    def __init__(self, raw=None, kinds=None):
        super().__init__(raw)
        self.kinds = dict(kinds or {})

    def __delitem__(self, name):
        super().__delitem__(name)
        self.kinds.pop(name, None)

    def kind(self, name):
        """What sample ``name`` is: ``"2d"``, ``"rgb"`` or ``"3d"`` (the file's word, else its shape's)."""
        return self.kinds.get(name) or image_kind(self.raw(name))


@dataclass
class LoadResult:
    """What :func:`load_images` read.

    Attributes
    ----------
    images : LoadedImages
        Sample name (file name without folders and extension) → float32 image, in input order. The
        images are kept in their source type (8-bit, 16-bit, binary as bool) and converted on access;
        ``images.kinds`` records the samples whose kind the file's colour tag decides, not their shape.
    errors : list of LoadError
        Files that could not be loaded.
    choices : dict of str to list of str
        MAT files holding several candidate arrays: sample name → variable names to choose from
        (pass the choice back as ``mat_variables``).
    notes : list of LoadError
        Non-fatal remarks on conversions (RGBA composited, 16-bit scaled, float rescaled, ...).
    pixel_sizes : dict of str to msdash.data.pixelsize.PixelSize
        Sample name → the pixel size its file states (TIFF: FEI/Thermo, Zeiss, ImageJ or resolution tags);
        samples whose file states none are absent.
    """

    images: LoadedImages = field(default_factory=LoadedImages)
    errors: list = field(default_factory=list)
    choices: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    pixel_sizes: dict = field(default_factory=dict)

    @property
    def pixel_size(self):
        """The one pixel size all the images that state one agree on (PixelSize), else None."""
        sizes = {round(p.um, 12) for p in self.pixel_sizes.values()}
        return next(iter(self.pixel_sizes.values())) if len(sizes) == 1 else None

    @property
    def nbytes(self):
        """Bytes the loaded images take in memory, as kept (int)."""
        return self.images.nbytes


def load_images(sources, *, max_pixels=None, mat_variables=None, max_bytes=None):
    """Load images from paths, folders, zip archives and ``(name, bytes)`` uploads.

    Parameters
    ----------
    sources : path, (name, bytes) pair, or iterable of them
        Files, folders (walked recursively in sorted order), ``.zip`` archives (read in memory, never
        extracted), or ``(name, bytes)`` pairs where ``name`` may hold folders (``"sub/img.png"``) or be
        a ``.zip``. Objects with ``.name`` and ``.getvalue()`` (Streamlit uploads) work as pairs.
    max_pixels : int, optional
        Largest pixel (voxel) count per image, checked before decoding; default ``config.MAX_PIXELS``.
    mat_variables : str or dict of str to str, optional
        Which array to load from MAT files holding several: one variable name for all files, or
        sample name → variable name.
    max_bytes : int or DecodeBudget, optional
        Largest total size of the loaded images in memory, in bytes, over every axis; default
        ``config.max_upload_bytes()`` (``MSDASH_MAX_UPLOAD_BYTES``). Each file's decoded size is read from
        its header and checked before it is decoded; a file that would pass the limit is refused with a
        message and the next ones are still tried.

    Returns
    -------
    LoadResult
        Images as float32: grey ``(H, W)`` and volumes ``(D, H, W)`` in [0, 1], two-valued images as
        0/1 labels, colour ``(H, W, 3)`` in [0, 1]; plus errors, MAT choices and notes.

    Raises
    ------
    TypeError
        When ``sources`` (or one of its items) is not a path, a pair or an upload.

    Examples
    --------
    >>> import io, numpy as np
    >>> buffer = io.BytesIO()
    >>> np.save(buffer, np.array([[0, 255], [255, 0]], dtype=np.uint8))
    >>> result = load_images([("chk.npy", buffer.getvalue()), ("notes.txt", b"hi")])
    >>> result.images["chk"].tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    >>> result.errors[0].name
    'notes.txt'
    """
    state = {
        "result": LoadResult(),
        "seen": {},  # casefolded sample name -> file that claimed it
        "max_pixels": config.MAX_PIXELS if max_pixels is None else int(max_pixels),
        "mat_variables": mat_variables,
        "budget": max_bytes if isinstance(max_bytes, DecodeBudget) else DecodeBudget(
            config.max_upload_bytes() if max_bytes is None else max_bytes),
    }
    for source in _as_list(sources):
        for name, data in _files_of(source, state["result"]):
            _load_one(name, data, state)
    return state["result"]


def _as_list(sources):
    if isinstance(sources, (str, os.PathLike)) or _is_upload(sources):
        return [sources]
    return list(sources)


def _is_upload(source):
    """Whether ``source`` is a ``(name, bytes)`` pair or an object with ``.name`` and ``.getvalue()``."""
    if isinstance(source, tuple):
        return (len(source) == 2 and isinstance(source[0], (str, os.PathLike))
                and isinstance(source[1], (bytes, bytearray, memoryview)))
    return hasattr(source, "getvalue") and isinstance(getattr(source, "name", None), str)


def _files_of(source, result):
    """Yield ``(display name, Path or bytes or reader)`` for every candidate file of one source."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            yield from _walk_folder(path, result)
        elif not path.is_file():
            result.errors.append(LoadError(str(source), f"{source}: not found; check the path"))
        elif not _is_clutter(path.name):
            yield from (_walk_zip(path, path.name, result) if _is_zip(path.name) else [(path.name, path)])
    elif _is_upload(source):
        name, data = source if isinstance(source, tuple) else (source.name, source.getvalue())
        name = str(name).replace("\\", "/")
        if not any(_is_clutter(part) for part in name.split("/")):
            yield from (_walk_zip(bytes(data), name, result) if _is_zip(name) else [(name, bytes(data))])
    else:
        raise TypeError(
            f"`sources` items must be paths, (name, bytes) pairs or uploads, got {type(source).__name__}"
        )


def _is_clutter(part):
    return part.startswith(".") or part.casefold() in _CLUTTER


def _is_zip(name):
    return name.casefold().endswith(".zip")


def _walk_folder(root, result):
    found = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not _is_clutter(d))
        for file in sorted(files):
            if _is_clutter(file):
                continue
            path = Path(folder) / file
            name = f"{root.name}/{path.relative_to(root).as_posix()}"
            found += 1
            yield from (_walk_zip(path, name, result) if _is_zip(file) else [(name, path)])
    if not found:
        result.errors.append(LoadError(root.name, f"{root.name}: the folder holds no files to load"))


def _walk_zip(data, zip_name, result):
    """Yield the members of a zip archive as ``(display name, reader)``, refusing unsafe ones."""
    def refuse(name, message):
        result.errors.append(LoadError(name, f"{name}: {message}"))

    try:
        archive = zipfile.ZipFile(data if isinstance(data, Path) else io.BytesIO(data))
    except Exception as exc:  # BadZipFile, truncated central directory, ...
        refuse(zip_name, f"could not be opened as a zip archive ({exc}); the file may be damaged")
        return
    with archive:
        members = archive.infolist()
        if len(members) > config.MAX_ZIP_MEMBERS:
            refuse(zip_name, f"holds {len(members)} entries, over the limit of {config.MAX_ZIP_MEMBERS}; "
                             "split it into smaller archives or raise MSDASH_MAX_ZIP_MEMBERS")
            return
        declared = sum(info.file_size for info in members)
        if declared > config.MAX_ZIP_BYTES:
            refuse(zip_name, f"unpacks to {declared:,} bytes, over the limit of {config.MAX_ZIP_BYTES:,}; "
                             "split it into smaller archives or raise MSDASH_MAX_ZIP_BYTES")
            return
        for info in members:
            name = f"{zip_name}/{info.filename}"
            parts = re.split(r"[/\\]", info.filename)
            if info.is_dir():
                continue
            if info.filename.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", info.filename) or ".." in parts:
                refuse(name, "unsafe path in the archive (absolute or containing '..'); skipped")
            elif any(_is_clutter(part) for part in parts if part):
                continue
            elif _is_zip(info.filename):
                refuse(name, "nested zip archives are not opened; unzip it and upload its contents")
            elif info.flag_bits & 0x1:
                refuse(name, "is encrypted; unzip it with its password and upload the files")
            elif info.file_size > config.MAX_ZIP_RATIO * max(info.compress_size, 1):
                refuse(name, f"compression ratio {info.file_size / max(info.compress_size, 1):.0f}:1 is over "
                             f"the limit of {config.MAX_ZIP_RATIO}:1 (possible zip bomb); skipped")
            else:
                yield name, _ZipMember(archive, info)


@dataclass
class _ZipMember:
    """Lazy reader of one zip member, so skipped names (duplicates, unknown types) are never inflated."""

    archive: zipfile.ZipFile
    info: zipfile.ZipInfo

    def read(self, name):
        with self.archive.open(self.info) as fh:
            # Read one byte past the declared size: a lying header cannot make us hold more.
            data = fh.read(self.info.file_size + 1)
        if len(data) > self.info.file_size:
            raise InputError(f"{name}: holds more data than its zip header declares; skipped", name=name)
        return data


def _load_one(name, data, state):
    """Decode one file into ``state["result"]``; every failure becomes a LoadError."""
    result, seen = state["result"], state["seen"]
    raw = name
    name, sample, extension = _split_name(name)
    if extension not in SUPPORTED_EXTENSIONS:
        result.errors.append(_unsupported(name, extension))
        return
    key = sample.casefold()
    if key in seen:
        unicode_only = raw != name or seen[key][1]
        hint = (" (the two names differ only in how accented letters are encoded, as macOS and Windows "
                "write them)") if unicode_only else ""
        result.errors.append(LoadError(name, (
            f"{name}: duplicate name '{sample}' (already used by {seen[key][0]}){hint}; rename one of them")))
        return
    variable = state["mat_variables"]
    if isinstance(variable, dict):
        variable = variable.get(sample)
    try:
        if isinstance(data, _ZipMember):
            data = data.read(name)
        with open(data, "rb") if isinstance(data, Path) else io.BytesIO(data) as fh:
            if fh.seek(0, io.SEEK_END) == 0:
                raise InputError(f"{name}: the file is empty (0 bytes); re-export or re-upload it", name=name)
            fh.seek(0)
            meta = {}
            array, colour = _decode(fh, name, extension, state["max_pixels"], variable, state["budget"], meta)
        image, notes = normalise(array, name, colour=colour, compact=True)
        state["budget"].add(image.nbytes)
        # Colour stays colour unless normalise made it grey (equal channels, a colour volume).
        kind = image_kind(image, colour=colour and image.ndim == np.ndim(array))
        if colour and extension in (".npy", ".mat"):
            # A plain array has no colour tag: say how an (H, W, 3) array was read.
            notes.insert(0, f"array of shape {array.shape} read as an RGB image, not a 3-slice volume")
    except MatChoiceError as exc:
        result.errors.append(LoadError(name, exc.message))
        result.choices[sample] = exc.variables
        seen[key] = (name, raw != name)
    except InputError as exc:
        result.errors.append(LoadError(name, exc.message))
    except MemoryError:
        result.errors.append(LoadError(name, f"{name}: too large to load into memory; downscale or crop it"))
    except Exception as exc:  # a damaged file may fail anywhere inside a decoder
        result.errors.append(LoadError(name, f"{name}: could not be read ({exc}); the file may be damaged"))
    else:
        result.images[sample] = image
        if kind != image_kind(image):
            result.images.kinds[sample] = kind
        if meta.get("pixel_size") is not None:
            result.pixel_sizes[sample] = meta["pixel_size"]
        seen[key] = (name, raw != name)
        result.notes.extend(LoadError(name, f"{name}: {note}") for note in notes)


def _split_name(name):
    """``(name in NFC, sample name, lower-case extension)`` of a file's display name.

    NFC: the same name typed on macOS (NFD) and elsewhere (NFC) is one sample, not two look-alikes.
    """
    name = unicodedata.normalize("NFC", name)
    sample, extension = os.path.splitext(name.rsplit("/", 1)[-1])
    return name, sample, extension.lower()


def _unsupported(name, extension):
    found = f"'{extension}'" if extension else "with no extension"
    return LoadError(name, f"{name}: unsupported file type {found}; supported: {', '.join(SUPPORTED_EXTENSIONS)} "
                           "and .zip; convert it to PNG or TIFF")


def _decode(fh, name, extension, max_pixels, variable, budget, meta=None):
    """Dispatch on the extension; return ``(array, colour)``; a TIFF's pixel size goes into ``meta``."""
    if extension == ".npy":
        return read_npy(fh, name, max_pixels=max_pixels, budget=budget)
    if extension == ".mat":
        return read_mat(fh, name, max_pixels=max_pixels, variable=variable, budget=budget)
    if extension in (".tif", ".tiff"):
        return read_tiff(fh, name, max_pixels=max_pixels, budget=budget, meta=meta)
    return read_pil(fh, name, label=_PIL_LABELS[extension], max_pixels=max_pixels, budget=budget)
