"""Feature sets of the open data set: computed through the store, cached per session-independent key."""

import json
from collections import OrderedDict

import streamlit as st

from msdash.app import state, widgets
from msdash.display import escape_markdown
from msdash.errors import WorkspaceError

#: Session-state key: names of the samples selected on a map or a parity plot (shared by the pages).
SELECTED = "selected_samples"


def params_key(params):
    """Canonical JSON of extractor parameters (the cache key of a feature set)."""
    return json.dumps(params, sort_keys=True, default=str)


@st.cache_resource
def _shared_tables():
    # One LRU of feature tables for all sessions (read-only); progress is drawn outside any cached call.
    return OrderedDict()


def feature_table(dataset_id, name, params):
    """Return the :class:`msdash.features.FeatureTable` of the open data set (store first, then compute).

    Shared across reruns and sessions (treat as read-only); the on-disk store makes it survive restarts.
    Computing shows a progress bar.
    """
    from msdash.features import extract
    from msdash.features.registry import get_spec
    from msdash.features.store import save_table_meta

    cache = _shared_tables()
    key = (str(state.config.workspace()), dataset_id, name, params_key(params))
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    bar = st.progress(0.0, text=f"{escape_markdown(name)}: reading the feature store…")

    def progress(done, total, message=""):
        bar.progress(min(1.0, done / max(total or 1, 1)),
                     text=f"{escape_markdown(name)}: {done} of {total} samples {escape_markdown(message)}")

    dataset = state.current_dataset()
    if get_spec(name).kind == "foundation":
        from msdash.features.foundation_extract import reporting

        # Per-batch progress (images/s, time left); a rerun (the Cancel button) stops at the next batch.
        with reporting(progress, total=len(dataset.names)):
            table = extract(dataset, name, progress=progress, **params)
        table.provenance["weights"] = weights_provenance(params)
    else:
        table = extract(dataset, name, progress=progress, **params)
    bar.empty()
    try:
        save_table_meta(dataset_id, table)
    except WorkspaceError as error:  # read-only workspace: the table is still shown, just not recorded
        st.warning(escape_markdown(str(error)))
    cache[key] = table
    while len(cache) > 32:
        cache.popitem(last=False)
    return table


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
    from msdash.features.foundation_models import model_status

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
    from msdash.features.foundation_download import offline
    from msdash.features.foundation_models import PRESETS, model_status, status_table

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
    from msdash.features.foundation_download import download_model

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
    from msdash.learned.vae_spec import run_reference

    trained = [m for m in runs.list_runs("texture_vae") if m.get("history")]
    if not trained:
        st.info("No trained TextureVAE yet: train one on the Learn page (it also offers its latents as features).")
        return False
    refs = [run_reference(runs.runs_root("texture_vae") / m["run_id"]) for m in trained]
    st.caption("Trained runs (use one as `run`): " + ", ".join(f"`{r}`" for r in refs))
    return bool(params.get("run"))
