"""Category colours for maps: as many different colours as there are categories, the same in every renderer."""

import functools

import numpy as np
import plotly.colors

#: Up to this many categories the colours stay clearly apart (CIELAB ΔE ≥ 21 between any two); above it every
#: category still has its own colour, and the page says some look alike (:func:`palette_note`).
CLEARLY_APART = 24


def category_colours(n):
    """``n`` different colours for ``n`` categories, the same in both map renderers; none repeats.

    Plotly's ten default colours first (small maps look as before), then each next colour is the one farthest
    (CIELAB distance) from all chosen so far, among saturated mid-light colours of an 18-level RGB grid — no
    greys (missing values are drawn light grey), no near-whites. Any two of the first :data:`CLEARLY_APART`
    differ by ΔE ≥ 21 (plotly's own closest pair); ``plotly + D3``, used before, had two cyans 11 apart.

    Parameters
    ----------
    n : int
        Number of categories (missing values are not one).

    Returns
    -------
    list of str
        ``n`` hex colours ``"#rrggbb"``, all different.

    Examples
    --------
    >>> category_colours(3)
    ['#636efa', '#ef553b', '#00cc96']
    >>> len(set(category_colours(19))) == 19 and len(set(category_colours(300))) == 300
    True
    """
    return list(_farthest_colours(int(n)))


def palette_note(n):
    """A sentence for the page when ``n`` categories are more than :data:`CLEARLY_APART`, else "".

    Examples
    --------
    >>> palette_note(19)
    ''
    >>> palette_note(31)[:40]
    '31 categories: more than the 24 colours '
    """
    if n <= CLEARLY_APART:
        return ""
    return (f"{n} categories: more than the {CLEARLY_APART} colours that stay clearly apart. Every category "
            "has its own colour, but some look alike: hover a point (or use the legend) to read its category.")


@functools.lru_cache(maxsize=64)
def _farthest_colours(n):
    base = [c.lower() for c in plotly.colors.qualitative.Plotly]
    if n <= len(base):
        return tuple(base[:n])
    levels = np.linspace(0, 1, 18)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    lab = _cielab(grid)
    keep = (np.hypot(lab[:, 1], lab[:, 2]) > 30) & (lab[:, 0] > 30) & (lab[:, 0] < 85)
    grid, lab = grid[keep], lab[keep]
    chosen = _cielab(np.array([[int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)] for c in base]))
    distance = np.linalg.norm(lab[:, None] - chosen[None], axis=-1).min(axis=1)
    colours = list(base)
    while len(colours) < n:
        i = int(distance.argmax())
        colour = "#" + "".join(f"{round(255 * v):02x}" for v in grid[i])
        if distance[i] <= 0:  # the grid is used up (over ~3,000 categories): nudge a channel to stay unique
            colour = f"#{(int(colour[1:], 16) + len(colours)) % 0xFFFFFF:06x}"
        colours.append(colour)
        distance = np.minimum(distance, np.linalg.norm(lab - lab[i], axis=1))
        distance[i] = -1.0
    return tuple(colours)


def _cielab(rgb):
    """CIELAB (D65) of sRGB values in 0..1, shape (n, 3)."""
    rgb = np.asarray(rgb, dtype=float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)
