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

from msdash.data.kinds import image_kind
from msdash.errors import InputError

__all__ = ["Param", "ExtractorSpec", "EXTRACTORS", "register", "get_spec", "resolve_params", "fit_to_sizes"]

_TYPES = ("int", "float", "bool", "choice", "str")
_KINDS = ("classical", "foundation", "learned", "imported")
_INPUTS = ("labels", "grey", "any")
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
#: Segmentation methods of :func:`msdash.features.segmentation.segment_stack`.
SEGMENTATIONS = ("otsu", "paper-b", "nlm-adaptive", "none")
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
        bounds = [f">= {self.min:g}" if self.min is not None else "",
                  f"<= {self.max:g}" if self.max is not None else ""]
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
    size_rule : callable, optional
        ``f(params, shapes) -> (params, note)`` for extractors whose feature length follows the image size
        under some parameters: given the 2-D shapes of a whole run, it returns parameters under which every
        sample gets the same length, and a sentence saying what it chose (None when nothing changed).
        Used by :func:`fit_to_sizes`.
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
    size_rule: Callable | None = field(default=None, compare=False)

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
                            help="How grey images become phase maps (0/1): Otsu's threshold; 'paper-b' as study "
                                 "B's notebook (non-local means h=10, adaptive mean threshold C=5); 'nlm-adaptive' "
                                 "msdash's variant (filter strength from the measured noise, no offset); 'none' "
                                 "refuses grey images."))
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


def fit_to_sizes(name, params, shapes):
    """Parameters under which every sample of a run gets features of one length, decided before any work.

    ``two_point`` without a cutoff takes 1/8 of each image's shorter side, so a folder of micrographs of
    different sizes would give windows of different widths, and every sample but those of the most common
    size would fail at the end of the run. Here the cutoff is fixed at the default of the smallest image and
    the returned note says so. Extractors without a :attr:`ExtractorSpec.size_rule` keep their parameters.

    Parameters
    ----------
    name : str or ExtractorSpec
    params : dict
        The user's parameters (strings accepted); missing ones take their defaults.
    shapes : iterable of tuple
        Sample shapes as stored: ``(H, W)``, ``(H, W, 3)`` (RGB) or ``(D, H, W)`` (a volume, cut into three
        orthogonal sections by 2-D-only extractors), one per sample or one per distinct shape.

    Returns
    -------
    params : dict
        Complete parameters (:func:`resolve_params`), possibly with a fixed ``cutoff``.
    note : str or None
        What was fixed and why, for the page and the table's provenance; None when nothing changed.

    Examples
    --------
    >>> fit_to_sizes("two_point", {}, [(512, 512), (100, 80)])[0]["cutoff"]
    32
    >>> fit_to_sizes("two_point", {}, [(64, 64), (40, 48)])[0]["cutoff"]
    20
    >>> fit_to_sizes("two_point", {}, [(600, 600), (512, 700)])[1] is None
    True
    """
    spec = get_spec(name)
    params = resolve_params(spec, params)
    if spec.size_rule is None:
        return params, None
    parts = {part for shape in shapes for part in _parts(spec, tuple(int(n) for n in shape))}
    if not parts:
        return params, None
    fitted, note = spec.size_rule(dict(params), sorted(parts))
    return resolve_params(spec, fitted), note


def _parts(spec, shape):
    """The 2-D shapes :func:`msdash.features.extract` computes a sample of ``shape`` on."""
    if len(shape) == 3 and image_kind(shape) == "rgb":  # RGB by its shape, read as grey
        return [shape[:2]]
    if len(shape) == 3 and 3 not in spec.dims:
        d, h, w = shape
        return [(h, w), (d, w), (d, h)]
    return [shape]
