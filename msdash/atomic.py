"""Crash-safe writes in the workspace: fsynced files, temp-then-rename, and clean-up of leftovers.

A writer puts its output in a hidden ``.tmp-<uuid>`` sibling and renames it into place in one step
(atomic on POSIX), so a process killed mid-write never leaves a half-written entry behind.
"""

import os
import shutil
import time
import uuid

from msdash.errors import WorkspaceError

TMP_PREFIX, TRASH_PREFIX = ".tmp-", ".trash-"
#: Temp folders older than this (seconds) belong to a write that was killed.
STALE_AFTER_S = 3600


def write_bytes(path, data):
    """Write ``data`` to ``path`` and fsync it (the caller renames it into place)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(path):
    """Fsync a folder so a rename inside it survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard(folder):
    """Remove an entry: rename it out of sight first so a half-deleted entry is never listed."""
    trash = folder.parent / f"{TRASH_PREFIX}{uuid.uuid4().hex}"
    try:
        os.rename(folder, trash)
    except OSError as exc:
        raise WorkspaceError(f"Could not delete {folder.name}: {exc}") from exc
    shutil.rmtree(trash, ignore_errors=True)


def remove_stale(root):
    """Delete leftovers of killed saves (temp folders older than an hour) and of interrupted deletes."""
    now = time.time()
    for folder in root.iterdir():
        if folder.name.startswith(TRASH_PREFIX):
            shutil.rmtree(folder, ignore_errors=True)
        elif folder.name.startswith(TMP_PREFIX):
            try:
                newest = max([folder.stat().st_mtime] + [f.stat().st_mtime for f in folder.iterdir()])
            except OSError:
                continue
            if now - newest > STALE_AFTER_S:
                shutil.rmtree(folder, ignore_errors=True)


def write_file_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` atomically: a temp file in the same folder, fsync, rename.

    Parameters
    ----------
    path : pathlib.Path
        Destination; its folder must exist. An existing file is replaced in one step.
    data : bytes
    """
    tmp = path.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}"
    try:
        write_bytes(tmp, data)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
