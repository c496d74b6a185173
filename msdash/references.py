"""The studies msdash reproduces (A–D), as data: what the app shows beside a preset, and ``docs/references.md``.

References
----------
``docs/references.md`` gives the same entries with what msdash uses from each study.
"""

from dataclasses import dataclass

from .errors import InputError

__all__ = ["STUDIES", "Study", "citation", "studies_of"]


@dataclass(frozen=True)
class Study:
    """One published study.

    Attributes
    ----------
    key : str
        ``"A"`` … ``"D"``, the name docstrings use ("study B").
    authors : str
        Author list as published ("" where this repository does not record it).
    title : str
    venue : str
        Where it appeared ("" where this repository does not record it).
    url : str
        Paper or code address ("" where none is recorded).
    topic : str
        One line on what the study did.
    """

    key: str
    authors: str
    title: str
    venue: str
    url: str
    topic: str


STUDIES = {s.key: s for s in (
    Study("A", "S. E. Whitman, G. Hu, M. I. Latypov",
          "Learning microstructure–property relationships in materials with robust features from vision "
          "transformers", "", "", "DINOv2 features of simulated 3-D two-phase microstructures, elastic stiffness"),
    Study("B", "",
          "Machine learning of microstructure-property relationships in materials with robust features from "
          "foundational vision transformers", "", "https://github.com/whishei/MicroPropViT",
          "CLIP, DINOv2 and SAM features of superalloy micrographs, Vickers hardness"),
    Study("C", "A. Sardeshmukh, S. Reddy, B. P. Gautham, P. Bhattacharyya",
          "TextureVAE: Learning Interpretable Representations of Material Microstructures Using Variational "
          "Autoencoders", "AAAI 2021 Spring Symposium on Combining Artificial Intelligence and Machine Learning "
          "with Physical Sciences (MLPS), CEUR Workshop Proceedings Vol-2964, article 59",
          "https://ceur-ws.org/Vol-2964/article_59.pdf", "A VAE with a style loss on micrograph patches"),
    Study("D", "B. D. Nguyen, P. Potapenko, A. Demirci, K. Govind, S. Bompas, S. Sandfeld",
          "Efficient Surrogate Models for Materials Science Simulations: Machine Learning-based Prediction of "
          "Microstructure Properties", "", "", "Surrogate models on Ising and Cahn–Hilliard images"),
)}


def citation(key):
    """One-line plain-text citation of study ``key`` ("A" … "D").

    The text comes from this module, not from the user; escape it anyway if it is mixed with user text.

    Examples
    --------
    >>> citation("C")[:60]
    'A. Sardeshmukh, S. Reddy, B. P. Gautham, P. Bhattacharyya, “'
    >>> citation("B").endswith("https://github.com/whishei/MicroPropViT")
    True
    """
    if key not in STUDIES:
        raise InputError(f"`key` must be one of {', '.join(STUDIES)}, got {key!r}", name="key")
    study = STUDIES[key]
    parts = [f"{study.authors}, “{study.title}”" if study.authors else f"“{study.title}”"]
    parts += [text for text in (study.venue, study.url) if text]
    return ", ".join(parts)


#: Extractors and model presets that reproduce a study's method → the study.
_PRESETS = {"two_point_paper_a": "A", "two_point_paper_b": "B", "phys_feat1": "D", "phys_feat2": "D",
            "grad_feature": "D", "texture_vae": "C", "resnet_embed": "D", "pr": "B", "pcr": "D",
            "pca-rbf-svr": "D"}


def studies_of(name, params=None):
    """The studies whose method an extractor or model preset (with these parameters) reproduces.

    Parameters
    ----------
    name : str
        An extractor (``"two_point_paper_b"``) or a model preset (``"pr"``).
    params : dict, optional
        Its parameters: ``segmentation="paper-b"`` and foundation ``mode="paper"`` are study B's too.

    Returns
    -------
    list of str
        Study keys, without repeats, in the order found.

    Examples
    --------
    >>> studies_of("two_point", {"segmentation": "paper-b"}), studies_of("volume_fraction")
    (['B'], [])
    """
    params = params or {}
    keys = [_PRESETS.get(name)]
    keys.append("B" if params.get("segmentation") == "paper-b" or params.get("mode") == "paper" else None)
    return list(dict.fromkeys(k for k in keys if k))
