"""Feature extractors: classical descriptors, foundation models and helpers for volumes and patches.

``import msdash.features`` stays cheap: the descriptor functions are imported on first access
(module ``__getattr__``), so the registry can be listed without scipy or the descriptor modules.
"""

from msdash.features.registry import EXTRACTORS, ExtractorSpec, Param, register
from msdash.features import builtin_extractors  # noqa: E402, F401 — registers the built-ins (imports registry)
from msdash.features.extract import FeatureError, FeatureTable, extract

__all__ = ["EXTRACTORS", "ExtractorSpec", "Param", "register", "extract", "FeatureTable", "FeatureError",
           "volume_fraction", "two_point", "radial_psd", "phys_feat1", "phys_feat2", "grad_feature"]

_LAZY = {
    "volume_fraction": "msdash.features.correlation",
    "two_point": "msdash.features.correlation",
    "radial_psd": "msdash.features.spectral",
    "phys_feat1": "msdash.features.spectral",
    "phys_feat2": "msdash.features.spectral",
    "grad_feature": "msdash.features.spectral",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'msdash.features' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
