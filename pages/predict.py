"""Predict: new micrographs (or unlabelled samples) through a model from the Models page, with conformal
intervals, out-of-distribution flags and, for tiled micrographs, the histogram of tile predictions."""

import numpy as np
import pandas as pd
import streamlit as st

from msdash.app import modelview, state, widgets
from msdash.display import escape_markdown
from msdash.plots import histogram_figure
from msdash.selection import csv_bytes
from msdash.predict import dump_model, predict

st.title("Predict")
dataset_id = state.current_dataset_id()
state.show_flash()
dataset = state.current_dataset()
widgets.dataset_header(dataset, dataset_id)

saved = st.session_state.get(modelview.RUNS)
runs = [run for run in (saved or {}).get("runs", []) if not run["grouped"]]
if not runs:
    st.info("Run nested cross-validation on the Models page first; its models predict here.")
    st.stop()
target = saved["target"]
labels = [f"{run['feature_set']} · {run['model']}" for run in runs]
pick = st.selectbox(f"Model for {escape_markdown(target)}", range(len(runs)), format_func=labels.__getitem__,
                    key="predict_run")
run = runs[pick]
kind, extractor, params = run["entry"]
if kind != "computed" or run["extra"]:
    st.warning("This model uses imported features or extra property columns, which new micrographs do not "
               "have. Choose a model on computed features only.")
    st.stop()

with widgets.user_errors("Fitting the final model"):
    pipeline = modelview.final_model(run["X"], run["result"].y, run["result"], run["key"], run["model"])
    st.download_button("Download the fitted model (.skops)", lambda: dump_model(pipeline),
                       file_name=f"{run['model']}-{target}.skops".replace(" ", "_"),
                       key="download_model", help="Reload with skops.io.load; msdash.predict.load_model "
                                                  "checks its types first.")

source = st.segmented_control("Samples to predict", ["Upload micrographs", "Samples of this data set without a "
                                                     "value"], default="Upload micrographs", key="predict_source")
alpha = st.slider("Interval coverage", 0.5, 0.99, 0.9, 0.01, key="predict_coverage",
                  help="Split-conformal interval from the out-of-fold residuals of the chosen run.")
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
    tiles = c1.toggle("Cut into tiles (study C)", key="predict_tiles")
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
                patches, corners = tile(image if image.ndim == 2 or image.shape[-1] == 3 else image[0],
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
        from msdash.features import extract
        from msdash.models import conformal_interval
        from msdash.predict import ood_flags

        table = extract(images, extractor, **params)
        ok = table.ok & np.isfinite(table.values).all(axis=1)
        for error in table.errors:
            st.error(escape_markdown(f"{error.name}: {error.message}"))
        X_new = np.asarray(table.values)[ok]
        predicted = predict(pipeline, X_new)  # in blocks of rows
        lower, upper = conformal_interval(run["result"], predicted, alpha=1 - alpha)
        distance, threshold, flags = ood_flags(pipeline, run["X"], X_new)
        names = np.asarray(table.names)[ok]
        out = pd.DataFrame({"name": names, f"predicted {target}": predicted, "lower": lower, "upper": upper,
                            "distance to training set": distance, "out of distribution": flags})
        left, right = st.columns(2)
        left.metric("Samples predicted", len(out))
        right.metric("Out of distribution", int(flags.sum()))
        st.caption(f"{round(100 * alpha)} % intervals; a sample is out of distribution when its distance to the "
                   f"nearest training sample in the model's PCA space exceeds {threshold:.4g} (the 99th "
                   "percentile of the training samples' own nearest-neighbour distances).")
        st.dataframe(out, hide_index=True)
        st.download_button("Predictions (CSV)", csv_bytes(out, index=False), file_name="predictions.csv",
                           mime="text/csv", key="download_predictions")
        if len(out) > 1 and source == "Upload micrographs" and st.session_state.get("predict_tiles"):
            st.plotly_chart(histogram_figure(predicted, label=f"predicted {target} per tile", marker=truth,
                                             marker_label="true value" if truth is not None else None),
                            key="tile_histogram")
