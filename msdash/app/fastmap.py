"""Fast canvas map for large data sets: a Streamlit components-v2 scatter map drawn with Canvas 2D.

Plotly through ``st.plotly_chart`` needs 5–10 s to show 50,000 points in a browser without a GPU, and a click
re-renders all of them; this element draws them in a fraction of a second and hovers/clicks in O(1) through a
uniform grid built once in the browser (``fastmap.js``). Arrays travel as one binary buffer
(:func:`pack_map`), never as JSON numbers, and points are named by their row id in the data set.
"""

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit.components.v2 as components_v2

from msdash.app.keys import fast_map_seq
from msdash.errors import InputError

_HERE = Path(__file__).parent
_HTML = """<div class="msdash-fastmap">
<div class="bar"><button data-mode="pan" class="on" title="Drag pans the view">Pan</button><button data-mode="box"
title="Drag draws a box">Box</button><button data-mode="lasso" title="Drag draws a lasso">Lasso</button><button
class="reset" title="Reset the view and clear the selection">Reset</button><span class="hint">wheel: zoom · click:
select · shift-drag: box · alt-drag: lasso · double-click: reset</span></div>
<div class="stage"><canvas class="base"></canvas><canvas class="over"></canvas><div class="tip" hidden></div></div>
</div>"""
#: Name of the component, registered once per process when this module is imported.
COMPONENT_NAME = "msdash_fast_map"
_CSS = (_HERE / "fastmap.css").read_text()
_mount = components_v2.component(COMPONENT_NAME, html=_HTML, css=_CSS, js=(_HERE / "fastmap.js").read_text())
#: The hover images: one mount holds a data set's atlas (:mod:`msdash.atlas`), decoded once per browser tab;
#: another beside a plotly map shows the hovered point's micrograph (``hoverimages.js``).
HOVER_COMPONENT_NAME = "msdash_hover_images"
_HOVER_HTML = """<div class="msdash-atlas" data-ready="0"></div><div class="msdash-plotly-hover" hidden><canvas>
</canvas><div class="caption"></div></div>"""
_mount_hover = components_v2.component(HOVER_COMPONENT_NAME, html=_HOVER_HTML, css=_CSS,
                                       js=(_HERE / "hoverimages.js").read_text())
#: Colours when nothing colours the map (categories get :func:`msdash.palette.category_colours`, as the plotly
#: map: one colour per category, never repeated).
PALETTE = ["#636efa"]
_NAME_SEP = "\x1f"  # ASCII unit separator: cannot occur in a file name


def pack_map(coords, names, *, color=None, color_label=None, categorical=None, hover=None, selected=(), title="",
             axis_labels=("PC1", "PC2"), images=None):
    """The binary payload that ``fastmap.js`` draws: header and arrays of the drawable samples.

    Parameters
    ----------
    coords : array_like, shape (n_samples, >= 2)
        Map coordinates; the first two columns are drawn. Rows with NaN are left out (the caller reports them).
    names : array_like of str, shape (n_samples,)
    color : array_like, shape (n_samples,), optional
        Numeric values (Viridis scale, NaN drawn grey) or categories (palette, None/NaN drawn grey).
    color_label : str, optional
    categorical : bool, optional
        Force categorical or continuous colouring; default from the dtype.
    hover : pandas.DataFrame, optional
        A few numeric columns, rows aligned with ``names`` by position, shown in the tooltip.
    selected : sequence of str
        Names drawn highlighted (larger markers with an outline, on top).
    title : str
    axis_labels : (str, str)
    images : dict, optional
        Hover images: ``{"atlas": token, "pixel_um": float or None}``, the token of an atlas mounted with
        :func:`hover_atlas` whose cell ``i`` is ``names[i]``; with a pixel size the image gets a scale bar.

    Returns
    -------
    bytes
        ``uint32`` header length L (little-endian), L bytes of JSON header (padded with spaces so the arrays
        start at a multiple of 4), then the arrays. ``header["arrays"][name] = [offset, count, dtype]`` with the
        offset counted from the start of the arrays and dtype ``"f4"``, ``"i4"`` or ``"u1"``. Arrays: ``x``,
        ``y`` (float32), ``id`` (int32 row of each drawn point in ``names``), ``names`` (UTF-8, joined by
        U+001F), ``color`` (float32 values or int32 category codes, -1 = missing) and ``hover0``… (float32).
        ``header["selected"]`` holds row ids; ``header["token"]`` changes whenever anything but the selection and
        ``header["images"]`` does.

    Examples
    --------
    >>> payload = pack_map([[0, 1], [np.nan, 0], [2, 3]], ["a", "b", "c"], selected=["c"])
    >>> length = int.from_bytes(payload[:4], "little")
    >>> header = json.loads(payload[4:4 + length])
    >>> header["n"], header["selected"], header["arrays"]["id"]
    (2, [2], [16, 2, 'i4'])
    >>> np.frombuffer(payload, np.int32, 2, 4 + length + 16).tolist()
    [0, 2]
    """
    coords = np.asarray(coords, dtype=float)
    names = np.asarray(names).astype(str)
    n = len(names)
    if coords.ndim != 2 or coords.shape[1] < 2 or coords.shape[0] != n:
        raise InputError(f"`coords` must have shape ({n}, >= 2) to match `names`, got {coords.shape}", name="coords")
    rows = np.flatnonzero(np.isfinite(coords[:, :2]).all(axis=1))
    arrays = {"x": coords[rows, 0].astype(np.float32), "y": coords[rows, 1].astype(np.float32),
              "id": rows.astype(np.int32),
              "names": _joined(names[rows])}
    colour = {"kind": "none", "label": color_label or "", "palette": PALETTE}
    if color is not None:
        color = np.asarray(color)
        if color.shape != (n,):
            raise InputError(f"`color` must hold one value per sample ({n}), got shape {color.shape}", name="color")
        if categorical is None:
            categorical = not (np.issubdtype(color.dtype, np.number) and color.dtype != bool)
        colour["label"] = color_label or "colour"
        if categorical:
            from msdash.palette import category_colours

            codes, categories = _factorize(color[rows])
            arrays["color"] = codes.astype(np.int32)
            colour.update(kind="category", categories=[_category_name(c) for c in categories],
                          palette=category_colours(len(categories)))
        else:
            values = color[rows].astype(float)
            finite = values[np.isfinite(values)]
            low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
            arrays["color"] = values.astype(np.float32)
            colour.update(kind="numeric", min=low, max=high)
    hover_names = []
    if hover is not None:
        if not isinstance(hover, pd.DataFrame) or len(hover) != n:
            raise InputError(f"`hover` must be a DataFrame with {n} rows", name="hover")
        for column in hover.columns:
            values = pd.to_numeric(hover[column].iloc[rows], errors="coerce").to_numpy(float)
            arrays[f"hover{len(hover_names)}"] = values.astype(np.float32)
            hover_names.append(str(column))

    body, layout = bytearray(), {}
    for name, array in arrays.items():
        if isinstance(array, bytes):
            data, count, kind = array, len(array), "u1"
        else:
            kind = {"f": "f4", "i": "i4"}[array.dtype.kind]
            data, count = array.astype("<" + kind).tobytes(), int(array.size)
        layout[name] = [len(body), count, kind]
        body += data + b"\0" * (-len(data) % 4)
    header = {"n": int(len(rows)), "title": str(title or ""), "axis": [str(a) for a in axis_labels],
              "color": colour, "hover": hover_names, "arrays": layout}
    header["token"] = hashlib.blake2b(json.dumps(header).encode() + bytes(body), digest_size=12).hexdigest()
    header["images"] = _images_spec(images)
    wanted = np.asarray(list(selected), dtype=str)
    header["selected"] = np.flatnonzero(np.isin(names, wanted)).tolist() if len(wanted) else []
    text = json.dumps(header).encode()
    text += b" " * (-(4 + len(text)) % 4)
    return struct.pack("<I", len(text)) + text + bytes(body)


def selection_ids(event):
    """Row ids a fast map reported, or None when ``event`` is not a fast-map state.

    Parameters
    ----------
    event : mapping or None
        ``st.session_state[key]`` of a fast map: ``{"selection": {"ids": [int, ...], "seq": int}}``.

    Returns
    -------
    (list of int, object) or None
        The ids and the sequence stamp of the user action (every click, box or lasso gets a new one).

    Examples
    --------
    >>> selection_ids({"selection": {"ids": [4, 2], "seq": 7}})
    ([4, 2], 7)
    >>> selection_ids({"selection": {"points": []}}) is None
    True
    """
    try:
        selection = event["selection"]
        ids = selection["ids"]
    except (KeyError, TypeError):
        return None
    return [int(i) for i in ids if isinstance(i, (int, np.integer))], selection.get("seq")


def selection_names(event, names):
    """Sample names of a fast-map selection (ids outside ``names`` are dropped); None when not a fast map.

    Examples
    --------
    >>> selection_names({"selection": {"ids": [2, 0, 9], "seq": 1}}, ["a", "b", "c"])
    ['c', 'a']
    """
    picked = selection_ids(event)
    if picked is None:
        return None
    return [str(names[i]) for i in picked[0] if 0 <= i < len(names)]


def fast_map(coords, names, *, color=None, color_label=None, categorical=None, hover=None, selected=(), title="",
             axis_labels=("PC1", "PC2"), images=None, key=None):
    """Draw the fast canvas map; return the names the user just selected, or None when nothing is new.

    Wheel zooms around the cursor, drag pans, click selects the nearest point, shift-drag (or the Box mode)
    selects a box, alt-drag (or the Lasso mode) a lasso, double-click resets the view and clears the
    selection. The state ``st.session_state[key]`` is ``{"selection": {"ids": [...], "seq": ...}}`` (see
    :func:`selection_names`).

    Parameters
    ----------
    coords, names, color, color_label, categorical, hover, selected, title, axis_labels, images
        As :func:`pack_map`: coords ``(n_samples, >= 2)``, names ``(n_samples,)``.
    key : str
        Session-state key of the map (must not contain ``"__"``); without one nothing is returned.

    Returns
    -------
    list of str or None
        Names of a click, box or lasso made since the last run (``[]`` after a double-click), else None.
    """
    import streamlit as st

    payload = pack_map(coords, names, color=color, color_label=color_label, categorical=categorical, hover=hover,
                       selected=selected, title=title, axis_labels=axis_labels, images=images)
    result = _mount(key=key, data=payload, default={"selection": None}, on_selection_change=_ignore)
    picked = selection_ids({"selection": result.get("selection")})
    if picked is None or key is None:
        return None
    seen = fast_map_seq(key)
    if st.session_state.get(seen) == picked[1]:
        return None
    st.session_state[seen] = picked[1]
    return [str(names[i]) for i in picked[0] if 0 <= i < len(names)]


def hover_atlas(payload, *, key):
    """Send an atlas of hover images (:func:`msdash.atlas.build_atlas`) to the browser; return its token.

    The browser decodes it once per tab and keeps it under its token: mounted again with the same bytes on
    later reruns, the element is the same message, which Streamlit does not send again (its message cache),
    and the script skips decoding. The element shows one line: how many thumbnails, and whether they are ready.

    Parameters
    ----------
    payload : bytes
        The atlas.
    key : str
        Element key.

    Returns
    -------
    str
        The token to pass as ``images={"atlas": token, …}`` to :func:`fast_map` or :func:`plotly_hover`.
    """
    from msdash.atlas import read_atlas

    _mount_hover(key=key, data=payload, default={})
    return read_atlas(payload)[0]["token"]


def plotly_hover(images, *, key):
    """Show the hovered sample's micrograph beside the plotly map drawn just before, in the same column.

    Listens to the chart's own ``plotly_hover`` events in the browser (``st.plotly_chart`` reports selections
    only); its selection behaviour is untouched. The points' ``customdata[0]`` names the sample.

    Parameters
    ----------
    images : dict
        ``{"atlas": token, "pixel_um": float or None}`` as for :func:`pack_map`.
    key : str
    """
    _mount_hover(key=key, data={"plotly": _images_spec(images)}, default={})


def _images_spec(images):
    if not images or not images.get("atlas"):
        return None
    pixel_um = images.get("pixel_um")
    return {"atlas": str(images["atlas"]), "pixel_um": float(pixel_um) if pixel_um else None}


def _ignore():
    """Selection callback: the state itself is what the page reads."""


def _joined(names):
    """Names as UTF-8 bytes separated by U+001F (a separator inside a name becomes a space)."""
    text = _NAME_SEP.join(names.tolist())
    if text.count(_NAME_SEP) != max(len(names) - 1, 0):
        text = _NAME_SEP.join(name.replace(_NAME_SEP, " ") for name in names.tolist())
    return text.encode()


def _factorize(labels):
    """Codes (-1 = missing) and sorted categories, as the plotly map orders them."""
    try:
        return pd.factorize(labels, sort=True)
    except TypeError:  # mixed types that do not compare
        return pd.factorize(labels.astype(str), sort=True)


def _category_name(value):
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
