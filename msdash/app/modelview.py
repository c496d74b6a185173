"""Model runs for the Models page: the training table, cached nested CV, hold-out and learning curves."""

import time

import numpy as np
import streamlit as st

#: Session-state key of the model runs shown on the page (list of dicts).
RUNS = "model_runs"
#: Session-state keys: id of this session's background nested CV (:mod:`msdash.jobs`), and the note a
#: cancelled or failed one left.
CV_JOB = "model_cv_job"
CV_NOTE = "model_cv_note"


def training_table(dataset, table, target, *, extra_columns=(), group_column=None):
    """Rows usable for a model: finite features (plus extra property columns) and a finite target.

    Returns
    -------
    dict
        ``X`` (n, d), ``y`` (n,), ``groups`` (n,) or None, ``names`` (n,), ``dropped`` (names left out).
    """
    X = np.asarray(table.values, dtype=float)
    if extra_columns:
        extra = dataset.properties[list(extra_columns)].to_numpy(float)
        X = np.hstack([X, extra])
    y = dataset.properties[target].to_numpy(float)
    keep = np.isfinite(X).all(axis=1) & np.isfinite(y)
    groups = None
    if group_column:
        raw = dataset.properties[group_column].astype(str).to_numpy()
        keep &= dataset.properties[group_column].notna().to_numpy()
        groups = raw[keep]
    names = np.asarray(dataset.names, dtype=object)
    return {"X": X[keep], "y": y[keep], "groups": groups, "names": names[keep], "dropped": list(names[~keep])}


@st.cache_data(max_entries=128, show_spinner=False)
def nested(_X, _y, _groups, key, model, outer, inner, scoring, standardize):
    """:func:`msdash.models.nested_cv`, cached on ``key`` (feature-table key, target, rows, groups)."""
    from msdash.models import nested_cv

    return nested_cv(_X, _y, model=model, outer=outer, inner=inner, groups=_groups, scoring=scoring,
                     standardize=standardize, random_state=42)


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


def group_folds(groups, outer, inner):
    """Outer and inner folds for group-aware CV: leave-one-group-out when there are fewer groups than folds.

    Returns
    -------
    (outer, inner, note) : (int or "logo", int, str)
    """
    from msdash.errors import InputError

    n_groups = len(set(groups))
    if n_groups < 3:
        raise InputError(f"Group-aware CV needs at least 3 groups; the group column has {n_groups}.")
    if n_groups >= outer:
        inner = min(inner, n_groups - n_groups // outer)
        return outer, max(2, inner), f"{outer}-fold GroupKFold over {n_groups} groups"
    inner = max(2, min(inner, n_groups - 1))
    return "logo", inner, f"leave-one-group-out over {n_groups} groups (fewer groups than folds), inner {inner}-fold"


def run_key(table, target, rows, groups, extra_columns):
    """A string naming the inputs of a run (cache key): table key, target, rows, groups and extra columns."""
    import hashlib

    digest = hashlib.sha256(np.ascontiguousarray(rows).view(np.uint8).tobytes())
    if groups is not None:
        digest.update("\0".join(map(str, groups)).encode())
    return f"{table.key}|{target}|{','.join(extra_columns)}|{digest.hexdigest()[:16]}"


def chosen_text(fold_params):
    """The chosen #PCs (or parameters) over the outer folds, most frequent first: ``"7 (6×), 8 (4×)"``."""
    from collections import Counter

    counts = Counter(p if isinstance(p, (int, np.integer)) else str(p) for p in fold_params)
    return ", ".join(f"{value} ({n}×)" for value, n in counts.most_common(4))


@st.cache_resource(max_entries=16, show_spinner="Fitting the final model on all labelled samples…")
def final_model(_X, _y, _cv_result, key, model):
    """The fitted pipeline to predict with (:func:`msdash.models.fit_final`), shared read-only."""
    from msdash.models import fit_final

    return fit_final(_X, _y, model=model, cv_result=_cv_result)


def cnn_runs(dataset_id, target, outer=None):
    """Finished CNN cross-validations of the Learn page for this data set and property, as Models-page runs.

    Their ``folds`` note says whether they used the page's current number of outer folds (same seed, so
    the same folds for the same rows).
    """
    from msdash.learned.cnn_runs import finished_results

    found = []
    for item in finished_results(dataset_id, target):
        same = outer is not None and int(outer) == item["outer"]
        found.append({"feature_set": "images (CNN, Learn page)", "model": item["model"],
                      "grouped": item["group_column"], "result": item["result"], "names": np.asarray(item["names"]),
                      "dropped": [], "X": None, "key": None, "groups": None, "entry": None, "extra": [],
                      "cnn": True, "folds": f"{item['outer']} folds, seed 42"
                                            + (" (same as above)" if same else " (differs from the folds above)")})
    return found


# --- long runs: nested CV in the background, one outer fold at a time, with Cancel ---------------------------

def nested_folds(X, y, groups, *, model, outer, inner, scoring, standardize, callback=None):
    """:func:`msdash.models.nested_cv` (seed 42, same numbers) run one outer fold at a time.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
    y : ndarray, shape (n_samples,)
    groups : ndarray, shape (n_samples,), or None
    model, outer, inner, scoring, standardize
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
                     random_state=42, standardize=standardize, callback=callback)


def cv_job(tasks, *, scoring, standardize, callback):
    """Background job (:mod:`msdash.jobs`): nested CV of every task, stopping between folds on Cancel.

    Parameters
    ----------
    tasks : list of dict
        ``run`` (the page's run dict without ``result``), ``X``, ``y``, ``groups``, ``outer``, ``inner``, ``title``.
    callback : callable
        The job's callback; events carry ``task``, ``tasks``, ``fold``, ``folds`` and ``title``.

    Returns
    -------
    list of dict
        The finished runs (each with its ``result``); fewer than ``tasks`` when cancelled.
    """
    finished = []
    for number, task in enumerate(tasks, start=1):
        def report(event, number=number, task=task):
            return callback({**event, "task": number, "tasks": len(tasks), "title": task["title"]})

        result = nested_folds(task["X"], task["y"], task["groups"], model=task["run"]["model"],
                              outer=task["outer"], inner=task["inner"], scoring=scoring, standardize=standardize,
                              callback=report)
        if result is None:
            break
        finished.append({**task["run"], "result": result})
    return finished


def cv_progress(event):
    """Share of a :func:`cv_job` done (0–1) from its latest event."""
    if not event:
        return 0.0
    return ((event["task"] - 1) + event["fold"] / event["folds"]) / event["tasks"]


def run_estimate(sizes, combos, n, outer, inner, n_extra=0):
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
    return seconds, unknown


def start_cv_job(tasks, scoring, standardize):
    """Start :func:`cv_job` for this session (one at a time) and remember its id; returns the id."""
    import uuid

    from msdash import jobs

    job_id = f"models-cv:{st.session_state.setdefault('_cv_session', uuid.uuid4().hex)}"
    jobs.start(job_id, f"Nested CV ({len(tasks)} run(s))", cv_job, tasks, scoring=scoring,
               standardize=standardize)
    st.session_state[CV_JOB] = job_id
    st.session_state.pop(CV_NOTE, None)
    return job_id


def cv_job_panel(job_id, target, score_label):
    """Progress and Cancel of the session's background nested CV; its runs go to the page when it ends.

    A cancelled job keeps the runs that finished; the page says how far it got.
    """
    from msdash import jobs
    from msdash.display import escape_markdown

    job = jobs.get(job_id)
    if job is None:
        st.session_state.pop(CV_JOB, None)
        return
    if not job.running:
        st.session_state.pop(CV_JOB, None)
        runs = job.result or []
        if job.status == "failed":
            st.session_state[CV_NOTE] = f"Nested cross-validation failed: {escape_markdown(job.error)}"
        elif job.status == "cancelled":
            last = job.last
            st.session_state[CV_NOTE] = (
                f"Cancelled after {len(runs)} of {last.get('tasks', '?')} run(s) (the next stopped after fold "
                f"{last.get('fold', 0)} of {last.get('folds', '?')}); finished runs are shown below.")
        if runs:
            st.session_state[RUNS] = {"target": target, "runs": runs, "score_label": score_label}
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
            text = (f"{event['title']}: fold {event['fold']}/{event['folds']} · run {event['task']}/{event['tasks']}"
                    f" · {elapsed:.0f} s")
            if done > 0:
                text += f", about {elapsed * (1 - done) / done:.0f} s left"
        st.progress(min(done, 1.0), text=text)
        st.button("Cancel", key="cancel_cv_job", on_click=jobs.cancel, args=(job_id,),
                  help="Stops after the current outer fold; finished runs are kept.")

    panel()
