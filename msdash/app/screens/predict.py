"""Predict: new micrographs (or unlabelled samples) through a model from the Models page, with conformal
intervals (group-aware when the run had groups), out-of-distribution flags inside and outside the model's PCs
and, for tiled micrographs, the histogram of tile predictions."""

import streamlit as st

from msdash.app import keys, modelview, panels, widgets
from msdash.app.charts import chart
from msdash.display import escape_markdown
from msdash.plots import histogram_figure
from msdash.selection import csv_bytes
from msdash.predict import dump_model

dataset_id, dataset = widgets.page_header("Predict")

saved = st.session_state.get(keys.MODEL_RUNS)
# one choice per feature set, model and settings; when it also ran grouped, that run (held-out groups) is used
choices = {}
for run in (saved or {}).get("runs", []):
    if run.X is not None:
        choice = (run.feature_set, run.model, run.settings)
        choices.setdefault(choice, {})["grouped" if run.grouped else "random"] = run
if not choices:
    st.info("Run nested cross-validation on the Models page first; its models predict here.")
    st.stop()
target = saved["target"]
options = list(choices)
several_settings = len({settings for _, _, settings in options}) > 1


def choice_label(i):
    feature_set, model, settings = options[i]
    pair = choices[options[i]]
    grouped = f" · intervals grouped by {pair['grouped'].grouped}" if "grouped" in pair else ""
    return f"{feature_set} · {model}{grouped}" + (f" · {settings.label()}" if several_settings else "")


pick = st.selectbox(f"Model for {escape_markdown(target)}", range(len(options)), format_func=choice_label,
                    key="predict_run")
pair = choices[options[pick]]
run, random_run = pair.get("grouped", pair.get("random")), pair.get("random")
kind, extractor, params = run.entry
if kind != "computed" or run.extra:
    st.warning("This model uses imported features or extra property columns, which new micrographs do not "
               "have. Choose a model on computed features only.")
    st.stop()

with widgets.user_errors("Fitting the final model"):
    # the cache key names the settings too: runs of one table with other settings choose other #PCs
    pipeline = modelview.final_model(run.X, run.result.y, run.result, f"{run.key}|{run.settings!r}|{run.grouped}",
                                     run.model, run.groups if run.grouped else None)
    st.download_button("Download the fitted model (.skops)", lambda: dump_model(pipeline),
                       file_name=f"{run.model}-{target}.skops".replace(" ", "_"),
                       key="download_model", help="Reload with skops.io.load; msdash.predict.load_model "
                                                  "checks its types first.")

source = st.segmented_control("Samples to predict", ["Upload micrographs", "Samples of this data set without a "
                                                     "value"], default="Upload micrographs", key="predict_source")
alpha = st.slider("Interval coverage", 0.5, 0.99, 0.9, 0.01, key="predict_coverage",
                  help="Split-conformal interval from the out-of-fold residuals of the chosen run: of the "
                       "group-aware run when the Models page had a group column.")
images = {}
if source == "Upload micrographs":
    files = st.file_uploader("Micrographs (files or .zip)", accept_multiple_files=True, key="predict_files")
    if files:
        from msdash.io import load_images

        loaded = load_images([(f.name, f.getvalue()) for f in files])
        for error in loaded.errors:
            st.error(escape_markdown(error.message))
        images = loaded.images
    c1, c2, c3 = st.columns(3)
    tiles = c1.toggle("Cut into tiles (study C)", key=keys.PREDICT_TILES)
    size = c2.number_input("Tile size (px)", 16, 2048, 128, key="predict_tile_size", disabled=not tiles)
    stride = c3.number_input("Stride (px)", 4, 2048, 50, key="predict_tile_stride", disabled=not tiles)
    truth = st.number_input(f"True {escape_markdown(target)} of the uploaded micrograph (optional, marks the "
                            "histogram)",
                            value=None, key="predict_truth")
    if tiles and images:
        from msdash.features.patches import tile

        tiled = {}
        for name, image in images.items():
            with widgets.user_errors(f"Tiling {name}"):
                patches, corners = tile(image if images.kind(name) != "3d" else image[0],  # a volume: its first slice
                                        size=int(size), stride=int(stride))
                tiled.update({f"{name}@{y},{x}": p for p, (y, x) in zip(patches, corners)})
        images = tiled
else:
    missing = dataset.properties[target].isna()
    images = {name: dataset.images[name] for name in dataset.names if missing[name]}
    if not images:
        st.info(f"Every sample of this data set has a value of {escape_markdown(target)}.")

if images:
    with widgets.user_errors("Predicting"):
        from msdash.predict import predict_samples

        bar = st.progress(0.0, text="Computing features…")
        with st.spinner(f"Predicting {len(images):,} sample(s)…"):
            result = predict_samples(images, extractor=extractor, params=params, pipeline=pipeline,
                                     X_train=run.X, cv_result=run.result, alpha=1 - alpha,
                                     group_column=run.grouped or None,
                                     random_result=random_run.result if run.grouped and random_run else None,
                                     target=target, progress=lambda f, text: bar.progress(f, text=text))
        bar.empty()
        panels.feature_errors(result.errors, expanded=True)  # identical failures (143 tiles) are one line
        out, check = result.table, result.ood
        c1, c2, c3 = st.columns(3)
        c1.metric("Samples predicted", len(out))
        c2.metric("Out of distribution inside the PCs", int(check.inside.sum()))
        c3.metric("Out of distribution outside the PCs", int(check.outside.sum()) if check.has_residual else "—")
        st.caption(escape_markdown(result.intervals.note()))
        part = (f"the residual outside them (distance to the PCA subspace, Q/SPE) exceeds "
                f"{check.residual_threshold:.4g}, the {check.percentile:g}th percentile of the training samples' "
                "out-of-fold residuals" if check.has_residual else
                "this model has no PCA, so there is no part outside it to check")
        st.caption(f"Out of distribution when the distance to the nearest training sample inside the model's "
                   f"retained PCs exceeds {check.distance_threshold:.4g} (the {check.percentile:g}th percentile of "
                   f"the training samples' own nearest-neighbour distances), or when {part}. Column *why* says "
                   "which part fired; each flags about 1 % of new in-distribution samples.")
        st.dataframe(out, hide_index=True)
        st.download_button("Predictions (CSV)", csv_bytes(out, index=False), file_name="predictions.csv",
                           mime="text/csv", key="download_predictions")
        if len(out) > 1 and source == "Upload micrographs" and st.session_state.get(keys.PREDICT_TILES):
            chart(histogram_figure(out[f"predicted {target}"].to_numpy(), label=f"predicted {target} per tile",
                                   marker=truth, marker_label="true value" if truth is not None else None),
                  key="tile_histogram", filename="predicted_per_tile")
