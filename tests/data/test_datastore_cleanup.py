"""Leftovers of killed saves: found on the next start, removed and reported; saves in progress untouched."""

import multiprocessing
import os
import time

import numpy as np
import pytest

from msdash.data import atomic, datastore
from msdash.data.dataset import Dataset
from msdash.data.datastore import list_datasets, save_dataset


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("MSDASH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _dataset():
    rng = np.random.default_rng(0)
    return Dataset("big", {f"s{i}": rng.random((128, 128)).astype(np.float32) for i in range(8)})


def _save_and_hang(home, writing):
    # A save that has written its images and then hangs, as if killed half-way.
    os.environ["MSDASH_HOME"] = home
    write_entry = datastore._write_entry

    def hang(folder, ds, dataset_id):
        write_entry(folder, ds, dataset_id)
        writing.set()
        time.sleep(600)

    datastore._write_entry = hang
    save_dataset(_dataset())


def _leave_temporaries(folders):
    # A process that writes temp files and temp folders where atomic writers put them, then exits.
    for folder in folders:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, atomic.temp_name("-values.npy")), "wb") as f:
            f.write(b"x" * 1000)
        os.mkdir(os.path.join(folder, atomic.temp_name()))


def _wait_dead(pid):
    # Until the process has exited (a zombie until joined: it will write nothing more).
    for _ in range(500):
        if atomic._start_time(pid) is None:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not die")


def _temporaries(root):
    return sorted(p.name for p in root.rglob("*") if p.name.startswith((".tmp-", ".trash-", ".lock-")))


class TestKilledSave:
    def test_save_in_progress_is_kept_and_a_killed_one_removed(self, workspace):
        context = multiprocessing.get_context("spawn")
        writing = context.Event()
        saver = context.Process(target=_save_and_hang, args=(str(workspace), writing))
        saver.start()
        try:
            assert writing.wait(120)
            root = workspace / "datasets"
            (tmp,) = [p for p in root.iterdir() if p.name.startswith(".tmp-")]
            (lock,) = [p for p in root.iterdir() if p.name.startswith(".lock-")]
            size = sum(f.stat().st_size for f in tmp.iterdir())
            assert size > 8 * 128 * 128 * 4

            # Alive in another process: never touched, however old its files look.
            assert datastore.clean_stale_temporaries(max_age_s=0) == []
            assert list_datasets() == []  # listing cleans too, and must not touch it either
            assert tmp.is_dir() and lock.is_file()

            saver.kill()
            _wait_dead(saver.pid)
            removed = datastore.clean_stale_temporaries()
        finally:
            saver.kill()
            saver.join(30)
        assert sorted(removed) == sorted([(tmp, size), (lock, 0)])
        assert list(root.iterdir()) == []
        assert datastore.cleanup_summary(removed).startswith("Removed 2 leftovers")
        # The next save of the same data works (the lock of the dead process is gone).
        assert save_dataset(_dataset()) == _dataset().content_hash()

    def test_leftovers_of_atomic_writes_everywhere(self, workspace):
        folders = [workspace / "datasets", workspace / "features" / "tables" / f"{'a' * 16}-{'b' * 64}",
                   workspace / "learned" / "texture_vae" / "20250101-000000-abcdef",
                   workspace / "features" / "imported" / "0123456789abcdef"]
        context = multiprocessing.get_context("spawn")
        writer = context.Process(target=_leave_temporaries, args=([str(f) for f in folders],))
        writer.start()
        writer.join(120)
        assert writer.exitcode == 0
        ours = folders[1] / atomic.temp_name("-meta.json")  # this process is alive: kept
        ours.write_bytes(b"{}")
        removed = datastore.clean_stale_temporaries()
        assert sorted(path.parent for path, _ in removed) == sorted(folders * 2)
        assert sum(size for _, size in removed) == 4 * 1000
        assert _temporaries(workspace) == [ours.name]


class TestOwnerChecks:
    def test_unknown_writers_are_removed_only_when_old(self, workspace):
        root = workspace / "datasets"
        root.mkdir(parents=True)
        old_style = root / ".tmp-0123456789abcdef"  # written before temp names recorded their writer
        other_host = root / f".tmp-deadbeef.{os.getpid()}.1-{'0' * 32}"
        for folder in (old_style, other_host):
            folder.mkdir()
            (folder / "images.npz").write_bytes(b"partial")
        assert datastore.clean_stale_temporaries() == []
        old = time.time() - 2 * atomic.STALE_AFTER_S
        os.utime(old_style / "images.npz", (old, old))
        os.utime(old_style, (old, old))
        assert datastore.clean_stale_temporaries() == [(old_style, 7)]
        assert datastore.clean_stale_temporaries(max_age_s=-1) == [(other_host, 7)]

    def test_reused_pid_is_not_the_writer(self, workspace):
        host, pid, start = atomic._owner_tag().split(".")
        root = workspace / "datasets"
        root.mkdir(parents=True)
        ours = root / atomic.temp_name()
        reused = root / f".tmp-{host}.{pid}.{int(start) + 1}-{'0' * 32}"  # same pid, other start time
        trash = root / f".trash-{host}.{pid}.{int(start) + 1}-{'1' * 32}"
        for folder in (ours, reused, trash):
            folder.mkdir()
        assert atomic.stale(reused) and atomic.stale(trash) and not atomic.stale(ours)
        assert sorted(datastore.clean_stale_temporaries(max_age_s=-1)) == sorted([(reused, 0), (trash, 0)])
        assert ours.is_dir()

    def test_temp_names_are_unique_and_name_this_process(self):
        names = {atomic.temp_name() for _ in range(1000)}
        assert len(names) == 1000
        assert all(f".{os.getpid()}." in name for name in names)


class TestStartup:
    def test_once_per_process_and_workspace(self, workspace, tmp_path, monkeypatch):
        (workspace / "datasets").mkdir(parents=True)
        leftover = workspace / "datasets" / ".trash-0123"
        leftover.mkdir()
        (leftover / "x").write_bytes(b"12345")
        os.utime(leftover / "x", (0, 0))
        os.utime(leftover, (0, 0))
        assert datastore.startup_cleanup() == [(leftover, 5)]
        assert datastore.startup_cleanup() == []
        monkeypatch.setenv("MSDASH_HOME", str(tmp_path / "other"))
        assert datastore.startup_cleanup() == []  # a new workspace: cleaned (nothing there), once
