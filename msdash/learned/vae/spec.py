"""The ``"texture_vae"`` feature extractor: latent means of a trained TextureVAE run, for maps and models.

torch-free at import (the registry imports this module); the batch function imports
:mod:`msdash.learned.vae.training` when called.

Caching: the feature store keys on the parameters, and a run trained further (resumed) gives other features
under the same id. Pass ``run="<run id>@<epochs>"`` (:func:`run_reference`) to pin the checkpoint: the
extractor then refuses a run whose saved checkpoint is at another epoch, so cached features are never stale.
"""

from functools import lru_cache

import numpy as np

from msdash.errors import InputError, WorkspaceError

__all__ = ["extractor_spec", "extract_texture_vae", "run_reference"]


def run_reference(run_dir):
    """``"<run id>@<epochs saved>"``: the ``run`` value pinning a run's current checkpoint."""
    from msdash.learned.runs import read_meta

    meta = read_meta(run_dir)
    return f"{meta['run_id']}@{len(meta['history'])}"


@lru_cache(maxsize=2)
def _cached_model(folder, mtime_ns):
    from msdash.learned.vae.training import load_texture_vae

    return load_texture_vae(folder, device="auto")


def _model(run):
    from msdash.learned import runs
    from msdash.learned.vae.training import KIND

    if run is None:
        known = ", ".join(m["run_id"] for m in runs.list_runs(KIND)) or "none yet"
        raise InputError(f"Choose a trained TextureVAE run (known: {known}).", name="run")
    run_id, _, pinned = str(run).partition("@")
    # WorkspaceError (an OSError) for states that can change: the feature store does not cache those failures
    try:
        folder = runs.run_path(KIND, run_id)
    except InputError as exc:
        raise WorkspaceError(str(exc)) from None
    meta = runs.read_meta(folder)
    if not meta.get("history") or not runs.has_checkpoint(folder):
        raise WorkspaceError(f"TextureVAE run {run_id!r} has no trained epoch yet.")
    if pinned and pinned != str(len(meta["history"])):
        raise WorkspaceError(f"TextureVAE run {run_id!r} is now at epoch {len(meta['history'])}, not {pinned}: "
                         f"use run='{run_id}@{len(meta['history'])}'.")
    return _cached_model(str(folder), (folder / runs.WEIGHTS).stat().st_mtime_ns)


def extract_texture_vae(images, *, run, stride=None, batch_size=64):
    """Latent means of a trained TextureVAE, one vector per image.

    An image of the run's patch size is encoded as it is; a larger one is tiled into patches
    (:func:`msdash.features.patches.tile`, ``stride`` pixels apart, default the patch size) and the patch means
    are averaged. Runs on the GPU when one is available.

    Parameters
    ----------
    images : ndarray, shape (n, H, W)
        Grey levels in [0, 1], H and W at least the run's patch size.
    run : str
        Run id under ``<workspace>/learned/texture_vae/``, optionally ``"<id>@<epochs>"`` (module docstring).
    stride : int, optional
        Step between patches of large images, pixels.
    batch_size : int
        Patches per forward pass.

    Returns
    -------
    ndarray of float32, shape (n, latent)
    """
    from msdash.learned.vae.analysis import patch_latents

    model = _model(run)
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2:
        images = images[None]
    mu, parents = patch_latents(model, np.clip(images, 0.0, 1.0), stride=stride, batch_size=batch_size)
    counts = np.bincount(parents, minlength=len(images))[:, None]
    sums = np.zeros((len(images), mu.shape[1]))
    np.add.at(sums, parents, mu)
    return (sums / counts).astype(np.float32)


def _labels(params, shape, d):
    return [f"z[{i}]" for i in range(d or 0)]


def extractor_spec():
    """The registry entry of the ``"texture_vae"`` extractor (no torch imported).

    Examples
    --------
    >>> spec = extractor_spec()
    >>> spec.name, spec.kind, spec.needs_weights, [p.name for p in spec.params]
    ('texture_vae', 'learned', True, ['run', 'stride', 'batch_size'])
    """
    from msdash.features.registry import ExtractorSpec, Param

    params = (Param("run", None, "str", help="Trained TextureVAE run id (optionally '<id>@<epochs>' to pin it)."),
              Param("stride", None, "int", min=1, help="Step between patches of large images, px (default: patch)."),
              Param("batch_size", 64, "int", min=1, max=4096, help="Patches per forward pass."))
    return ExtractorSpec(
        "texture_vae", "TextureVAE latent means", "learned",
        "Mean latent vector μ of a trained TextureVAE (study C) over the patches of each image.",
        "msdash.learned.vae.spec:extract_texture_vae", params, input="grey", needs_weights=True,
        label_function=_labels)
