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
#: Session-state key: the data set the current selection belongs to.
SELECTION_DATASET = "selection_dataset"
#: Session-state key: the selection of every data set this session has had open, so going back restores it.
_SELECTIONS = "_selections_by_dataset"
_SEEN = "_map_events_seen"
_DRAWN = "_map_specs_drawn"


def fast_key(chart_key):
    """Session-state key of the fast canvas map drawn in place of the plotly chart ``chart_key``.

    >>> fast_key("map_chart_1")
    'map_fast_1'
    """
    return chart_key.replace("map_chart_", "map_fast_")


def highlighted(chart_key, selected):
    """Samples to highlight on ``chart_key``: none on the chart the selection was made on.

    Plotly already shows a selection on its own chart; leaving that figure unchanged means a click does not
    resend the whole figure. (The Map page rings the selection on every map and tells :func:`drawn` what
    each map is drawn from instead, so a redrawn map keeps the selection.)
    """
    return () if st.session_state.get(SELECTION_SOURCE) == chart_key else selected


def own_selection(dataset_id, names, pick_keys=()):
    """Make the shared selection the one of the open data set; return it (names of ``dataset_id`` only).

    A selection belongs to the data set it was made in: opening another set stashes it and brings back
    that set's own (empty at first), clears the name pickers ``pick_keys`` and forgets the charts' old events,
    so no name of one set ever reaches a page of another.
    """
    stash = st.session_state.setdefault(_SELECTIONS, {})
    owner = st.session_state.get(SELECTION_DATASET)
    if owner != dataset_id:
        if owner is not None:
            stash[owner] = list(st.session_state.get(SELECTED, []))
        st.session_state[SELECTION_DATASET] = dataset_id
        st.session_state[SELECTED] = list(stash.get(dataset_id, []))
        st.session_state[SELECTION_SOURCE] = None
        st.session_state[_SEEN] = {}
        st.session_state[_DRAWN] = {}
        for key in pick_keys:
            st.session_state.pop(key, None)
    known = set(names)
    current = [n for n in st.session_state.get(SELECTED, []) if n in known]
    st.session_state[SELECTED] = current
    return list(current)


def sync_selection(chart_keys, pick_key, names=None, dataset_id=None):
    """Update the shared selection from whichever map (or the name picker) changed since the last run.

    Charts report their selection in ``st.session_state[key]`` (read with dict access, so AppTest can
    inject it): plotly charts as points with names in ``customdata``, fast maps as row ids of ``names``
    (see :func:`msdash.app.fastmap.selection_names`). The last chart whose event changed wins; the others
    then highlight the same samples. With ``dataset_id`` the selection is that data set's
    (:func:`own_selection`); only names in ``names`` are returned.
    """
    from msdash.maps import selection_from_event

    if dataset_id is not None:
        own_selection(dataset_id, names if names is not None else [],
                      [pick_key] + [f"{pick_key}_{part}" for part in ("pattern", "pattern_message", "group",
                                                                      "group_column")])
    seen = st.session_state.setdefault(_SEEN, {})
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
    selected = list(st.session_state.get(SELECTED, []))
    if names is not None:
        known = set(names)
        selected = [n for n in selected if n in known]
    return selected


def drawn(chart_key, *parts):
    """Note what a plotly map is drawn from, just before ``st.plotly_chart(..., key=chart_key)``.

    Streamlit gives a plotly chart whose figure changed a new identity with an empty selection. When
    ``parts`` (everything the figure is built from) differ from the last run's, the chart's next empty event
    is that fresh start, not the user clearing the selection — so switching PCA ↔ UMAP, recolouring or
    ringing the selection keeps it.
    """
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(str((part.dtype, part.shape)).encode())
            digest.update(np.ascontiguousarray(part).tobytes() if part.dtype != object
                          else repr(part.tolist()).encode())
        elif hasattr(part, "to_numpy") and hasattr(part, "columns"):  # a DataFrame
            digest.update(repr(list(part.columns)).encode())
            digest.update(repr(part.to_numpy().tolist()).encode())
        else:
            digest.update(repr(part).encode())
        digest.update(b"\0")
    fingerprint = digest.hexdigest()
    specs = st.session_state.setdefault(_DRAWN, {})
    if specs.get(chart_key) != fingerprint:
        specs[chart_key] = fingerprint
        st.session_state.setdefault(_SEEN, {})[chart_key] = "[]"


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
_MODE_LABELS = {"prefix": "starts with", "regex": "regular expression (whole name)"}


def name_picker(names, key, properties=None, group_columns=()):
    """Controls (not charts) that pick samples and replace the shared selection.

    - by exact name: a multiselect up to :data:`PICKER_OPTIONS_MAX` samples, else a text box of names
      separated by commas or spaces;
    - by pattern: names starting with typed prefixes, or matching a regular expression as a whole
      (:func:`msdash.selection.pick_names`; nothing fuzzy);
    - by group: every sample of one value of a group column (e.g. one paper).
    """
    from msdash.display import escape_markdown

    left, middle, right = st.columns([3, 3, 2])
    with left:
        if len(names) <= PICKER_OPTIONS_MAX:
            st.multiselect("Pick samples by name", names, key=key, on_change=_pick_changed, args=(key, None))
        else:
            st.text_input("Pick samples by name (separate names with commas or spaces)", key=key,
                          on_change=_pick_changed, args=(key, frozenset(names)))
            unknown = [n for n in _typed_names(st.session_state.get(key, "")) if n not in set(names)]
            if unknown:
                st.warning(f"Not in this data set: {escape_markdown(', '.join(unknown[:10]))}")
    with middle:
        mode = st.segmented_control("Pattern", list(_MODE_LABELS), default="prefix", key=f"{key}_mode",
                                    format_func=_MODE_LABELS.get) or "prefix"
        st.text_input("…or by a name pattern", key=f"{key}_pattern", on_change=_pattern_changed,
                      args=(key, tuple(names)), placeholder="A1_, B2_" if mode == "prefix" else r"A1\d*_0[1-5]",
                      help="Starts with: one or more prefixes separated by commas. Regular expression: the whole "
                           "name must match. Nothing fuzzy: only names that match exactly are picked.")
        if message := st.session_state.get(f"{key}_pattern_message"):
            st.caption(escape_markdown(message))
    group_columns = [c for c in group_columns if properties is not None and c in properties.columns]
    if group_columns:
        with right:
            column = st.selectbox("…or a whole group of", group_columns, key=f"{key}_group_column")
            values = sorted(properties[column].dropna().astype(str).unique().tolist())
            st.selectbox(f"value of {escape_markdown(column)}", values, index=None, key=f"{key}_group",
                         placeholder="choose a group", on_change=_group_changed, args=(key, properties, column))


def group_columns(dataset):
    """Columns whose values make groups to pick whole: the data set's group column first, then text columns
    with fewer distinct values than samples (e.g. the source paper)."""
    columns = [dataset.group_column] if dataset.group_column else []
    for column in dataset.properties.columns:
        if column in columns or column in dataset.numeric_columns:
            continue
        distinct = dataset.properties[column].nunique(dropna=True)
        if 1 < distinct < len(dataset):
            columns.append(column)
    return columns


def clear_selection():
    """Button callback: nothing selected (on every map)."""
    st.session_state[SELECTED] = []
    st.session_state[SELECTION_SOURCE] = None


def labels_of(sets, extractors):
    """Labels of :func:`msdash.app.features.feature_sets` computed by ``extractors``, in that order.

    >>> labels_of({"phys_feat2": ("computed", "phys_feat2", {}), "two_point (cutoff=32)":
    ...            ("computed", "two_point", {"cutoff": 32})}, ("two_point", "phys_feat2"))
    ['two_point (cutoff=32)', 'phys_feat2']
    """
    return [label for name in extractors for label, (kind, extractor, _) in sets.items()
            if kind == "computed" and extractor == name]


def _typed_names(text):
    return [part for part in text.replace(",", " ").split() if part]


def _pick_changed(key, known):
    value = st.session_state.get(key) or []
    st.session_state[SELECTION_SOURCE] = key
    if known is not None:  # the text box
        value = [name for name in _typed_names(value) if name in known]
    st.session_state[SELECTED] = list(value)


def _pattern_changed(key, names):
    from msdash.errors import InputError
    from msdash.selection import pick_names

    text = st.session_state.get(f"{key}_pattern", "")
    mode = st.session_state.get(f"{key}_mode") or "prefix"
    try:
        picked, unmatched = pick_names(names, text, mode=mode)
    except InputError as error:
        st.session_state[f"{key}_pattern_message"] = error.message
        return
    st.session_state[f"{key}_pattern_message"] = (
        f"{len(picked)} sample(s) picked" + (f"; nothing matches {', '.join(unmatched[:10])}" if unmatched else ""))
    if text.strip():
        st.session_state[SELECTION_SOURCE] = f"{key}_pattern"
        st.session_state[SELECTED] = picked


def _group_changed(key, properties, column):
    from msdash.selection import group_names

    value = st.session_state.get(f"{key}_group")
    if value is None:
        return
    st.session_state[SELECTION_SOURCE] = f"{key}_group"
    st.session_state[SELECTED] = group_names(properties, column, value)


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


def category_count(values):
    """Number of categories among colour values (missing ones — None, NaN, "nan" — not counted).

    >>> category_count(np.array(["a", "b", "nan", "a"], dtype=object))
    2
    """
    import pandas as pd

    cells = pd.Series(values, dtype=object)
    return int(cells[cells.notna() & (cells.astype(str) != "nan")].nunique())


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

    Cancel is honoured inside the computation: between blocks of PCA's covariance/Gram build and at every
    UMAP epoch (:class:`msdash.maps.MapCancelled`); nothing partial is kept.
    """
    from msdash.maps import MapCancelled, pca_map, umap_map

    def tick(fraction):  # step events are thinned by the job; the progress bar reads the last fraction
        return callback({"event": "step", "phase": "computing", "fraction": float(fraction)})

    if callback({"event": "step", "phase": "computing", "fraction": 0.0}) is False:
        return None
    try:
        if method == "PCA":
            result = pca_map(values, n_components=30, standardize=standardize, callback=tick)
        else:
            result = umap_map(values, n_neighbors=settings["n_neighbors"], min_dist=settings["min_dist"],
                              metric=settings["metric"], random_state=42 if settings["seeded"] else None,
                              standardize=standardize, callback=tick)
    except MapCancelled:
        return None
    return result if callback({"event": "step", "phase": "done", "fraction": 1.0}) is not False else None


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
        done = max((e.get("fraction", 0.0) for e in job.events[-1:]), default=0.0)
        shown = done if done > 0 else min(elapsed / max(estimate, 1e-9), 0.99)  # the work's own count first
        st.progress(min(shown, 0.99), text=f"{what}: {elapsed:.0f} s of an estimated {estimate:.0f} s")
        st.button("Cancel", key=f"cancel_{job_id}", on_click=jobs.cancel, args=(job_id,),
                  help="Stops the map at its next step (a block of the PCA, an epoch of UMAP); nothing partial "
                       "is kept.")

    panel()


def export_button(dataset, coords, *, label, axes, color, color_label, categorical, hover, selected, key):
    """A download of the map as one offline HTML file (:mod:`msdash.mapexport`), built only when clicked.

    Micrographs show on hover for up to :data:`msdash.mapexport.MAX_HOVER_IMAGES` samples; the colouring and
    the selection are those on screen.
    """
    from msdash.mapexport import MAX_HOVER_IMAGES, map_html, thumbnail_uris
    from msdash.plots import map_figure

    with_images = len(dataset) <= MAX_HOVER_IMAGES

    def build():
        figure = map_figure(coords, dataset.names, color=color, color_label=color_label, categorical=categorical,
                            hover=hover, selected=selected, title=label, axis_labels=axes)
        thumbs = thumbnail_uris(dataset.images, dataset.names) if with_images else None
        caption = f"{dataset.name} · {len(dataset)} samples · exported from msdash"
        return map_html(figure, thumbnails=thumbs, selected=selected, title=f"Map of {label}",
                        caption=caption).encode("utf-8")

    st.download_button("Map as HTML" + (" (micrographs on hover)" if with_images else ""), build,
                       file_name="msdash-map.html", mime="text/html", key=f"export_{key}", on_click="ignore",
                       help="One file that opens offline in any browser: the points, colours and selection; "
                            "PNG/SVG downloads inside." + ("" if with_images else
                                                          f" Hover images only up to {MAX_HOVER_IMAGES:,} samples."))
