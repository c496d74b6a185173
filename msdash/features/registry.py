"""The extractor registry: what each feature extractor is called, its parameters and their defaults.

Pages build their widgets from :attr:`ExtractorSpec.params`; :func:`msdash.features.extract` validates
user values against them. The functions themselves are named ``"module:attr"`` and imported only when
called, so listing extractors never imports scipy, torch or the descriptor modules.
"""

import importlib
import math
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from msdash.errors import InputError

__all__ = ["Param", "ExtractorSpec", "EXTRACTORS", "register", "get_spec", "resolve_params"]

_TYPES = ("int", "float", "bool", "choice", "str")
_KINDS = ("classical", "foundation", "learned", "imported")
_INPUTS = ("labels", "grey", "any")
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
#: Segmentation methods of :func:`msdash.features.segmentation.segment_stack`.
SEGMENTATIONS = ("otsu", "paper-b", "none")
#: How the three orthogonal sections of a volume are combined.
SECTION_MODES = ("mean", "concat")


@dataclass(frozen=True)
class Param:
    """One parameter of an extractor, enough to build a widget and to check a value.

    Parameters
    ----------
    name : str
    default : object
        Used when the caller gives no value. ``None`` means "optional": ``None`` is then accepted.
    type : {"int", "float", "bool", "choice", "str"}
        ``"str"`` is free text (a local folder, a trained run's id); it is stripped and must not be empty
        unless the default is ``None``.
    choices : tuple of str, optional
        The allowed values of a ``"choice"``.
    min, max : float, optional
        Inclusive bounds of an ``"int"`` or ``"float"``.
    help : str
        One sentence for the widget's tooltip.
    """

    name: str
    default: Any
    type: str
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None
    help: str = ""

    def __post_init__(self):
        if self.type not in _TYPES:
            raise ValueError(f"Param type must be one of {_TYPES}, got {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"Param {self.name!r} of type 'choice' needs `choices`")

    def coerce(self, value):
        """Return ``value`` converted to this parameter's type, or raise :class:`InputError`.

        Strings are accepted for every type (command-line values): ``"3"``, ``"0.5"``, ``"true"``,
        ``"none"`` (for optional parameters).

        Examples
        --------
        >>> Param("bins", 32, "int", min=2).coerce("16")
        16
        >>> Param("periodic", True, "bool").coerce("no")
        False
        """
        if self.type == "choice" and value in self.choices:
            return str(value)
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "")):
            if self.default is None:
                return None
            raise InputError(f"`{self.name}` needs a value ({self._expected()})", name=self.name)
        try:
            converted = self._convert(value)
        except (TypeError, ValueError):
            raise InputError(f"`{self.name}` must be {self._expected()}, got {value!r}", name=self.name) from None
        if self.type in ("int", "float"):
            if (self.min is not None and converted < self.min) or (self.max is not None and converted > self.max):
                raise InputError(f"`{self.name}` must be {self._expected()}, got {value!r}", name=self.name)
        return converted

    def _convert(self, value):
        if self.type == "str":
            if not isinstance(value, str) or not value.strip():
                raise ValueError
            return value.strip()
        if self.type == "bool":
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise ValueError
        if self.type == "choice":
            if str(value) not in self.choices:
                raise ValueError
            return str(value)
        number = float(value.strip()) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ValueError
        if self.type == "int":
            if int(number) != number:
                raise ValueError
            return int(number)
        return float(number)

    def _expected(self):
        if self.type == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.type == "bool":
            return "true or false"
        if self.type == "str":
            return "a non-empty text" + (" or none" if self.default is None else "")
        bounds = [f">= {self.min:g}" if self.min is not None else "", f"<= {self.max:g}" if self.max is not None else ""]
        text = f"an {self.type}" if self.type == "int" else "a number"
        text += " " + " and ".join(b for b in bounds if b) if any(bounds) else ""
        return text + (" or none" if self.default is None else "")


@dataclass(frozen=True)
class ExtractorSpec:
    """Registry entry of one extractor.

    Parameters
    ----------
    name : str
        Registry key, used in store keys, CLI flags and column labels.
    title : str
        Human label for menus.
    kind : {"classical", "foundation", "learned", "imported"}
    description : str
        One or two sentences for the page.
    function : str or callable
        ``"module:attr"`` of the batch function ``f(stack (n, H, W), **kwargs) -> (n, ...)``, imported
        when first called; a callable is accepted for extractors registered at run time (tests, plug-ins).
    params : tuple of Param
        The user-facing parameters. ``segmentation`` (for ``input="labels"``) and ``sections`` (for
        2-D-only extractors) are appended by :func:`register` when missing.
    input : {"labels", "grey", "any"}
        What the function expects: 0/1 phase maps (grey images are segmented first), grey levels
        (RGB is converted) or anything.
    dims : tuple of int
        Image dimensions the function handles; volumes go through orthogonal sections unless 3 is in it.
    needs_weights : bool
        Whether model weights must be available (foundation / learned extractors).
    version : str
        Part of the store key: bump it whenever the numbers an unchanged call returns would change.
    label_function : callable, optional
        ``f(params, sample_shape, d) -> list of str``; default ``"<name>[i]"``.
    call_kwargs : callable, optional
        ``f(params) -> dict`` mapping user parameters to the function's keyword arguments; default:
        every parameter except ``segmentation`` and ``sections``, unchanged.
    """

    name: str
    title: str
    kind: str
    description: str
    function: Any
    params: tuple = ()
    input: str = "any"
    dims: tuple = (2,)
    needs_weights: bool = False
    version: str = "1"
    label_function: Callable | None = field(default=None, compare=False)
    call_kwargs: Callable | None = field(default=None, compare=False)

    @property
    def defaults(self):
        """Parameter name → default value (dict)."""
        return {p.name: p.default for p in self.params}

    def labels(self, params, sample_shape, d=None):
        """Column labels for ``params`` on a (prepared, 2-D) sample of ``sample_shape``.

        ``d`` (the feature length actually produced) lets label functions handle lengths that depend
        on the image size; a label function that disagrees with ``d`` falls back to ``"<name>[i]"``.
        Returns a list of str, or beyond :data:`~msdash.features.labels.LIST_LABELS_MAX` columns a lazy
        sequence of str (:mod:`msdash.features.labels`) so that millions of labels are never all built.
        """
        from .labels import LIST_LABELS_MAX, IndexLabels, WindowLabels

        labels = None
        if self.label_function is not None:
            try:
                labels = self.label_function(params, tuple(sample_shape), d)
                if labels is not None and not (isinstance(labels, WindowLabels) and len(labels) > LIST_LABELS_MAX):
                    labels = [str(label) for label in labels]
            except (ImportError, AttributeError, ValueError):  # label helper missing or cannot label this d
                labels = None
        if labels is None or (d is not None and len(labels) != d):
            d = d or 0
            labels = [f"{self.name}[{i}]" for i in range(d)] if d <= LIST_LABELS_MAX else IndexLabels(self.name, d)
        return labels

    def load(self):
        """Import and return the batch function (raises :class:`InputError` when it cannot be imported)."""
        if callable(self.function):
            return self.function
        module, _, attr = self.function.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise InputError(f"Extractor {self.name!r} is not available in this installation ({exc}).",
                             name=self.name) from exc

    def kwargs(self, params):
        """Keyword arguments of the batch function for complete user ``params``."""
        if self.call_kwargs is not None:
            return dict(self.call_kwargs(params))
        return {k: v for k, v in params.items() if k not in ("segmentation", "sections")}


#: Registered extractors, name → :class:`ExtractorSpec`; extend with :func:`register`.
EXTRACTORS = {}


def register(spec, *, replace=False):
    """Add an extractor to :data:`EXTRACTORS` and return the stored spec.

    Appends the ``segmentation`` parameter to ``input="labels"`` extractors and the ``sections``
    parameter to 2-D-only ones when they do not declare them.

    Raises
    ------
    ValueError
        Malformed spec, or the name is taken and ``replace`` is false.
    """
    if spec.kind not in _KINDS or spec.input not in _INPUTS:
        raise ValueError(f"ExtractorSpec kind must be in {_KINDS} and input in {_INPUTS}")
    if spec.name in EXTRACTORS and not replace:
        raise ValueError(f"An extractor named {spec.name!r} is already registered")
    params, names = list(spec.params), {p.name for p in spec.params}
    if len(names) != len(params):
        raise ValueError(f"Extractor {spec.name!r} has duplicate parameter names")
    if spec.input == "labels" and "segmentation" not in names:
        params.append(Param("segmentation", "otsu", "choice", SEGMENTATIONS,
                            help="How grey images become phase maps (0/1); 'none' refuses grey images."))
    if 3 not in spec.dims and "sections" not in names:
        params.append(Param("sections", "mean", "choice", SECTION_MODES,
                            help="Volumes: average the features of three orthogonal sections, or concatenate them."))
    spec = dataclasses.replace(spec, params=tuple(params))
    EXTRACTORS[spec.name] = spec
    return spec


def get_spec(name):
    """Return the spec registered under ``name``; :class:`InputError` listing the valid names otherwise."""
    if isinstance(name, ExtractorSpec):
        return name
    try:
        return EXTRACTORS[name]
    except (KeyError, TypeError):
        raise InputError(f"Unknown extractor {name!r}; valid extractors: {', '.join(sorted(EXTRACTORS))}",
                         name="extractor") from None


def resolve_params(spec, params):
    """Complete and check user parameters.

    Parameters
    ----------
    spec : ExtractorSpec
    params : dict
        Any subset of the spec's parameters; values may be strings.

    Returns
    -------
    dict
        Every parameter of ``spec`` (in declaration order), coerced to its type, defaults filled.

    Raises
    ------
    InputError
        An unknown parameter (the message lists the valid ones) or a value of the wrong type/range.

    Examples
    --------
    >>> resolve_params(EXTRACTORS["radial_psd"], {"bins": "16"})
    {'bins': 16, 'sections': 'mean'}
    """
    known = {p.name: p for p in spec.params}
    unknown = sorted(set(params) - set(known))
    if unknown:
        valid = ", ".join(known) or "none"
        raise InputError(f"Unknown parameter(s) {', '.join(map(repr, unknown))} for extractor {spec.name!r}; "
                         f"valid parameters: {valid}", name=unknown[0])
    return {name: p.coerce(params[name]) if name in params else p.default for name, p in known.items()}


# --- labels and argument adapters of the built-in extractors ---------------------------------------

_PHASES = {"auto (1,1)": (1, 1), "auto (0,0)": (0, 0), "cross (1,0)": (1, 0)}


def _two_point_kwargs(params):
    return {"phases": _PHASES[params["phases"]], "periodic": params["periodic"], "cutoff": params["cutoff"]}


def _two_point_labels(params, shape, d):
    side = math.isqrt(d or 0)
    if d is None or side * side != d or side % 2 == 0:
        return None
    correlation = importlib.import_module("msdash.features.correlation")
    return correlation.two_point_labels((side - 1) // 2, ndim=2)


def _psd_labels(params, shape, d):
    return importlib.import_module("msdash.features.spectral").psd_labels(params["bins"])


def _module_labels(module, attr):
    return lambda params, shape, d: getattr(importlib.import_module(module), attr)()


def _register_builtins():
    corr, spec_mod = "msdash.features.correlation", "msdash.features.spectral"
    register(ExtractorSpec(
        "volume_fraction", "Volume fraction", "classical",
        "Fraction of pixels in one phase of the phase map.",
        f"{corr}:volume_fraction", (Param("phase", 1, "int", min=0, max=1, help="Phase whose fraction is measured."),),
        input="labels", label_function=lambda p, s, d: [f"volume fraction (phase {p['phase']})"]))
    register(ExtractorSpec(
        "two_point", "Two-point correlation", "classical",
        "Probability that two pixels a vector (dx, dy) apart lie in the given phases (batched FFT).",
        f"{corr}:two_point",
        (Param("phases", "auto (1,1)", "choice", tuple(_PHASES), help="Auto-correlation of a phase or cross-correlation."),
         Param("periodic", True, "bool", help="Treat images as periodic (wrap around) or pad with zeros."),
         Param("cutoff", None, "int", min=1, help=(
             "Largest |dx|, |dy| kept, in px: (2·cutoff + 1)² features. None: 1/8 of the shorter side, between "
             "32 and 64 px (at most half the side): S2 levels off at vf² within a few correlation lengths, "
             "so a 4096² micrograph gets 129×129 = 16,641 features, not 16.8 million."))),
        input="labels", version="2", label_function=_two_point_labels, call_kwargs=_two_point_kwargs))
    register(ExtractorSpec(
        "two_point_paper_a", "Two-point correlation (study A)", "classical",
        "Study A's auto-correlation: 41×41 vectors (1681 features), per orthogonal section for volumes.",
        f"{corr}:two_point_paper_a", input="labels", label_function=_module_labels(corr, "two_point_paper_a_labels")))
    register(ExtractorSpec(
        "two_point_paper_b", "Two-point correlation (study B)", "classical",
        "Study B's auto-correlation: 159×159 vectors (25281 features).",
        f"{corr}:two_point_paper_b", input="labels", label_function=_module_labels(corr, "two_point_paper_b_labels")))
    bins = Param("bins", 32, "int", min=2, max=1024, help="Number of radial frequency bins.")
    register(ExtractorSpec(
        "radial_psd", "Radial power spectrum", "classical",
        "Azimuthally averaged power spectral density in radial frequency bins.",
        f"{spec_mod}:radial_psd", (bins,), input="grey", version="2", label_function=_psd_labels))
    register(ExtractorSpec(
        "phys_feat1", "physFeat1 (PSD slope, amplitude)", "classical",
        "Slope and amplitude of a power law fitted to the radial power spectrum (study D).",
        f"{spec_mod}:phys_feat1", (bins,), input="grey", version="2",
        label_function=_module_labels(spec_mod, "phys_feat1_labels")))
    register(ExtractorSpec(
        "phys_feat2", "physFeat2 (PSD of image and gradient)", "classical",
        "Log radial power spectra of the image and of its gradient magnitude, `bins` values each (study D).",
        f"{spec_mod}:phys_feat2", (bins,), input="grey", version="2",
        label_function=lambda p, s, d: importlib.import_module(spec_mod).phys_feat2_labels(p["bins"])))
    register(ExtractorSpec(
        "grad_feature", "Gradient feature", "classical",
        "Mean gradient magnitude of the image: how much interface it holds.",
        f"{spec_mod}:grad_feature", input="grey", label_function=_module_labels(spec_mod, "grad_labels")))

_register_builtins()


def _foundation_name(params):
    from pathlib import Path

    folder = params.get("folder")
    return params["model"] if not folder else (Path(folder).name or folder)


def _foundation_labels(params, shape, d):
    module = importlib.import_module("msdash.features.foundation_extract")
    name = _foundation_name(params)
    base = module.feature_dim(params.get("folder") or params["model"], params["pooling"])
    if params.get("sections") == "concat" and base and d == 3 * base:  # volumes: z, y, x sections side by side
        return [f"{name}[{i}]@{axis}" for axis in "zyx" for i in range(base)]
    return [f"{name}[{i}]" for i in range(d or 0)]


def _foundation_kwargs(family):
    def kwargs(params):
        return dict(params, family=family)
    return kwargs


def _register_foundation():
    # The registry adapter handles volumes itself (section position, k slices), so dims include 3.
    presets = importlib.import_module("msdash.features.foundation_models").PRESETS
    families = (("dinov2", "DINOv2", "dinov2-small", "normed CLS token (or patch-token mean) of a DINOv2 ViT"),
                ("clip", "CLIP", "clip-b16", "pooler output of a CLIP ViT vision tower"),
                ("sam", "SAM", "sam-base", "globally averaged image embedding of a SAM ViT encoder"))
    for family, title, default, what in families:
        names = tuple(name for name, preset in presets.items() if preset.family == family)
        params = (
            Param("model", default, "choice", names, help="Pretrained weights (Hugging Face cache)."),
            Param("folder", None, "str", help="A local folder with config.json and model.safetensors; "
                                              "overrides the preset when set."),
            Param("mode", "paper", "choice", ("paper", "standard"),
                  help="'paper' reproduces study B (top-left crop, no normalisation); 'standard' normalises."),
            Param("fit", "resize", "choice", ("resize", "crop", "pad"),
                  help="'standard' mode: stretch the whole image, cut the central square, or scale and pad."),
            Param("size", None, "int", min=14, max=4096,
                  help="Input side in px, a multiple of the patch (study A: 42 crop via 'paper', or 224)."),
            Param("pooling", "cls", "choice", ("cls", "mean", "cls+mean"),
                  help="CLS token, mean of patch tokens, or both (SAM always averages)."),
            Param("batch_size", None, "int", min=1, max=4096,
                  help="Images per forward pass; default from free GPU memory (or a CPU default)."),
            Param("tile", None, "int", min=14, max=8192,
                  help="Large micrographs: embed tiles of this side (px) and average them."),
            Param("stride", None, "int", min=1, max=8192, help="Step between tiles (px); default the tile side."),
            Param("section", "centre", "choice", ("first", "centre", "mean"),
                  help="Volumes: sections at index 0 (study A), through the centre, or k evenly spaced ones."),
            Param("slices", 3, "int", min=1, max=64, help="Volumes, section 'mean': sections per axis."),
            Param("sections", "mean", "choice", SECTION_MODES,
                  help="Volumes: average the three orthogonal sections' features, or concatenate them."))
        register(ExtractorSpec(
            family, f"{title} features", "foundation", f"Task-agnostic image features: {what}.",
            "msdash.features.foundation_extract:extract_foundation", params, input="any", dims=(2, 3),
            needs_weights=True, label_function=_foundation_labels, call_kwargs=_foundation_kwargs(family)))

_register_foundation()


def _register_learned():
    # Specs only (torch-free): the functions import torch when called.
    for module in ("msdash.learned.vae_spec", "msdash.learned.cnn_spec"):
        register(importlib.import_module(module).extractor_spec())

_register_learned()
