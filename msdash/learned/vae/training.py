"""Training and loading TextureVAE runs (study C): a VAE with the VGG19 style loss, trained on micrograph patches.

Encoder: the frozen VGG19 features of the patch at pool4 (512 channels, patch / 16 pixels a side), average-pooled
to a fixed 2×2 grid (:data:`~msdash.learned.vae.net.GRID`) so the two trained fully connected heads (μ and log σ²,
2048 → latent) stay small whatever the patch size, while keeping a coarse sense of where things are in the patch.
Decoder: a linear map of z to 256 × (patch / 16)² values, then four blocks of 3×3 convolution + 2× nearest-neighbour
upsampling + LeakyReLU(0.3) up to the patch size, and a 3×3 convolution to one grey channel squashed to [0, 1] by a
sigmoid.

Loss per patch = style loss (:func:`msdash.learned.style.style_loss` at conv1_1 and pool1–pool4 between the patch
and its reconstruction) + ``beta`` × KL(N(μ, σ²) ‖ N(0, I)) summed over latent dimensions; the batch loss is the
mean over patches. ``beta`` weighs how much the latent space is pulled towards the prior against how well textures
are reproduced (``beta = 1`` is the plain VAE bound with the style loss in place of the likelihood). The style loss
has no natural unit: it scales with the VGG's activations, and a random-weight VGG gives values ~10⁻³ where a KL of
one nat is 1, so ``beta = 1`` there collapses the posterior (μ ≈ 0 for every patch). ``beta=None`` (the default)
therefore calibrates it on the data: β = S_pair / :data:`AUTO_KL_NATS`, with S_pair the mean style loss between
random pairs of training patches, so encoding a patch may cost up to ~100 nats of KL before it costs as much as
the typical texture difference between two patches. The value used is stored in the run's config
(``beta_used``, with ``style_scale`` = S_pair).

VGG19 is not part of the checkpoint (it is frozen and 80 MB): the run's meta records whether it was pretrained,
its weight file and a :func:`~msdash.learned.vgg_net.fingerprint`, and :func:`load_texture_vae` refuses a VGG
whose weights differ. The network (:class:`~msdash.learned.vae.net.TextureVAE`) and its loss live in
:mod:`msdash.learned.vae.net`, which imports torch and is imported inside the functions here, so this
module imports no torch. The views (encode, reconstruct, sample, traverse) live in :mod:`msdash.learned.vae.views`,
the analysis (latent–property correlation, leave-one-micrograph-out patch predictions) in
:mod:`msdash.learned.vae.analysis`; the package :mod:`msdash.learned.vae` re-exports them with this module's names.

References
----------
.. [1] A. Sardeshmukh, S. Reddy, B. P. Gautham, P. Bhattacharyya, "TextureVAE: Learning Interpretable
   Representations of Material Microstructures Using Variational Autoencoders", AAAI 2021 Spring Symposium
   MLPS, CEUR-WS Vol-2964, article 59, https://ceur-ws.org/Vol-2964/article_59.pdf (study C of
   ``docs/references.md``).
"""

import hashlib
import time
from pathlib import Path

import numpy as np

from msdash.errors import InputError
from msdash.learned import runs
from msdash.learned.vae.patches import patch_stack
from msdash.learned.vae.views import AUTO_KL_NATS

__all__ = ["KIND", "train_texture_vae", "load_texture_vae"]

KIND = "texture_vae"


def train_texture_vae(images, *, run_dir=None, patch=128, stride=50, latent=64, epochs=10, batch_size=16, lr=1e-3,
                      beta=None, seed=0, resume=False, callback=None, vgg_folder=None, device=None):
    """Train a TextureVAE on the patches of ``images``, checkpointing every epoch (see :mod:`msdash.learned.runs`).

    Parameters
    ----------
    images : ndarray (n, H, W) or sequence / dict of 2-D arrays
        Micrographs, grey in [0, 1] or uint8; cut by :func:`patch_stack`.
    run_dir : path, optional
        A folder from ``runs.new_run("texture_vae", ...)`` without weights yet; None creates one.
    patch, stride, latent : int
        Patch side and stride (pixels) and latent size.
    epochs : int
        Total epochs; with ``resume`` training continues up to this number.
    batch_size : int
        Patches per step.
    lr : float
        Adam learning rate.
    beta : float, optional
        Weight of the KL term; None calibrates it on the patches (module docstring).
    seed : int
        Seeds weights, patch order (per epoch) and noise, so a resumed run repeats an uninterrupted one.
    resume : bool
        Continue ``run_dir`` from its last saved epoch; its stored settings (all but ``epochs``) are used.
    callback : callable, optional
        ``callback(event)`` after every step (``event="step"``: ``epoch``, ``step``, ``steps``, ``loss``) and
        after every saved epoch (``event="epoch"``: the history record plus ``epochs``). Returning ``False``
        stops: at an epoch event after it is saved; at a step event at once, dropping the unfinished epoch.
    vgg_folder : path, optional
        Pretrained VGG19 weights (:func:`~msdash.learned.vgg_net.load_vgg19`); without any, random weights
        (meta ``pretrained_vgg`` is False; figures must warn).
    device : str, optional
        ``None``/``"cpu"``, ``"cuda"`` or ``"auto"``.

    Returns
    -------
    dict
        The run's meta: ``config``, ``history`` (per epoch: ``epoch``, ``train_loss``, ``kl``, ``style``,
        ``images_per_s`` in patches per second, ``seconds``, ``lr``), ``status`` ("done" or "cancelled"),
        ``pretrained_vgg``, ``vgg_source``, ``vgg_fingerprint``, ``run_dir``.
    """
    import torch

    from msdash.learned.vae.net import TextureVAE, torch_device, vae_loss
    from msdash.learned.vgg_net import fingerprint, load_vgg19

    device = torch_device(device)
    if resume:
        if run_dir is None:
            raise InputError("`resume=True` needs the `run_dir` of the run to continue", name="run_dir")
        meta = runs.read_meta(run_dir)
        if "beta_used" not in meta["config"]:
            raise InputError(f"Run {Path(run_dir).name!r} never started training: train it without `resume`.",
                             name="run_dir")
        config = dict(meta["config"], epochs=int(epochs))
        patch, stride, latent, batch_size = config["patch"], config["stride"], config["latent"], config["batch_size"]
        lr, beta, seed = config["lr"], config["beta_used"], config["seed"]
        vgg_folder = config.get("vgg_folder") if vgg_folder is None else vgg_folder
    else:
        config = {"patch": int(patch), "stride": int(stride), "latent": int(latent), "epochs": int(epochs),
                  "batch_size": int(batch_size), "lr": float(lr), "seed": int(seed),
                  "beta": None if beta is None else float(beta),
                  "vgg_folder": None if vgg_folder is None else str(vgg_folder)}
        run_dir = runs.new_run(KIND, config) if run_dir is None else Path(run_dir)
        if runs.has_checkpoint(run_dir):
            raise InputError(f"Run {Path(run_dir).name!r} has weights already: resume it or start a new run.",
                             name="run_dir")
        meta = runs.read_meta(run_dir)
    if batch_size < 1 or epochs < 1 or not lr > 0 or (beta is not None and beta < 0):
        raise InputError("`epochs` and `batch_size` must be at least 1, `lr` positive and `beta` non-negative",
                         name="epochs")
    patches, _ = patch_stack(images, patch=patch, stride=stride)
    if len(patches) < 2:
        raise InputError(f"The images give {len(patches)} patch of {patch} px; a TextureVAE needs at least two.",
                         name="images")
    data_hash = hashlib.sha256(patches.tobytes()).hexdigest()[:16]
    if resume and config.get("data_hash") not in (None, data_hash):
        raise InputError("These images are not the ones the run was trained on: resume with the same images.",
                         name="images")
    vgg = load_vgg19(vgg_folder, device=device)
    if resume and meta.get("vgg_fingerprint") not in (None, fingerprint(vgg)):
        raise InputError("The VGG19 weights found now differ from those this run was trained with.",
                         name="vgg_folder")
    torch.manual_seed(seed)
    model = TextureVAE(latent, patch, vgg=vgg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if resume and runs.has_checkpoint(run_dir):
        runs.load_checkpoint(run_dir, model, optimizer=optimizer, device=device)
    if beta is None:
        config["style_scale"] = _pair_style(vgg, patches, seed, device)
        beta = config["style_scale"] / AUTO_KL_NATS
    config["beta_used"] = float(beta)
    meta.update(config=dict(config, n_images=len(images), n_patches=len(patches), data_hash=data_hash),
                status="running",
                pretrained_vgg=vgg.pretrained, vgg_source=vgg.source, vgg_fingerprint=fingerprint(vgg))
    runs.write_meta(run_dir, meta)
    data, n = torch.from_numpy(patches), len(patches)
    steps = -(-n // batch_size)
    for epoch in range(len(meta["history"]), epochs):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
        noise = torch.Generator().manual_seed(seed * 7_919 + epoch + 1)
        sums, started = np.zeros(3), time.perf_counter()
        model.train()
        for step in range(steps):
            batch = data[order[step * batch_size:(step + 1) * batch_size]].to(device)
            parts = vae_loss(model, batch, beta=beta, generator=noise)
            optimizer.zero_grad(set_to_none=True)
            parts["loss"].backward()
            optimizer.step()
            sums += len(batch) * np.array([parts[k].item() for k in ("loss", "kl", "style")])
            if callback is not None and callback({"event": "step", "epoch": epoch + 1, "epochs": epochs,
                                                  "step": step + 1, "steps": steps,
                                                  "loss": parts["loss"].item()}) is False:
                meta["status"] = "cancelled"
                runs.write_meta(run_dir, meta)
                return dict(meta, run_dir=str(run_dir))
        seconds = time.perf_counter() - started
        loss, kl, style = (sums / n).tolist()
        record = {"epoch": epoch + 1, "train_loss": loss, "kl": kl, "style": style, "images_per_s": n / seconds,
                  "seconds": seconds, "lr": lr}
        meta["history"].append(record)
        meta["status"] = "done" if epoch + 1 == epochs else "running"
        runs.save_checkpoint(run_dir, model, optimizer=optimizer, meta=meta)
        if callback is not None and callback(dict(record, event="epoch", epochs=epochs, step=steps,
                                                  steps=steps)) is False and epoch + 1 < epochs:
            meta["status"] = "cancelled"
            runs.write_meta(run_dir, meta)
            break
    meta["status"] = "done" if len(meta["history"]) >= epochs else meta["status"]
    runs.write_meta(run_dir, meta)
    return dict(meta, run_dir=str(run_dir))


def _pair_style(vgg, patches, seed, device, pairs=16):
    """Mean style loss between ``pairs`` random pairs of distinct patches (the data's typical texture distance)."""
    import torch

    from msdash.learned.style import style_loss
    from msdash.learned.vgg_net import vgg_features

    order = torch.randperm(len(patches), generator=torch.Generator().manual_seed(seed))
    k = min(pairs, len(patches) // 2)
    x = torch.from_numpy(patches[order[:2 * k].numpy()]).to(device)
    with torch.no_grad():
        return float(style_loss(vgg_features(vgg, x[:k]), vgg_features(vgg, x[k:])))


def _run_folder(run):
    path = Path(run)
    if path.is_dir():
        return path
    return runs.run_path(KIND, str(run))


def load_texture_vae(run_dir, *, vgg_folder=None, device=None):
    """The trained TextureVAE of a run, in ``eval()`` mode.

    Parameters
    ----------
    run_dir : path or str
        The run's folder, or its run id (``<workspace>/learned/texture_vae/<id>``).
    vgg_folder : path, optional
        Where the pretrained VGG19 is now, when it moved; default the folder recorded at training.
    device : str, optional
        ``None``/``"cpu"``, ``"cuda"`` or ``"auto"``.

    Raises
    ------
    InputError
        Unknown run, no weights yet, or a VGG19 different from the one the run was trained with.
    """
    from msdash.learned.vae.net import TextureVAE, torch_device
    from msdash.learned.vgg_net import fingerprint, load_vgg19, random_vgg19

    run_dir, device = _run_folder(run_dir), torch_device(device)
    meta = runs.read_meta(run_dir)
    config = meta["config"]
    if meta.get("pretrained_vgg"):
        folder = vgg_folder or config.get("vgg_folder") or str(Path(meta["vgg_source"]).parent)
        vgg = load_vgg19(folder, device=device)
    else:
        vgg = random_vgg19().to(device)
    if meta.get("vgg_fingerprint") not in (None, fingerprint(vgg)):
        raise InputError(f"The VGG19 weights found ({vgg.source}) differ from those run {run_dir.name!r} was "
                         "trained with.", name="vgg_folder")
    model = TextureVAE(config["latent"], config["patch"], vgg=vgg).to(device)
    runs.load_checkpoint(run_dir, model, device=device)
    model.run_id, model.epochs_trained = meta["run_id"], len(meta["history"])
    return model.eval()
