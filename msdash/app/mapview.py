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


#: Samples of the warm-up table: umap-learn switches to approximate neighbours (pynndescent) at 4,096 samples,
#: so a warm-up below that never compiles the path every real data set of that size takes.
WARM_UMAP_SAMPLES = 4_200
#: Seconds the warm-up waits before compiling, so the first page of a fresh server renders without it.
WARM_UMAP_DELAY_S = 6.0


def warm_umap_paths():
    """Compile the numba code of both of UMAP's neighbour paths with the page's default settings.

    Fits UMAP (15 neighbours, euclidean, seed 42 as the Map page's default) on a tiny table — the exact
    neighbour path below 4,096 samples — and on :data:`WARM_UMAP_SAMPLES` × 8 random points, which takes
    pynndescent's approximate nearest neighbours and the layout of large sets.

    Returns
    -------
    float
        Seconds it took (about a minute in a fresh process, a few seconds once numba's cache holds it).
    """
    from msdash.maps import umap_map, warm_umap

    started = time.perf_counter()
    warm_umap()
    umap_map(np.random.default_rng(0).normal(size=(WARM_UMAP_SAMPLES, 8)), n_neighbors=15, random_state=42)
    return time.perf_counter() - started


@st.cache_resource
def umap_warmup():
    """Start compiling UMAP's numba code (:func:`warm_umap_paths`) in a background thread, once per server.

    The thread waits :data:`WARM_UMAP_DELAY_S` first and runs at low CPU priority (Linux), so the first page
    is not slowed by it.

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
            time.sleep(WARM_UMAP_DELAY_S)
            try:  # a thread is a task on Linux: lower its priority only
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except (AttributeError, OSError):
                pass
            status["seconds"] = warm_umap_paths()
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


# --- maps predicted to take minutes: said before they start, run in the background, cancellable ---------------

def map_estimate(method, n, d, *, n_neighbors=15, **_):
    """Predicted seconds of a PCA or UMAP map of an ``n × d`` table (:func:`features.estimate_seconds`)."""
    from msdash.app.features import estimate_seconds

    return estimate_seconds("pca" if method == "PCA" else "umap", n, d, n_neighbors=n_neighbors)


def _map_job(values, method, standardize, settings, *, callback):
    """Background job computing one map; returns the PCA result or UMAP coordinates, None when cancelled.

    PCA and UMAP have no stop point inside (one decomposition, one umap-learn fit): Cancel is honoured before
    the computation starts, and a computation already running finishes and its result is dropped.
    """
    if callback({"phase": "computing"}) is False:
        return None
    if method == "PCA":
        from msdash.maps import pca_map

        result = pca_map(values, n_components=30, standardize=standardize)
    else:
        from msdash.maps import umap_map

        result = umap_map(values, n_neighbors=settings["n_neighbors"], min_dist=settings["min_dist"],
                          metric=settings["metric"], random_state=42 if settings["seeded"] else None,
                          standardize=standardize)
    return result if callback({"phase": "done"}) is not False else None


def background_map(index, label, table, method, standardize, settings, estimate):
    """A map predicted to take long (≥ :data:`features.LONG_STEP_S`): its estimate and a button to start it,
    then progress and Cancel while it runs in the background (:mod:`msdash.jobs`).

    The job is shared by every session that asks for the same map (same table, method and settings).

    Returns
    -------
    PCAResult, ndarray (n, 2) or None
        The finished map, or None while there is none yet.
    """
    import json

    from msdash import jobs
    from msdash.app.features import format_duration
    from msdash.display import escape_markdown

    job_id = f"map:{method}:{table.key}:{bool(standardize)}:{json.dumps(settings, sort_keys=True)}"
    job = jobs.get(job_id)
    if job is not None and job.status == "done" and job.result is not None:
        return job.result
    n, d = table.values.shape
    what = escape_markdown(f"The {method} map of {label} ({n:,} samples × {d:,} features)")
    if job is not None and job.running:
        _map_progress(job_id, what, estimate)
        return None
    if job is not None and job.status == "failed":
        st.error(f"{what} failed: {escape_markdown(job.error)}")
    elif job is not None:
        st.warning(f"{what} was cancelled.")
    st.info(f"{what} is estimated to take {format_duration(estimate)} on this machine, so it waits for you. "
            "It runs in the background; a smaller feature set maps in seconds.")
    if st.button(f"Compute this map ({format_duration(estimate)})", key=f"long_map_{index}"):
        jobs.start(job_id, f"{method} map of {label}", _map_job, table.values, method, bool(standardize),
                   settings)
        st.rerun()
    return None


def _map_progress(job_id, what, estimate):
    from msdash import jobs

    @st.fragment(run_every=1.0)
    def panel():
        job = jobs.get(job_id)
        if not job.running:
            st.rerun(scope="app")
        elapsed = time.time() - job.started
        st.progress(min(elapsed / max(estimate, 1e-9), 0.99),
                    text=f"{what}: {elapsed:.0f} s of an estimated {estimate:.0f} s")
        st.button("Cancel", key=f"cancel_{job_id}", on_click=jobs.cancel, args=(job_id,),
                  help="Stops waiting for this map. A decomposition already running has no stop point inside: "
                       "it finishes in the background and its result is dropped.")

    panel()
