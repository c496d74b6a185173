"""The CNN regressor of study D as a torch module: a ResNet backbone and a linear head, standardisation built in.

Imports torch at module level: :mod:`msdash.learned.resnet` imports this module inside the functions that build a
regressor (:func:`~msdash.learned.resnet.make_regressor`, :func:`~msdash.learned.resnet.regressor_from_config`).
"""

import torch
from torch import nn

__all__ = ["ResNetRegressor"]


class ResNetRegressor(nn.Module):
    """ResNet backbone + linear head predicting one property, with its standardisation built in.

    ``forward`` takes raw inputs ``x`` of shape (n, c, H, W), standardises each channel with the stored
    training statistics (``input_mean``, ``input_std``, shape (c,)), repeats a single channel when the
    backbone takes three, and returns the standardised prediction, shape (n,). :meth:`predict` returns
    it in target units: ``forward(x) · target_std + target_mean``. The statistics are buffers, so they
    travel in the ``state_dict`` (and the safetensors checkpoint) with the weights.
    """

    def __init__(self, backbone, *, in_channels=1):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.config.hidden_sizes[-1], 1)
        self.register_buffer("input_mean", torch.zeros(in_channels))
        self.register_buffer("input_std", torch.ones(in_channels))
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_std", torch.ones(()))
        self.inputs = "image"  # "image" or "mucha": how predict_cnn prepares images (not a weight)

    def set_standardisation(self, input_mean, input_std, target_mean, target_std):
        """Store the training statistics (per-channel input mean/std, target mean/std)."""
        for name, value in (("input_mean", input_mean), ("input_std", input_std),
                            ("target_mean", target_mean), ("target_std", target_std)):
            buffer = getattr(self, name)
            buffer.copy_(torch.as_tensor(value, dtype=buffer.dtype).reshape(buffer.shape))

    def forward(self, x):
        x = (x - self.input_mean.view(1, -1, 1, 1)) / self.input_std.view(1, -1, 1, 1)
        if x.shape[1] == 1 and self.backbone.config.num_channels == 3:
            x = x.expand(-1, 3, -1, -1)
        pooled = self.backbone(pixel_values=x).pooler_output.flatten(1)
        return self.head(pooled).squeeze(-1)

    def predict(self, x):
        """Prediction in target units, shape (n,)."""
        return self.forward(x) * self.target_std + self.target_mean
