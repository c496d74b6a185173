"""Session state of the dashboard: which data set is open, kept in the URL so a refresh keeps it.

Saved data sets live in the workspace and are shared by every session (read-only); what a session has
uploaded but not saved lives in its own ``st.session_state`` and is never seen by another session.
"""

import streamlit as st

from msdash import config
from msdash.data.dataset import demo_dataset
from msdash.data.datastore import dataset_exists, list_datasets, load_dataset, save_dataset
from msdash.app.keys import DATASET_ID, FLASH, KEPT_SETTINGS, QUERY_DATASET, WORKSPACE_PROBLEM
from msdash.errors import WorkspaceError
from msdash.display import escape_markdown


@st.cache_resource(show_spinner="Preparing the demo data set…")
def _demo_id(workspace):
    # Keyed on the workspace so a different MSDASH_HOME in the same process gets its own copy.
    return save_dataset(demo_dataset())


@st.cache_resource(max_entries=8, show_spinner="Opening the data set…")
def _load(dataset_id, workspace):
    return load_dataset(dataset_id)


def open_dataset(dataset_id):
    """Make ``dataset_id`` the open data set of this session and put it in the URL."""
    st.session_state[DATASET_ID] = dataset_id
    st.query_params[QUERY_DATASET] = dataset_id


def current_dataset_id():
    """Return the id of the open data set, choosing one on the first run of a session.

    Order: this session's choice; else the id in the URL when that data set is saved here; else the
    demo, which is saved to the workspace on first use so it is there when the app first opens.
    """
    workspace = str(config.workspace())
    dataset_id = st.session_state.get(DATASET_ID)
    if dataset_id and dataset_exists(dataset_id):
        if st.query_params.get(QUERY_DATASET) != dataset_id:
            st.query_params[QUERY_DATASET] = dataset_id
        return dataset_id
    wanted = st.query_params.get(QUERY_DATASET)
    if wanted and dataset_exists(wanted):
        dataset_id = wanted
    else:
        if wanted or st.session_state.get(DATASET_ID):
            asked = str(wanted or st.session_state.get(DATASET_ID))  # from the URL: anyone can craft it
            shown = escape_markdown(asked if len(asked) <= 60 else asked[:60] + "…")
            flash(f"The data set “{shown}” is not in this workspace "
                  "(deleted, or a link from another machine); the demo is open instead.", "warning")
        dataset_id = _opening_id(workspace)
    open_dataset(dataset_id)
    return dataset_id


def _saved_demo_id(workspace):
    dataset_id = _demo_id(workspace)
    if not dataset_exists(dataset_id):  # the demo was deleted since it was cached: save it again
        _demo_id.clear()
        dataset_id = _demo_id(workspace)
    return dataset_id


def open_demo():
    """Open the built-in demo data set in this session (saved again first if it was deleted)."""
    open_dataset(_saved_demo_id(str(config.workspace())))


def _opening_id(workspace):
    """The demo's id (saved on first use); in a read-only workspace without it, the newest saved set."""
    try:
        return _saved_demo_id(workspace)
    except WorkspaceError as error:
        saved = list_datasets()
        if saved:
            return saved[0].id
        st.error(escape_markdown(str(error)))
        st.stop()


def workspace_notices():
    """Say once per server process what the start-up clean-up removed; say when the workspace is read-only.

    The clean-up removes leftovers of saves killed mid-write (never those of a save in progress).
    """
    from msdash.data import datastore

    summary = datastore.cleanup_summary(datastore.startup_cleanup())
    if summary:
        st.toast(summary)
    if WORKSPACE_PROBLEM not in st.session_state:  # checked once per session: it writes a probe file
        st.session_state[WORKSPACE_PROBLEM] = datastore.workspace_problem()
    if st.session_state[WORKSPACE_PROBLEM]:
        st.sidebar.warning(escape_markdown(st.session_state[WORKSPACE_PROBLEM]))


def current_dataset():
    """Return the open :class:`msdash.data.dataset.Dataset` (shared cache: treat it as read-only)."""
    return _load(current_dataset_id(), str(config.workspace()))


def forget_cached_datasets():
    """Drop cached data sets, e.g. after one was deleted."""
    _load.clear()
    _demo_id.clear()


def flash(message, kind="success"):
    """Queue a message for the next run of this session (survives ``st.rerun``).

    ``message`` is markdown: escape user text in it with :func:`msdash.display.escape_markdown`.
    """
    st.session_state.setdefault(FLASH, []).append((kind, message))


def show_flash():
    """Show and clear the queued messages."""
    for kind, message in st.session_state.pop(FLASH, []):
        getattr(st, kind)(message)


def restore(key, scope, valid=None):
    """Bring back a widget's value that Streamlit dropped while the user was on another page.

    Call before creating the widget ``key``; call :func:`keep` after it. A value that is no longer valid
    (``valid(value)`` false, e.g. a feature set of another data set) is dropped, so the widget falls back
    to its default instead of failing.

    Parameters
    ----------
    key : str
        The widget's key.
    scope : str
        What the value belongs to, e.g. ``f"map:{dataset_id}"``: each data set keeps its own settings.
    valid : callable, optional
        ``valid(value) -> bool``.
    """
    if key in st.session_state and valid is not None and not valid(st.session_state[key]):
        del st.session_state[key]
    kept = st.session_state.get(KEPT_SETTINGS, {}).get(scope, {})
    if key not in st.session_state and key in kept and (valid is None or valid(kept[key])):
        st.session_state[key] = kept[key]


def keep(key, scope):
    """Remember the current value of widget ``key`` for ``scope`` (see :func:`restore`)."""
    if key in st.session_state:
        st.session_state.setdefault(KEPT_SETTINGS, {}).setdefault(scope, {})[key] = st.session_state[key]
