"""Crash-safe writes in the workspace: fsynced files, temp-then-rename, and clean-up of leftovers.

A writer puts its output in a hidden temp sibling and renames it into place in one step (atomic on
POSIX), so a process killed mid-write never leaves a half-written entry behind. Temp names record
their writer, ``.tmp-<host>.<pid>.<start>-<uuid>``: ``host`` is a hash of the host name, boot and PID
namespace, ``start`` the process start time, so a later process can tell a leftover of a dead writer
(removed at once) from a save in progress in another process (never touched). Leftovers whose writer
cannot be checked (another machine sharing the workspace, names written before this scheme) are
removed once untouched for :data:`STALE_AFTER_S`.
"""

import contextlib
import errno
import functools
import hashlib
import os
import re
import shutil
import socket
import tempfile
import time
import uuid

from msdash.errors import WorkspaceError

TMP_PREFIX, TRASH_PREFIX = ".tmp-", ".trash-"
#: Leftovers whose writer cannot be checked are removed once untouched this long (seconds).
STALE_AFTER_S = 3600
_OWNED = re.compile(r"\.(?:tmp|trash)-([0-9a-f]{8})\.(\d+)\.(\d+)-")


def write_bytes(path, data):
    """Write ``data`` to a new file ``path`` and fsync it (the caller renames it into place).

    Raises
    ------
    FileExistsError
        When ``path`` exists: a temp name is never shared by two writers.
    """
    with open(path, "xb") as f:
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


def temp_name(suffix="", *, prefix=TMP_PREFIX):
    """A fresh hidden name recording this process: ``.tmp-<host>.<pid>.<start>-<uuid><suffix>``.

    The uuid makes it unique per call, hence per thread; the rest lets :func:`remove_stale` check
    whether the writer still runs.
    """
    return f"{prefix}{_owner_tag()}-{uuid.uuid4().hex}{suffix}"


def discard(folder):
    """Remove an entry: rename it out of sight first so a half-deleted entry is never listed."""
    trash = folder.parent / temp_name(prefix=TRASH_PREFIX)
    try:
        os.rename(folder, trash)
    except OSError as exc:
        raise WorkspaceError(f"Could not delete {folder.name}: {exc}") from exc
    shutil.rmtree(trash, ignore_errors=True)


def write_file_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` atomically: a temp file in the same folder, fsync, rename.

    Parameters
    ----------
    path : pathlib.Path
        Destination; its folder must exist. An existing file is replaced in one step.
    data : bytes

    Raises
    ------
    WorkspaceError
        When the file cannot be written (read-only workspace, disk full); the temp file is removed.
    """
    tmp = path.parent / temp_name(f"-{path.name}")
    try:
        write_bytes(tmp, data)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        raise WorkspaceError(f"Could not write {path}: {exc}") from exc
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # never hide the error that brought us here
            pass


def write_problem(folder):
    """Why ``folder`` cannot take new files, or None when it can.

    Creates and removes a probe file (permission bits alone say nothing when running as root, and
    nothing about read-only mounts). A missing folder is judged by its nearest existing parent.

    Returns
    -------
    str or None
        The operating system's reason, e.g. ``"[Errno 30] Read-only file system"``.
    """
    folder = os.path.abspath(folder)
    while not os.path.lexists(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    try:
        fd, probe = tempfile.mkstemp(prefix=temp_name(), dir=folder)
    except OSError as exc:
        return f"[Errno {exc.errno}] {os.strerror(exc.errno)}" if exc.errno else str(exc)
    os.close(fd)
    os.unlink(probe)
    return None


def stale(path, *, max_age_s=STALE_AFTER_S, now=None):
    """True when ``path`` (a temp or trash entry) is a leftover nobody will finish or remove.

    Owned by a process of this host: stale exactly when that process is gone. Otherwise (another host,
    or an unowned name): stale when nothing in it changed for ``max_age_s`` seconds.
    """
    owner = _OWNED.match(path.name)
    if owner is not None and owner.group(1) == _owner_tag().split(".")[0]:
        return not _running(int(owner.group(2)), int(owner.group(3)))
    now = time.time() if now is None else now
    try:
        newest = os.lstat(path).st_mtime
        if path.is_dir() and not path.is_symlink():
            newest = max([newest] + [f.lstat().st_mtime for f in path.iterdir()])
    except OSError:
        return False
    return now - newest > max_age_s


def remove_stale(root, *, max_age_s=STALE_AFTER_S):
    """Delete leftovers of killed saves and interrupted deletes directly inside ``root``.

    Returns
    -------
    list of (pathlib.Path, int)
        Each entry removed and the bytes it held. Entries that cannot be removed (read-only
        workspace) are left and not listed.
    """
    removed = []
    try:
        candidates = [p for p in root.iterdir() if p.name.startswith((TMP_PREFIX, TRASH_PREFIX))]
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        if not stale(path, max_age_s=max_age_s, now=now):
            continue
        size = disk_bytes(path)
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue  # another process cleaned it first
        except OSError:
            shutil.rmtree(path, ignore_errors=True)
            if os.path.lexists(path):
                continue
        removed.append((path, size))
    return removed


def disk_bytes(path):
    """Bytes held by a file or a folder tree (symbolic links are not followed)."""
    try:
        if not path.is_dir() or path.is_symlink():
            return os.lstat(path).st_size
    except OSError:
        return 0
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def folders_below(root, *, depth):
    """``root`` and its sub-folders down to ``depth`` levels, skipping temp/trash entries and links."""
    level = [root]
    for _ in range(depth + 1):
        yield from level
        below = []
        for folder in level:
            try:
                below += [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()
                          and not p.name.startswith((TMP_PREFIX, TRASH_PREFIX))]
            except OSError:
                continue
        level = below


@contextlib.contextmanager
def exclusive(path, *, wait_s, busy):
    """Hold the lock file ``path`` exclusively (flock) for a block; the file is removed afterwards.

    Threads and processes (also on other machines over NFS) wait for each other. Without flock
    (Windows) the block runs unlocked.

    Parameters
    ----------
    path : pathlib.Path
    wait_s : float
        Longest wait for another holder.
    busy : str
        Message of the :class:`WorkspaceError` raised when the wait runs out.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    deadline = time.monotonic() + wait_s
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise WorkspaceError(busy) from None
                    time.sleep(0.05)
            # The holder before us removed the file when done: our lock is then on a dead file; retry.
            if _same_file(path, fd):
                try:
                    yield
                finally:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                return
        finally:
            os.close(fd)  # releases the lock


def remove_unused_locks(root, prefix):
    """Remove lock files of :func:`exclusive` left by killed processes (those nobody holds).

    Returns
    -------
    list of (pathlib.Path, int)
        Each lock file removed, with 0 bytes.
    """
    try:
        import fcntl

        paths = [p for p in root.iterdir() if p.name.startswith(prefix)]
    except (ImportError, OSError):
        return []
    removed = []
    for path in paths:
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same_file(path, fd):
                os.unlink(path)
                removed.append((path, 0))
        except OSError:  # held by a save in progress, or a read-only workspace
            pass
        finally:
            os.close(fd)
    return removed


def _same_file(path, fd):
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


@functools.lru_cache(maxsize=None)
def _host_tag(pid):
    # Hostname, boot and PID namespace: a pid is only comparable inside the same three.
    # (pid is the cache key so a forked child computes its own tag.)
    parts = [socket.gethostname()]
    for source, read in (("/proc/sys/kernel/random/boot_id", _read_text), ("/proc/self/ns/pid", os.readlink)):
        try:
            parts.append(read(source).strip())
        except OSError:
            parts.append("")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]


def _owner_tag():
    pid = os.getpid()
    return f"{_host_tag(pid)}.{pid}.{_start_time(pid) or 0}"


def _read_text(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def _start_time(pid):
    """Start time of a process in clock ticks since boot (Linux), None when unknown or gone."""
    try:
        stat = _read_text(f"/proc/{pid}/stat")
    except OSError:
        return None
    try:
        fields = stat.rsplit(")", 1)[1].split()  # the name before ")" may hold spaces
        if fields[0] in ("Z", "X") and os.listdir(f"/proc/{pid}/task") in ([], [str(pid)]):
            return None  # exited (a zombie until its parent reaps it), no thread left to write
        return int(fields[19])  # field 22 of proc(5)
    except (IndexError, ValueError, OSError):  # OSError: reaped meanwhile
        return None


def _running(pid, start):
    """Whether process ``pid`` started at ``start`` (0: unknown) still runs on this host."""
    if os.path.isdir("/proc/self"):
        now_start = _start_time(pid)
        if now_start is None:
            return False
        return start == 0 or now_start == start  # another start time: the pid was reused
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True
