"""The built-in extractors' registry entries: classical descriptors, foundation models and learned models.

Imported by the package :mod:`msdash.features` right after the registry, so ``EXTRACTORS`` is complete as soon
as the registry is; the descriptor modules themselves are imported only when an extractor runs or labels.
"""

import importlib
import math

from msdash.features.registry import SECTION_MODES, ExtractorSpec, Param, register

# --- labels, argument adapters and size rules of the built-in extractors ---------------------------

_PHASES = {"auto (1,1)": (1, 1), "auto (0,0)": (0, 0), "cross (1,0)": (1, 0)}


def _two_point_kwargs(params):
    return {"phases": _PHASES[params["phases"]], "periodic": params["periodic"], "cutoff": params["cutoff"]}


def _two_point_labels(params, shape, d):
    side = math.isqrt(d or 0)
    if d is None or side * side != d or side % 2 == 0:
        return None
    correlation = importlib.import_module("msdash.features.correlation")
    return correlation.two_point_labels((side - 1) // 2, ndim=2)


def _two_point_sizes(params, shapes):
    """Without a cutoff, images of different sizes would get windows of different widths (and all but the most
    common size would fail after the whole run): fix the cutoff at the default of the smallest image instead."""
    if params["cutoff"] is not None:
        return params, None
    correlation = importlib.import_module("msdash.features.correlation")
    cutoffs = {shape: correlation.default_cutoff(shape) for shape in shapes}
    if len(set(cutoffs.values())) < 2:
        return params, None
    smallest = min(cutoffs, key=lambda shape: (cutoffs[shape], min(shape), shape))
    largest = max(cutoffs, key=lambda shape: (cutoffs[shape], min(shape), shape))
    c = cutoffs[smallest]
    note = (f"The images differ in size ({'×'.join(map(str, smallest))} to {'×'.join(map(str, largest))} px): "
            f"the two-point cutoff is fixed at {c} px, the default of the smallest image, so every sample gets "
            f"the same {(2 * c + 1) ** 2:,} features. Set a cutoff to choose another.")
    return dict(params, cutoff=c), note


def _psd_labels(params, shape, d):
    return importlib.import_module("msdash.features.spectral").psd_labels(params["bins"])


def _module_labels(module, attr):
    return lambda params, shape, d: getattr(importlib.import_module(module), attr)()


def _register_builtins():
    corr, spec_mod = "msdash.features.correlation", "msdash.features.spectral"
    papers = "msdash.features.correlation_papers"
    register(ExtractorSpec(
        "volume_fraction", "Volume fraction", "classical",
        "Fraction of pixels in one phase of the phase map.",
        f"{corr}:volume_fraction", (Param("phase", 1, "int", min=0, max=1, help="Phase whose fraction is measured."),),
        input="labels", label_function=lambda p, s, d: [f"volume fraction (phase {p['phase']})"]))
    register(ExtractorSpec(
        "two_point", "Two-point correlation", "classical",
        "Probability that two pixels a vector (dx, dy) apart lie in the given phases (batched FFT).",
        f"{corr}:two_point",
        (Param("phases", "auto (1,1)", "choice", tuple(_PHASES),
               help="Auto-correlation of a phase or cross-correlation."),
         Param("periodic", True, "bool", help="Treat images as periodic (wrap around) or pad with zeros."),
         Param("cutoff", None, "int", min=1, help=(
             "Largest |dx|, |dy| kept, in px: (2·cutoff + 1)² features. None: 1/8 of the shorter side, between "
             "32 and 64 px (at most half the side): S2 levels off at vf² within a few correlation lengths, "
             "so a 4096² micrograph gets 129×129 = 16,641 features, not 16.8 million."))),
        input="labels", version="2", label_function=_two_point_labels, call_kwargs=_two_point_kwargs,
        size_rule=_two_point_sizes))
    register(ExtractorSpec(
        "two_point_paper_a", "Two-point correlation (study A)", "classical",
        "Study A's auto-correlation: 41×41 vectors (1681 features), per orthogonal section for volumes.",
        f"{papers}:two_point_paper_a", input="labels",
        label_function=_module_labels(papers, "two_point_paper_a_labels")))
    register(ExtractorSpec(
        "two_point_paper_b", "Two-point correlation (study B)", "classical",
        "Study B's auto-correlation: 159×159 vectors (25281 features).",
        f"{papers}:two_point_paper_b", input="labels",
        label_function=_module_labels(papers, "two_point_paper_b_labels")))
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
    module = importlib.import_module("msdash.features.foundation.extract")
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
    presets = importlib.import_module("msdash.features.foundation.models").PRESETS
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
            "msdash.features.foundation.extract:extract_foundation", params, input="any", dims=(2, 3),
            needs_weights=True, label_function=_foundation_labels, call_kwargs=_foundation_kwargs(family)))

_register_foundation()


def _register_learned():
    # Specs only (torch-free): the functions import torch when called.
    for module in ("msdash.learned.vae.spec", "msdash.learned.cnn.spec"):
        register(importlib.import_module(module).extractor_spec())

_register_learned()
