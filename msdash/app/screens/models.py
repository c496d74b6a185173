"""Models: repeated nested cross-validation of property models on one or more feature sets beside a constant
baseline, parity plots linked to the map, study A's hold-out and learning curves."""

import json

import pandas as pd
import streamlit as st

from msdash.learned import jobs
from msdash.app import features, keys, modelview, panels, selectionview, widgets
from msdash.app.charts import chart
from msdash.display import escape_markdown
from msdash.selection import csv_bytes

dataset_id, dataset = widgets.page_header("Property models")

targets = list(dataset.numeric_columns)
sets = features.feature_sets(dataset_id)
if not targets or not sets:
    st.info("A model needs a numeric property (Data page) and at least one feature set (Features page).")
    st.stop()

# scikit-learn loads only when this page opens
from msdash.models import MODELS  # noqa: E402
from msdash.models.figures import (  # noqa: E402
    box_figure,
    fold_scores_frame,
    learning_curve_figure,
    parity_figure,
)
from msdash.models.inputs import correlated_inputs, input_columns  # noqa: E402
from msdash.models.report import SCORE_NAMES as SCORES  # noqa: E402
from msdash.models.report import (  # noqa: E402
    baseline_warnings,
    settings_tags,
    summary_frame,
)
from msdash.models.run import DEFAULT_REPEATS, run_comparison  # noqa: E402

group_options = [c for c in dataset.properties.columns if c not in targets or c == dataset.group_column]
modelview.restore_form(dataset_id, {keys.MODEL_TARGET: targets, keys.MODEL_SETS: list(sets),
                                    keys.MODEL_MODELS: list(MODELS), keys.MODEL_SCORING: list(SCORES),
                                    keys.MODEL_GROUPS: ["(none)"] + group_options})


def initial(key, **default):
    """A widget's default, only when the session holds no value for it (restored or chosen before)."""
    return {} if key in st.session_state else default


c1, c2 = st.columns(2)
target = c1.selectbox("Property to predict", targets, key=keys.MODEL_TARGET)
sizes = features.feature_set_sizes(dataset_id, sets)
default_set = features.smallest_set(sizes)
chosen_sets = c2.multiselect("Feature sets", list(sets), key=keys.MODEL_SETS,
                             **initial(keys.MODEL_SETS, default=[default_set]))
if note := features.default_note(default_set, sizes):
    st.caption(note)
chosen_models = st.multiselect("Models", list(MODELS), key=keys.MODEL_MODELS,
                               **initial(keys.MODEL_MODELS, default=["pr"]),
                               format_func=lambda m: f"{m} — {MODELS[m].description}")
for model_name in chosen_models:
    panels.study_citations(model_name)
c1, c2, c3, c4, c5 = st.columns(5)
outer = c1.number_input("Outer folds", 2, 20, key=keys.MODEL_OUTER, **initial(keys.MODEL_OUTER, value=10))
inner = c2.number_input("Inner folds", 2, 10, key=keys.MODEL_INNER, **initial(keys.MODEL_INNER, value=5))
repeats = c3.number_input("Repeats (seeds)", 1, 10, key=keys.MODEL_REPEATS,
                          **initial(keys.MODEL_REPEATS, value=DEFAULT_REPEATS),
                          help="Nested CV again with other seeds (fold assignment and sample order): the spread "
                               "shows which differences between feature sets are real.")
scoring = c4.selectbox("Score", list(SCORES), key=keys.MODEL_SCORING, format_func=SCORES.get)
standardize = c5.toggle("Standardise first", key=keys.MODEL_STANDARDIZE)
allowed, excluded = input_columns(dataset, target)
if keys.MODEL_EXTRA in st.session_state:  # a column that became the target (or its source) is dropped
    st.session_state[keys.MODEL_EXTRA] = [c for c in st.session_state[keys.MODEL_EXTRA] if c in allowed]
extra = st.multiselect("Add property columns to the features (e.g. composition; standardised)", allowed,
                       key=keys.MODEL_EXTRA)
if len(excluded) > 1:
    st.caption(escape_markdown("Not offered as inputs (they reveal the target): "
                               + ", ".join(f"{c} ({why})" for c, why in excluded.items() if c != target) + "."))
if leaks := correlated_inputs(dataset, target, extra):
    st.warning(escape_markdown("Possible leak: " + ", ".join(f"{c} (r = {r:+.2f})" for c, r in leaks.items())
                               + f" correlate(s) with {target} above |r| = 0.9. Check that they are measured "
                               "independently of the target."))
group_choices = ["(none)"] + group_options
default_group = group_choices.index(dataset.group_column) if dataset.group_column in group_choices else 0
group_column = st.selectbox("Group column for the honest (group-aware) error", group_choices, key=keys.MODEL_GROUPS,
                            **initial(keys.MODEL_GROUPS, index=default_group),
                            help="Samples of one group (paper, parent micrograph, run) never sit on both sides "
                                 "of a split. The page shows this error next to the ungrouped one.")
group_column = None if group_column == "(none)" else group_column

splits = [None, group_column] if group_column else [None]  # optimistic and honest side by side
combos = [(s, m, g) for s in chosen_sets for m in chosen_models for g in splits]
estimate, unknown = modelview.run_estimate(sizes, combos, len(dataset), outer, inner, len(extra), repeats=repeats)
long_run = estimate >= features.LONG_STEP_S
if estimate >= 10:
    st.caption(escape_markdown(
        f"Estimated time: {features.format_duration(estimate)} on this machine for {len(combos)} run(s) × "
        f"{repeats} repeat(s) of {outer}×{inner}-fold nested CV on {len(dataset):,} samples (cost model of "
        "features.estimate_seconds: an order of magnitude)"
        + (f", not counting {unknown} imported set(s)" if unknown else "")
        + (". It runs in the background; Cancel stops it after the current fold." if long_run else ".")))

job_id = st.session_state.get(keys.MODEL_CV_JOB)
running = bool(job_id and jobs.get(job_id) and jobs.get(job_id).running)
if st.button("Run nested cross-validation", type="primary", key="run_models",
             disabled=not (chosen_sets and chosen_models) or running):
    form = {key: st.session_state.get(key) for key in keys.MODEL_FORM_KEYS}
    options = dict(target=target, models=list(chosen_models), extra=list(extra), group_column=group_column,
                   outer=int(outer), inner=int(inner), scoring=scoring, standardize=bool(standardize),
                   repeats=int(repeats), dataset_label=dataset.name, entries={s: sets[s] for s in chosen_sets})
    with widgets.user_errors("Nested cross-validation"):
        tables = {label: features.load_feature_set(dataset_id, sets[label]) for label in chosen_sets}
        if long_run:
            job_id = modelview.start_cv_job(dataset, tables, form, **options)
        else:
            bar = st.progress(0.0)
            runs = run_comparison(dataset, tables, cv=modelview.cached_cv, callback=lambda e: bar.progress(
                min(modelview.cv_progress(e), 1.0), text=escape_markdown(e["title"])), **options)
            bar.empty()
            modelview.remember(dataset_id, runs, form)
            st.session_state.pop(keys.MODEL_CV_NOTE, None)
if job_id:
    modelview.cv_job_panel(job_id, dataset_id)
if note := st.session_state.get(keys.MODEL_CV_NOTE):
    st.warning(note)

history = st.session_state.get(keys.MODEL_HISTORY, {}).get(dataset_id, [])
history = history + modelview.cnn_runs(dataset_id, target, st.session_state.get(keys.MODEL_OUTER), dataset.name)
runs = [run for run in history if run.target == target]
if all(run.cnn for run in runs):
    st.caption("Choose feature sets and models, then run. Results are cached: the same inputs return at once; "
               "runs with other settings are kept beside earlier ones.")
    st.stop()

tags = settings_tags(runs)  # every distinct set of settings gets a short tag: S1, S2, …
latest = [run for run in runs if not run.cnn][-1].settings


def series(run):
    name = "baseline" if run.baseline else run.model
    name += f" · grouped by {run.grouped}" if run.grouped else ""
    return name + (f" · {tags[run.settings]}" if len(tags) > 1 else "")


st.header("Comparison")
st.caption(escape_markdown("Settings: " + "; ".join(f"{tag} = {s.label()}" for s, tag in tags.items())))
for warning in baseline_warnings(runs):
    st.warning(escape_markdown(warning))
common = next((run.common for run in runs if run.common is not None and run.settings == latest), None)
if common is not None:
    text = common.summary()
    if any(common.per_set.values()):
        text += " NaN features per set: " + ", ".join(f"{k}: {v}" for k, v in common.per_set.items()) + "."
    st.caption(escape_markdown(text))
summary_table = summary_frame(runs, tags)
st.dataframe(summary_table, hide_index=True)
c1, c2, c3 = st.columns(3)
c1.download_button("Summary (CSV)", lambda: csv_bytes(summary_table, index=False), file_name="cv_summary.csv",
                   mime="text/csv", key="download_summary")
c2.download_button("All runs (JSON)", lambda: json.dumps([run.to_dict() for run in runs if not run.cnn]).encode(),
                   file_name="cv_runs.json", mime="application/json", key="download_runs")
if c3.button("Clear results", key="clear_models"):
    st.session_state.get(keys.MODEL_HISTORY, {}).pop(dataset_id, None)
    st.session_state.pop(keys.MODEL_RUNS, None)
    st.rerun()

st.header("Outer-fold errors")
boxed = [run for run in runs if run.settings.scoring == latest.scoring]
box = box_figure(fold_scores_frame(boxed, series), score_label=modelview.score_label(latest.scoring, target),
                 title=" | ".join(f"{tag}: {s.label()}" if len(tags) > 1 else s.label() for s, tag in tags.items()
                                  if s.scoring == latest.scoring))
chart(box, key="model_box", filename="fold_errors")
if other := len({run.settings for run in runs if run.settings.scoring != latest.scoring}):
    st.caption(f"{other} set(s) of settings scored with another error measure are in the table, not in this plot.")
if box.layout.meta and box.layout.meta["outliers"]:
    st.warning(escape_markdown("The axis leaves out far outlier folds (beyond 3 interquartile ranges): "
                               + "; ".join(box.layout.meta["outliers"]) + "."))
st.download_button("Box plot (HTML)", lambda: box.to_html(include_plotlyjs=True).encode(),
                   file_name="fold_errors.html", mime="text/html", key="download_box_html")

st.header("Parity plot (out-of-fold predictions)")
models_only = [run for run in runs if not run.baseline]
labels = [f"{run.feature_set} · {series(run)}" for run in models_only]
pick = st.selectbox("Run", range(len(models_only)), format_func=labels.__getitem__, key="parity_run")
run = models_only[min(pick or 0, len(models_only) - 1)]
selected = selectionview.sync_selection([keys.PARITY_CHART], keys.PARITY_PICK, dataset.names, dataset_id)
figure = parity_figure(run.result.y, run.result.predictions, run.names, label=target,
                       selected=selectionview.highlighted(keys.PARITY_CHART, selected),
                       title=f"{run.title()} — {run.settings.label()}")
chart(figure, key=keys.PARITY_CHART, filename="parity", on_select="rerun", selection_mode=("points", "box", "lasso"))
st.download_button("Out-of-fold predictions (CSV)",
                   lambda: csv_bytes(pd.DataFrame({"name": run.names, target: run.result.y,
                                                   "predicted": run.result.predictions}), index=False),
                   file_name="oof_predictions.csv", mime="text/csv", key="download_oof")
st.download_button("CV results of this run (JSON)", lambda: json.dumps(run.to_dict()).encode(),
                   file_name="cv_results.json", mime="application/json", key="download_cv")
panels.selected_panel(dataset, dataset_id, selected)

with st.expander("Hold-out test (study A): #PCs chosen on 80 %, error on the untouched 20 %"):
    if st.button("Run hold-out", key="run_holdout"):
        table_rows = []
        for each in models_only:
            if each.grouped or each.cnn or not MODELS[each.model].has_pca:
                continue
            result = modelview.holdout(each.X, each.result.y, each.key, each.model, each.settings.scoring,
                                       each.settings.standardize)
            table_rows.append({"feature set": each.feature_set, "model": each.model, "#PCs": result["param"],
                               "test MAPE (%)": round(result["mape_pct"], 3), "test RMSE": round(result["rmse"], 4),
                               "test R²": round(result["r2"], 4), "settings": tags[each.settings]})
        st.dataframe(pd.DataFrame(table_rows), hide_index=True)

with st.expander("Learning curve: error against training-set size"):
    if run.cnn:
        st.caption("Learning curves are computed for the feature models; pick one of them above.")
    elif st.button("Compute learning curve of this run", key="run_learning"):
        curve = modelview.learning(run.X, run.result.y, run.groups, run.key, run.model, run.settings.scoring,
                                   run.settings.standardize)
        curve = curve.assign(size=curve["n_train"], series=series(run))
        chart(learning_curve_figure(curve, score_label=modelview.score_label(run.settings.scoring, target),
                                    title=f"{run.title()} — {run.settings.label()}"),
              key="learning_chart", filename="learning_curve")
