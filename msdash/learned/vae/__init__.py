"""TextureVAE (study C): train on micrograph patches, look at what it learned, use its latents as features.

The modules, bottom up: :mod:`~msdash.learned.vae.patches` (cutting patches), :mod:`~msdash.learned.vae.views`
(encode, reconstruct, sample, traverse), :mod:`~msdash.learned.vae.analysis` (latent–property correlation, patch
predictions), :mod:`~msdash.learned.vae.net` (the torch model and its loss; imports torch, so only functions import
it), :mod:`~msdash.learned.vae.training` (train and load runs; the method is described there) and
:mod:`~msdash.learned.vae.spec` (the ``"texture_vae"`` extractor's registry entry). The public names are
re-exported here; importing the package loads no torch.
"""

from msdash.learned.vae.patches import patch_stack
from msdash.learned.vae.views import AUTO_KL_NATS, beta_summary, encode, reconstruct, sample, traversal_values, traverse
from msdash.learned.vae.analysis import latent_property_correlation, patch_latents, patch_predictions
from msdash.learned.vae.training import KIND, load_texture_vae, train_texture_vae

__all__ = ["KIND", "AUTO_KL_NATS", "patch_stack", "train_texture_vae", "load_texture_vae", "encode", "reconstruct",
           "sample", "traverse", "traversal_values", "beta_summary", "latent_property_correlation", "patch_latents",
           "patch_predictions"]
