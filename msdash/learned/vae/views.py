"""What a trained TextureVAE shows: latent means of patches, reconstructions, random samples, latent traversals.

All functions take a :class:`msdash.learned.vae.net.TextureVAE` (from ``load_texture_vae``), run without
gradients on the model's device and return float32 NumPy arrays; images are grey in [0, 1].

References
----------
Study C of ``docs/references.md`` (TextureVAE, Sardeshmukh et al. 2021); the full citation is in
:mod:`msdash.learned.vae.training`.
"""

import numpy as np

from msdash.errors import InputError

#: KL budget (nats per patch) that sets TextureVAE's automatic β: β = pair style loss / this
#: (:mod:`msdash.learned.vae.training`).
AUTO_KL_NATS = 100.0

__all__ = ["encode", "reconstruct", "sample", "traverse", "traversal_values", "beta_summary"]


def _batches(model, patches, batch_size):
    import torch

    array = np.asarray(patches, dtype=np.float32)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1:] != (model.patch, model.patch):
        raise InputError(f"patches must be (n, {model.patch}, {model.patch}), got shape {array.shape}",
                         name="patches")
    device = next(model.parameters()).device
    for start in range(0, len(array), batch_size):
        yield torch.from_numpy(array[start:start + batch_size]).to(device)


def encode(model, images, *, batch_size=64):
    """Latent means μ of patches.

    Parameters
    ----------
    model : TextureVAE
    images : array_like, shape (n, patch, patch) or (patch, patch)
        Grey patches in [0, 1] of the model's patch size (cut larger micrographs with ``patch_stack``).
    batch_size : int
        Patches per forward pass.

    Returns
    -------
    ndarray of float32, shape (n, latent)
    """
    import torch

    with torch.inference_mode():
        parts = [model.encode(x)[0].float().cpu().numpy() for x in _batches(model, images, batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, model.latent), np.float32)


def _decode(model, z):
    import torch

    with torch.inference_mode():
        z = torch.as_tensor(np.asarray(z, dtype=np.float32), device=next(model.parameters()).device)
        return model.decode(z)[:, 0].float().cpu().numpy()


def reconstruct(model, patches, *, batch_size=64):
    """Reconstructions: the decoded latent mean μ of each patch (deterministic, no sampling).

    Parameters
    ----------
    model : TextureVAE
    patches : array_like, shape (n, patch, patch)
        Grey in [0, 1].
    batch_size : int

    Returns
    -------
    ndarray of float32, shape (n, patch, patch)
        Grey in [0, 1]. The style loss matches textures, not pixels: expect the same texture, not the same
        arrangement of features.
    """
    mu = encode(model, patches, batch_size=batch_size)
    parts = [_decode(model, mu[start:start + batch_size]) for start in range(0, len(mu), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, model.patch, model.patch), np.float32)


def sample(model, n, seed=0):
    """Random patches: ``n`` latent vectors drawn from the prior N(0, I), decoded.

    Parameters
    ----------
    model : TextureVAE
    n : int
    seed : int
        Seed of the draw (same seed, same patches).

    Returns
    -------
    ndarray of float32, shape (n, patch, patch)
        Grey in [0, 1].
    """
    import torch

    z = torch.randn((int(n), model.latent), generator=torch.Generator().manual_seed(int(seed)))
    return _decode(model, z.numpy())


def traverse(model, patch, dim, values=np.linspace(-4, 4, 10)):
    """Latent traversal: set dimension ``dim`` of the patch's μ to each of ``values`` and decode.

    Parameters
    ----------
    model : TextureVAE
    patch : ndarray, shape (patch, patch)
        The start patch, grey in [0, 1].
    dim : int
        Latent dimension varied (0 ≤ dim < latent).
    values : sequence of float
        Values given to ``z[dim]`` (absolute). Study C used linspace(−4, 4, 10), prior standard deviations;
        when the encoded means spread much less than the prior (μ often spans ~0.1), most of that range
        decodes latent codes no patch has: :func:`traversal_values` scales it to the data instead.

    Returns
    -------
    ndarray float32, shape (len(values), patch, patch)
    """
    if not 0 <= int(dim) < model.latent:
        raise InputError(f"`dim` must be in 0..{model.latent - 1}, got {dim}", name="dim")
    z = np.repeat(encode(model, np.asarray(patch)[None]), len(values), axis=0)
    z[:, int(dim)] = np.asarray(values, dtype=np.float32)
    return _decode(model, z)


def traversal_values(mu, dim, *, n=10, span=4.0):
    """Values for a latent traversal scaled to the spread of the encoded means of dimension ``dim``.

    ``mean(μ_dim) + linspace(−span, span, n) · std(μ_dim)`` over the given patches, so the walk covers the
    part of the latent space the data occupy (study C's ±4 assumes the means fill the prior N(0, 1)).

    Parameters
    ----------
    mu : array_like, shape (n_patches, latent)
        Latent means of patches (:func:`encode`).
    dim : int
        Latent dimension.
    n : int, optional
        Number of values.
    span : float, optional
        Half-width in standard deviations of the encoded means.

    Returns
    -------
    ndarray of float32, shape (n,)

    Examples
    --------
    >>> mu = np.array([[0.0, 1.0], [0.2, 3.0], [0.4, 5.0]])
    >>> [round(float(v), 3) for v in traversal_values(mu, 1, n=3, span=1.0)]  # 3 ± std([1, 3, 5])
    [1.367, 3.0, 4.633]
    """
    mu = np.asarray(mu, dtype=np.float64)
    if mu.ndim != 2 or len(mu) < 2:
        raise InputError(f"`mu` must be latent means of at least two patches (n, latent), got shape {mu.shape}",
                         name="mu")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 0 <= dim < mu.shape[1]:
        raise InputError(f"`dim` must be in 0..{mu.shape[1] - 1}, got {dim!r}", name="dim")
    column = mu[:, int(dim)]
    return (column.mean() + np.linspace(-span, span, int(n)) * column.std()).astype(np.float32)


def beta_summary(config):
    """One line saying which KL weight β a run trained with and where it came from.

    Parameters
    ----------
    config : dict
        A run's ``meta["config"]`` (``beta``: what was asked, None = automatic; ``beta_used``; ``style_scale``).

    Returns
    -------
    str

    Examples
    --------
    >>> beta_summary({"beta": None, "beta_used": 5e-5, "style_scale": 0.005})
    'β = 5e-05 (automatic: pair style loss 0.005 / 100 nats)'
    >>> beta_summary({"beta": 1.0, "beta_used": 1.0})
    'β = 1 (set by the user)'
    """

    used = config.get("beta_used")
    if used is None:
        return "β not recorded (the run never started training)"
    if config.get("beta") is None and "style_scale" in config:
        return f"β = {used:.3g} (automatic: pair style loss {config['style_scale']:.3g} / {AUTO_KL_NATS:g} nats)"
    return f"β = {used:.3g} (set by the user)"
