"""Turn samples into pictures for the gallery (8-bit thumbnails, a sorted, filtered sample order) and user text
into text that Streamlit's markdown and plotly's labels show as written."""

import html
import re

import numpy as np
import pandas as pd

from msdash.data.kinds import image_kind
from msdash.features.sections import orthogonal_sections


def to_uint8(image):
    """Scale a float image in [0, 1] to 8 bits for display.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        Values in [0, 1] (binary maps 0/1). Values outside are clipped; NaN shows as black.

    Returns
    -------
    ndarray of uint8, same shape

    Examples
    --------
    >>> to_uint8(np.array([[0.0, 0.5], [1.0, 2.0]])).tolist()
    [[0, 128], [255, 255]]
    """
    image = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0)
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def display_plane(image, *, kind=None):
    """Return the 2D (or RGB) picture that stands for a sample: a volume shows its middle z-section.

    Parameters
    ----------
    image : ndarray, shape (H, W), (H, W, 3) or (D, H, W)
    kind : {"2d", "rgb", "3d"}, optional
        What the sample is (:meth:`msdash.data.dataset.Dataset.kind`); default
        :func:`~msdash.data.images.image_kind` of its shape.

    Returns
    -------
    ndarray, shape (H, W) or (H, W, 3)

    Examples
    --------
    >>> display_plane(np.zeros((4, 4, 3))).shape, display_plane(np.zeros((4, 4, 3)), kind="rgb").shape
    ((4, 3), (4, 4, 3))
    """
    image = np.asarray(image)
    if (image_kind(image) if kind is None else kind) == "3d":
        return orthogonal_sections(image)[0]
    return image


def thumbnail(image, *, size=128, kind=None):
    """Make an 8-bit thumbnail whose longer side is at most ``size`` pixels.

    Binary maps are shrunk by area averaging (their grey levels then show the local volume fraction),
    grey and RGB images with PIL's antialiased resampling. Small images are enlarged with nearest
    neighbours so single pixels stay crisp.

    Parameters
    ----------
    image : ndarray, shape (H, W), (H, W, 3) or (D, H, W)
        A sample in msdash's convention (float in [0, 1]); volumes show their middle z-section.
    size : int
        Longest side of the thumbnail, pixels.
    kind : {"2d", "rgb", "3d"}, optional
        What the sample is (:meth:`msdash.data.dataset.Dataset.kind`); default from its shape.

    Returns
    -------
    ndarray of uint8, shape (h, w) or (h, w, 3) with ``max(h, w) == size``

    Examples
    --------
    >>> thumbnail(np.eye(4), size=8).shape
    (8, 8)
    """
    from PIL import Image

    plane = to_uint8(display_plane(image, kind=kind))
    h, w = plane.shape[:2]
    scale = size / max(h, w)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX
    return np.asarray(Image.fromarray(plane).resize(new, resample=resample))


def order_samples(properties, *, sort_by=None, descending=False, filter_column=None, low=None, high=None):
    """Filter samples by a property range and sort them, for the gallery.

    Parameters
    ----------
    properties : pandas.DataFrame
        One row per sample, indexed by sample name.
    sort_by : str, optional
        Column to sort on; ``None`` keeps the data set's order. Missing values sort last.
    descending : bool
        Sort from large to small.
    filter_column : str, optional
        Numeric column to filter on; samples whose value is missing are dropped while filtering.
    low, high : float, optional
        Inclusive bounds on ``filter_column``; ``None`` means unbounded.

    Returns
    -------
    list of str
        Sample names in display order.

    Examples
    --------
    >>> t = pd.DataFrame({"vf": [0.3, 0.9, 0.5]}, index=["a", "b", "c"])
    >>> order_samples(t, sort_by="vf", descending=True, filter_column="vf", high=0.6)
    ['c', 'a']
    """
    table = properties
    if filter_column is not None:
        values = pd.to_numeric(table[filter_column], errors="coerce")
        keep = values.notna()
        if low is not None:
            keep &= values >= low
        if high is not None:
            keep &= values <= high
        table = table[keep.to_numpy()]
    if sort_by is not None:
        table = table.sort_values(sort_by, ascending=not descending, na_position="last", kind="stable")
    return [str(name) for name in table.index]


# Markdown that user text could start, found with CommonMark, GFM and Streamlit's renderer in mind. Escaped
# with a backslash (CommonMark's escape for any ASCII punctuation): characters that open a construct anywhere
# (emphasis, code, links and images, HTML and entities, tables, strike-through, $math$); ":" before a
# non-space (Streamlit's :red[...] / :material/...: directives) and the closing ":" of an emoji shortcode;
# "_" unless inside a word (intraword "_" never emphasises); and block markers ("#", "-", "+", ">", "1." /
# "1)") at the start of the text, which may be the start of a line. Dots, dashes and brackets elsewhere are
# inert and stay unescaped, so messages read the same in the page source.
# GFM autolinks ("http://", "https://", "www.", "user@host.org") are found in the text *after* escapes are
# resolved, so no backslash stops them: an invisible word joiner after "http(s)", "www" and "@" does.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*\[\]<>{}|~$&@#]|:(?=\S)|(?<![^\W_])_|_(?![^\W_])")
_AUTOLINK = re.compile(r"(https?(?=:)|www(?=\.)|@)", re.IGNORECASE)
_WORD_JOINER = "\u2060"
_LINE_START = re.compile(r"^(\d*)([-+]|(?<=\d)[.)])")
_SHORTCODE_END = re.compile(r"(\\:[\w+/-]+):")  # the closing colon of an emoji shortcode such as :smile:
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


def escape_markdown(text):
    r"""Make user text (a name, a column header, a file name) show literally wherever Streamlit renders markdown.

    Markdown specials, HTML, Streamlit's ``:colour[...]`` / ``:material/...:`` directives and emoji
    shortcodes are backslash-escaped, so ``![x](http://host/x.png)`` shows as that text instead of fetching
    an image, and ``http://``, ``www.`` and ``@`` get an invisible word joiner so they are not made links;
    newlines and other control characters become single spaces (a name stays on one line). Use it for
    ``st.markdown``, captions, messages, labels, help texts and image captions; option lists of select
    boxes and data frames show plain text and need no escaping.

    Parameters
    ----------
    text : object
        Converted with ``str``.

    Returns
    -------
    str

    Examples
    --------
    >>> print(escape_markdown("**bold** [click](x) :red[y]"))
    \*\*bold\*\* \[click\](x) \:red\[y\]
    >>> escape_markdown("www.x.org") == "www\u2060.x.org"
    True
    >>> escape_markdown("two\nlines")
    'two lines'
    """
    text = _CONTROL.sub(" ", str(text)).strip()  # leading spaces could make an indented code block
    text = _AUTOLINK.sub(lambda match: match.group() + _WORD_JOINER, text)
    text = _SHORTCODE_END.sub(r"\1\\:", _MARKDOWN_SPECIAL.sub(lambda match: "\\" + match.group(), text))
    return _LINE_START.sub(r"\1\\\2", text, count=1)


def escape_plotly(text, *, template=False):
    """Make user text show literally in a plotly figure (trace and legend names, titles, tick and hover labels).

    Plotly draws ``<a href>``, ``<b>``, ``<br>`` and other tags in every text it shows and decodes HTML
    entities after reading the tags, so escaping ``<``, ``>`` and ``&`` as entities shows them as written.

    Parameters
    ----------
    text : object
        Converted with ``str``.
    template : bool
        The text goes into a ``hovertemplate`` or ``texttemplate``: ``%`` becomes ``&#37;`` as well, so a
        ``%{x}`` in user text is not filled in.

    Returns
    -------
    str

    Examples
    --------
    >>> escape_plotly('<a href="http://x">P&G</a>')
    '&lt;a href="http://x"&gt;P&amp;G&lt;/a&gt;'
    >>> escape_plotly("100%{y}", template=True)
    '100&#37;{y}'
    """
    text = html.escape(str(text), quote=False)
    return text.replace("%", "&#37;") if template else text
