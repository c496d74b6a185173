"""Map computations for the pages: cached PCA/UMAP coordinates, UMAP warm-up, colours, background maps and
the HTML export (the linked selection and the name pickers are in :mod:`msdash.app.selectionview`)."""

import os
import threading
import time

import numpy as np
import streamlit as st


#: Above this many samples the Map page draws the fast canvas map by default (plotly stays one toggle away);
#: ``MSDASH_FAST_MAP_MIN`` overrides it (the benchmark times the plotly page that way).
FAST_MAP_MIN = int(os.environ.get("MSDASH_FAST_MAP_MIN", 20_000))


#: ``MSDASH_HOVER_IMAGES=0`` leaves the micrographs out of the maps' hover (the benchmark's numbers-only baseline).
HOVER_IMAGES = os.environ.get("MSDASH_HOVER_IMAGES", "1") != "0"
#: Up to this many samples the hover atlas is built while the page runs (well under a second); larger data sets
#: build it in the background and the maps show numbers only until it is ready.
ATLAS_INLINE_MAX = 5_000


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
    """UMAP of a feature table (a :class:`msdash.umapmap.UMAPResult`: ``coords`` (n, 2) and a ``note`` when the
    table was reduced to fit the memory budget), cached on the table's key and the UMAP settings."""
    from msdash.umapmap import umap_embedding

    return umap_embedding(_table.values, n_neighbors=n_neighbors, min_dist=min_dist, metric=metric,
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
    """Background job computing one map; returns the PCA or UMAP result (``UMAPResult``), None when cancelled.

    Cancel is honoured inside the computation: between blocks of PCA's covariance/Gram build and at every
    UMAP epoch (:class:`msdash.maps.MapCancelled`); nothing partial is kept.
    """
    from msdash.maps import MapCancelled, pca_map
    from msdash.umapmap import umap_embedding

    def tick(fraction):  # step events are thinned by the job; the progress bar reads the last fraction
        return callback({"event": "step", "phase": "computing", "fraction": float(fraction)})

    if callback({"event": "step", "phase": "computing", "fraction": 0.0}) is False:
        return None
    try:
        if method == "PCA":
            result = pca_map(values, n_components=30, standardize=standardize, callback=tick)
        else:
            result = umap_embedding(values, n_neighbors=settings["n_neighbors"], min_dist=settings["min_dist"],
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

    from msdash.learned import jobs
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
    from msdash.learned import jobs

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


# --- micrographs on hover: the data set's thumbnail atlas (msdash.atlas), built once, sent once ---------------

@st.cache_resource(max_entries=4, show_spinner=False)
def _atlas(dataset_id, workspace, _dataset):
    """The atlas of a saved data set: ``{"payload": bytes | None, "error": str | None, "done": bool}``.

    Read from the workspace when cached there; else built at once up to :data:`ATLAS_INLINE_MAX` samples, above
    in a child process at low priority (waited for by a thread), once per server. A saved data set only: the child
    loads it by id.
    """
    from msdash.atlas import atlas_path, atlas_settings, dataset_atlas

    status = {"payload": None, "error": None, "done": False}

    def build():
        try:
            status["payload"] = dataset_atlas(_dataset, dataset_id)
        except Exception as error:  # noqa: BLE001 — the maps then show numbers only, and say why
            status["error"] = f"{type(error).__name__}: {error}"
        status["done"] = True

    if len(_dataset) <= ATLAS_INLINE_MAX or atlas_path(dataset_id, *atlas_settings(len(_dataset))).exists():
        build()
        return status

    def background():
        # In a child process: building 50,000 thumbnails takes seconds of CPU, which a thread would take from the
        # pages through the GIL. The child writes the workspace cache; this thread then reads it. (Not
        # multiprocessing: its "spawn" would run the page script, Streamlit's __main__, in the child.)
        import subprocess
        import sys

        code = "import sys; from msdash.atlas import build_saved_atlas; build_saved_atlas(*sys.argv[1:3], nice=10)"
        try:
            subprocess.run([sys.executable, "-c", code, dataset_id, workspace], check=True, timeout=3600,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except (OSError, subprocess.SubprocessError):  # no child, or it failed: built here instead, as below
            pass
        build()

    threading.Thread(target=background, name=f"atlas-{dataset_id}", daemon=True).start()
    return status


def hover_images(dataset, dataset_id):
    """Send the data set's hover atlas to the browser once; return the maps' ``images`` spec, or None.

    While a large atlas is being built, a line says so and the page reruns once it is ready.

    Returns
    -------
    dict or None
        ``{"atlas": token, "pixel_um": dataset.pixel_size_um}`` for :func:`msdash.app.fastmap.fast_map` and
        :func:`msdash.app.fastmap.plotly_hover`.
    """
    from msdash import config
    from msdash.app.fastmap import hover_atlas
    from msdash.display import escape_markdown

    if not HOVER_IMAGES or not len(dataset):
        return None
    status = _atlas(dataset_id, str(config.workspace()), dataset)
    if status["payload"] is not None:
        token = hover_atlas(status["payload"], key="map_hover_atlas")
        return {"atlas": token, "pixel_um": dataset.pixel_size_um}
    if status["error"]:
        st.caption(f"Micrographs on hover are unavailable: {escape_markdown(status['error'])}")
        return None

    @st.fragment(run_every=1.0)
    def waiting():
        if status["done"]:
            st.rerun(scope="app")
        st.caption(f"Preparing the micrographs shown on hover ({len(dataset):,} samples); the maps show numbers "
                   "until then.")

    waiting()
    return None
