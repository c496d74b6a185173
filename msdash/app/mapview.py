"""Map computations for the pages: cached PCA/UMAP coordinates, UMAP warm-up, linked selection."""

import os
import threading
import time

import numpy as np
import streamlit as st

from msdash.app.features import SELECTED
from msdash.app.fastmap import selection_ids, selection_names

#: Above this many samples the Map page draws the fast canvas map by default (plotly stays one toggle away);
#: ``MSDASH_FAST_MAP_MIN`` overrides it (the benchmark times the plotly page that way).
FAST_MAP_MIN = int(os.environ.get("MSDASH_FAST_MAP_MIN", 20_000))


@st.cache_resource
def umap_warmup():
    """Start compiling UMAP's numba code in a background thread, once per server process.

    Returns
    -------
    dict
        ``{"done": bool, "seconds": float | None, "error": str | None}``, updated by the thread.
        Set ``MSDASH_WARM_UMAP=0`` to skip (tests do, to keep the machine free).
    """
    status = {"done": False, "seconds": None, "error": None, "started": time.time()}
    if os.environ.get("MSDASH_WARM_UMAP", "1") == "0":
        status["skipped"] = True
        return status

    def run():
        try:
            from msdash.maps import warm_umap

            status["seconds"] = warm_umap()
        except Exception as error:  # noqa: BLE001 — reported on the page, UMAP then compiles on first use
            status["error"] = f"{type(error).__name__}: {error}"
        status["done"] = True

    threading.Thread(target=run, name="umap-warmup", daemon=True).start()
    return status


@st.cache_data(max_entries=64, show_spinner="Computing the PCA map…")
def pca(_table, table_key, dataset_id, standardize, n_components=30):
    """PCA of a feature table (cached on the table's key): a :class:`msdash.maps.PCAResult`."""
    from msdash.maps import pca_map

    return pca_map(_table.values, n_components=n_components, standardize=standardize)


@st.cache_data(max_entries=32, show_spinner="Computing the UMAP map (the first fit compiles numba: 20–30 s)…")
def umap(_table, table_key, dataset_id, standardize, n_neighbors, min_dist, metric, seeded):
    """UMAP coordinates (n, 2) of a feature table, cached on the table's key and the UMAP settings."""
    from msdash.maps import umap_map

    return umap_map(_table.values, n_neighbors=n_neighbors, min_dist=min_dist, metric=metric,
                    random_state=42 if seeded else None, standardize=standardize)


def pca_axes(result):
    """Map coordinates ``(n, 2)`` and axis titles of a PCA result.

    A single component (e.g. volume fraction alone) becomes a strip along PC1 with a zero second axis.
    """
    ratio = result.explained_variance_ratio
    coords = result.coords[:, :2]
    axes = (f"PC1 ({100 * ratio[0]:.1f}%)", f"PC2 ({100 * ratio[1]:.1f}%)" if len(ratio) > 1 else "PC2")
    if coords.shape[1] < 2:
        coords = np.column_stack([coords[:, 0], np.zeros(len(coords))])
        axes = (axes[0], "(one component only)")
    return coords, axes


#: Session-state key: which chart (or picker) made the current selection.
SELECTION_SOURCE = "selection_source"


def fast_key(chart_key):
    """Session-state key of the fast canvas map drawn in place of the plotly chart ``chart_key``.

    >>> fast_key("map_chart_1")
    'map_fast_1'
    """
    return chart_key.replace("map_chart_", "map_fast_")


def highlighted(chart_key, selected):
    """Samples to highlight on ``chart_key``: none on the chart the selection was made on.

    Plotly already shows a selection on its own chart; leaving that figure unchanged means a click on a
    50,000-point map does not resend the whole figure.
    """
    return () if st.session_state.get(SELECTION_SOURCE) == chart_key else selected


def sync_selection(chart_keys, pick_key, names=None):
    """Update the shared selection from whichever map (or the name picker) changed since the last run.

    Charts report their selection in ``st.session_state[key]`` (read with dict access, so AppTest can
    inject it): plotly charts as points with names in ``customdata``, fast maps as row ids of ``names``
    (see :func:`msdash.app.fastmap.selection_names`). The last chart whose event changed wins; the others
    then highlight the same samples.
    """
    from msdash.maps import selection_from_event

    seen = st.session_state.setdefault("_map_events_seen", {})
    for key in chart_keys:
        event = st.session_state.get(key)
        if event is None:  # not drawn yet, or drawn anew (renderer switched): its old event is gone
            seen.pop(key, None)
            continue
        # A chart that appears (no state yet → empty selection) is not a user's change.
        signature = _signature(event)
        if seen.get(key, "[]") != signature:
            seen[key] = signature
            fast = selection_names(event, names if names is not None else [])
            st.session_state[SELECTED] = fast if fast is not None else selection_from_event(event)
            st.session_state[SELECTION_SOURCE] = key
    return list(st.session_state.get(SELECTED, []))


def _signature(event):
    fast = selection_ids(event)
    if fast is not None:  # every click, box or lasso has its own stamp, so repeating one still counts
        return repr(fast)
    return repr(_points(event) or [])


def _points(event):
    try:
        return list(event["selection"]["points"])
    except (KeyError, TypeError):
        return None


#: Above this many samples the name picker is a text box: a list of 50,000 options slows the browser.
PICKER_OPTIONS_MAX = 2000


def name_picker(names, key):
    """A control (not a chart) that picks samples by name and replaces the shared selection.

    A multiselect for data sets up to :data:`PICKER_OPTIONS_MAX` samples, else a text box taking names
    separated by commas or spaces.
    """
    if len(names) <= PICKER_OPTIONS_MAX:
        st.multiselect("Pick samples by name", names, key=key, on_change=_pick_changed, args=(key, None))
        return
    st.text_input("Pick samples by name (separate names with commas or spaces)", key=key,
                  on_change=_pick_changed, args=(key, frozenset(names)))
    unknown = [n for n in _typed_names(st.session_state.get(key, "")) if n not in set(names)]
    if unknown:
        from msdash.display import escape_markdown

        st.warning(f"Not in this data set: {escape_markdown(', '.join(unknown[:10]))}")


def _typed_names(text):
    return [part for part in text.replace(",", " ").split() if part]


def _pick_changed(key, known):
    value = st.session_state.get(key) or []
    st.session_state[SELECTION_SOURCE] = key
    if known is not None:  # the text box
        value = [name for name in _typed_names(value) if name in known]
    st.session_state[SELECTED] = list(value)


def colour_values(dataset, dataset_id, choice):
    """Values and kind for "colour by": ``(values (n,), label, categorical)`` or ``(None, None, None)``."""
    if choice is None:
        return None, None, None
    if choice == "volume fraction (phase 1)":
        if "volume_fraction" in dataset.properties.columns:
            return dataset.properties["volume_fraction"].to_numpy(float), "volume fraction", False
        from msdash.app.features import feature_table

        table = feature_table(dataset_id, "volume_fraction", {})
        return table.values[:, 0], "volume fraction (phase 1)", False
    column = dataset.properties[choice]
    categorical = choice not in dataset.numeric_columns
    values = column.astype(str).to_numpy() if categorical else column.to_numpy(float)
    return values, choice, categorical


def square_window(labels):
    """Side of the square two-point window when the labels are ``S2[dy=..,dx=..]`` (else None)."""
    if not len(labels) or not str(labels[0]).startswith("S2[dy="):
        return None
    side = int(round(np.sqrt(len(labels))))
    return side if side * side == len(labels) else None
