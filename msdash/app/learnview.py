"""Learn page helpers: background training with live progress, run pickers, cached trained models."""


import numpy as np
import pandas as pd
import streamlit as st

from msdash.learned import jobs
from msdash.app.keys import job_seen
from msdash.display import escape_markdown
from msdash.app.charts import chart


def micrographs(dataset):
    """Grey 2-D micrographs of a data set for training: ``(names, list of (H, W) float32)``.

    RGB images become grey (BT.601); volumes are left out (their sections are features, not training
    micrographs) and counted in a caption.
    """
    from msdash.io import to_grey

    names, images, volumes = [], [], 0
    for name in dataset.names:
        if dataset.kind(name) == "3d":
            volumes += 1
            continue
        names.append(name)
        images.append(to_grey(dataset.images[name], kind=dataset.kind(name)))
    if volumes:
        st.caption(f"{volumes} volume(s) left out: training uses 2-D micrographs.")
    return names, images


def patch_choices(images):
    """Patch sides (multiples of 16, 32–256 px) that fit every image, largest first."""
    if not images:
        return []
    side = min(min(image.shape[:2]) for image in images)
    return [p for p in (256, 128, 96, 64, 48, 32) if p <= side]


def _eta(event, started_t):
    done = (event.get("epoch", 1) - 1 + event.get("step", 0) / max(event.get("steps", 1), 1)) / max(
        event.get("epochs", 1), 1)
    if done <= 0 or started_t is None:
        return done, None
    return done, event["t"] * (1 - done) / done


def job_panel(job_id, *, history=()):
    """Progress of a background job, refreshed every second while it runs: bar, loss curve, Cancel.

    Parameters
    ----------
    job_id : str
    history : sequence of dict
        Epoch records saved before this job started (a resumed run), drawn in the same loss curve.
    """

    @st.fragment(run_every=1.0 if (jobs.get(job_id) and jobs.get(job_id).running) else None)
    def panel():
        job = jobs.get(job_id)
        if job is None:
            return
        event = job.last
        done, left = _eta(event, job.started) if event else (0.0, None)
        title = escape_markdown(job.title)  # names the property: user text
        if job.running:
            text = f"{title}: epoch {event.get('epoch', 1)}/{event.get('epochs', '?')}"
            if "steps" in event:
                text += f" · step {event.get('step', 0)}/{event['steps']}"
            if "loss" in event or "train_loss" in event:
                text += f" · loss {event.get('loss', event.get('train_loss')):.4g}"
            if left is not None:
                text += f" · about {left:.0f} s left"
            st.progress(min(max(done, 0.0), 1.0), text=text)
            if st.button("Cancel training", key=f"cancel_{job_id}"):
                jobs.cancel(job_id)
                st.info("Stopping after the current step; finished epochs stay saved.")
        elif job.status == "failed":
            st.error(f"{title} failed: {escape_markdown(job.error)}")
        elif job.status == "cancelled":
            st.warning(f"{title} was cancelled after {len(job.epochs)} epoch(s); resume it below.")
        else:
            st.success(f"{title} finished in {job.finished - job.started:.0f} s.")
        records = list(history) + [e for e in job.epochs]
        if records:
            chart(loss_figure(records), key=f"loss_{job_id}", filename="training_loss")
        if not job.running and job.status != st.session_state.get(job_seen(job_id)):
            st.session_state[job_seen(job_id)] = job.status
            st.rerun()  # the page below (run list, views) catches up once the job has ended

    panel()


def loss_figure(history, *, title="Training loss"):
    """Line chart of the per-epoch losses of a run (train, and validation when recorded)."""
    import plotly.graph_objects as go

    frame = pd.DataFrame(history)
    figure = go.Figure()
    for column, name in (("train_loss", "train"), ("val_loss", "validation"), ("style", "style part"),
                         ("kl", "KL part")):
        if column in frame and frame[column].notna().any():
            figure.add_trace(go.Scatter(x=frame["epoch"], y=frame[column], mode="lines+markers", name=name))
    values = frame[[c for c in ("train_loss", "val_loss", "style", "kl") if c in frame]].to_numpy(float)
    positive = bool(np.all(values[np.isfinite(values)] > 0))
    # The parts differ by orders of magnitude (β·KL vs style): a log axis keeps every curve readable.
    figure.update_layout(title=title, xaxis_title="epoch", yaxis_title="loss" + (" (log scale)" if positive else ""),
                         yaxis_type="log" if positive else "linear", height=320, margin=dict(l=10, r=10, t=40, b=10))
    figure.update_xaxes(dtick=1 if len(frame) <= 20 else None)
    return figure


def run_label(meta):
    """One line naming a run in a select box: id, data set and the fixed settings."""
    config = meta.get("config", {})
    what = ", ".join(f"{k} {config[k]}" for k in ("patch", "latent", "arch", "inputs") if k in config)
    return f"{meta['run_id']} · {meta.get('dataset_name', '?')}" + (f" · {what}" if what else "")


def run_status(meta):
    """One line on a run's progress (a caption: select-box labels of a kept selection do not refresh)."""
    config = meta.get("config", {})
    return (f"{len(meta.get('history', []))} of {config.get('epochs', '?')} epochs saved · status "
            f"{meta.get('status', '?')}" + ("" if meta.get("pretrained_vgg", True) else " · random-weight VGG19"))


def image_row(images, captions=None, *, warn=None):
    """Grey images in [0, 1] side by side (a warning caption under them when ``warn``); captions are plain text."""
    images = [np.clip(np.asarray(image, dtype=np.float32), 0, 1) for image in images]
    if captions is not None:
        captions = [escape_markdown(caption) for caption in captions]
    st.image(images, caption=captions, width=96, clamp=True)
    if warn:
        st.caption(f":warning: {warn}")
