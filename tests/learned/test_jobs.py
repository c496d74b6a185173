"""Background jobs: results, cancellation through the callback, failures kept, one running job per id."""

import threading

import pytest

from msdash.learned import jobs
from msdash.errors import InputError


def _epochs(n, callback, gate=None):
    for i in range(n):
        if gate is not None:
            gate.wait(5)
        if callback({"epoch": i + 1, "epochs": n, "train_loss": 1.0 / (i + 1)}) is False:
            return {"stopped_at": i + 1}
    return {"stopped_at": None}


def test_job_runs_and_records_events():
    job = jobs.start("t-run", "Run", _epochs, 4)
    assert job.wait(5)
    assert job.status == "done" and job.result == {"stopped_at": None}
    assert [e["epoch"] for e in job.epochs] == [1, 2, 3, 4]
    assert all(e["t"] >= 0 for e in job.events)
    assert jobs.get("t-run") is job


def test_cancel_stops_at_the_next_event_and_says_so():
    gate = threading.Event()
    job = jobs.start("t-cancel", "Cancel me", _epochs, 100, gate=gate)
    with pytest.raises(InputError, match="still running"):
        jobs.start("t-cancel", "Again", _epochs, 1)
    assert jobs.cancel("t-cancel")
    gate.set()
    assert job.wait(5)
    assert job.status == "cancelled" and job.result == {"stopped_at": 1}
    assert not jobs.cancel("t-cancel")  # no longer running
    assert jobs.start("t-cancel", "Again", _epochs, 1).wait(5)  # the id is free again


def test_failure_keeps_the_message():
    def broken(callback):
        callback({"epoch": 1})
        raise InputError("no images with that name")

    def crash(callback):
        raise ZeroDivisionError("boom")

    job = jobs.start("t-fail", "Fail", broken)
    assert job.wait(5) and job.status == "failed" and job.error == "no images with that name"
    job = jobs.start("t-crash", "Crash", crash)
    assert job.wait(5) and job.error == "ZeroDivisionError: boom" and "ZeroDivisionError" in job.traceback


def test_many_step_events_are_thinned_but_epochs_kept(monkeypatch):
    monkeypatch.setattr(jobs, "MAX_EVENTS", 50)

    def noisy(callback):
        for epoch in range(3):
            for step in range(100):
                callback({"event": "step", "epoch": epoch + 1, "step": step})
            callback({"event": "epoch", "epoch": epoch + 1})

    job = jobs.start("t-thin", "Thin", noisy)
    assert job.wait(5)
    assert len(job.events) <= 51
    assert [e["epoch"] for e in job.epochs] == [1, 2, 3]


def test_start_run_makes_the_run_folder_then_runs_the_job_on_it(workspace):
    from msdash.learned import runs

    def train(values, *, run_dir, scale, callback):
        callback({"epoch": 1, "epochs": 1})
        return {"run_dir": run_dir, "meta": runs.read_meta(run_dir), "total": scale * sum(values)}

    job, run_dir = jobs.start_run("toy", "Toy {run_id}", train, [1, 2, 3], config={"lr": 0.1},
                                  meta={"dataset_id": "abc", "names": ["a", "b"]}, scale=2)
    assert job.wait(5) and job.status == "done", job.error
    assert job.job_id == f"toy:{run_dir.name}" and job.title == f"Toy {run_dir.name}"
    assert jobs.get(job.job_id) is job
    assert job.result["run_dir"] == run_dir and job.result["total"] == 12
    meta = job.result["meta"]  # what the function saw: the meta was complete before it started
    assert meta["config"] == {"lr": 0.1} and meta["dataset_id"] == "abc" and meta["names"] == ["a", "b"]
    assert [m["run_id"] for m in runs.list_runs("toy")] == [run_dir.name]
    assert run_dir.parent == runs.runs_root("toy") and str(workspace) in str(run_dir)
