"""One saved data set's entry on disk: writing its files and its ``meta.json``, and checking them on reading.

The layout is described in :mod:`msdash.data.datastore`, which names, locks and lists entries.
"""

import io
import json
import os
import shutil
from datetime import datetime, timezone

import numpy as np

from . import atomic
from ..errors import WorkspaceError

__all__ = ["FORMAT", "READABLE_FORMATS", "META", "IMAGES", "PROPERTIES", "write_entry", "read_meta"]

FORMAT = 2
READABLE_FORMATS = (1, 2)
META, IMAGES, PROPERTIES = "meta.json", "images.npz", "properties.parquet"


def write_entry(folder, ds, dataset_id, images_from=None):
    """Write a data set's files and meta.json into ``folder`` (fsynced); images hard-linked from ``images_from``
    when given (copied where the file system cannot link)."""
    if images_from is not None:
        try:
            os.link(images_from, folder / IMAGES)  # same bytes, no rewrite
        except OSError:  # no hard links here (another file system, FAT, some network shares)
            shutil.copyfile(images_from, folder / IMAGES)
            with open(folder / IMAGES, "rb+") as f:
                os.fsync(f.fileno())
    else:
        with open(folder / IMAGES, "wb") as f:
            np.savez(f, **{str(i): image for i, image in enumerate(ds.images.raw_values())})
            f.flush()
            os.fsync(f.fileno())
    if len(ds.properties.columns):
        buffer = io.BytesIO()
        ds.properties.reset_index(drop=True).to_parquet(buffer, index=False)
        atomic.write_bytes(folder / PROPERTIES, buffer.getvalue())
    meta = {
        "format": FORMAT,
        # Sizes let listing spot a truncated or replaced file without reading it.
        "files": _file_sizes(folder),
        "id": dataset_id,
        "name": ds.name,
        "source": ds.source,
        "notes": ds.notes,
        "group_column": ds.group_column,
        "derived": ds.derived,
        "pixel_size_um": ds.pixel_size_um,
        "names": ds.names,
        "columns": list(ds.properties.columns),
        "kinds": ds.kind_counts(),
        # Samples whose kind the file decided, not their shape (Dataset.kinds); usually none.
        "sample_kinds": ds.kinds,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    atomic.write_bytes(folder / META, json.dumps(meta, ensure_ascii=False, indent=1).encode())
    atomic.fsync_dir(folder)


def read_meta(folder, dataset_id, *, quiet=False):
    """meta.json of an entry, checked; None (quiet) or WorkspaceError when missing or damaged."""
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        names, columns = meta["names"], meta["columns"]
        derived = meta.get("derived", {})  # absent in entries saved before derived columns existed
        valid = (
            meta["format"] in READABLE_FORMATS
            and meta["id"] == dataset_id
            and all(isinstance(meta[k], str) for k in ("name", "source", "created"))
            and isinstance(names, list) and all(isinstance(n, str) for n in names)
            and isinstance(columns, list) and all(isinstance(c, str) for c in columns)
            and isinstance(meta["notes"], list) and isinstance(meta["kinds"], dict)
            and (meta["group_column"] is None or meta["group_column"] in columns)
            and isinstance(derived, dict) and all(c in columns and isinstance(f, str) for c, f in derived.items())
            and _valid_pixel_size(meta.get("pixel_size_um"))
            and _valid_sample_kinds(meta.get("sample_kinds", {}), names)
            and _file_sizes(folder) == meta["files"]
        )
        if not valid:
            raise ValueError("unexpected contents")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if quiet:
            return None
        raise WorkspaceError(
            f"Saved data set {dataset_id} is damaged (meta.json: {exc}). Delete it and add the data again."
        ) from exc
    return meta


def _valid_pixel_size(value):
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e300)


def _valid_sample_kinds(value, names):
    # Absent in entries saved before kinds were recorded: those samples are what their shapes say.
    return (isinstance(value, dict) and all(kind in ("rgb", "3d") for kind in value.values())
            and set(value) <= set(names))


def _file_sizes(folder):
    # Temp files (a rename in progress) are not part of the entry.
    return {f.name: f.stat().st_size for f in folder.iterdir() if f.name != META and not f.name.startswith(".")}

