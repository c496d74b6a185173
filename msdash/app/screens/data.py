"""Data: open the demo, edit the open set's table, upload micrographs and a table, check the match, save, reopen."""

import streamlit as st

from msdash.app import databarview, forms, state, tableedit, widgets
from msdash.app.upload import parsed_upload, table_and_report
from msdash.data.datastore import list_datasets, save_dataset
from msdash.display import escape_markdown
from msdash.data.ingest import build_dataset
from msdash.app.charts import chart

dataset_id, _ = widgets.page_header("Data")
if st.button("Open the demo data set", key="open_demo"):
    state.open_demo()
    st.rerun()
tableedit.table_section(state.current_dataset(), dataset_id)
databarview.saved_crop(state.current_dataset(), dataset_id)

st.header("Load your micrographs")
mode = st.segmented_control("Upload", ["Files or .zip", "A folder"], default="Files or .zip", key="upload_mode")
if mode == "A folder":
    files = st.file_uploader("A folder of images", accept_multiple_files="directory", key="upload_folder")
else:
    files = st.file_uploader("Images (PNG, JPEG, BMP, TIFF, NPY, MAT) or .zip archives — many at once",
                             accept_multiple_files=True, key="upload_images")
table_file = st.file_uploader("Property table (CSV or XLSX, optional), matched to the images by file name",
                              type=["csv", "tsv", "txt", "xlsx", "xlsm", "xls"], key="upload_table")

result = parsed_upload(files or [])
report = None
if result is not None:
    st.info("This upload is kept only in this browser tab until you save it: a refresh or a closed tab loses it.",
            icon=":material/info:")
    if table_file is not None:
        report = table_and_report(table_file, list(result.images))
    images, crop_note = databarview.upload_crop(result)
    st.subheader("Save")
    st.caption("Once saved, the set's table can be edited above without uploading again: groups from the names, "
               "unit conversions, combined columns, renamed columns or a new table.")
    default_name = files[0].name.rsplit(".", 1)[0] if len(files) == 1 else f"Upload of {len(result.images)} images"
    name = st.text_input("Name of the data set", value=default_name, key="upload_name")
    drop = st.checkbox("Leave out images without a table row", key="drop_unmatched", disabled=report is None)
    if st.button("Save and open data set", type="primary", key="save_upload", disabled=not result.images):
        with widgets.user_errors("Saving the data set"):
            notes = [f"{note.name}: {note.message}" for note in result.notes] + [crop_note] * bool(crop_note)
            dataset = build_dataset(images, report, name=name, drop_unmatched=drop, notes=notes,
                                    pixel_size=result.pixel_size)
            new_id = save_dataset(dataset)
            state.open_dataset(new_id)
            state.flash(f"Saved “{escape_markdown(dataset.name)}” ({len(dataset)} samples) as `{new_id}`; "
                        "it is now open.")
            st.rerun()

with st.expander("Generate data with physics (two-phase + FFT stiffness, Ising, Cahn–Hilliard)"):
    from msdash.synthetic.generate import GENERATORS, generate_dataset

    kind = st.selectbox("Generator", list(GENERATORS), format_func=lambda k: GENERATORS[k].title, key="gen_kind")
    if kind == "cahn-hilliard":
        st.caption("Free energy c0·c²(1−c)² + ½·kc·|∇c|²; the elastic energy term of study D is left out. "
                   "`ramp_snapshots` of the snapshots are saved during the first 100 steps, while the step "
                   "size ramps up (log-spaced): the fast-decay regime study D sampled.")
    settings = forms.generator_params(GENERATORS[kind], key_prefix=f"gen_{kind}")
    if kind == "cahn-hilliard" and st.button("Show the energy curve of the first run", key="ch_energy"):
        from msdash.synthetic.energy_figure import energy_curve_figure
        from msdash.synthetic.generate import cahn_hilliard_history

        with widgets.user_errors("Running Cahn–Hilliard"), st.spinner("Running the first run…"):
            chart(energy_curve_figure(cahn_hilliard_history(**settings)), key="ch_energy_curve")
    if st.button("Generate and open", key="generate"):
        with widgets.user_errors("Generating the data set"):
            bar = st.progress(0.0, text="Generating…")
            generated = generate_dataset(kind, progress=lambda done, total, message="": bar.progress(
                done / max(total, 1), text=f"{done}/{total} {escape_markdown(message)}"), **settings)
            new_id = save_dataset(generated)
            state.open_dataset(new_id)
            state.flash(f"Generated “{escape_markdown(generated.name)}” ({len(generated)} samples) as "
                        f"`{new_id}`; it is now open.")
            st.rerun()

st.header("Saved data sets")
widgets.saved_datasets(list_datasets(), dataset_id)
