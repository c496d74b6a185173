"""Model runs for the Models page: cached nested CV, the background comparison, the saved form and history."""

import time

import numpy as np
import streamlit as st

from msdash.app.keys import (
    MODEL_CV_JOB,
    MODEL_CV_NOTE,
    MODEL_CV_SESSION,
    MODEL_FORM,
    MODEL_FORM_KEYS,
    MODEL_HISTORY,
    MODEL_JOB_FORM,
    MODEL_RUNS,
    MODEL_TARGET,
)


@st.cache_data(max_entries=128, show_spinner=False)
def nested(_X, _y, _groups, key, model, outer, inner, scoring, standardize, random_state=42):
    """:func:`msdash.models.nested_cv`, cached on ``key`` (feature-table key, target, rows, groups, seed)."""
    from msdash.models import nested_cv

    return nested_cv(_X, _y, model=model, outer=outer, inner=inner, groups=_groups, scoring=scoring,
                     standardize=standardize, random_state=random_state)


def cached_cv(X, y, *, key, groups, model, outer, inner, scoring, standardize, random_state, callback=None):
    """:func:`nested` in the ``cv`` shape of :func:`msdash.models.run.run_comparison`; reports the run's
    last fold when done (a cached result has no folds to report one by one)."""
    result = nested(X, y, groups, key, model, outer, inner, scoring, standardize, random_state)
    if callback is not None:
        return None if callback({"fold": len(result.folds), "folds": len(result.folds)}) is False else result
    return result


def background_cv(X, y, *, key, groups, callback=None, **options):
    """:func:`nested_folds` in the ``cv`` shape of :func:`msdash.models.run.run_comparison` (looked up at
    call time, so a test can hold it between folds)."""
    return nested_folds(X, y, groups, callback=callback, **options)


@st.cache_data(max_entries=64, show_spinner="Hold-out split…")
def holdout(_X, _y, key, model, scoring, standardize):
    """Study A's hold-out (80/20, seeded), cached on ``key``."""
    from msdash.models import holdout as run

    return run(_X, _y, model=model, scoring=scoring, standardize=standardize, random_state=42)


@st.cache_data(max_entries=32, show_spinner="Learning curve (an inner search at every size)…")
def learning(_X, _y, _groups, key, model, scoring, standardize):
    """Score against training-set size (5 outer folds), cached on ``key``."""
    from msdash.models import learning_curve

    return learning_curve(_X, _y, model=model, sizes=(0.05, 0.1, 0.2, 0.5, 1.0), outer=5, groups=_groups,
                          scoring=scoring, standardize=standardize, random_state=42)


@st.cache_resource(max_entries=16, show_spinner="Fitting the final model on all labelled samples…")
def final_model(_X, _y, _cv_result, key, model, _groups=None):
    """The fitted pipeline to predict with (:func:`msdash.models.fit_final`), shared read-only.

    ``key`` must name everything that made the run (table, target, rows, settings, grouping): the cached
    pipeline is found by it alone. ``_groups``: the run's groups when it was grouped.
    """
    from msdash.models import fit_final

    return fit_final(_X, _y, model=model, cv_result=_cv_result, groups=_groups)


def cnn_runs(dataset_id, target, outer=None, dataset_label=""):
    """Finished CNN cross-validations of the Learn page for this data set and property, as ModelRuns.

    Their ``folds`` note says whether they used the page's current number of outer folds (same seed, so
    the same folds for the same rows).
    """
    from msdash.learned.cnn.runs import finished_results
    from msdash.models.run import ModelRun, RunSettings

    found = []
    for item in finished_results(dataset_id, target):
        same = outer is not None and int(outer) == item["outer"]
        result = item["result"]
        settings = RunSettings(dataset=dataset_label or str(dataset_id), target=target,
                               group_column=item["group_column"],
                               outer=int(item["outer"]), inner=0, scoring=result.scoring, seeds=(42,),
                               samples=len(item["names"]))
        found.append(ModelRun(feature_set="images (CNN, Learn page)", model=item["model"], result=result,
                              repeats=(result,), names=np.asarray(item["names"]), settings=settings,
                              grouped=item["group_column"], cnn=True,
                              folds=f"{item['outer']} folds, seed 42"
                                    + (" (same as above)" if same else " (differs from the folds above)")))
    return found


# --- long runs: the comparison in the background, one outer fold at a time, with Cancel --------------------

def nested_folds(X, y, groups, *, model, outer, inner, scoring, standardize, random_state=42, callback=None):
    """:func:`msdash.models.nested_cv` run one outer fold at a time (same numbers).

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
    y : ndarray, shape (n_samples,)
    groups : ndarray, shape (n_samples,), or None
    model, outer, inner, scoring, standardize, random_state
        As :func:`msdash.models.nested_cv`.
    callback : callable, optional
        Called after every outer fold with ``{"fold": i, "folds": k}``; a ``False`` answer stops the run.

    Returns
    -------
    CVResult or None
        None when the callback stopped the run before its last fold.
    """
    from msdash.models import nested_cv

    return nested_cv(X, y, model=model, outer=outer, inner=inner, groups=groups, scoring=scoring,
                     random_state=random_state, standardize=standardize, callback=callback)


def cv_job(dataset, tables, *, callback, **options):
    """Background job (:mod:`msdash.learned.jobs`): :func:`msdash.models.run.run_comparison`, stopping between
    folds on Cancel.

    Returns
    -------
    list of ModelRun
        The finished runs (and the baselines of their splits); fewer than asked when cancelled.
    """
    from msdash.models.run import run_comparison

    return run_comparison(dataset, tables, cv=background_cv, callback=callback, **options)


def cv_progress(event):
    """Share of a comparison done (0–1) from its latest event (``task``/``tasks``, ``repeat``/``repeats``,
    ``fold``/``folds``)."""
    if not event:
        return 0.0
    repeats = event.get("repeats", 1)
    within = ((event.get("repeat", 1) - 1) + event["fold"] / event["folds"]) / repeats
    return ((event["task"] - 1) + within) / event["tasks"]


def run_estimate(sizes, combos, n, outer, inner, n_extra=0, repeats=1):
    """Predicted seconds of the page's runs (:func:`msdash.app.features.estimate_seconds`).

    Parameters
    ----------
    sizes : dict
        Feature-set label → number of features (None when unknown: imported sets).
    combos : list of (label, model, group column or None)
    n : int
        Samples.
    outer, inner : int
    n_extra : int
        Property columns added to the features.
    repeats : int
        Nested CV runs per combination (seeds); the cost grows in proportion.

    Returns
    -------
    (float, int)
        Seconds, and how many combinations had no known size (not counted).
    """
    from msdash.app.features import estimate_seconds

    seconds, unknown = 0.0, 0
    for label, model, _ in combos:
        d = sizes.get(label)
        if d is None:
            unknown += 1
            continue
        seconds += estimate_seconds("nested_cv", n, d + n_extra, model=model, outer=int(outer), inner=int(inner))
    return seconds * max(1, int(repeats)), unknown


def start_cv_job(dataset, tables, form, **options):
    """Start :func:`cv_job` for this session (one at a time) and remember its id and the form that started
    it; returns the id."""
    import uuid

    from msdash.learned import jobs

    n_runs = len(tables) * len(options["models"]) * (2 if options.get("group_column") else 1)
    job_id = f"models-cv:{st.session_state.setdefault(MODEL_CV_SESSION, uuid.uuid4().hex)}"
    jobs.start(job_id, f"Nested CV ({n_runs} run(s))", cv_job, dataset, tables, **options)
    st.session_state[MODEL_CV_JOB] = job_id
    st.session_state[MODEL_JOB_FORM] = form
    st.session_state.pop(MODEL_CV_NOTE, None)
    return job_id


def remember(dataset_id, runs, form):
    """Add finished runs to the session's history of this data set (same settings replace, others stay
    beside them), keep the form that produced them, and expose the model runs to the Predict page."""
    from msdash.models.report import replace_runs

    history = st.session_state.setdefault(MODEL_HISTORY, {})
    history[dataset_id] = replace_runs(history.get(dataset_id, []), runs)
    if form is not None:
        st.session_state[MODEL_FORM] = {"dataset_id": dataset_id, **form}
    publish(dataset_id, form[MODEL_TARGET] if form else runs[0].target)


def publish(dataset_id, target):
    """:data:`msdash.app.keys.MODEL_RUNS` for the Predict page: the model runs of ``target`` (no baselines),
    latest settings last."""
    runs = [run for run in st.session_state.get(MODEL_HISTORY, {}).get(dataset_id, [])
            if not run.baseline and not run.cnn and run.target == target]
    if runs:
        st.session_state[MODEL_RUNS] = {"target": target, "runs": runs,
                                        "score_label": score_label(runs[-1].settings.scoring, target)}


def score_label(scoring, target):
    """Axis title of a score: ``"MAPE (%)"``, ``"RMSE (<target>)"`` or ``"R²"``."""
    return {"mape": "MAPE (%)", "rmse": f"RMSE ({target})", "r2": "R²"}[scoring]


def restore_form(dataset_id, options):
    """Put the saved form back into the widgets' session state before they are drawn (a page left and opened
    again shows the form that produced the results on screen). Values no longer offered are skipped.

    Parameters
    ----------
    options : dict
        Widget key → the values it offers now (a list), or None for any value.
    """
    form = st.session_state.get(MODEL_FORM)
    if not form or form.get("dataset_id") != dataset_id:
        return
    for key in MODEL_FORM_KEYS:
        if key in st.session_state or key not in form:
            continue
        value, allowed = form[key], options.get(key)
        if allowed is not None:
            if isinstance(value, list):
                value = [v for v in value if v in allowed]
            elif value not in allowed:
                continue
        st.session_state[key] = value


def cv_job_panel(job_id, dataset_id):
    """Progress and Cancel of the session's background comparison; its runs go to the page when it ends.

    A cancelled job keeps the runs that finished; the page says how far it got.
    """
    from msdash.learned import jobs
    from msdash.display import escape_markdown

    job = jobs.get(job_id)
    if job is None:
        st.session_state.pop(MODEL_CV_JOB, None)
        return
    if not job.running:
        st.session_state.pop(MODEL_CV_JOB, None)
        runs = job.result or []
        if job.status == "failed":
            st.session_state[MODEL_CV_NOTE] = f"Nested cross-validation failed: {escape_markdown(job.error)}"
        elif job.status == "cancelled":
            last = job.last
            finished = sum(not run.baseline for run in runs)
            st.session_state[MODEL_CV_NOTE] = (
                f"Cancelled after {finished} of {last.get('tasks', '?')} run(s) (the next stopped after fold "
                f"{last.get('fold', 0)} of {last.get('folds', '?')}); finished runs are shown below.")
        if runs:
            remember(dataset_id, runs, st.session_state.pop(MODEL_JOB_FORM, None))
        return

    @st.fragment(run_every=1.0)
    def panel():
        job = jobs.get(job_id)
        if not job.running:
            st.rerun(scope="app")
        event, elapsed = job.last, time.time() - job.started
        done = cv_progress(event)
        text = "Nested cross-validation: starting"
        if event:
            text = (f"{event['title']}: fold {event['fold']}/{event['folds']}"
                    + (f" · repeat {event['repeat']}/{event['repeats']}" if event.get("repeats", 1) > 1 else "")
                    + f" · run {event['task']}/{event['tasks']} · {elapsed:.0f} s")
            if done > 0:
                text += f", about {elapsed * (1 - done) / done:.0f} s left"
        st.progress(min(done, 1.0), text=escape_markdown(text))
        st.button("Cancel", key="cancel_cv_job", on_click=jobs.cancel, args=(job_id,),
                  help="Stops after the current outer fold; finished runs are kept.")

    panel()
