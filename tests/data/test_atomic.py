"""Tests of msdash.data.atomic: atomic file writes, writer-named temp files, locks and write probes."""

import os
import stat
import threading
import time

import pytest

from msdash.data import atomic
from msdash.errors import WorkspaceError


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(atomic.TMP_PREFIX)]


class TestWriteFileAtomic:
    def test_writes_and_replaces(self, tmp_path):
        path = tmp_path / "meta.json"
        atomic.write_file_atomic(path, b"one")
        atomic.write_file_atomic(path, b"two")
        assert path.read_bytes() == b"two" and _leftovers(tmp_path) == []

    def test_threads_writing_one_file_never_mix(self, tmp_path):
        path = tmp_path / "values.npy"
        payloads = [bytes([i]) * 200_000 for i in range(8)]

        def write(data):
            for _ in range(10):
                atomic.write_file_atomic(path, data)

        threads = [threading.Thread(target=write, args=(data,)) for data in payloads]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert path.read_bytes() in payloads  # one writer's bytes, whole
        assert _leftovers(tmp_path) == []

    def test_fsyncs_the_file_and_the_folder(self, tmp_path, monkeypatch):
        synced = []
        fsync = os.fsync

        def recording(fd):
            synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else os.fstat(fd).st_size)
            fsync(fd)

        monkeypatch.setattr(atomic.os, "fsync", recording)
        atomic.write_file_atomic(tmp_path / "x", b"12345")
        assert synced == [5, "folder"]  # the data before the rename, the rename after

    @pytest.mark.parametrize("step", ["fsync", "replace"])
    def test_failure_keeps_the_old_file_and_no_temp(self, tmp_path, monkeypatch, step):
        path = tmp_path / "meta.json"
        path.write_bytes(b"old")

        def full_disk(*args):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(atomic.os, step, full_disk)
        with pytest.raises(WorkspaceError, match=r"Could not write .*meta.json.*No space left"):
            atomic.write_file_atomic(path, b"new")
        assert path.read_bytes() == b"old" and _leftovers(tmp_path) == []

    def test_interrupt_removes_the_temp_and_is_not_wrapped(self, tmp_path, monkeypatch):
        def interrupted(fd):
            raise KeyboardInterrupt

        monkeypatch.setattr(atomic.os, "fsync", interrupted)
        with pytest.raises(KeyboardInterrupt):
            atomic.write_file_atomic(tmp_path / "x", b"data")
        assert list(tmp_path.iterdir()) == []

    def test_temp_name_records_this_process(self, tmp_path, monkeypatch):
        names = []
        monkeypatch.setattr(atomic, "write_bytes", lambda path, data: names.append(path.name) or path.write_bytes(data))
        atomic.write_file_atomic(tmp_path / "x.json", b"{}")
        (name,) = names
        assert name.startswith(atomic.TMP_PREFIX) and name.endswith("-x.json")
        assert f".{os.getpid()}." in name and not atomic.stale(tmp_path / name, max_age_s=-1)

    def test_write_bytes_never_overwrites(self, tmp_path):
        path = tmp_path / atomic.temp_name()
        atomic.write_bytes(path, b"first")
        with pytest.raises(FileExistsError):
            atomic.write_bytes(path, b"second")
        assert path.read_bytes() == b"first"


class TestWriteProblem:
    def test_writable_and_missing_folders(self, tmp_path):
        assert atomic.write_problem(tmp_path) is None
        assert atomic.write_problem(tmp_path / "not" / "yet") is None  # judged by tmp_path
        assert list(tmp_path.iterdir()) == []  # the probe is removed

    def test_a_file_in_the_way(self, tmp_path):
        (tmp_path / "features").write_bytes(b"")
        assert "Not a directory" in atomic.write_problem(tmp_path / "features")


class TestExclusive:
    def test_second_holder_waits_and_the_file_goes(self, tmp_path):
        lock, order, inside = tmp_path / ".lock-x", [], threading.Event()

        def hold(name, seconds):
            with atomic.exclusive(lock, wait_s=30, busy="busy"):
                order.append(f"{name} in")
                inside.set()
                time.sleep(seconds)
                order.append(f"{name} out")

        first = threading.Thread(target=hold, args=("first", 0.3))
        first.start()
        assert inside.wait(10)
        second = threading.Thread(target=hold, args=("second", 0))
        second.start()
        first.join(10)
        second.join(10)
        assert order == ["first in", "first out", "second in", "second out"]
        assert not lock.exists()

    def test_gives_up_with_the_message(self, tmp_path):
        lock, inside, done = tmp_path / ".lock-x", threading.Event(), threading.Event()

        def hold():
            with atomic.exclusive(lock, wait_s=30, busy="busy"):
                inside.set()
                done.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        assert inside.wait(10)
        try:
            with pytest.raises(WorkspaceError, match="still saving"):
                with atomic.exclusive(lock, wait_s=0.2, busy="still saving"):
                    pass
        finally:
            done.set()
            holder.join(10)

    def test_unused_lock_files_are_removed_held_ones_kept(self, tmp_path):
        (tmp_path / ".lock-dead").write_bytes(b"")
        held, release = threading.Event(), threading.Event()

        def hold():
            with atomic.exclusive(tmp_path / ".lock-live", wait_s=10, busy="busy"):
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        assert held.wait(10)
        try:
            assert atomic.remove_unused_locks(tmp_path, ".lock-") == [(tmp_path / ".lock-dead", 0)]
            assert (tmp_path / ".lock-live").exists()
        finally:
            release.set()
            holder.join(10)
