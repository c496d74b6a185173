"""A microstructure map as one self-contained HTML file: plotly inlined, micrographs on hover, works offline."""

import base64
import html
import io
import json

__all__ = ["thumbnail_uris", "map_html", "MAX_HOVER_IMAGES"]

#: Above this many points the exported map leaves the hover images out (the file would grow past ~20 MB).
MAX_HOVER_IMAGES = 5000


def thumbnail_uris(images, names, *, size=64):
    """PNG thumbnails of samples as ``data:`` URIs, for hover images in an exported map.

    Parameters
    ----------
    images : Mapping[str, ndarray]
        Sample name → image (``Dataset.images``): ``(H, W)``, ``(H, W, 3)`` or ``(D, H, W)``, floats in [0, 1].
    names : sequence of str
        The samples to encode.
    size : int
        Longest side of a thumbnail, pixels.

    Returns
    -------
    dict of str → str
        ``"data:image/png;base64,…"`` per name (about 1–5 kB each at 64 px).

    Examples
    --------
    >>> import numpy as np
    >>> uris = thumbnail_uris({"a": np.eye(8)}, ["a"], size=16)
    >>> uris["a"].startswith("data:image/png;base64,")
    True
    """
    from PIL import Image

    from msdash.display import thumbnail

    out = {}
    for name in names:
        buffer = io.BytesIO()
        Image.fromarray(thumbnail(images[name], size=size)).save(buffer, format="PNG", optimize=True)
        out[str(name)] = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return out


def _script_json(value):
    # JSON inside <script>: "</" and U+2028/9 must not end the script or the line, whatever a name holds.
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_POST_SCRIPT = """
var gd = document.getElementById('{plot_id}');
var thumbs = %(thumbs)s;
var box = document.getElementById('msdash-hover');
gd.on('plotly_hover', function (event) {
  var point = event.points[0];
  var name = point.customdata && point.customdata[0];
  if (!thumbs || !(name in thumbs)) { box.style.display = 'none'; return; }
  box.querySelector('img').src = thumbs[name];
  box.querySelector('span').textContent = name;
  box.style.display = 'block';
});
gd.on('plotly_unhover', function () { box.style.display = 'none'; });
document.getElementById('msdash-svg').onclick = function () {
  Plotly.downloadImage(gd, {format: 'svg', filename: 'msdash-map'});
};
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%(title)s</title>
<style>
body { font-family: sans-serif; margin: 1rem; }
#msdash-hover { display: none; position: fixed; top: 1rem; right: 1rem; background: #fff; padding: 0.4rem;
  border: 1px solid #ccc; box-shadow: 0 2px 6px rgba(0,0,0,.2); text-align: center; z-index: 10; }
#msdash-hover img { display: block; width: 160px; image-rendering: pixelated; }
</style></head><body>
<h2>%(title)s</h2>
<p>%(caption)s <button id="msdash-svg">Download SVG</button> (PNG: the camera icon of the plot)</p>
<div id="msdash-hover"><img alt="micrograph"><span></span></div>
%(plot)s
%(selection)s
</body></html>
"""


def map_html(fig, *, thumbnails=None, selected=(), title="msdash map", caption=""):
    """The map figure as one HTML file that opens offline, with a micrograph shown on hover.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        A map from :func:`msdash.plots.map_figure` (``customdata[:, 0]`` holds each point's sample name); its
        colouring and selection are kept as drawn.
    thumbnails : dict of str → str, optional
        Sample name → image URI (:func:`thumbnail_uris`) shown when the pointer rests on the sample.
    selected : sequence of str
        The selection, listed under the map.
    title, caption : str
        Page heading and a line of text under it (escaped here).

    Returns
    -------
    str
        The HTML document: plotly.js inlined (about 4.7 MB) and no outside reference, so it works without a
        network; figures download as PNG (plot toolbar) or SVG (button).
    """
    plot = fig.to_html(full_html=False, include_plotlyjs=True, include_mathjax=False,
                       config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}},
                       post_script=_POST_SCRIPT % {"thumbs": _script_json(dict(thumbnails or {}))})
    selected = [str(s) for s in selected]
    listing = ""
    if selected:
        items = "".join(f"<li>{html.escape(name)}</li>" for name in selected)
        listing = f"<details><summary>Selection: {len(selected)} samples</summary><ul>{items}</ul></details>"
    return _PAGE % {"title": html.escape(str(title)), "caption": html.escape(str(caption)), "plot": plot,
                    "selection": listing}

