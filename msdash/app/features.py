"""Feature sets of the open data set: computed through the store, cached per session-independent key."""

import json
from collections import OrderedDict

import streamlit as st

from msdash.app import state

#: Session-state key: names of the samples selected on a map or a parity plot (shared by the pages).
SELECTED = "selected_samples"


def params_key(params):
    """Canonical JSON of extractor parameters (the cache key of a feature set)."""
    return json.dumps(params, sort_keys=True, default=str)


@st.cache_resource
def _shared_tables():
    # One LRU of feature tables for all sessions (read-only); progress is drawn outside any cached call.
    return OrderedDict()


def feature_table(dataset_id, name, params):
    """Return the :class:`msdash.features.FeatureTable` of the open data set (store first, then compute).

    Shared across reruns and sessions (treat as read-only); the on-disk store makes it survive restarts.
    Computing shows a progress bar.
    """
    from msdash.features import extract
    from msdash.features.store import save_table_meta

    cache = _shared_tables()
    key = (str(state.config.workspace()), dataset_id, name, params_key(params))
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    bar = st.progress(0.0, text=f"{name}: reading the feature store…")

    def progress(done, total, message=""):
        bar.progress(min(1.0, done / max(total, 1)), text=f"{name}: {done} of {total} samples {message}")

    table = extract(state.current_dataset(), name, progress=progress, **params)
    bar.empty()
    save_table_meta(dataset_id, table)
    cache[key] = table
    while len(cache) > 32:
        cache.popitem(last=False)
    return table


def feature_sets(dataset_id):
    """Feature sets known for a data set: computed (from the store's records) and imported.

    Returns
    -------
    dict
        label → ``("computed", extractor, params)`` or ``("imported", table_name, None)``.
    """
    from msdash.features.imported import list_imported
    from msdash.features.store import list_tables

    sets = {}
    for record in list_tables(dataset_id):
        params = record["params"]
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        sets[f"{record['extractor']} ({shown})" if shown else record["extractor"]] = (
            "computed", record["extractor"], params)
    for name in list_imported(dataset_id):
        sets[f"imported: {name}"] = ("imported", name, None)
    return sets


def load_feature_set(dataset_id, entry):
    """Return the FeatureTable for an entry of :func:`feature_sets`."""
    kind, name, params = entry
    if kind == "computed":
        return feature_table(dataset_id, name, params)
    from msdash.features.imported import load_imported

    return load_imported(dataset_id, name)
