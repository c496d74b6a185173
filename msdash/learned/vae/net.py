"""TextureVAE as a torch module (study C) and its loss; see :mod:`msdash.learned.vae.training` for the method.

Imports torch at module level: :mod:`msdash.learned.vae.training` imports this module inside the functions that
train or load a model, so importing the training module (and the Learn page) stays light.
"""

import numpy as np
import torch
from torch import nn

from msdash.errors import InputError
from msdash.learned.style import style_loss
from msdash.learned.vgg import STYLE_LAYERS
from msdash.learned.vgg_net import load_vgg19, vgg_features

__all__ = ["GRID", "TextureVAE", "vae_loss", "torch_device"]

#: Side of the grid the pool4 maps are averaged to before the fully connected heads.
GRID = 2
_ENCODER_LAYER = STYLE_LAYERS.index("pool4")
_CHANNELS = (256, 128, 64, 32, 32)


def torch_device(device):
    """None → CPU; "auto" → CUDA when available; "cuda" must be available."""
    if device is None:
        return torch.device("cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' was asked for but no CUDA GPU is available; use 'cpu'.", name="device")
    return device


class TextureVAE(nn.Module):
    """Frozen VGG19 encoder + trained μ / log σ² heads, and a convolutional decoder to grey patches.

    Parameters
    ----------
    latent : int
        Latent dimensions (study C compared 8–64 and kept 64).
    patch : int
        Patch side in pixels, a multiple of 16, at least 32.
    vgg : VGG19, optional
        The frozen feature network; default :func:`~msdash.learned.vgg_net.load_vgg19` (random if no weights).
        It is not a registered submodule: not in ``parameters()`` nor in ``state_dict()``, but ``.to()`` moves it.
    """

    def __init__(self, latent=64, patch=128, *, vgg=None):
        super().__init__()
        if not isinstance(latent, (int, np.integer)) or not 1 <= latent <= 1024:
            raise InputError(f"`latent` must be an integer from 1 to 1024, got {latent!r}", name="latent")
        if not isinstance(patch, (int, np.integer)) or patch < 32 or patch % 16:
            raise InputError(f"`patch` must be a multiple of 16 of at least 32 pixels, got {patch!r}", name="patch")
        self.latent, self.patch = int(latent), int(patch)
        object.__setattr__(self, "vgg", vgg if vgg is not None else load_vgg19())
        inputs = 512 * GRID * GRID
        self.pool = nn.AdaptiveAvgPool2d(GRID)
        self.mu_head = nn.Linear(inputs, self.latent)
        self.logvar_head = nn.Linear(inputs, self.latent)
        self.start = self.patch // 16
        self.decoder_input = nn.Linear(self.latent, _CHANNELS[0] * self.start**2)
        blocks = []
        for c_in, c_out in zip(_CHANNELS[:-1], _CHANNELS[1:]):
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.LeakyReLU(0.3)]
        self.decoder = nn.Sequential(*blocks)
        self.to_grey = nn.Conv2d(_CHANNELS[-1], 1, 3, padding=1)

    @property
    def pretrained_vgg(self):
        """Whether the VGG19 behind the encoder and the loss has pretrained weights (False: random)."""
        return bool(self.vgg.pretrained)

    def _apply(self, fn, *args, **kwargs):
        self.vgg._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def heads(self, pool4):
        """(μ, log σ²), each (n, latent), from pool4 maps (n, 512, h, w)."""
        flat = self.pool(pool4).flatten(1)
        return self.mu_head(flat), self.logvar_head(flat)

    def encode(self, patches):
        """(μ, log σ²), each (n, latent), of grey patches (n, patch, patch) or (n, 1, patch, patch) in [0, 1]."""
        with torch.no_grad():
            pool4 = vgg_features(self.vgg, patches, layers=("pool4",))[0]
        return self.heads(pool4)

    def decode(self, z):
        """Grey patches (n, 1, patch, patch) in [0, 1] from latent vectors z (n, latent)."""
        x = self.decoder_input(z).view(-1, _CHANNELS[0], self.start, self.start)
        x = self.decoder(nn.functional.leaky_relu(x, 0.3))
        return torch.sigmoid(self.to_grey(x))


def vae_loss(model, patches, *, beta=1.0, generator=None):
    """Batch loss of a TextureVAE: mean over patches of style loss + ``beta`` · KL.

    Parameters
    ----------
    model : TextureVAE
    patches : tensor, shape (n, patch, patch), values in [0, 1], on the model's device
    beta : float
        Weight of the KL term.
    generator : torch.Generator, optional
        CPU generator of the reparameterisation noise (seeded runs).

    Returns
    -------
    dict
        ``loss``, ``kl``, ``style``: scalar tensors (batch means; ``loss`` carries the gradient).
    """
    with torch.no_grad():
        target = vgg_features(model.vgg, patches, layers=STYLE_LAYERS)
    mu, logvar = model.heads(target[_ENCODER_LAYER])
    noise = torch.randn(mu.shape, generator=generator).to(mu.device)
    recon = model.decode(mu + torch.exp(0.5 * logvar) * noise)
    style = style_loss(vgg_features(model.vgg, recon, layers=STYLE_LAYERS), target, reduction="none")
    kl = -0.5 * (1.0 + logvar - mu.square() - logvar.exp()).sum(dim=1)
    loss = (style + beta * kl).mean()
    return {"loss": loss, "kl": kl.mean().detach(), "style": style.mean().detach()}
