"""Every plotly figure of the app goes through :func:`chart`, so each one downloads as PNG or SVG.

A plotly chart's toolbar has a camera button that saves the figure; plotly.js does it in the browser, so it works
offline. Which format it saves is the figure's ``toImageButtonOptions``: the sidebar's *Figure downloads* choice
(PNG at twice the screen resolution, for slides; SVG, for papers and editing) sets it for every chart of the session.
"""

import re

import streamlit as st

from msdash.app.keys import FIGURE_FORMAT

__all__ = ["FORMATS", "plotly_config", "download_format", "format_picker", "chart"]

#: Formats the camera button can save.
FORMATS = ("png", "svg")


def plotly_config(fmt="png", filename="msdash-figure"):
    """The plotly.js configuration of an app chart.

    Parameters
    ----------
    fmt : {"png", "svg"}
        What the toolbar's camera button saves.
    filename : str
        File name without extension; characters other than letters, digits, ``-`` and ``_`` become ``-``.

    Returns
    -------
    dict
        ``displaylogo`` off and ``toImageButtonOptions`` (format, file name, scale 2 for PNG).

    Examples
    --------
    >>> plotly_config("svg", "parity plot")["toImageButtonOptions"]
    {'format': 'svg', 'filename': 'parity-plot', 'scale': 1}
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", str(filename)).strip("-") or "msdash-figure"
    return {"displaylogo": False,
            "toImageButtonOptions": {"format": fmt, "filename": name, "scale": 2 if fmt == "png" else 1}}


def download_format():
    """The session's figure download format (``"png"`` until the user picks another)."""
    value = st.session_state.get(FIGURE_FORMAT, "png")
    return value if value in FORMATS else "png"


def format_picker():
    """The sidebar's *Figure downloads* choice (PNG or SVG), kept for the session."""
    st.sidebar.radio("Figure downloads", FORMATS, format_func=str.upper, horizontal=True, key=FIGURE_FORMAT,
                     help="What the camera button of every chart saves: PNG (2× resolution) or SVG (vector).")


def chart(fig, *, key, filename=None, where=None, **kwargs):
    """``st.plotly_chart`` with the download configuration; returns what it returns (the selection event).

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
    key : str
        The widget key (also the download's file name unless ``filename`` is given).
    filename : str, optional
        Download file name without extension.
    where : streamlit container, optional
        Where to draw (a column, an expander); the page by default.
    **kwargs
        More ``st.plotly_chart`` arguments (``on_select``, ``selection_mode``, ``width``…).
    """
    target = st if where is None else where
    config = plotly_config(download_format(), filename or f"msdash-{key}")
    return target.plotly_chart(fig, key=key, config=config, **kwargs)
