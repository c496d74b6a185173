"""Thumbnails of a data set's samples packed into a few image sheets (an atlas) for hover images on the maps.

The atlas is one binary payload, laid out like :func:`msdash.app.fastmap.pack_map`'s: a little-endian ``uint32``
header length, a JSON header (padded so the arrays start at a multiple of 4), then the arrays and the encoded
sheets. Cell ``i`` of the atlas holds the thumbnail (:func:`msdash.display.thumbnail`) of sample ``i``, at the
top-left of its ``cell × cell`` square. The browser decodes the sheets once and draws one cell per hover.
Built in blocks sized from :func:`msdash.config.memory_budget`, cached in the workspace under ``atlases/`` by
data set id and cell size, so a map of 50,000 samples sends its images once, not on every rerun.
"""

import hashlib
import io
import json
import math
import re
import struct

import numpy as np

from msdash.errors import InputError

__all__ = ["FORMAT_VERSION", "MAX_SHEET_SIDE", "LOSSLESS_MAX", "atlas_settings", "build_atlas", "read_atlas",
           "atlas_cell", "atlas_path", "dataset_atlas", "build_saved_atlas", "delete_atlases"]

#: Bumped when the payload layout changes; part of the cache file name, so old files are never misread.
FORMAT_VERSION = 1
#: Longest side of one sheet in pixels (every browser decodes 4096² images).
MAX_SHEET_SIDE = 4096
#: Up to this many samples the sheets are lossless PNG at 40 px cells; above, lossy WebP at 32 px cells
#: (about 6 and 0.2–1 kB a sample at 50,000 random maps: tens of MB lossless, a few MB lossy).
LOSSLESS_MAX = 10_000
#: Working bytes per cell byte while a sheet is filled and encoded (the sheet, the encoder's copy, its output).
_WORK_FACTOR = 4
_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_NAME_SEP = "\x1f"


def atlas_settings(n_samples):
    """Cell size and WebP quality (None = lossless PNG) the maps use for ``n_samples`` samples.

    Examples
    --------
    >>> atlas_settings(300), atlas_settings(50_000)
    ((40, None), (32, 80))
    """
    return (40, None) if n_samples <= LOSSLESS_MAX else (32, 80)


def _plane(images, name):
    """The 2-D (or RGB) picture of one sample, converting only that plane of a volume to float32."""
    from msdash.display import display_plane

    raw = getattr(images, "raw", None)
    if raw is None:
        return display_plane(images[name])
    from msdash.data.imagestore import to_float32

    return to_float32(display_plane(raw(name)))


def _is_rgb(images, name):
    array = images.raw(name) if hasattr(images, "raw") else images[name]
    return array.ndim == 3 and array.shape[-1] == 3


def _layout(n, cell, channels, budget):
    """(columns, cells per sheet): square-ish sheets no larger than the budget allows, at least one cell."""
    most_side = MAX_SHEET_SIDE // cell
    fits = max(1, int(budget) // (_WORK_FACTOR * cell * cell * channels))
    per_sheet = max(1, min(n, most_side * most_side, fits))
    columns = min(most_side, max(1, math.isqrt(per_sheet)))
    return columns, max(1, per_sheet // columns) * columns


def _encode(sheet, quality):
    from PIL import Image

    buffer = io.BytesIO()
    if quality is None:
        Image.fromarray(sheet).save(buffer, format="PNG", compress_level=6)
    else:
        Image.fromarray(sheet).save(buffer, format="WEBP", quality=int(quality), method=0)  # fastest; no larger here
    return buffer.getvalue()


def build_atlas(images, names=None, *, cell=40, quality=None, budget=None):
    """Pack the thumbnails of ``names`` into image sheets: the payload the maps' hover images are drawn from.

    Parameters
    ----------
    images : Mapping[str, ndarray]
        Sample name → image (``Dataset.images``): ``(H, W)``, ``(H, W, 3)`` or ``(D, H, W)``, floats in [0, 1].
        A volume shows its middle z-section (as the gallery does); RGB stays colour.
    names : sequence of str, optional
        Samples in cell order; default every sample of ``images`` in its order.
    cell : int
        Side of a cell in pixels (8–255): each thumbnail's longer side.
    quality : int, optional
        WebP quality (1–100, lossy); None encodes lossless PNG.
    budget : int, optional
        Working bytes one sheet may take; default :func:`msdash.config.memory_budget`. Sheets hold fewer cells
        under a small budget; only one sheet and one image are held at a time.

    Returns
    -------
    bytes
        ``uint32`` header length L, L bytes of JSON header, then the body. The header holds ``version``,
        ``n``, ``cell``, ``columns``, ``per_sheet`` (cells per sheet; cell ``i`` is on sheet
        ``i // per_sheet`` at row ``(i % per_sheet) // columns``, column ``(i % per_sheet) % columns``),
        ``channels`` (1 grey, 3 RGB), ``mime``, ``sheets`` (``[offset, length]`` of each encoded image in the
        body), ``arrays`` (``[offset, count, dtype]``: ``size`` uint8 ``(n, 2)`` height and width of each
        thumbnail, ``width_px`` int32 width of each sample's picture in pixels, for scale bars, ``names``
        UTF-8 joined by U+001F) and ``token`` (changes with the contents).

    Examples
    --------
    >>> payload = build_atlas({"dark": np.zeros((4, 8)), "light": np.ones((8, 8))}, cell=16)
    >>> header, arrays, sheets = read_atlas(payload)
    >>> header["n"], header["columns"], arrays["size"].tolist(), arrays["width_px"].tolist()
    (2, 1, [[8, 16], [16, 16]], [8, 8])
    >>> int(atlas_cell(payload, 1).min()), int(atlas_cell(payload, 0).max())  # all white, all black
    (255, 0)
    """
    from msdash.config import memory_budget
    from msdash.display import thumbnail, to_uint8

    names = [str(name) for name in (list(images) if names is None else names)]
    if not 8 <= int(cell) <= 255:
        raise InputError(f"`cell` must be 8 to 255 pixels, got {cell!r}", name="cell")
    if quality is not None and not 1 <= int(quality) <= 100:
        raise InputError(f"`quality` must be 1 to 100 or None (lossless), got {quality!r}", name="quality")
    missing = [name for name in names[:1000] if name not in images]
    if missing:
        raise InputError(f"`names` holds samples that are not in `images`: {missing[:5]}", name="names")
    cell, n = int(cell), len(names)
    channels = 3 if any(_is_rgb(images, name) for name in names) else 1
    columns, per_sheet = _layout(n, cell, channels, memory_budget() if budget is None else budget)
    size = np.zeros((n, 2), np.uint8)
    width_px = np.zeros(n, np.int32)
    sheets = []
    for start in range(0, n, per_sheet):
        block = names[start:start + per_sheet]
        rows = -(-len(block) // columns)
        sheet = np.zeros((rows * cell, columns * cell) + ((3,) if channels == 3 else ()), np.uint8)
        for j, name in enumerate(block):
            plane = _plane(images, name)
            width_px[start + j] = plane.shape[1]
            picture = thumbnail(plane, size=cell) if plane.size else to_uint8(np.zeros((1, 1)))
            if channels == 3 and picture.ndim == 2:
                picture = np.repeat(picture[..., None], 3, axis=-1)
            h, w = picture.shape[:2]
            size[start + j] = h, w
            top, left = (j // columns) * cell, (j % columns) * cell
            sheet[top:top + h, left:left + w] = picture
        sheets.append(_encode(sheet, quality))
        del sheet
    arrays = {"size": size.tobytes(), "width_px": width_px.astype("<i4").tobytes(),
              "names": _NAME_SEP.join(name.replace(_NAME_SEP, " ") for name in names).encode()}
    counts = {"size": (2 * n, "u1"), "width_px": (n, "i4"), "names": (len(arrays["names"]), "u1")}
    body, layout = [], {}
    offset = 0
    for key, data in list(arrays.items()) + [(f"sheet{k}", s) for k, s in enumerate(sheets)]:
        if key in counts:
            layout[key] = [offset, *counts[key]]
        body.append(data + b"\0" * (-len(data) % 4))
        offset += len(body[-1])
    starts = np.cumsum([0] + [len(b) for b in body])
    sheet_spans = [[int(starts[3 + k]), len(s)] for k, s in enumerate(sheets)]
    header = {"version": FORMAT_VERSION, "n": n, "cell": cell, "columns": columns, "per_sheet": per_sheet,
              "channels": channels, "mime": "image/png" if quality is None else "image/webp",
              "sheets": sheet_spans, "arrays": layout}
    digest = hashlib.blake2b(json.dumps(header).encode(), digest_size=12)
    for part in body:
        digest.update(part)
    header["token"] = digest.hexdigest()
    text = json.dumps(header).encode()
    text += b" " * (-(4 + len(text)) % 4)
    return b"".join([struct.pack("<I", len(text)), text, *body])


def read_atlas(payload):
    """Header, arrays and encoded sheets of an atlas payload (:func:`build_atlas`).

    Returns
    -------
    header : dict
    arrays : dict
        ``size`` uint8 ``(n, 2)``, ``width_px`` int32 ``(n,)``, ``names`` list of str.
    sheets : list of bytes
        The encoded sheet images (PNG or WebP).

    Raises
    ------
    msdash.errors.InputError
        When ``payload`` is not an atlas of this format version.
    """
    try:
        length = struct.unpack_from("<I", payload, 0)[0]
        header = json.loads(bytes(payload[4:4 + length]))
        if header.get("version") != FORMAT_VERSION:
            raise ValueError(f"format version {header.get('version')!r}")
        start, n = 4 + length, int(header["n"])
        span = {key: (start + at, count) for key, (at, count, _) in header["arrays"].items()}
        arrays = {"size": np.frombuffer(payload, np.uint8, 2 * n, span["size"][0]).reshape(n, 2),
                  "width_px": np.frombuffer(payload, "<i4", n, span["width_px"][0]).astype(np.int32),
                  "names": bytes(payload[span["names"][0]:sum(span["names"])]).decode().split(_NAME_SEP)}
        sheets = [bytes(payload[start + at:start + at + count]) for at, count in header["sheets"]]
    except (struct.error, ValueError, KeyError, TypeError) as error:
        raise InputError(f"Not an msdash atlas (version {FORMAT_VERSION}): {error}", name="payload") from None
    return header, arrays, sheets


def atlas_cell(payload, index):
    """Decoded pixels of cell ``index``: the thumbnail of sample ``index`` as the browser draws it.

    Returns
    -------
    ndarray of uint8, shape (h, w) or (h, w, 3)
    """
    from PIL import Image

    header, arrays, sheets = read_atlas(payload)
    if not 0 <= index < header["n"]:
        raise InputError(f"`index` must be 0 to {header['n'] - 1}, got {index}", name="index")
    sheet, j = divmod(int(index), header["per_sheet"])
    cell, columns = header["cell"], header["columns"]
    top, left = (j // columns) * cell, (j % columns) * cell
    h, w = arrays["size"][index]
    picture = np.asarray(Image.open(io.BytesIO(sheets[sheet])))
    return picture[top:top + h, left:left + w]


def atlas_path(dataset_id, cell, quality=None):
    """Where the atlas of a saved data set is cached: ``<workspace>/atlases/<id>-c<cell>-<png|webpQ>-v<N>.bin``."""
    from msdash.config import workspace

    if not isinstance(dataset_id, str) or not _ID.match(dataset_id):
        raise InputError(f"`dataset_id` must be a saved data set's id, got {dataset_id!r}", name="dataset_id")
    kind = "png" if quality is None else f"webp{int(quality)}"
    return workspace() / "atlases" / f"{dataset_id}-c{int(cell)}-{kind}-v{FORMAT_VERSION}.bin"


def delete_atlases(dataset_id):
    """Remove every cached atlas of a data set (all cell sizes, formats and versions); return the bytes freed.

    Parameters
    ----------
    dataset_id : str
        A saved data set's id (checked as in :func:`atlas_path`, so no other file can be named).

    Returns
    -------
    int
        Bytes of the removed files (0 when there were none).
    """
    folder = atlas_path(dataset_id, 1).parent
    freed = 0
    for path in folder.glob(f"{dataset_id}-c*.bin") if folder.is_dir() else ():
        try:
            size = path.stat().st_size
            path.unlink()
            freed += size
        except FileNotFoundError:  # another session removed it first
            pass
    return freed


def dataset_atlas(dataset, dataset_id, *, cell=None, quality=None):
    """The atlas of a saved data set, read from the workspace or built once and written there atomically.

    Parameters
    ----------
    dataset : msdash.data.dataset.Dataset
    dataset_id : str
        Its id (the content hash, :func:`msdash.data.datastore.save_dataset`): the cache key with the cell size.
    cell, quality : optional
        As :func:`build_atlas`; default :func:`atlas_settings` for the data set's size (both or neither).

    Returns
    -------
    bytes
        The payload of :func:`build_atlas`, cell ``i`` = ``dataset.names[i]``. A workspace that cannot be
        written (read-only, full) costs only the cache: the atlas is returned all the same.
    """
    from msdash.data.atomic import write_file_atomic
    from msdash.errors import WorkspaceError

    if cell is None:
        cell, quality = atlas_settings(len(dataset))
    path = atlas_path(dataset_id, cell, quality)
    try:
        payload = path.read_bytes()
        if read_atlas(payload)[0]["n"] == len(dataset):
            return payload
    except (OSError, InputError):  # absent or unreadable: built anew
        pass
    payload = build_atlas(dataset.images, dataset.names, cell=cell, quality=quality)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(path, payload)
    except (OSError, WorkspaceError):
        pass
    return payload


def build_saved_atlas(dataset_id, workspace=None, *, nice=0):
    """Build the atlas of a saved data set into the workspace cache (:func:`dataset_atlas`), e.g. in a child process.

    Parameters
    ----------
    dataset_id : str
    workspace : str, optional
        ``MSDASH_HOME`` to use (a child process started with "spawn" may be given its parent's).
    nice : int
        Added to the process's niceness first (a background build should not slow the pages down).

    Returns
    -------
    int
        Bytes of the atlas.
    """
    import os

    from msdash.data.datastore import load_dataset

    if workspace is not None:
        os.environ["MSDASH_HOME"] = str(workspace)
    if nice:
        try:
            os.nice(int(nice))
        except OSError:
            pass
    return len(dataset_atlas(load_dataset(dataset_id), dataset_id))
