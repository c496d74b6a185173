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


def workspace():
    """Return the workspace folder, creating it when missing.

    Returns
    -------
    pathlib.Path
        ``$MSDASH_HOME`` if set, else ``~/.msdash``. Everything msdash writes lives below it.
    """
    root = Path(os.environ.get("MSDASH_HOME") or Path.home() / ".msdash").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def datasets_dir():
    """Return the folder holding saved data sets (``<workspace>/datasets``), created when missing."""
    path = workspace() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path
