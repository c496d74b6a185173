"""Map: PCA/UMAP microstructure maps of one to four feature sets side by side, with linked selection."""

import numpy as np
import streamlit as st

from msdash.app import features, keys, mapview, panels, selectionview, state, widgets
from msdash.app.charts import chart
from msdash.app.fastmap import fast_map, plotly_hover
from msdash.data.lengths import dataset_in_um
from msdash.display import escape_markdown
from msdash.plots import correlation_figure, loadings_figure, map_figure, palette_note, scree_figure

# columns in px (e.g. a correlation length) colour and hover in µm when the pixel size is known
dataset_id, dataset = widgets.page_header("Microstructure map", view=dataset_in_um)

sets = features.feature_sets(dataset_id)
if not sets:
    st.info("No feature set for this data set yet. Compute one on the Features page, or start with the "
            "classical defaults here.")
    if st.button("Compute two-point correlations and the PSD features", key="map_quickstart"):
        promised = ("two_point", "phys_feat2")
        for name in promised:  # one failing (e.g. images too small for the PSD) leaves the other on the map
            with widgets.user_errors(f"Computing {name}"):
                features.feature_table(dataset_id, name, {})
        # The map opens on what the button said: both sets, side by side (those that could be computed).
        if opened := selectionview.labels_of(features.feature_sets(dataset_id), promised):
            st.session_state[keys.MAP_SETS] = opened
            st.rerun()
    st.stop()

labels = list(sets)
sizes = features.feature_set_sizes(dataset_id, sets)
default_set = features.smallest_set(sizes, min_features=features.MIN_FEATURES_MAP)
scope = f"map:{dataset_id}"  # the page's settings survive a visit to another page, per data set
state.restore(keys.MAP_SETS, scope, valid=lambda value: bool(value) and all(v in labels for v in value))
chosen = st.multiselect("Feature sets (one to four, side by side)", labels,
                        default=None if keys.MAP_SETS in st.session_state else [default_set],
                        max_selections=4, key=keys.MAP_SETS)
state.keep(keys.MAP_SETS, scope)
if note := features.default_note(default_set, sizes):
    st.caption(note)
c1, c2, c3 = st.columns([1, 1, 2])
colour_options = ["volume fraction (phase 1)"] + list(dataset.properties.columns)
state.restore(keys.MAP_METHOD, scope, valid=lambda value: value in ("PCA", "UMAP", None))
state.restore(keys.MAP_STANDARDIZE, scope, valid=lambda value: isinstance(value, bool))
state.restore(keys.MAP_COLOR, scope, valid=lambda value: value in colour_options)
method = c1.segmented_control("Method", ["PCA", "UMAP"], default="PCA", key=keys.MAP_METHOD) or "PCA"
standardize = c2.toggle("Standardise features", key=keys.MAP_STANDARDIZE,
                        help="Scale every feature to unit variance before the map (off: plain centring).")
colour = c3.selectbox("Colour by", colour_options, key=keys.MAP_COLOR)
for kept in (keys.MAP_METHOD, keys.MAP_STANDARDIZE, keys.MAP_COLOR):
    state.keep(kept, scope)
umap_settings = {}
if method == "UMAP":
    warm = mapview.umap_warmup()
    if not warm["done"] and not warm.get("skipped"):
        st.info("UMAP is still compiling in the background (numba); the first map may take 20–30 s.")
    with st.expander("UMAP settings", expanded=False):
        u1, u2, u3, u4 = st.columns(4)
        umap_settings = dict(
            n_neighbors=u1.slider("neighbours", 2, 100, 15, key="umap_neighbors"),
            min_dist=u2.slider("min_dist", 0.0, 1.0, 0.1, key="umap_min_dist"),
            metric=u3.selectbox("metric", ["euclidean", "cosine", "manhattan", "correlation"], key="umap_metric"),
            seeded=u4.toggle("Reproducible (seed 42, one thread)", value=True, key="umap_seeded"),
        )

colour_values, colour_label, categorical = None, None, None
with widgets.user_errors("Colouring the map"):
    colour_values, colour_label, categorical = mapview.colour_values(dataset, dataset_id, colour)
    if categorical and (note := palette_note(mapview.category_count(colour_values))):
        st.caption(escape_markdown(note))
hover = dataset.properties[list(dataset.numeric_columns)[:4]]
tables, pcas, maps = [], [], []
for i, label in enumerate(chosen):
    with widgets.user_errors(f"Computing the map of {label}"):
        table = features.load_feature_set(dataset_id, sets[label])
        tables.append(table)
        estimate = mapview.map_estimate(method, *table.values.shape, **umap_settings)
        if estimate >= features.LONG_STEP_S:  # said before it starts, runs in the background, cancellable
            result = mapview.background_map(i, label, table, method, standardize, umap_settings, estimate)
            if result is None:
                continue
        elif method == "PCA":
            result = mapview.pca(table, table.key, dataset_id, standardize)
        else:
            result = mapview.umap(table, table.key, dataset_id, standardize, **umap_settings)
        if method == "PCA":
            pcas.append((label, table, result))
            maps.append((keys.map_chart(i), label, table, *mapview.pca_axes(result)))
        else:
            if result.note:  # reduced to principal components first, to fit the memory budget
                st.info(escape_markdown(f"{label}: {result.note}"))
            maps.append((keys.map_chart(i), label, table, result.coords, ("UMAP 1", "UMAP 2")))

images = mapview.hover_images(dataset, dataset_id) if maps else None  # micrographs on hover, sent once


@st.fragment
def maps_and_selection():
    """The maps and the selected samples: a click reruns only this part, not the PC analysis below."""
    fast = st.toggle("Fast canvas map", value=len(dataset) > mapview.FAST_MAP_MIN, key=f"map_fast_on_{dataset_id}",
                     help="Draw the maps on a plain canvas: quick with tens of thousands of points. Off: plotly.")
    st.caption(f"Renderer: {'fast canvas map' if fast else 'plotly (WebGL)'} · {len(dataset)} samples · default "
               f"is the canvas map above {mapview.FAST_MAP_MIN:,} samples")
    chart_keys = [selectionview.fast_key(key) if fast else key for key, *_ in maps]
    selected = selectionview.sync_selection(chart_keys, keys.MAP_PICK, dataset.names, dataset_id)
    selectionview.name_picker(dataset.names, keys.MAP_PICK, dataset.properties, selectionview.group_columns(dataset))
    if selected:
        st.button(f"Clear the selection ({len(selected)})", key="map_clear", on_click=selectionview.clear_selection,
                  type="tertiary")
    columns = st.columns(len(maps)) if maps else []
    for (_, label, table, coords, axes), key, column in zip(maps, chart_keys, columns):
        with column, widgets.user_errors(f"Drawing the map of {label}"):
            if fast:  # it draws the shared selection itself, also on the map it was made on
                fast_map(coords, dataset.names, color=colour_values, color_label=colour_label,
                         categorical=categorical, hover=hover, selected=selected, title=label, axis_labels=axes,
                         images=images, key=key)
            else:  # the selection is ringed on every map, also on the one it was drawn on
                figure = map_figure(coords, dataset.names, color=colour_values, color_label=colour_label,
                                    categorical=categorical, hover=hover, selected=selected, title=label,
                                    axis_labels=axes)
                selectionview.drawn(key, dataset_id, coords, colour_values, colour_label, categorical, tuple(selected),
                              label, axes)
                chart(figure, key=key, filename=f"map-{label}", on_select="rerun",
                      selection_mode=("points", "box", "lasso"))
                if images:  # plotly's hover events, heard in the browser: the selection stays plotly's own
                    plotly_hover(images, key=f"{key}_hover")
            n_bad = int(np.count_nonzero(~np.isfinite(coords).all(axis=1)))
            prov = table.provenance
            st.caption(escape_markdown(
                f"{prov.get('extractor', table.extractor)} · params {prov.get('params', table.params)} · "
                f"segmentation {prov.get('segmentation', '—')} · {len(dataset) - n_bad} of {len(dataset)} "
                f"samples on the map" + (f" · {n_bad} left out (failed features)" if n_bad else "")))
            mapview.export_button(dataset, coords, label=label, axes=axes, color=colour_values,
                                  color_label=colour_label, categorical=categorical, hover=hover,
                                  selected=selected, key=key)
    panels.selected_panel(dataset, dataset_id, selected, tables)


maps_and_selection()

if pcas:
    st.header("What the principal components hold")
    tabs = st.tabs([escape_markdown(label) for label, _, _ in pcas])
    for tab, (label, table, result) in zip(tabs, pcas):
        with tab:
            left, right = st.columns(2)
            chart(scree_figure(result.explained_variance_ratio, n=30), key=f"scree_{label}", where=left)
            from msdash.maps import pc_property_correlation

            corr = pc_property_correlation(result.coords, dataset.properties.assign(
                **({"volume fraction (phase 1)": colour_values} if colour == colour_options[0] and
                   colour_values is not None else {})), n_pcs=min(5, result.coords.shape[1]))
            chart(correlation_figure(corr), key=f"corr_{label}", where=right)
            side = mapview.square_window(table.labels)
            if side:
                cols = st.columns(min(3, len(result.components)))
                for i, col in enumerate(cols):
                    chart(loadings_figure(result.components[i], (side, side), title=f"PC{i + 1} loadings"),
                          key=f"loadings_{label}_{i}", where=col)

