"""Background jobs (training runs) in the server process: start, follow, cancel.

A job is a function that follows the training contract of :mod:`msdash.learned.runs`: it accepts
``callback=`` and calls it with one event dict per step or epoch; a ``False`` answer stops it (after it
has saved its checkpoint). Jobs run in daemon threads of the process that started them, so they go on
while the user moves between pages, and every browser session sees the same list. A job that dies with an
exception keeps its message; nothing is lost on disk because the trainers checkpoint every epoch.

Examples
--------
>>> def count(n, callback):
...     for i in range(n):
...         if callback({"epoch": i + 1, "epochs": n}) is False:
...             return "stopped"
...     return "finished"
>>> job = start("doc-count", "Count to 3", count, 3)
>>> job.wait(5)
True
>>> job.status, job.result, job.last["epoch"]
('done', 'finished', 3)
"""

import threading
import time
import traceback

from msdash.errors import InputError

__all__ = ["Job", "start", "start_run", "get", "cancel", "MAX_EVENTS"]

#: Events kept per job (older step events are thinned out; epoch events are always kept).
MAX_EVENTS = 2000

_JOBS = {}
_LOCK = threading.Lock()


class Job:
    """One background job.

    Attributes
    ----------
    job_id, title : str
    status : {"running", "done", "cancelled", "failed"}
    events : list of dict
        The callback's events in order (each gets ``"t"``, seconds since the start).
    result : object
        What the function returned (``None`` until it has).
    error : str or None
        ``"Type: message"`` when it failed; ``traceback`` holds the details.
    """

    def __init__(self, job_id, title):
        self.job_id, self.title = job_id, title
        self.status, self.result, self.error, self.traceback = "running", None, None, None
        self.events, self.started, self.finished = [], time.time(), None
        self._cancel, self._done = threading.Event(), threading.Event()

    @property
    def last(self):
        """The latest event (``{}`` before the first)."""
        return self.events[-1] if self.events else {}

    @property
    def epochs(self):
        """The events that end an epoch (they carry ``"epoch"`` and no ``"step_in_epoch"``)."""
        return [e for e in self.events if "epoch" in e and e.get("event", "epoch") == "epoch"]

    @property
    def running(self):
        return self.status == "running"

    def cancel(self):
        """Ask the job to stop at its next event (it saves first)."""
        self._cancel.set()

    def wait(self, timeout=None):
        """Block until the job ends; ``True`` if it did within ``timeout`` seconds."""
        return self._done.wait(timeout)

    def _callback(self, event):
        event = dict(event, t=round(time.time() - self.started, 3))
        with _LOCK:
            self.events.append(event)
            if len(self.events) > MAX_EVENTS:  # keep every epoch event, thin the step events
                keep = [e for e in self.events[:-1] if e.get("event", "epoch") == "epoch"]
                steps = [e for e in self.events[:-1] if e.get("event", "epoch") != "epoch"][::2]
                self.events = sorted(keep + steps, key=lambda e: e["t"]) + [event]
        return not self._cancel.is_set()

    def _run(self, function, args, kwargs):
        try:
            self.result = function(*args, callback=self._callback, **kwargs)
            self.status = "cancelled" if self._cancel.is_set() else "done"
        except Exception as error:  # noqa: BLE001 — kept and shown to the user
            self.status = "failed"
            self.error = error.message if isinstance(error, InputError) else f"{type(error).__name__}: {error}"
            self.traceback = traceback.format_exc()
        finally:
            self.finished = time.time()
            self._done.set()


def start(job_id, title, function, *args, **kwargs):
    """Run ``function(*args, callback=..., **kwargs)`` in a background thread and return its :class:`Job`.

    Raises
    ------
    InputError
        A job with this id is still running.
    """
    with _LOCK:
        old = _JOBS.get(job_id)
        if old is not None and old.running:
            raise InputError(f"{old.title!r} is still running; cancel it or wait for it to finish.", name="job")
        job = _JOBS[job_id] = Job(job_id, title)
    threading.Thread(target=job._run, args=(function, args, kwargs), name=f"msdash-job-{job_id}",
                     daemon=True).start()
    return job


def start_run(kind, title, function, *args, config=None, meta=None, **kwargs):
    """Start a new training run as a background job: a run folder, its meta, then ``function`` on it.

    Makes the folder with :func:`msdash.learned.runs.new_run` (``config`` stored as its config), adds ``meta``
    (the data set's id and name, the sample names or the target… what the pages later match runs by) to its
    ``meta.json``, and starts ``function(*args, run_dir=<the folder>, callback=..., **kwargs)`` as the job
    ``"<kind>:<run id>"``.

    Parameters
    ----------
    kind : str
        Run kind (``"texture_vae"``, ``"cnn_cv"``, …).
    title : str
        The job's title; ``"{run_id}"`` in it is replaced by the run's id.
    function : callable
        Follows the training contract (:mod:`msdash.learned.runs`) and takes ``run_dir=``.
    config, meta : dict, optional
        JSON-serialisable.

    Returns
    -------
    job : Job
    run_dir : pathlib.Path
    """
    from msdash.learned import runs

    run_dir = runs.new_run(kind, dict(config or {}))
    if meta:
        runs.write_meta(run_dir, runs.read_meta(run_dir) | dict(meta))
    job = start(f"{kind}:{run_dir.name}", title.replace("{run_id}", run_dir.name), function, *args,
                run_dir=run_dir, **kwargs)
    return job, run_dir


def get(job_id):
    """The job with this id, or ``None``."""
    return _JOBS.get(job_id)


def cancel(job_id):
    """Ask a job to stop; ``True`` if it was running."""
    job = _JOBS.get(job_id)
    if job is None or not job.running:
        return False
    job.cancel()
    return True
