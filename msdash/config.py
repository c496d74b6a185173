"""Paths of the workspace and the limits that protect the app from oversized input.

Every value can be overridden with an environment variable so a deployment can tune it without
code changes. Functions read the environment at call time (tests set ``MSDASH_HOME`` per test).
"""

import os
from pathlib import Path

#: Largest image accepted, in pixels (2D) or voxels (3D). Guards against decompression bombs.
MAX_PIXELS = int(os.environ.get("MSDASH_MAX_PIXELS", 64_000_000))
#: Largest upload accepted by the dashboard, in MB (also set in ``.streamlit/config.toml``).
MAX_UPLOAD_MB = int(os.environ.get("MSDASH_MAX_UPLOAD_MB", 2000))
#: Largest total uncompressed size of the members of one zip archive, in bytes.
MAX_ZIP_BYTES = int(os.environ.get("MSDASH_MAX_ZIP_BYTES", 4 * 1024**3))
#: Largest number of members in one zip archive.
MAX_ZIP_MEMBERS = int(os.environ.get("MSDASH_MAX_ZIP_MEMBERS", 100_000))
#: Largest compression ratio allowed for one zip member (zip-bomb guard).
MAX_ZIP_RATIO = int(os.environ.get("MSDASH_MAX_ZIP_RATIO", 1000))


def physical_memory_bytes():
    """Return the machine's physical memory in bytes (8 GiB when the system does not say).

    >>> physical_memory_bytes() > 0
    True
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 8 * 1024**3


def _bytes_from_env(variable, default):
    """``int`` bytes from ``variable`` (``1e9`` accepted), else ``default``; InputError naming it when not positive."""
    from msdash.errors import InputError

    value = os.environ.get(variable, "").strip()
    if not value:
        return int(default)
    try:
        number = int(float(value))
    except (ValueError, OverflowError):
        number = 0
    if number < 1:
        raise InputError(f"{variable} must be a number of bytes above 0, got {value!r}", name=variable)
    return number


def memory_budget():
    """Return the bytes one long step may hold at once (``MSDASH_MEMORY_BUDGET``), default 1/4 of the RAM.

    Every step that could otherwise hold everything at once (a block of decoded images in
    ``python -m msdash extract``, extraction, PCA, nested CV, table caching) sizes its blocks from it.

    Raises
    ------
    msdash.errors.InputError
        When ``MSDASH_MEMORY_BUDGET`` is set but not a positive number of bytes.
    """
    return _bytes_from_env("MSDASH_MEMORY_BUDGET", physical_memory_bytes() // 4)


def max_upload_bytes():
    """Return the largest decoded size of one upload, in bytes (``MSDASH_MAX_UPLOAD_BYTES``).

    Counted from the file headers before any pixel is decoded, over every axis (colour samples,
    slices) at the size the images are kept in memory. Default: 1/8 of the physical memory.
    """
    return _bytes_from_env("MSDASH_MAX_UPLOAD_BYTES", physical_memory_bytes() // 8)


def max_session_bytes():
    """Return the largest decoded size of one browser session's unsaved data, in bytes.

    ``MSDASH_MAX_SESSION_BYTES``; default: the upload limit (a session holds one upload until saved).
    """
    return _bytes_from_env("MSDASH_MAX_SESSION_BYTES", max_upload_bytes())


def max_unsaved_bytes():
    """Return the largest decoded size of all sessions' unsaved uploads together, in bytes.

    ``MSDASH_MAX_UNSAVED_BYTES``; default: 1/3 of the physical memory, so that several users uploading
    at once cannot exhaust a shared server.
    """
    return _bytes_from_env("MSDASH_MAX_UNSAVED_BYTES", physical_memory_bytes() // 3)


def workspace():
    """Return the workspace folder, creating it when missing.

    Returns
    -------
    pathlib.Path
        ``$MSDASH_HOME`` if set, else ``~/.msdash``. Everything msdash writes lives below it.
    """
    root = Path(os.environ.get("MSDASH_HOME") or Path.home() / ".msdash").expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from msdash.errors import WorkspaceError

        raise WorkspaceError(
            f"The workspace {root} does not exist and cannot be created ({exc.strerror or exc}); "
            "set MSDASH_HOME to a writable folder."
        ) from None
    return root


def datasets_dir():
    """Return the folder holding saved data sets (``<workspace>/datasets``), created when missing."""
    path = workspace() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_import_bytes():
    """Return the largest feature table "Import a feature table" reads, in bytes (``MSDASH_MAX_IMPORT_BYTES``).

    Counted from the file's header or metadata before any value is read: rows × columns × 8 bytes
    (float64), plus the decoded text of Parquet text columns. Default: 1/8 of the physical memory.
    """
    return _bytes_from_env("MSDASH_MAX_IMPORT_BYTES", physical_memory_bytes() // 8)


def max_xlsx_bytes():
    """Return the largest total uncompressed size of the parts of one XLSX workbook, in bytes.

    ``MSDASH_MAX_XLSX_BYTES``; default 256 MiB (a sheet's XML takes a few times its size once read as
    cells). The compression ratio of each part is limited by ``MSDASH_MAX_ZIP_RATIO``.
    """
    return _bytes_from_env("MSDASH_MAX_XLSX_BYTES", 256 * 1024**2)


def max_xlsx_parts():
    """Return the largest number of parts (zip members) of one XLSX workbook (``MSDASH_MAX_XLSX_PARTS``, 10 000)."""
    return _bytes_from_env("MSDASH_MAX_XLSX_PARTS", 10_000)  # a count, parsed like the byte limits
