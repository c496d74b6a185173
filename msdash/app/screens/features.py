"""Features: compute descriptors for the open data set (through the store), or import your own table."""

import streamlit as st

from msdash.app import features, forms, keys, panels, state, widgets
from msdash.display import escape_markdown
from msdash.features import EXTRACTORS

dataset_id, dataset = widgets.page_header("Features")

available = {name: spec for name, spec in EXTRACTORS.items() if spec.kind in ("classical", "foundation", "learned")}
name = st.selectbox("Extractor", list(available), format_func=lambda n: available[n].title, key="extractor")
spec = available[name]
st.caption(spec.description)
with st.container(border=True, horizontal=True):
    params = forms.extractor_params(spec)
panels.study_citations(name, params)
if spec.input == "labels":
    panels.segmentation_preview(dataset, dataset_id, params.get("segmentation", "otsu"))
ready = True
if spec.kind == "foundation":
    ready = features.foundation_weights(spec.name, params)
elif spec.name == "texture_vae":
    ready = features.texture_vae_runs(params)
ready = features.feature_count_notice(dataset, dataset_id, name, params) and ready

if st.session_state.get(keys.CANCEL_FEATURES):  # pressing Cancel reran the page, which stopped the computation
    st.info("Cancelled: the unfinished part was not stored; computing again continues from the feature store.")
if st.button("Compute features", type="primary", key="compute_features", disabled=not ready):
    cancel = st.empty()
    cancel.button("Cancel", key=keys.CANCEL_FEATURES, help="Stop after the current batch.")
    with widgets.user_errors("Computing the features"):
        features.feature_table(dataset_id, name, params)
        st.session_state[keys.LAST_FEATURES] = (dataset_id, name, params)
    cancel.empty()
last = st.session_state.get(keys.LAST_FEATURES)
if last and last[0] == dataset_id:
    with widgets.user_errors("Showing the features"):
        panels.feature_summary(features.feature_table(*last), pixel_size_um=dataset.pixel_size_um)

st.header("Feature sets of this data set")
sets = features.feature_sets(dataset_id)
if sets:
    st.markdown("\n".join(f"- {escape_markdown(label)}" for label in sets))
    st.caption("They are kept in the workspace's feature store; the Map page draws any of them.")
    panels.rename_imported_sets(dataset_id)
else:
    st.info("None yet: compute one above, or import a table below.")

st.header("Import a feature table")
st.caption("Bring your own embeddings: CSV/XLSX/Parquet with a column of sample names, or an NPY array "
           "(n_samples × n_features) in the data set's order.")
upload = st.file_uploader("Feature table", type=["csv", "tsv", "txt", "xlsx", "xlsm", "parquet", "npy"],
                          key="import_features_file")
if upload is not None:
    with widgets.user_errors("Importing the feature table"):
        from msdash.features.imported import import_features, save_imported

        name_column = None
        if not upload.name.lower().endswith(".npy"):
            columns = panels.table_columns(upload)
            name_column = st.selectbox("Column with the sample names", columns, key="import_name_column")
        set_name = st.text_input("Name of the feature set", value=upload.name, max_chars=200,
                                 key=f"import_set_name_{upload.file_id}",  # a new file starts from its own name
                                 help="How every page lists it, e.g. the paper or model the embeddings come from.")
        if f"imported: {set_name.strip()}" in sets:
            st.caption(f"Importing replaces the feature set “{escape_markdown(set_name.strip())}” of this data set.")
        if st.button("Import", key="import_features"):
            table = import_features(upload, dataset.names, name_column=name_column)
            save_imported(dataset_id, features.named_import(table, set_name))
            state.flash(f"Imported {table.values.shape[1]} features for {int(table.ok.sum())} samples "
                        f"from {escape_markdown(upload.name)}.")
            for note in table.provenance.get("notes", []):
                state.flash(escape_markdown(note), "info")
            st.rerun()
