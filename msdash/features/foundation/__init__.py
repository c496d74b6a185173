"""Foundation-model image features (DINOv2, CLIP, SAM) of study B: presets, weights, embedding, volumes and tiles.

The modules, bottom up: :mod:`~msdash.features.foundation.models` (presets, weight status, loading),
:mod:`~msdash.features.foundation.prep` (preprocessing), :mod:`~msdash.features.foundation.download` (fetching
weights on request), :mod:`~msdash.features.foundation.embedding` (batched :func:`embed`) and
:mod:`~msdash.features.foundation.extract` (volumes and tiles, the registry's extractor). The public names are
re-exported here. Nothing touches the network unless asked, and torch/transformers are imported inside the functions
that need them.

References
----------
- Study B: "Machine learning of microstructure-property relationships in materials with robust features from
  foundational vision transformers", https://github.com/whishei/MicroPropViT (``docs/references.md``).
"""

from msdash.features.foundation.models import (PRESETS, FoundationModel, Preset, load_model, model_status,
                                               status_table, weights_fingerprint)
from msdash.features.foundation.prep import FITS, MODES
from msdash.features.foundation.download import download_model
from msdash.features.foundation.embedding import (CPU_MAX_BATCH, POOLINGS, EmbeddingCancelled, auto_batch_size,
                                                  embed, embed_labels, rate_message)

__all__ = ["Preset", "PRESETS", "FoundationModel", "model_status", "status_table", "weights_fingerprint",
           "load_model", "embed", "embed_labels", "auto_batch_size", "rate_message", "EmbeddingCancelled",
           "download_model", "MODES", "FITS", "POOLINGS", "CPU_MAX_BATCH"]
