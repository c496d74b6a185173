"""CNN section of the Learn page: cross-validate ResNet / MuCha-CNN regressors on the Models page's folds."""

import numpy as np
import pandas as pd
import streamlit as st

from msdash.learned import jobs
from msdash.app import forms, learnview, widgets
from msdash.app.keys import CNN_JOB, CNN_TARGET
from msdash.display import escape_markdown
from msdash.app.charts import chart


def cnn_section(dataset, dataset_id):
    """Settings, background training with progress, and the finished runs of this data set."""
    from msdash.learned.cnn import presets, runs as cnn_runs

    st.caption("CNN regressors trained from scratch on the micrographs, evaluated on the same outer folds as the "
               "Models page (seed 42), so their errors appear there next to the feature models. For CNN-PCA-SVR, "
               "compute the 'resnet_embed' features on the Features page and model them on the Models page.")
    targets = list(dataset.numeric_columns)
    names, images = learnview.micrographs(dataset)
    if not targets or len(names) < 4:
        st.info("CNN training needs a numeric property and at least four 2-D micrographs.")
        return
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        st.info(f"The micrographs have {len(shapes)} different sizes; CNN training needs one size.")
        return
    with st.form("cnn_train"):
        c1, c2, c3 = st.columns([1, 2, 1])
        target = c1.selectbox("Property to predict", targets, key=CNN_TARGET)
        preset = c2.selectbox("Network", list(presets.PRESETS), key="cnn_preset")
        settings, (loss, *rest) = {}, presets.PARAMS
        settings["loss"] = forms.param_input(loss, "cnn_loss", where=c3)
        for column, param in zip(st.columns(len(rest)), rest):
            settings[param.name] = forms.param_input(param, f"cnn_{param.name}", where=column,
                                                     label=presets.LABELS.get(param.name))
        group_options = ["(none)"] + [c for c in dataset.properties.columns if c not in targets]
        group_column = st.selectbox("Group column (grouped, honest folds)", group_options, key="cnn_groups",
                                    index=group_options.index(dataset.group_column)
                                    if dataset.group_column in group_options else 0)
        submitted = st.form_submit_button("Cross-validate in the background", type="primary")
    if submitted:
        with widgets.user_errors("Starting the CNN"):
            y_all = dataset.properties.loc[names, target].to_numpy(float)
            keep = np.flatnonzero(np.isfinite(y_all))
            groups = None if group_column == "(none)" else dataset.properties.loc[names, group_column].astype(
                str).to_numpy()[keep]
            options = presets.run_options(preset, settings)
            job, _ = jobs.start_run(cnn_runs.KIND, f"{preset} → {target}", cnn_runs.run_cnn_cv,
                                    [images[i] for i in keep], y_all[keep], [names[i] for i in keep],
                                    config={"preset": preset}, meta={"dataset_id": dataset_id,
                                                                     "dataset_name": dataset.name, "target": target},
                                    groups=groups, group_column=None if group_column == "(none)" else group_column,
                                    **options)
            st.session_state[CNN_JOB] = job.job_id
    job_id = st.session_state.get(CNN_JOB)
    if job_id and jobs.get(job_id) is not None:
        learnview.job_panel(job_id)
    _finished(dataset_id, st.session_state.get(CNN_TARGET, targets[0]))


def _finished(dataset_id, target):
    from msdash.learned.cnn import runs as cnn_runs

    done = cnn_runs.finished_results(dataset_id, target)
    if not done:
        st.caption(f"No finished CNN run for “{escape_markdown(target)}” yet.")
        return
    st.subheader(f"Finished CNN runs for {escape_markdown(target)}")
    rows = []
    for item in done:
        summary = item["result"].summary()
        rows.append({"run": item["run_id"], "model": item["model"], "outer folds": item["outer"],
                     "grouped by": item["group_column"] or "—", "MAPE (%)": round(summary["mape_pct"]["mean"], 3),
                     "RMSE": round(summary["rmse"]["mean"], 4), "R²": round(summary["r2"]["mean"], 4)})
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption("These runs appear on the Models page (same data set and property) in the box plots, the summary "
               "and the parity plot.")
    pick = st.selectbox("Training curves of run", [item["run_id"] for item in done], key="cnn_curves_run")
    item = next(i for i in done if i["run_id"] == pick)
    for k, history in enumerate(item["histories"]):
        if history:
            chart(learnview.loss_figure(history, title=f"Fold {k + 1}"), key=f"cnn_curve_{pick}_{k}")
