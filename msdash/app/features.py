"""Feature sets of the open data set: computed through the store, cached per session-independent key."""

import json
import threading
from collections import OrderedDict

import streamlit as st

from msdash.app import state, widgets
from msdash.display import escape_markdown
from msdash.errors import InputError, WorkspaceError

# Step-time estimates live in their own module; the pages reach them here.
from msdash.app.estimates import COST, LONG_STEP_S, estimate_seconds, format_duration, step_work  # noqa: F401


def params_key(params):
    """Canonical JSON of extractor parameters (the cache key of a feature set)."""
    return json.dumps(params, sort_keys=True, default=str)


@st.cache_resource
def _shared_tables():
    # One LRU of feature tables for all sessions (tables read-only); sessions run in threads, so every
    # look-up and insertion holds the lock. Progress is drawn outside any cached call.
    return OrderedDict(), threading.Lock()


def feature_table(dataset_id, name, params):
    """Return the :class:`msdash.features.FeatureTable` of the open data set (store first, then compute).

    Shared across reruns and sessions (treat as read-only); the on-disk store makes it survive restarts.
    Computing shows a progress bar. Images of different sizes get parameters that suit them all
    (:func:`msdash.features.registry.fit_to_sizes`: two-point's cutoff from the smallest image), decided
    before any work and recorded in the table's provenance (``notes``).
    """
    from msdash.features import extract
    from msdash.features.registry import fit_to_sizes, get_spec
    from msdash.features.store import save_table_meta

    cache, lock = _shared_tables()
    key = (str(state.config.workspace()), dataset_id, name, params_key(params))
    with lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    bar = st.progress(0.0, text=f"{escape_markdown(name)}: reading the feature store…")

    def progress(done, total, message=""):
        bar.progress(min(1.0, done / max(total or 1, 1)),
                     text=f"{escape_markdown(name)}: {done} of {total} samples {escape_markdown(message)}")

    dataset = state.current_dataset()
    fitted, note = fit_to_sizes(name, params, sample_shapes(dataset_id, dataset))
    if get_spec(name).kind == "foundation":
        from msdash.features.foundation.extract import reporting

        # Per-batch progress (images/s, time left); a rerun (the Cancel button) stops at the next batch.
        with reporting(progress, total=len(dataset.names)):
            table = extract(dataset, name, progress=progress, **fitted)
        table.provenance["weights"] = weights_provenance(params)
    else:
        table = extract(dataset, name, progress=progress, **fitted)
    if note and note not in table.provenance.get("notes", []):
        table.provenance["notes"] = [*table.provenance.get("notes", []), note]
    bar.empty()
    try:
        save_table_meta(dataset_id, table)
    except WorkspaceError as error:  # read-only workspace: the table is still shown, just not recorded
        st.warning(escape_markdown(str(error)))
    with lock:
        cache[key] = table
        while len(cache) > 32:
            cache.popitem(last=False)
    return table


@st.cache_data(max_entries=16, show_spinner=False)
def _shapes(dataset_id, workspace, _dataset):
    from collections import Counter

    return dict(Counter(_dataset.images.raw(n).shape for n in _dataset.names))  # no float32 copies


def sample_shapes(dataset_id, dataset):
    """Shape → number of samples of a saved data set, read once (its id is its content hash)."""
    return _shapes(dataset_id, str(state.config.workspace()), dataset)


def feature_count_notice(dataset, dataset_id, name, params):
    """Say how many features a run will give before it starts; refuse one whose table cannot fit the budget.

    Images of different sizes: says which parameters :func:`feature_table` will fix so that every sample gets
    the same features (instead of most of them failing at the end of the run).

    Returns
    -------
    bool
        False when the table would not fit the memory budget (the reason and the fix are shown).
    """
    from msdash.features.registry import fit_to_sizes
    from msdash.features.sizing import check_feature_count, feature_count

    shapes = sample_shapes(dataset_id, dataset)
    try:
        params, note = fit_to_sizes(name, params, shapes)
        warning = check_feature_count(name, params, shapes)
    except InputError as error:
        st.error(escape_markdown(error.message))
        return False
    count = feature_count(name, params, shapes)
    if note:
        st.info(escape_markdown(note))
    if warning:
        st.warning(escape_markdown(warning))
    elif count is not None:
        st.caption(f"{count:,} feature{'' if count == 1 else 's'} per sample × {len(dataset):,} samples.")
    return True


def feature_sets(dataset_id):
    """Feature sets known for a data set: computed (from the store's records) and imported.

    Returns
    -------
    dict
        label → ``("computed", extractor, params)`` or ``("imported", table_name, None)``.
    """
    from msdash.features.imported import list_imported
    from msdash.features.store import list_tables

    sets = {}
    for record in list_tables(dataset_id):
        params = record["params"]
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        sets[f"{record['extractor']} ({shown})" if shown else record["extractor"]] = (
            "computed", record["extractor"], params)
    for name in list_imported(dataset_id):
        sets[f"imported: {name}"] = ("imported", name, None)
    return sets


def named_import(table, name):
    """An imported FeatureTable under the name the user gave it (saved, listed and shown under that name)."""
    from msdash.features.imported_store import MAX_NAME

    name = str(name).strip()
    if not name or name == table.extractor.removeprefix("imported:"):
        return table
    if len(name) > MAX_NAME or any(c in name for c in "\r\n\t\0"):
        raise InputError(f"A feature set's name must be one line of 1 to {MAX_NAME} characters, got {name!r}.",
                         name="name")
    table.extractor = f"imported:{name}"
    table.provenance = {**table.provenance, "extractor": table.extractor, "named": name}
    return table


def load_feature_set(dataset_id, entry):
    """Return the FeatureTable for an entry of :func:`feature_sets`."""
    kind, name, params = entry
    if kind == "computed":
        return feature_table(dataset_id, name, params)
    from msdash.features.imported import load_imported

    return load_imported(dataset_id, name)


# --- foundation-model weights ---------------------------------------------------------------------------

def weights_provenance(params):
    """Which weights a foundation extractor used: source, hub id, folder and fingerprint (for provenance)."""
    from msdash.features.foundation.models import model_status

    source = params.get("folder") or params.get("model")
    status = model_status(source)
    return {"source": str(source), "id": status["id"], "path": status["path"], "fingerprint": status["fingerprint"]}


def foundation_weights(family, params):
    """Status of the chosen weights: a table of all presets (and the chosen folder), a clear message when the
    weights are missing or of another family, and a download button for a missing preset.

    Parameters
    ----------
    family : {"dinov2", "clip", "sam"}
        The extractor's family.
    params : dict
        The extractor's parameters from the form (``model``, ``folder``).

    Returns
    -------
    bool
        True when the chosen weights are present, loadable and of ``family`` (the extractor can run).
    """
    from msdash.features.foundation.download import offline
    from msdash.features.foundation.models import PRESETS, model_status, status_table

    folder = params.get("folder")
    with st.expander("Model weights on this machine", expanded=False):
        rows = status_table(folders=[folder] if folder else [])
        st.dataframe([{k: row[k] for k in ("name", "id", "family", "present", "size_mb", "path")} for row in rows],
                     hide_index=True)
        st.caption("Weights come from the Hugging Face cache (HF_HOME / HF_HUB_CACHE) or a local folder holding "
                   "config.json and model.safetensors; nothing is downloaded unless you press Download.")
    status = model_status(folder or params.get("model"))
    if status["present"] and status["family"] != family:
        st.warning(escape_markdown(f"{folder} holds {status['family']} weights; choose the {status['family']} "
                                   "extractor for it."))
        return False
    if status["present"]:
        if folder:
            st.caption(escape_markdown(f"Using the weights in {status['path']} ({status['size_mb']} MB) "
                                       "instead of the preset."))
        return True
    st.warning(escape_markdown(status["message"]))
    model = params.get("model")
    if not folder and model in PRESETS:
        is_offline = offline()
        if is_offline:
            st.caption("HF_HUB_OFFLINE is set: this machine does not download. Unset it to enable the button.")
        if st.button(f"Download {PRESETS[model].hub_id}", key="download_weights", disabled=is_offline):
            _download(model)
    return False


def _download(model):
    from msdash.features.foundation.download import download_model

    bar = st.progress(0.0, text=f"Downloading {escape_markdown(model)}…")

    def progress(done, total, message):
        bar.progress(min(1.0, done / total) if total else 0.0, text=escape_markdown(message))

    with widgets.user_errors(f"Downloading {model}"):
        status = download_model(model, progress=progress)
        state.flash(escape_markdown(f"Downloaded {status['id']} ({status['size_mb']} MB) into {status['path']}."))
        st.rerun()
    bar.empty()


def texture_vae_runs(params):
    """Say which trained TextureVAE runs exist (the ``run`` parameter names one); whether one is chosen."""
    from msdash.learned import runs
    from msdash.learned.vae.spec import run_reference

    trained = [m for m in runs.list_runs("texture_vae") if m.get("history")]
    if not trained:
        st.info("No trained TextureVAE yet: train one on the Learn page (it also offers its latents as features).")
        return False
    refs = [run_reference(runs.runs_root("texture_vae") / m["run_id"]) for m in trained]
    st.caption("Trained runs (use one as `run`): " + ", ".join(f"`{r}`" for r in refs))
    return bool(params.get("run"))


# --- choosing the default feature set ---------------------------------------------------------------------

#: A map needs two features to spread samples in two dimensions (one gives a strip); models need one.
MIN_FEATURES_MAP = 2


def feature_set_sizes(dataset_id, sets=None):
    """Number of features of every computed set of :func:`feature_sets` (label → d; imported sets are None).

    Read from the store's records (no table is loaded); ``sets`` is :func:`feature_sets`' answer if at hand.
    """
    from msdash.features.store import list_tables

    sizes = {label: None for label in (feature_sets(dataset_id) if sets is None else sets)}
    for record in list_tables(dataset_id):
        shown = ", ".join(f"{k}={v}" for k, v in record["params"].items())
        label = f"{record['extractor']} ({shown})" if shown else record["extractor"]
        if label in sizes:
            sizes[label] = int(record["d"])
    return sizes


def smallest_set(sizes, *, min_features=1):
    """Label of the smallest adequate feature set: the fewest features among those with at least
    ``min_features``; sets of unknown size (imported) only when no computed set qualifies.

    The cheap choice is the one a click runs: a 4,225-column two-point table costs minutes of PCA, UMAP or
    nested CV on 50,000 samples where a 65-column PSD set costs seconds.

    Parameters
    ----------
    sizes : dict
        label → number of features (int) or None when unknown; in the order the page lists the sets.
    min_features : int
        Fewest features a set needs to be adequate (:data:`MIN_FEATURES_MAP` for a 2-D map).

    Returns
    -------
    str or None
        None when ``sizes`` is empty. Ties go to the set listed first (the newest).

    Examples
    --------
    >>> smallest_set({"two_point": 4225, "phys_feat2": 64, "volume_fraction": 1}, min_features=2)
    'phys_feat2'
    >>> smallest_set({"imported: emb.csv": None, "two_point": 4225})
    'two_point'
    """
    if not sizes:
        return None
    known = [(d, i, label) for i, (label, d) in enumerate(sizes.items()) if d is not None]
    adequate = [item for item in known if item[0] >= min_features]
    if adequate or known:
        return min(adequate or known)[2]
    return next(iter(sizes))


def default_note(label, sizes):
    """Caption saying why ``label`` is the default choice (markdown-escaped)."""
    d = sizes.get(label)
    if d is None or len(sizes) < 2:
        return ""
    bigger = [x for x in sizes.values() if x is not None and x > d]
    text = (f"Default: {label}, the smallest computed feature set ({d:,} features)")
    if bigger:
        text += f"; the largest has {max(bigger):,}. Small sets map and cross-validate in seconds — add others"
        text += " when you want to compare."
    return escape_markdown(text)
