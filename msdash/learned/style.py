"""Gram matrices of feature maps and the style (texture) loss of Gatys et al., as study C uses it.

torch is imported inside the functions.

References
----------
Gatys, Ecker & Bethge, "Texture synthesis using convolutional neural networks", NeurIPS 2015, eq. (3)–(5).
"""

from msdash.errors import InputError

__all__ = ["gram", "style_loss"]


def gram(features):
    """Gram matrices ``G[c, d] = Σ_m F[c, m] · F[d, m]`` of feature maps (sum over positions, not a mean).

    Parameters
    ----------
    features : tensor, shape (n, C, H, W) or (n, C, M)

    Returns
    -------
    tensor, shape (n, C, C)

    Examples
    --------
    >>> import torch
    >>> gram(torch.tensor([[[1.0, 2.0], [0.0, 3.0]]])).tolist()
    [[[5.0, 6.0], [6.0, 9.0]]]
    """
    flat = _flatten(features)
    return flat @ flat.transpose(1, 2)


def _flatten(features):
    if features.ndim not in (3, 4):
        raise InputError(f"feature maps must be (n, C, H, W) or (n, C, M), got shape {tuple(features.shape)}",
                         name="features")
    return features.reshape(features.shape[0], features.shape[1], -1)


def style_loss(feats_x, feats_y, *, reduction="mean"):
    """Style loss ``Σ_l ‖G_l(x) − G_l(y)‖²_F / (4 · C_l² · M_l²)`` between two images' feature maps.

    ``C_l`` is the number of channels and ``M_l = H_l · W_l`` the number of positions of layer ``l``; ``G`` is
    :func:`gram`. Computed as ``‖G_l(x) / M_l − G_l(y) / M_l‖² / (4 C_l²)`` — the same number — so float32
    does not overflow on large maps.

    Parameters
    ----------
    feats_x, feats_y : sequence of tensor
        Matching lists of ``(n, C_l, H_l, W_l)`` maps (e.g. :func:`msdash.learned.vgg.vgg_features` at conv1_1
        and pool1–pool4), one list per image batch; same shapes pairwise.
    reduction : {"mean", "sum", "none"}
        Per-sample losses (sums over layers) are averaged over the batch, summed, or returned as they are.

    Returns
    -------
    tensor
        Scalar, or shape (n,) for ``reduction="none"``; dimensionless (squared feature units).

    Examples
    --------
    One layer, one channel, two positions: ``G(x) = 1 + 4 = 5``, ``G(y) = 0``, so ``25 / (4 · 1 · 4)``.

    >>> import torch
    >>> float(style_loss([torch.tensor([[[1.0, 2.0]]])], [torch.zeros(1, 1, 2)]))
    1.5625
    """
    if reduction not in ("mean", "sum", "none"):
        raise InputError(f"`reduction` must be 'mean', 'sum' or 'none', got {reduction!r}", name="reduction")
    if len(feats_x) != len(feats_y) or not feats_x:
        raise InputError(f"style_loss needs two equally long, non-empty lists of feature maps, got "
                         f"{len(feats_x)} and {len(feats_y)}", name="feats_y")
    total = 0.0
    for fx, fy in zip(feats_x, feats_y):
        if fx.shape != fy.shape:
            raise InputError(f"feature maps differ in shape: {tuple(fx.shape)} and {tuple(fy.shape)}",
                             name="feats_y")
        flat_x, flat_y = _flatten(fx), _flatten(fy)
        channels, positions = flat_x.shape[1], flat_x.shape[2]
        difference = (gram(flat_x) - gram(flat_y)) / positions
        total = total + difference.square().sum(dim=(1, 2)) / (4.0 * channels**2)
    if reduction == "none":
        return total
    return total.mean() if reduction == "mean" else total.sum()
