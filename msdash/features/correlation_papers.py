"""The two-point variants of the published studies: study A's periodic 41×41 and study B's non-periodic 159×159.

References
----------
- Study A: S. E. Whitman, G. Hu, M. I. Latypov, "Learning microstructure–property relationships in materials with
  robust features from vision transformers" (``docs/references.md``).
- Study B: "Machine learning of microstructure-property relationships in materials with robust features from
  foundational vision transformers", https://github.com/whishei/MicroPropViT (``docs/references.md``).
"""

import numpy as np  # noqa: F401 — the doctests use it

from ..errors import InputError
from .correlation import two_point, two_point_labels
from .stacks import by_size

__all__ = ["two_point_paper_a", "two_point_paper_a_labels", "two_point_paper_b", "two_point_paper_b_labels"]


def two_point_paper_a(images):
    """Study A's two-point features: periodic auto-correlation of the stiff phase (label 1), 41×41 window.

    ``two_point(images, phases=(1, 1), periodic=True, cutoff=20)`` flattened row-major: 1,681 values per
    2-D section.

    Parameters
    ----------
    images : array_like or sequence of arrays, shape (n_samples, n_y, n_x)
        0/1 label sections; a sequence may mix sizes (each size is batched on its own).

    Returns
    -------
    ndarray of float64, shape (n_samples, 1681)
        Columns named by :func:`two_point_paper_a_labels`.

    References
    ----------
    Study A of ``docs/references.md`` (two-point baseline: 1,681 = 41×41 features per section).

    Examples
    --------
    >>> two_point_paper_a(np.ones((1, 8, 8))).shape
    (1, 1681)
    """
    return by_size(images, lambda stack: two_point(stack, phases=(1, 1), periodic=True, cutoff=20,
                                                   ndim=2).reshape(len(stack), -1), labels=True)


def two_point_paper_a_labels():
    """Labels of :func:`two_point_paper_a`: ``S2[dy=..,dx=..]`` for |dy|, |dx| <= 20, row-major."""
    return two_point_labels(20, ndim=2, order="C")


_PAPER_B_HALF = 79  # 159×159 central window


def two_point_paper_b(images):
    """Study B's baseline: non-periodic cross-correlation of phase 1 with phase 0, central 159×159 window.

    ``two_point(images, phases=(1, 0), periodic=False, cutoff=min(H, W) // 2)`` keeps the displacements
    ``|dy|, |dx| <= 79``; the window is flattened column-major (``order="F"``, as MATLAB's ``(:)``) into 25,281
    values. Because the result does not depend on the padding, this equals computing with ``cutoff=79``.

    Parameters
    ----------
    images : array_like or sequence of arrays, shape (n_samples, n_y, n_x)
        Thresholded 0/1 phase maps, each at least 158 px on its short side (so that ``min(H, W) // 2 >= 79``).
        A sequence may mix sizes.

    Returns
    -------
    ndarray of float64, shape (n_samples, 25281)
        Columns named by :func:`two_point_paper_b_labels`.

    References
    ----------
    Study B of ``docs/references.md`` (two-point cross-correlation of the thresholded phase maps, non-periodic,
    central 159×159 window).
    """
    def one_size(stack):
        if min(stack.shape[1:]) // 2 < _PAPER_B_HALF:
            raise InputError(f"`images` must be at least {2 * _PAPER_B_HALF} px on the short side for study B's "
                             f"159×159 window (cutoff min(H, W) // 2 >= 79), got shape {stack.shape[1:]}",
                             name="images")
        window = two_point(stack, phases=(1, 0), periodic=False, cutoff=_PAPER_B_HALF, ndim=2)
        return window.reshape(len(stack), -1, order="F")

    return by_size(images, one_size, labels=True)


def two_point_paper_b_labels():
    """Labels of :func:`two_point_paper_b`: ``S2[dy=..,dx=..]`` for |dy|, |dx| <= 79, column-major."""
    return two_point_labels(_PAPER_B_HALF, ndim=2, order="F")
