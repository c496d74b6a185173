"""Start the dashboard as a real server on a free local port, for browser tests and benchmarks."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

#: Chromium flags that keep a headless browser off the network and quiet on a locked-down machine.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
CHROMIUM = "/usr/bin/chromium"


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: The repository root: the server runs there, so Streamlit reads the repository's ``.streamlit/config.toml``.
ROOT = Path(__file__).resolve().parent.parent


class Server:
    """``streamlit run SCRIPT`` on 127.0.0.1 in a child process, with its own ``MSDASH_HOME``.

    Started as the README starts the app (``streamlit run app.py`` from the repository root, so every setting
    comes from ``.streamlit/config.toml``); the only flags added say where to listen (a free port on
    127.0.0.1), which does not change how the app behaves.

    Parameters
    ----------
    script : path
        The Streamlit script (``app.py``).
    home : path
        Workspace for this server (``MSDASH_HOME``).
    port : int, optional
        Port to listen on; a free one by default.
    env : dict, optional
        More environment variables for the server (e.g. ``MSDASH_OPEN``, the data set to open).
    log : path, optional
        File the server's messages are appended to (a long-running server must not fill a pipe nobody
        reads); by default they are kept in a pipe for the error of a server that exits early.

    Use as a context manager; :attr:`url` is the base URL and :attr:`up_seconds` how long the server took
    from process start to answering its health check.
    """

    def __init__(self, script, home, port=None, *, env=None, log=None):
        self.script = Path(script).resolve()
        self.home = Path(home)
        self.extra_env = dict(env or {})
        self.log = None if log is None else Path(log)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.up_seconds = None

    def start(self, timeout=60.0):
        """Start the server and wait until its health endpoint answers."""
        env = dict(os.environ, MSDASH_HOME=str(self.home), PYTHONUNBUFFERED="1", **self.extra_env)
        command = [sys.executable, "-m", "streamlit", "run", str(self.script), "--server.port", str(self.port),
                   "--server.address", "127.0.0.1"]
        started = time.perf_counter()
        errors = subprocess.PIPE if self.log is None else open(self.log, "ab")
        try:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        finally:
            if self.log is not None:
                errors.close()  # the child holds its own copy
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                said = (self.process.stderr.read() if self.log is None else self.log.read_bytes()).decode()
                raise RuntimeError(f"streamlit exited early: {said[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as answer:
                    if answer.status == 200:
                        self.up_seconds = time.perf_counter() - started
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"streamlit did not answer on {self.url} within {timeout} s")

    def stop(self):
        """Stop the server (terminate, then kill after 10 s)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stderr:
            self.process.stderr.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def saved_random_maps(n=50_000, size=8, seed=0, cutoff=1):
    """Save ``n`` random ``size × size`` phase maps and their two-point features in the workspace.

    A large data set for browser tests and benchmarks of the map page; returns the data set's id.
    ``(2·cutoff + 1)²`` features per sample: 9 by default (quick for tests); ``size=32, cutoff=16`` gives
    the 1,089 a realistic map works on.
    """
    import numpy as np

    from msdash.dataset import Dataset
    from msdash.datastore import save_dataset
    from msdash.features import extract
    from msdash.features.store import save_table_meta

    stack = (np.random.default_rng(seed).random((n, size, size)) < 0.5).astype(np.float32)
    dataset = Dataset(f"{n} random maps", {f"s{i:05d}": image for i, image in enumerate(stack)})
    dataset_id = save_dataset(dataset)
    save_table_meta(dataset_id, extract(dataset, "two_point", cutoff=cutoff))
    return dataset_id
