"""TextureVAE views on the Learn page: reconstructions, samples, latent traversal, correlations, patch predictions."""

import numpy as np
import pandas as pd
import streamlit as st

from msdash.app import learnview, widgets
from msdash.display import escape_markdown, escape_plotly
from msdash.app.charts import chart

WALK_DATA, WALK_PRIOR = "spread of the encoded means", "prior ±4 (study C)"
WALK_SAMPLE = 256  # patches encoded to measure the spread of the latent means
RANDOM_VGG = ("Made with a random-weight VGG19 (no pretrained weights found): random networks still carry "
              "texture statistics, but these pictures are not study C's.")


@st.cache_resource(max_entries=4, show_spinner="Loading the TextureVAE…")
def _model(run_ref):
    from msdash.learned.vae import load_texture_vae

    return load_texture_vae(run_ref.split("@")[0])


@st.cache_data(max_entries=8, show_spinner="Encoding every patch…")
def _latents(run_ref, dataset_id, _images, stride):
    from msdash.learned.vae import patch_latents

    return patch_latents(_model(run_ref), _images, stride=stride)


def _patches(images, patch, stride, count, seed):
    from msdash.learned.vae import patch_stack

    patches, parents = patch_stack(images, patch=patch, stride=stride)
    pick = np.sort(np.random.default_rng(seed).choice(len(patches), size=min(count, len(patches)), replace=False))
    return patches[pick], parents[pick]


def views(dataset, dataset_id, names, images, meta):
    """All views of a trained run (``meta`` from :func:`msdash.learned.runs.list_runs`)."""
    from msdash.learned.vae import views as vae_views

    run_ref = f"{meta['run_id']}@{len(meta['history'])}"
    config = meta["config"]
    warn = None if meta.get("pretrained_vgg") else RANDOM_VGG
    if warn:
        st.warning(warn)
    model = None
    with widgets.user_errors("Loading the run"):
        model = _model(run_ref)
    if model is None:
        return
    patch, stride = config["patch"], config["stride"]
    st.caption(f"KL weight: {vae_views.beta_summary(config)}.")
    if meta.get("dataset_id") != dataset_id:
        st.info(f"This run was trained on “{escape_markdown(meta.get('dataset_name'))}”; the views use the open "
                "data set's patches.")
    recon, samples, walk, corr, predict = st.tabs(
        ["Reconstructions", "Random samples", "Latent traversal", "Latent vs property", "Patch predictions"])
    with recon:
        seed = st.number_input("patch draw (seed)", 0, 10_000, 0, key="vae_recon_seed")
        with widgets.user_errors("Reconstructing"):
            originals, parents = _patches(images, patch, stride, 8, int(seed))
            st.caption("Originals (top) and their reconstructions (bottom, decoded latent means).")
            learnview.image_row(originals, [names[p] for p in parents])
            learnview.image_row(vae_views.reconstruct(model, originals), warn=warn)
    with samples:
        seed = st.number_input("seed", 0, 10_000, 0, key="vae_sample_seed")
        with widgets.user_errors("Sampling"):
            learnview.image_row(vae_views.sample(model, 10, seed=int(seed)), warn=warn)
    with walk:
        c1, c2, c3 = st.columns(3)
        dim = c1.slider("latent dimension", 0, model.latent - 1, 0, key="vae_walk_dim")
        start = c2.number_input("start patch (seed)", 0, 10_000, 0, key="vae_walk_seed")
        scale = c3.radio("range", [WALK_DATA, WALK_PRIOR], key="vae_walk_scale")
        with widgets.user_errors("Walking the latent space"):
            (first,), _ = _patches(images, patch, stride, 1, int(start))
            if scale == WALK_DATA:
                sample_patches, _ = _patches(images, patch, stride, WALK_SAMPLE, 0)
                mu = vae_views.encode(model, sample_patches)
                values = vae_views.traversal_values(mu, dim)
                st.caption(f"z{dim} over mean ± 4 sd of the latent means of {len(mu)} patches "
                           f"(sd {mu[:, dim].std():.3g}; study C's ±4 is in prior units).")
            else:
                values = np.linspace(-4, 4, 10)
            learnview.image_row([first], ["start patch"])
            learnview.image_row(vae_views.traverse(model, first, dim, values),
                                [f"z{dim} = {v:+.3g}" for v in values], warn=warn)
    with corr:
        _correlation_view(dataset, dataset_id, names, images, run_ref, patch, warn)
    with predict:
        _prediction_view(dataset, dataset_id, names, images, run_ref, patch)
    st.divider()
    if st.button("Use the latent means as a feature set (Map, Models)", key="vae_use"):
        from msdash.app import features

        with widgets.user_errors("Computing the latent features"):
            features.feature_table(dataset_id, "texture_vae", {"run": run_ref})
            st.success(f"Feature set 'texture_vae (run {run_ref})' saved: pick it on the Map and Models pages.")


def _numeric_property(dataset, key):
    targets = list(dataset.numeric_columns)
    if not targets:
        st.info("The data set has no numeric property.")
        return None
    return st.selectbox("Property", targets, key=key)


def _correlation_view(dataset, dataset_id, names, images, run_ref, patch, warn):
    import plotly.graph_objects as go

    from msdash.learned.vae import latent_property_correlation

    target = _numeric_property(dataset, "vae_corr_target")
    if target is None or not st.toggle("Encode every patch and correlate", key="vae_corr_on"):
        return
    with widgets.user_errors("Correlating"):
        mu, parents = _latents(run_ref, dataset_id, images, patch)
        y = dataset.properties.loc[names, target].to_numpy(float)[parents]
        r = latent_property_correlation(mu, y)
        figure = go.Figure(go.Bar(x=[f"z{i}" for i in range(len(r))], y=r))
        figure.update_layout(title=f"Pearson r of each latent mean with {escape_plotly(target)} ({len(mu)} patches)",
                             yaxis_range=[-1, 1], height=320)
        chart(figure, key="vae_corr_fig", filename="latent_property_correlation")
        if warn:
            st.caption(f":warning: {warn}")


def _prediction_view(dataset, dataset_id, names, images, run_ref, patch):
    import plotly.graph_objects as go

    from msdash.learned.vae import patch_predictions

    st.caption("Leave one micrograph out: a model fitted on the patches of all other micrographs predicts every "
               "patch of the held-out one (study C, Figure 7).")
    c1, c2 = st.columns(2)
    with c1:
        target = _numeric_property(dataset, "vae_pred_target")
    model = c2.selectbox("model", ["lr", "ridge", "rbf-svr", "knn"], key="vae_pred_model")
    if target is None or not st.toggle("Predict every micrograph", key="vae_pred_on"):
        return
    with widgets.user_errors("Predicting"):
        mu, parents = _latents(run_ref, dataset_id, images, patch)
        y = dataset.properties.loc[names, target].to_numpy(float)
        keep = np.isfinite(y[parents])
        results = patch_predictions(mu[keep], y[parents][keep], parents[keep], model=model)
        table = pd.DataFrame({"micrograph": [names[r.group] for r in results],
                              "true": [r.true for r in results],
                              "mean prediction": [float(np.mean(r.predictions)) for r in results],
                              "patches": [len(r.predictions) for r in results],
                              "relative error": [r.relative_error for r in results]})
        st.dataframe(table, hide_index=True, height=240)
        st.metric("Mean relative error of the micrograph means", f"{100 * np.nanmean(table['relative error']):.1f} %")
        pick = st.selectbox("Micrograph", table["micrograph"], key="vae_pred_pick")
        result = results[list(table["micrograph"]).index(pick)]
        figure = go.Figure(go.Histogram(x=result.predictions, name="patch predictions"))
        figure.add_vline(x=result.true, line_color="red", annotation_text="true")
        figure.add_vline(x=float(np.mean(result.predictions)), line_dash="dash", annotation_text="mean")
        figure.update_layout(title=f"{escape_plotly(pick)}: {len(result.predictions)} patch predictions of "
                                   f"{escape_plotly(target)}", xaxis_title=escape_plotly(target),
                             yaxis_title="patches", height=320)
        chart(figure, key="vae_pred_fig", filename="patch_predictions")
