"""Learn: train representations on the open data set — study C's TextureVAE and study D's CNNs."""

import streamlit as st

from msdash.app import keys, learnview, widgets
from msdash.app.charts import chart
from msdash.display import escape_markdown
from msdash.learned import jobs, runs, vae as tv, vgg  # no torch: it loads when a model trains or shows

dataset_id, dataset = widgets.page_header("Learned representations")

vae_tab, cnn_tab = st.tabs(["TextureVAE (study C)", "CNN regressors (study D)"])

with vae_tab:
    st.caption("A VAE whose reconstruction loss is a Gram-matrix style loss on VGG19 features: its latent space "
               "follows morphology, grain size and density. Trained on patches of the micrographs.")
    folder = st.text_input("VGG19 weights folder (optional)", key="vae_vgg_folder",
                           help="A folder holding torchvision's vgg19 state dict (.pth) or the same tensors as "
                                ".safetensors. Default: $MSDASH_VGG19_DIR, else <workspace>/weights/vgg19.")
    status = vgg.vgg_status(folder.strip() or None)
    (st.success if status["present"] else st.warning)(escape_markdown(status["message"]))  # names the folder
    names, images = learnview.micrographs(dataset)
    choices = learnview.patch_choices(images)
    if not choices:
        st.info("Training needs 2-D micrographs of at least 32×32 pixels.")
    else:
        with st.form("vae_train"):
            c1, c2, c3, c4 = st.columns(4)
            patch = c1.selectbox("patch (px)", choices, index=choices.index(128) if 128 in choices else 0,
                                 key="vae_patch")
            stride = c2.number_input("stride (px; 0 = the patch size)", 0, 512, 0, key="vae_stride",
                                     help="Step between patches. Study C: 128-px patches every 50 px.")
            latent = c3.slider("latent size", 8, 64, 64, step=8, key="vae_latent")
            epochs = c4.number_input("epochs", 1, 1000, 10, key="vae_epochs")
            c5, c6, c7, c8 = st.columns(4)
            batch_size = c5.number_input("batch size", 1, 512, 16, key="vae_batch")
            lr = c6.number_input("learning rate", 1e-6, 1.0, 1e-3, format="%.0e", key="vae_lr")
            beta_text = c7.text_input("KL weight β", "auto", key="vae_beta",
                                      help="'auto' scales it to the style loss of the patches; 1 is the plain "
                                           "VAE bound.")
            device = c8.selectbox("device", ["auto", "cpu", "cuda"], key="vae_device")
            submitted = st.form_submit_button("Train in the background", type="primary")
        if submitted:
            with widgets.user_errors("Starting the training"):
                beta = None if beta_text.strip().lower() in ("", "auto") else float(beta_text)
                _, run_dir = jobs.start_run(
                    tv.KIND, "TextureVAE {run_id}", tv.train_texture_vae, images,
                    meta={"dataset_id": dataset_id, "dataset_name": dataset.name, "names": names},
                    patch=int(patch), stride=int(stride) or int(patch), latent=int(latent), epochs=int(epochs),
                    batch_size=int(batch_size), lr=float(lr), beta=beta, vgg_folder=folder.strip() or None,
                    device=device)
                st.session_state[keys.VAE_RUN] = run_dir.name

    all_runs = runs.list_runs(tv.KIND)
    if all_runs:
        st.subheader("Runs")
        ids = [m["run_id"] for m in all_runs]
        labels = {m["run_id"]: learnview.run_label(m) for m in all_runs}
        if st.session_state.get(keys.VAE_RUN) not in ids:
            st.session_state[keys.VAE_RUN] = ids[0]
        run_id = st.selectbox("Run", ids, format_func=labels.get, key=keys.VAE_RUN)
        meta = next(m for m in all_runs if m["run_id"] == run_id)
        st.caption(learnview.run_status(meta))
        job = jobs.get(f"{tv.KIND}:{run_id}")
        if job is not None:
            learnview.job_panel(job.job_id, history=[] if job.events else meta["history"])
        elif meta["history"]:
            chart(learnview.loss_figure(meta["history"]), key=f"vae_loss_{run_id}", filename="vae_loss")
        running = job is not None and job.running
        if not running and meta.get("status") != "done" and meta["history"]:
            more = st.number_input("train up to epoch", len(meta["history"]) + 1, 10_000,
                                   max(meta["config"].get("epochs", 1), len(meta["history"]) + 1), key="vae_more")
            if st.button("Resume training", key="vae_resume"):
                with widgets.user_errors("Resuming the training"):
                    if meta.get("dataset_id") != dataset_id:
                        st.error(f"This run was trained on “{escape_markdown(meta.get('dataset_name'))}”: "
                                 "open that data set.")
                    else:
                        jobs.start(f"{tv.KIND}:{run_id}", f"TextureVAE {run_id}", tv.train_texture_vae, images,
                                   run_dir=runs.run_path(tv.KIND, run_id), epochs=int(more), resume=True)
                        st.rerun()
        if meta["history"] and not running:
            from msdash.app import vaeview

            vaeview.views(dataset, dataset_id, names, images, meta)

with cnn_tab:
    from msdash.app import cnnview

    cnnview.cnn_section(dataset, dataset_id)
