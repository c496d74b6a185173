"""Panels of the Features and Map pages: segmentation preview, feature summary, selected samples."""

import io

import numpy as np
import streamlit as st

from msdash.display import escape_markdown, thumbnail
from msdash.selection import csv_bytes, selection_table, selection_zip


def segmentation_preview(dataset, dataset_id, method):
    """Show a grey sample next to its segmentation, before two-point statistics are computed.

    Nothing is shown when every image is already a 0/1 label map (no segmentation happens then). Which images
    are grey, and the preview itself, are worked out once per data set, not on every rerun of the page.
    """
    from msdash.config import workspace

    grey = _grey_names(dataset_id, str(workspace()), dataset)
    if not grey:
        return
    with st.expander(f"Segmentation preview: {len(grey)} grey image(s) are thresholded ({method})", expanded=True):
        name = st.selectbox("Sample", grey, key="segmentation_sample")
        image, labels, fraction = _segmented(dataset_id, str(workspace()), name, method, dataset)
        left, right = st.columns(2)
        left.image(image, caption=f"{escape_markdown(name)}: original")
        right.image(labels, caption=f"segmented ({method}): phase 1 = white, volume fraction {fraction:.3f}")


@st.cache_data(max_entries=8, show_spinner="Looking for grey images…")
def _grey_names(dataset_id, workspace, _dataset):
    from msdash.features.segmentation import is_binary

    return [n for n in _dataset.names if _dataset.kind(n) != "3d" and not is_binary(_dataset.images[n])]


@st.cache_data(max_entries=32, show_spinner=False)
def _segmented(dataset_id, workspace, name, method, _dataset):
    from msdash.features.segmentation import segment_stack
    from msdash.io import to_grey

    image = to_grey(_dataset.images[name], kind=_dataset.kind(name))
    labels = segment_stack([image], method=method)[0]
    return thumbnail(image, size=320), thumbnail(labels, size=320), float(np.mean(labels))


def feature_summary(table, *, pixel_size_um=None):
    """Counts, failures, provenance and a preview of a FeatureTable, with a CSV download built on demand.

    Nothing here grows with the table's width: the preview reads 50 × 40 values, and the CSV (20 s for a
    149 × 25,281 table) is only written when the download is clicked, not on every rerun. The lags of a
    two-point table and the wavenumbers of a PSD table are said in µm when ``pixel_size_um`` is known (the
    values and labels stay in px: :func:`msdash.data.lengths.feature_axis_note`).
    """
    from msdash.data.lengths import feature_axis_note

    n, d = table.values.shape
    failed = n - int(np.count_nonzero(table.ok))
    cols = st.columns(3)
    cols[0].metric("Samples", n)
    cols[1].metric("Features per sample", d)
    cols[2].metric("Failed samples", failed)
    feature_errors(table.errors, expanded=True)
    with st.expander("Provenance"):
        st.json(table.provenance)
    if note := feature_axis_note(table.labels, pixel_size_um):
        st.caption(note)
    st.dataframe(preview_frame(table), height=240)
    if d:
        st.download_button("Download features (CSV)", lambda: csv_bytes(table.to_frame()),
                           file_name=f"{table.extractor}.csv", mime="text/csv", key=f"download_{table.key}",
                           on_click="ignore")
        st.caption(f"The CSV holds all {n:,} × {d:,} values; it is written when you click.")


def preview_frame(table, rows=50, columns=40):
    """The first ``rows`` × ``columns`` of a FeatureTable as a DataFrame (the whole table is never built)."""
    import pandas as pd

    names = list(table.names[:rows])
    return pd.DataFrame(table.values[:rows, :columns], index=pd.Index(names, name="sample", dtype="str"),
                        columns=list(table.labels[:columns]))


def feature_errors(errors, *, expanded=False, limit=20):
    """The samples whose features failed, one line per distinct message with its count and a few names.

    143 tiles failing for the same reason make one line, not 143 red boxes.
    """
    from msdash.features.extract import error_summary

    if not errors:
        return
    groups = error_summary(errors)
    with st.expander(f"Samples that failed: {len(errors)} (their rows are empty)", expanded=expanded):
        st.markdown("\n".join(f"- {escape_markdown(line)}" for line in _error_lines(groups, limit)))


def _error_lines(groups, limit):
    lines = []
    for message, names in groups[:limit]:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3:,} more" if len(names) > 3 else "")
        lines.append(f"{message} — {len(names):,} sample{'' if len(names) == 1 else 's'} ({shown})")
    if len(groups) > limit:
        lines.append(f"… and {len(groups) - limit:,} other messages")
    return lines


def rename_imported_sets(dataset_id):
    """A form that gives an imported feature set another name (the name every page lists it under)."""
    from msdash.app import state, widgets
    from msdash.features.imported_store import MAX_NAME, list_imported, rename_imported

    names = list_imported(dataset_id)
    if not names:
        return
    with st.expander("Rename an imported feature set"), st.form("rename_imported_form", border=False):
        old = st.selectbox("Imported feature set", names, key="rename_imported_from")
        new = st.text_input("New name", max_chars=MAX_NAME, key="rename_imported_to")
        if st.form_submit_button("Rename"):
            with widgets.user_errors("Renaming the feature set"):
                done = rename_imported(dataset_id, old, new)
                if done != old:
                    state.flash(f"Renamed the feature set “{escape_markdown(old)}” to “{escape_markdown(done)}”.")
                st.rerun()


def table_columns(upload):
    """Column headers of an uploaded CSV/XLSX/Parquet feature table (for the name-column choice)."""
    if upload.name.lower().endswith(".parquet"):  # the schema only: the rows are read on import
        import pyarrow.parquet as pq

        from msdash.errors import InputError

        try:
            schema = pq.read_schema(io.BytesIO(upload.getvalue()))
        except Exception as exc:  # noqa: BLE001 — pyarrow raises several types for a damaged file
            raise InputError(f"{upload.name}: not a readable Parquet file ({exc})", name=upload.name) from None
        index = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
        return [name for name in schema.names if name not in index]
    from msdash.io import read_properties

    return list(read_properties(upload).columns)


def selected_panel(dataset, dataset_id, names, tables=()):
    """Gallery of the selected samples with their properties, and exports of the selection.

    Parameters
    ----------
    dataset : Dataset
    dataset_id : str
    names : list of str
        The selected samples.
    tables : sequence of FeatureTable
        Feature sets whose values go into the CSV export (columns prefixed by the extractor).
    """
    from msdash.app import widgets
    from msdash.data.lengths import dataset_in_um

    dataset = dataset_in_um(dataset)  # px columns in µm (shown and exported) when the pixel size is known
    st.subheader(f"Selected samples: {len(names)}")
    if not names:
        st.caption("Click a point, or draw a box or lasso on a map (or pick names above) to see micrographs here.")
        return
    widgets.thumbnail_grid(dataset, dataset_id, names[:48], columns=list(dataset.numeric_columns)[:2])
    if len(names) > 48:
        st.caption(f"Showing the first 48 of {len(names)}; the exports hold all of them.")
    st.dataframe(dataset.properties.loc[names], height=min(400, 40 + 35 * len(names)))
    left, right = st.columns(2)
    left.download_button("Selection as CSV (names, properties, features)",
                         lambda: csv_bytes(selection_table(dataset, names, tables)),
                         file_name="selection.csv", mime="text/csv", key="export_selection_csv")
    right.download_button("Selection images (zip)", lambda: selection_zip(dataset, names),
                          file_name="selection.zip", mime="application/zip", key="export_selection_zip")


def study_citations(name, params=None):
    """A caption citing each study whose method this extractor or model preset reproduces."""
    from msdash.references import citation, studies_of

    for key in studies_of(name, params):
        st.caption(f"Reproduces study {key}: {escape_markdown(citation(key))} (see docs/references.md).")
