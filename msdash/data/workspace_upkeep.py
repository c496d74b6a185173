"""Upkeep of the workspace: leftovers of killed saves removed once at start-up, and the read-only check."""

import os
import threading

from .. import config
from . import atomic

_LOCK_PREFIX = ".lock-"  # the data set store's save locks (msdash.data.datastore)


def clean_stale_temporaries(max_age_s=atomic.STALE_AFTER_S):
    """Remove what killed saves left in the workspace and say what it was.

    Looks in the workspace and three levels below it (data sets, feature tables, imported tables,
    training runs) for temp and trash entries (see :func:`msdash.data.atomic.stale`): those of a process of
    this machine that is gone are removed, a save in progress in another process or session is never
    touched, and entries whose writer cannot be checked (another machine, older names) are removed
    once untouched for ``max_age_s`` seconds. Lock files of killed saves go too.

    Parameters
    ----------
    max_age_s : float
        Age guard for leftovers whose writer cannot be checked.

    Returns
    -------
    list of (pathlib.Path, int)
        Each entry removed and the bytes it held.
    """
    workspace = config.workspace()
    removed = []
    for folder in atomic.folders_below(workspace, depth=3):
        removed += atomic.remove_stale(folder, max_age_s=max_age_s)
    return removed + atomic.remove_unused_locks(workspace / "datasets", _LOCK_PREFIX)


_STARTED = set()
_STARTED_LOCK = threading.Lock()


def startup_cleanup():
    """:func:`clean_stale_temporaries` once per process and workspace; later calls return ``[]``.

    Meant for the app's entry script: show what it returns once (see :func:`cleanup_summary`).
    Never raises: a workspace that cannot be cleaned is left as it is.
    """
    key = (os.getpid(), str(config.workspace()))
    with _STARTED_LOCK:
        if key in _STARTED:
            return []
        _STARTED.add(key)
    try:
        return clean_stale_temporaries()
    except OSError:
        return []


def cleanup_summary(removed):
    """One sentence for the user about what :func:`startup_cleanup` removed, or None when nothing.

    Examples
    --------
    >>> from pathlib import Path
    >>> cleanup_summary([(Path("a"), 886_000_000), (Path("b"), 4096)])
    'Removed 2 leftovers of interrupted saves from the workspace (886.0 MB freed).'
    >>> cleanup_summary([]) is None
    True
    """
    if not removed:
        return None
    freed = sum(size for _, size in removed)
    noun = "leftover" if len(removed) == 1 else "leftovers"
    return f"Removed {len(removed)} {noun} of interrupted saves from the workspace ({freed / 1e6:.1f} MB freed)."


def workspace_problem():
    """Why the workspace cannot be written (a sentence for the user), or None when it can.

    A read-only workspace still shows its saved data sets and stored features; saving data sets and
    storing new features fail with this same explanation.
    """
    workspace = config.workspace()
    problem = atomic.write_problem(workspace)
    if problem is None:
        return None
    return (f"The workspace {workspace} is read-only ({problem}): saved data sets and features can be shown, "
            f"but nothing new can be saved or stored. Set MSDASH_HOME to a writable folder.")
