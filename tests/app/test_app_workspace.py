"""The app at start-up: leftovers of killed saves removed and reported; a read-only workspace said and used."""

import multiprocessing
import os

import numpy as np
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from msdash import config
from msdash.data import atomic
from msdash.data.dataset import Dataset
from msdash.data.datastore import save_dataset
from msdash.errors import WorkspaceError

APP = str(ROOT / "app.py")


def _leave_temporary(folder):
    # Runs in a child process that then exits: its temp folder is a leftover of a dead writer.
    leftover = os.path.join(folder, atomic.temp_name())
    os.makedirs(leftover)
    with open(os.path.join(leftover, "images.npz"), "wb") as f:
        f.write(b"x" * 500_000)


def test_leftovers_of_a_killed_save_are_removed_and_reported():
    datasets = config.workspace() / "datasets"
    child = multiprocessing.get_context("fork").Process(target=_leave_temporary, args=(str(datasets),))
    child.start()
    child.join()
    assert [p.name for p in datasets.iterdir() if p.name.startswith(".tmp-")]
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not [p.name for p in datasets.iterdir() if p.name.startswith(".tmp-")]
    toasts = [t.value for t in at.toast]
    assert any("Removed 1 leftover of interrupted saves" in t and "0.5 MB freed" in t for t in toasts), toasts


def test_read_only_workspace_is_said_in_the_sidebar(monkeypatch):
    from msdash.data import datastore

    monkeypatch.setattr(datastore, "workspace_problem", lambda: "The workspace /x is read-only (test).")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("read-only" in w.value for w in at.sidebar.warning)
    assert not at.exception


def test_read_only_workspace_without_the_demo_opens_a_saved_set(monkeypatch):
    saved = save_dataset(Dataset("kept", {"a": np.eye(4)}))

    def refuse(_dataset):
        raise WorkspaceError("The workspace /x is read-only: 'demo' cannot be saved.")

    monkeypatch.setattr("msdash.app.state.save_dataset", refuse)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.query_params["ds"] == [saved] or at.query_params["ds"] == saved


def test_read_only_empty_workspace_says_why_and_stops(monkeypatch):
    def refuse(_dataset):
        raise WorkspaceError("The workspace /x is read-only: 'demo' cannot be saved.")

    monkeypatch.setattr("msdash.app.state.save_dataset", refuse)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("cannot be saved" in e.value for e in at.error)


def test_open_the_demo_after_it_was_deleted_saves_it_again():
    from msdash.data.datastore import dataset_exists
    from msdash.saved import delete_saved

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    demo_id = at.query_params["ds"]
    demo_id = demo_id[0] if isinstance(demo_id, list) else demo_id
    other = save_dataset(Dataset("other", {"a": np.zeros((4, 4)), "b": np.ones((4, 4))}))
    at.query_params["ds"] = other
    at.session_state["dataset_id"] = other
    at.run()
    delete_saved(demo_id)
    at.button(key="open_demo").click().run()
    assert not at.exception
    shown = at.query_params["ds"]
    assert (shown[0] if isinstance(shown, list) else shown) == demo_id  # same contents, same id, saved again
    assert dataset_exists(demo_id)
