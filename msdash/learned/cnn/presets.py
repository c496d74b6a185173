"""Study D's CNN set-ups and the settings of a cross-validated CNN run, as typed specs (no torch, no Streamlit).

The Learn page draws one widget per :data:`PARAMS` entry and offers :data:`PRESETS` by name;
:func:`run_options` turns a preset and the chosen values into the keyword arguments of
:func:`msdash.learned.cnn.runs.run_cnn_cv`, checking each value with its :class:`~msdash.features.registry.Param`
(the shape the extractor registry and the data generators use).
"""

from dataclasses import dataclass

from msdash.errors import InputError
from msdash.features.registry import Param
from msdash.learned.cnn.train import LOSSES

__all__ = ["CNNPreset", "PRESETS", "PARAMS", "LABELS", "run_options"]


@dataclass(frozen=True)
class CNNPreset:
    """One network set-up of study D.

    Attributes
    ----------
    name : str
        Menu label (also stored with the run).
    arch : {"resnet18", "resnet34", "resnet50"}
    inputs : {"image", "mucha"}
        The image alone, or MuCha's image + FFT + wavelet channels (:mod:`msdash.learned.mucha`).
    optimizer : {"adam", "sgd"}
    """

    name: str
    arch: str
    inputs: str
    optimizer: str


#: Preset name → :class:`CNNPreset`: study D's set-ups.
PRESETS = {preset.name: preset for preset in (
    CNNPreset("ResNet-18 from scratch (image; Adam, L1)", "resnet18", "image", "adam"),
    CNNPreset("ResNet-34 from scratch (image; Adam, L1)", "resnet34", "image", "adam"),
    CNNPreset("MuCha-CNN: ResNet-34 on image + FFT + wavelet (SGD, L1)", "resnet34", "mucha", "sgd"),
)}

#: Settings of a cross-validated CNN run, with study D's defaults (L1 loss, batch 32, patience 10).
PARAMS = (
    Param("loss", "l1", "choice", choices=LOSSES, help="Training loss on the standardised property (study D: L1)."),
    Param("outer", 5, "int", min=2, max=20,
          help="Use the same number on the Models page to compare on identical folds."),
    Param("epochs", 30, "int", min=1, max=1000, help="Most epochs per fold; early stopping may end sooner."),
    Param("patience", 10, "int", min=1, max=200,
          help="Epochs without a better validation loss before a fold stops (the best weights are kept)."),
    Param("batch_size", 32, "int", min=2, max=1024, help="Images per training step."),
    Param("device", "auto", "choice", choices=("auto", "cpu", "cuda"),
          help="auto: the GPU when one is visible, else the CPU."),
)

#: Widget labels of :data:`PARAMS` (the others read as their name).
LABELS = {"outer": "outer folds", "epochs": "epochs (max)", "patience": "early-stop patience"}


def run_options(preset, values):
    """Keyword arguments of :func:`~msdash.learned.cnn.runs.run_cnn_cv` for a preset and chosen settings.

    Parameters
    ----------
    preset : str or CNNPreset
        A :data:`PRESETS` name or entry.
    values : dict
        :data:`PARAMS` name → value (numbers or their text); missing ones take their defaults.

    Returns
    -------
    dict
        ``arch``, ``inputs``, ``optimizer``, ``loss``, ``outer``, ``epochs``, ``patience``, ``batch_size`` and
        ``device`` (None for "auto").

    Raises
    ------
    InputError
        An unknown preset or setting, or a value out of type or bounds.

    Examples
    --------
    >>> options = run_options("ResNet-34 from scratch (image; Adam, L1)", {"epochs": "3", "device": "auto"})
    >>> options["arch"], options["epochs"], options["device"], options["outer"]
    ('resnet34', 3, None, 5)
    """
    if not isinstance(preset, CNNPreset):
        if preset not in PRESETS:
            raise InputError(f"unknown CNN preset {preset!r}; choose one of {', '.join(PRESETS)}", name="preset")
        preset = PRESETS[preset]
    known = {param.name: param for param in PARAMS}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(f"unknown CNN setting(s) {', '.join(unknown)}; valid: {', '.join(known)}", name=unknown[0])
    chosen = {name: param.coerce(values[name]) if name in values else param.default for name, param in known.items()}
    chosen["device"] = None if chosen["device"] == "auto" else chosen["device"]
    return {"arch": preset.arch, "inputs": preset.inputs, "optimizer": preset.optimizer, **chosen}
