"""Two sessions (threads) or processes saving at once: one data set, one id, the first label kept."""

import multiprocessing
import os
import threading

import numpy as np
import pytest

from msdash.data import datastore
from msdash.data.dataset import Dataset
from msdash.data.datastore import list_datasets, load_dataset, save_dataset


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("MSDASH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _dataset(label, seed=0):
    rng = np.random.default_rng(seed)
    return Dataset(label, {f"s{i:02d}": rng.random((32, 32)).astype(np.float32) for i in range(12)})


def _entries(workspace):
    return sorted(p.name for p in (workspace / "datasets").iterdir())


class TestThreads:
    def test_second_save_waits_for_the_first_and_keeps_its_label(self, workspace, monkeypatch):
        # The first save is held half-way through writing; the second (same contents, other label)
        # must neither finish first nor write its own copy.
        writing, release = threading.Event(), threading.Event()
        write_entry = datastore._write_entry
        writers = []

        def slow_write(folder, ds, dataset_id):
            writers.append(ds.name)
            if ds.name == "first":
                writing.set()
                assert release.wait(30)
            write_entry(folder, ds, dataset_id)

        monkeypatch.setattr(datastore, "_write_entry", slow_write)
        ids = {}
        first = threading.Thread(target=lambda: ids.__setitem__("first", save_dataset(_dataset("first"))))
        first.start()
        assert writing.wait(30)
        second = threading.Thread(target=lambda: ids.__setitem__("second", save_dataset(_dataset("second"))))
        second.start()
        second.join(0.5)
        assert second.is_alive() and "second" not in ids  # waiting for the first save
        release.set()
        first.join(30)
        second.join(30)
        assert ids["first"] == ids["second"] == _dataset("x").content_hash()
        assert writers == ["first"]  # one copy written
        assert [(info.id, info.name) for info in list_datasets()] == [(ids["first"], "first")]
        assert _entries(workspace) == [ids["first"]]  # no temp folder, no lock file

    @pytest.mark.parametrize("round_", range(3))
    def test_many_threads_same_contents(self, workspace, round_):
        labels = [f"session {i}" for i in range(6)]
        barrier, results, errors = threading.Barrier(len(labels)), {}, []

        def save(label):
            barrier.wait()
            try:
                results[label] = save_dataset(_dataset(label))
            except Exception as exc:  # pragma: no cover - the assertion below shows it
                errors.append(repr(exc))

        threads = [threading.Thread(target=save, args=(label,)) for label in labels]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert len(set(results.values())) == 1 and len(results) == len(labels)
        infos = list_datasets()
        assert len(infos) == 1 and infos[0].name in labels
        assert _entries(workspace) == [infos[0].id]
        np.testing.assert_array_equal(load_dataset(infos[0].id).images["s03"], _dataset("x").images["s03"])

    def test_different_contents_same_name_both_kept(self, workspace):
        barrier, results = threading.Barrier(2), {}

        def save(seed):
            barrier.wait()
            results[seed] = save_dataset(_dataset("steel", seed=seed))

        threads = [threading.Thread(target=save, args=(seed,)) for seed in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert results[1] != results[2]
        assert sorted(info.id for info in list_datasets()) == sorted(results.values())
        for seed, dataset_id in results.items():
            np.testing.assert_array_equal(load_dataset(dataset_id).images["s00"], _dataset("", seed).images["s00"])


def _process_saver(homes, label, seed, barrier, queue):
    # One process saving in every round; the barrier makes the processes start each save together.
    for home in homes:
        os.environ["MSDASH_HOME"] = home
        barrier.wait(60)
        try:
            queue.put((home, label, seed, save_dataset(_dataset(label, seed))))
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            queue.put((home, label, seed, repr(exc)))


def _run_processes(tmp_path, savers, rounds):
    homes = [str(tmp_path / f"round{r}") for r in range(rounds)]
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(len(savers)), context.Queue()
    processes = [context.Process(target=_process_saver, args=(homes, label, seed, barrier, queue))
                 for label, seed in savers]
    for process in processes:
        process.start()
    results = [queue.get(timeout=120) for _ in range(len(savers) * rounds)]
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0] * len(savers)
    by_home = {home: {} for home in homes}
    for home, label, seed, result in results:
        by_home[home][label, seed] = result
    return by_home


def test_processes_saving_the_same_contents_at_once(tmp_path, monkeypatch):
    expected = _dataset("x").content_hash()
    labels = ["lab A", "lab B", "lab C"]
    for home, ids in _run_processes(tmp_path, [(label, 0) for label in labels], rounds=4).items():
        assert ids == {(label, 0): expected for label in labels}  # same id for all, no error
        monkeypatch.setenv("MSDASH_HOME", home)
        infos = list_datasets()
        assert [info.id for info in infos] == [expected] and infos[0].name in labels
        assert sorted(os.listdir(os.path.join(home, "datasets"))) == [expected]


def test_processes_saving_different_contents_under_one_name(tmp_path, monkeypatch):
    for home, ids in _run_processes(tmp_path, [("steel", 1), ("steel", 2)], rounds=2).items():
        monkeypatch.setenv("MSDASH_HOME", home)
        assert sorted(info.id for info in list_datasets()) == sorted(ids.values())
        assert len(set(ids.values())) == 2
