"""Start the dashboard: ``msdash app`` in the foreground, :class:`Server` in the background.

Both run ``streamlit run`` on the app's main script inside the installed package (:data:`MAIN_SCRIPT`), with
the settings of the package's ``msdash/app/streamlit.toml`` passed as command-line flags, so the dashboard
behaves the same from any folder, a wheel install included. (The repository's ``.streamlit/config.toml`` is
a link to that file, for ``streamlit run app.py``.)

>>> flags = streamlit_flags()
>>> "--server.maxUploadSize=2000" in flags and "--client.showErrorDetails=none" in flags
True
"""

import importlib.resources
import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

__all__ = ["MAIN_SCRIPT", "CONFIG", "streamlit_flags", "app_command", "run_app", "Server", "free_port"]

#: The Streamlit main script of the dashboard (a file of the installed package).
MAIN_SCRIPT = Path(str(importlib.resources.files("msdash.app") / "main.py"))
#: The dashboard's Streamlit settings (package data).
CONFIG = Path(str(importlib.resources.files("msdash.app") / "streamlit.toml"))


def streamlit_flags(config=CONFIG):
    """The settings of a Streamlit ``config.toml`` as ``streamlit run`` flags.

    Parameters
    ----------
    config : path-like
        A TOML file with Streamlit's sections (``[server]``, ``[client]``, …).

    Returns
    -------
    list of str
        ``--section.key=value`` for every setting, booleans as ``true``/``false``.
    """
    with open(config, "rb") as fh:
        settings = tomllib.load(fh)
    flags = []
    for section, values in settings.items():
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags.append(f"--{section}.{key}={text}")
    return flags


def app_command(port=None, address=None, extra=()):
    """The command line that serves the dashboard.

    Parameters
    ----------
    port : int, optional
        TCP port (Streamlit's default, 8501, when not given).
    address : str, optional
        Address to listen on (all interfaces when not given, as ``streamlit run`` does).
    extra : sequence of str
        More ``streamlit run`` flags, appended last so they override the package's settings.

    Returns
    -------
    list of str
        ``[python, "-m", "streamlit", "run", MAIN_SCRIPT, flags…]``.
    """
    command = [sys.executable, "-m", "streamlit", "run", str(MAIN_SCRIPT), *streamlit_flags()]
    if port is not None:
        command.append(f"--server.port={int(port)}")
    if address is not None:
        command.append(f"--server.address={address}")
    return command + list(extra)


def run_app(port=None, address=None, extra=(), workspace=None):
    """Serve the dashboard in the foreground until it is stopped (Ctrl-C); return Streamlit's exit code.

    Parameters
    ----------
    port, address, extra
        As in :func:`app_command`.
    workspace : path-like, optional
        The workspace (``MSDASH_HOME``); by default the environment's or ``~/.msdash``.
    """
    env = dict(os.environ)
    if workspace is not None:
        env["MSDASH_HOME"] = str(Path(workspace).expanduser())
    try:
        return subprocess.call(app_command(port, address, extra), env=env)
    except KeyboardInterrupt:
        return 0


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The dashboard on 127.0.0.1 in a child process, with its own ``MSDASH_HOME``.

    Started as ``msdash app`` starts it (:func:`app_command`), listening on a free local port.

    Parameters
    ----------
    script : path, optional
        The Streamlit script; the package's :data:`MAIN_SCRIPT` by default (the repository's ``app.py`` runs the
        same app).
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

    def __init__(self, script=None, home=None, port=None, *, env=None, log=None):
        self.script = MAIN_SCRIPT if script is None else Path(script).resolve()
        self.home = None if home is None else Path(home)
        self.extra_env = dict(env or {})
        self.log = None if log is None else Path(log)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.up_seconds = None

    def start(self, timeout=60.0):
        """Start the server and wait until its health endpoint answers (raises when it does not)."""
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.extra_env)
        if self.home is not None:
            env["MSDASH_HOME"] = str(self.home)
        command = app_command(self.port, "127.0.0.1")
        command[4] = str(self.script)
        started = time.perf_counter()
        errors = subprocess.PIPE if self.log is None else open(self.log, "ab")
        try:
            self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
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
