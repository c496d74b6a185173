"""Models: nested cross-validation of property models on one or more feature sets, parity plots linked to
the map, study A's hold-out and learning curves."""

import json

import numpy as np
import pandas as pd
import streamlit as st

from msdash import jobs
from msdash.app import features, mapview, modelview, panels, state, widgets
from msdash.app.features import SELECTED
from msdash.display import escape_markdown
from msdash.plots import box_figure, learning_curve_figure, parity_figure
from msdash.selection import csv_bytes

st.title("Property models")
dataset_id = state.current_dataset_id()
state.show_flash()
dataset = state.current_dataset()
widgets.dataset_header(dataset, dataset_id)

targets = list(dataset.numeric_columns)
sets = features.feature_sets(dataset_id)
if not targets or not sets:
    st.info("A model needs a numeric property (Data page) and at least one feature set (Features page).")
    st.stop()

from msdash.models import MODELS  # noqa: E402 — scikit-learn loads only when this page opens

c1, c2 = st.columns(2)
target = c1.selectbox("Property to predict", targets, key="model_target")
sizes = features.feature_set_sizes(dataset_id, sets)
default_set = features.smallest_set(sizes)
chosen_sets = c2.multiselect("Feature sets", list(sets), default=[default_set], key="model_sets")
if note := features.default_note(default_set, sizes):
    st.caption(note)
chosen_models = st.multiselect("Models", list(MODELS), default=["pr"], key="model_models",
                               format_func=lambda m: f"{m} — {MODELS[m].description}")
c1, c2, c3, c4 = st.columns(4)
outer = c1.number_input("Outer folds", 2, 20, 10, key="model_outer")
inner = c2.number_input("Inner folds", 2, 10, 5, key="model_inner")
scoring = c3.selectbox("Score", ["mape", "rmse", "r2"], key="model_scoring",
                       format_func={"mape": "MAPE (%)", "rmse": "RMSE", "r2": "R²"}.get)
standardize = c4.toggle("Standardise first", key="model_standardize")
extra = st.multiselect("Add property columns to the features (e.g. composition; standardised)",
                       [c for c in targets if c != target], key="model_extra")
group_options = [c for c in dataset.properties.columns if c not in targets or c == dataset.group_column]
default_group = group_options.index(dataset.group_column) + 1 if dataset.group_column in group_options else 0
group_column = st.selectbox("Group column for the honest (group-aware) error", ["(none)"] + group_options,
                            index=default_group, key="model_groups",
                            help="Samples of one group (paper, parent micrograph, run) never sit on both sides "
                                 "of a split. The page shows this error next to the ungrouped one.")
group_column = None if group_column == "(none)" else group_column
score_label = {"mape": "MAPE (%)", "rmse": f"RMSE ({target})", "r2": "R²"}[scoring]

splits = [None, group_column] if group_column else [None]  # optimistic and honest side by side
combos = [(s, m, g) for s in chosen_sets for m in chosen_models for g in splits]
estimate, unknown = modelview.run_estimate(sizes, combos, len(dataset), outer, inner, len(extra))
long_run = estimate >= features.LONG_STEP_S
if estimate >= 10:
    st.caption(escape_markdown(
        f"Estimated time: {features.format_duration(estimate)} on this machine for {len(combos)} run(s) of "
        f"{outer}×{inner}-fold nested CV on {len(dataset):,} samples (cost model of features.estimate_seconds: "
        f"an order of magnitude)" + (f", not counting {unknown} imported set(s)" if unknown else "")
        + (". It runs in the background; Cancel stops it after the current fold." if long_run else ".")))


def prepared(label, model, grouped):
    """The training table and run description of one combination (loaded in the page's thread)."""
    table = features.load_feature_set(dataset_id, sets[label])
    data = modelview.training_table(dataset, table, target, extra_columns=extra, group_column=grouped)
    key = modelview.run_key(table, target, data["names"].astype(str), data["groups"], extra)
    folds, inner_folds, note = int(outer), int(inner), "random folds"
    if grouped:
        folds, inner_folds, note = modelview.group_folds(data["groups"], folds, inner_folds)
    run = {"feature_set": label, "model": model, "grouped": grouped, "names": data["names"],
           "dropped": data["dropped"], "X": data["X"], "key": key, "groups": data["groups"], "folds": note,
           "entry": sets[label], "extra": list(extra)}
    return run, data["y"], folds, inner_folds


def title(label, model, grouped):
    return escape_markdown(f"{model} on {label}" + (f", grouped by {grouped}" if grouped else ""))


job_id = st.session_state.get(modelview.CV_JOB)
if st.button("Run nested cross-validation", type="primary", key="run_models",
             disabled=not (chosen_sets and chosen_models) or bool(job_id and jobs.get(job_id)
                                                                 and jobs.get(job_id).running)):
    if long_run:
        tasks = []
        for label, model, grouped in combos:
            with widgets.user_errors(f"{model} on {label}"):
                run, y, folds, inner_folds = prepared(label, model, grouped)
                tasks.append({"run": run, "X": run["X"], "y": y, "groups": run["groups"], "outer": folds,
                              "inner": inner_folds, "title": title(label, model, grouped)})
        with widgets.user_errors("Starting the nested cross-validation"):
            job_id = modelview.start_cv_job(tasks, scoring, standardize or bool(extra))
    else:
        st.button("Cancel", key="cancel_models", help="Stops the run; finished combinations stay cached.")
        runs = []
        bar = st.progress(0.0)
        for done, (label, model, grouped) in enumerate(combos):
            bar.progress(done / len(combos), text=title(label, model, grouped))
            with widgets.user_errors(f"{model} on {label}"):
                run, y, folds, inner_folds = prepared(label, model, grouped)
                run["result"] = modelview.nested(run["X"], y, run["groups"], run["key"], model, folds, inner_folds,
                                                 scoring, standardize or bool(extra))
                runs.append(run)
        bar.empty()
        st.session_state[modelview.RUNS] = {"target": target, "runs": runs, "score_label": score_label}
        st.session_state.pop(modelview.CV_NOTE, None)
if job_id:
    modelview.cv_job_panel(job_id, target, score_label)
if note := st.session_state.get(modelview.CV_NOTE):
    st.warning(note)

saved = st.session_state.get(modelview.RUNS)
if not saved or saved["target"] != target or not saved["runs"]:
    st.caption("Choose feature sets and models, then run. Results are cached: the same inputs return at once.")
    st.stop()
runs, score_label = saved["runs"], saved["score_label"]
runs = runs + modelview.cnn_runs(dataset_id, target, st.session_state.get("model_outer"))


def run_label(run):
    grouped = f" · grouped by {run['grouped']}" if run["grouped"] else ""
    return f"{run['model']}{grouped}"


st.header("Outer-fold errors")
scores = pd.DataFrame([{"feature_set": run["feature_set"], "model": run_label(run), "score": value}
                       for run in runs for value in run["result"].fold_scores])
box = box_figure(scores, score_label=score_label)
st.plotly_chart(box, key="model_box")
st.download_button("Box plot (HTML)", lambda: box.to_html(include_plotlyjs=True).encode(),
                   file_name="fold_errors.html", mime="text/html", key="download_box_html")
rows = []
for run in runs:
    summary = run["result"].summary()
    rows.append({"feature set": run["feature_set"], "model": run["model"],
                 "CV": f"grouped by {run['grouped']} (honest)" if run["grouped"] else "random folds",
                 "folds": run["folds"],
                 "score (mean ± std)": f"{np.mean(run['result'].fold_scores):.4g} ± "
                                       f"{np.std(run['result'].fold_scores, ddof=1):.2g}",
                 "MAPE (%)": round(summary["mape_pct"]["mean"], 3), "RMSE": round(summary["rmse"]["mean"], 4),
                 "R²": round(summary["r2"]["mean"], 4), "chosen #PCs": modelview.chosen_text(run["result"].fold_params),
                 "samples": len(run["names"]), "left out": len(run["dropped"])})
summary_table = pd.DataFrame(rows)
st.dataframe(summary_table, hide_index=True)
st.download_button("Summary (CSV)", csv_bytes(summary_table, index=False), file_name="cv_summary.csv",
                   mime="text/csv", key="download_summary")

st.header("Parity plot (out-of-fold predictions)")
labels = [f"{run['feature_set']} · {run_label(run)}" for run in runs]
pick = st.selectbox("Run", range(len(runs)), format_func=labels.__getitem__, key="parity_run")
run = runs[pick]
selected = mapview.sync_selection(["parity_chart"], "parity_pick")
figure = parity_figure(run["result"].y, run["result"].predictions, run["names"], label=target,
                       selected=mapview.highlighted("parity_chart", selected), title=labels[pick])
st.plotly_chart(figure, key="parity_chart", on_select="rerun", selection_mode=("points", "box", "lasso"))
st.download_button("Out-of-fold predictions (CSV)",
                   lambda: csv_bytes(pd.DataFrame({"name": run["names"], target: run["result"].y,
                                                   "predicted": run["result"].predictions}), index=False),
                   file_name="oof_predictions.csv", mime="text/csv", key="download_oof")
st.download_button("CV results (JSON)", lambda: json.dumps(run["result"].to_dict()).encode(),
                   file_name="cv_results.json", mime="application/json", key="download_cv")
panels.selected_panel(dataset, dataset_id, [n for n in st.session_state.get(SELECTED, []) if n in dataset.images])

with st.expander("Hold-out test (study A): #PCs chosen on 80 %, error on the untouched 20 %"):
    if st.button("Run hold-out", key="run_holdout"):
        table_rows = []
        for run in runs:
            if run["grouped"] or run.get("cnn") or not MODELS[run["model"]].has_pca:
                continue
            result = modelview.holdout(run["X"], run["result"].y, run["key"], run["model"], scoring,
                                       standardize or bool(extra))
            table_rows.append({"feature set": run["feature_set"], "model": run["model"],
                               "#PCs": result["param"], "test MAPE (%)": round(result["mape_pct"], 3),
                               "test RMSE": round(result["rmse"], 4), "test R²": round(result["r2"], 4)})
        st.dataframe(pd.DataFrame(table_rows), hide_index=True)

with st.expander("Learning curve: error against training-set size"):
    if run.get("cnn"):
        st.caption("Learning curves are computed for the feature models; pick one of them above.")
    elif st.button("Compute learning curve of this run", key="run_learning"):
        curve = modelview.learning(run["X"], run["result"].y, run["groups"], run["key"], run["model"], scoring,
                                   standardize or bool(extra))
        curve = curve.assign(size=curve["n_train"], series=run_label(run))
        st.plotly_chart(learning_curve_figure(curve, score_label=score_label), key="learning_chart")
