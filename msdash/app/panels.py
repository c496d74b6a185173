"""Panels of the Features and Map pages: segmentation preview, feature summary, selected samples."""

import io

import numpy as np
import streamlit as st

from msdash.display import escape_markdown, thumbnail
from msdash.selection import csv_bytes, selection_table, selection_zip


def segmentation_preview(dataset, method):
    """Show a grey sample next to its segmentation, before two-point statistics are computed.

    Nothing is shown when every image is already a 0/1 label map (no segmentation happens then).
    """
    from msdash.features.segmentation import is_binary, segment_stack
    from msdash.io import to_grey

    grey = [n for n in dataset.names if dataset.kind(n) != "3d" and not is_binary(dataset.images[n])]
    if not grey:
        return
    with st.expander(f"Segmentation preview: {len(grey)} grey image(s) are thresholded ({method})", expanded=True):
        name = st.selectbox("Sample", grey, key="segmentation_sample")
        image = to_grey(dataset.images[name])
        labels = segment_stack([image], method=method)[0]
        left, right = st.columns(2)
        left.image(thumbnail(image, size=320), caption=f"{escape_markdown(name)}: original")
        right.image(thumbnail(labels, size=320),
                    caption=f"segmented ({method}): phase 1 = white, volume fraction {float(np.mean(labels)):.3f}")


def model_status(preset):
    """Table of the foundation-model weights found on this machine; a clear message when ``preset`` is absent.

    Returns
    -------
    bool
        True when the chosen preset's weights are present (the extractor can run).
    """
    from msdash.features.foundation import model_status as status_of, status_table

    with st.expander("Model weights on this machine", expanded=False):
        st.dataframe([{k: row[k] for k in ("name", "id", "present", "size_mb", "path")} for row in status_table()],
                     hide_index=True)
        st.caption("Weights come from the Hugging Face cache (HF_HOME / HF_HUB_CACHE) and are never downloaded "
                   "while you work; nothing leaves this machine.")
    status = status_of(preset)
    if not status["present"]:
        st.warning(escape_markdown(status["message"]))
    return bool(status["present"])


def feature_summary(table):
    """Counts, failures, provenance and a preview of a FeatureTable, with a CSV download."""
    n, d = table.values.shape
    failed = n - int(np.count_nonzero(table.ok))
    cols = st.columns(3)
    cols[0].metric("Samples", n)
    cols[1].metric("Features per sample", d)
    cols[2].metric("Failed samples", failed)
    if table.errors:
        with st.expander(f"Samples that failed: {len(table.errors)} (their rows are empty)", expanded=True):
            st.markdown("\n".join(f"- **{escape_markdown(e.name)}**: {escape_markdown(e.message)}"
                                  for e in table.errors[:200]))
    with st.expander("Provenance"):
        st.json(table.provenance)
    frame = table.to_frame()
    st.dataframe(frame.iloc[:50, :40], height=240)
    st.download_button("Download features (CSV)", csv_bytes(frame), file_name=f"{table.extractor}.csv",
                       mime="text/csv", key=f"download_{table.key}")


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
