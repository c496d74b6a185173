"""Match sample names: the one rule by which images, property rows and imported feature rows are paired.

:func:`name_key` (and its column form :func:`name_keys`) says when two names are the same sample;
:func:`best_name_column` says which column of a table holds the names. Property tables
(:func:`msdash.data.ingest.guess_name_column`, :func:`msdash.data.tables.match_properties`) and imported
feature tables (:func:`msdash.features.imported.import_features`) all use them.
"""

import re

from msdash.data.images import SUPPORTED_EXTENSIONS

__all__ = ["name_key", "name_keys", "best_name_column"]

_EXTENSION_TAIL = re.compile(r"\s*(?:" + "|".join(map(re.escape, SUPPORTED_EXTENSIONS)) + r")\Z")


def _as_text(value):
    """Return a cell as stripped text; missing values (None, NaN) become ``""``."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def name_key(name):
    """Return the matching key of a sample name: stripped, casefolded, without an image extension.

    The one rule by which names of images, property rows and imported features are matched.

    >>> name_key("  Img_01.PNG ")
    'img_01'
    """
    return _EXTENSION_TAIL.sub("", _as_text(name).casefold())


def name_keys(cells):
    """Return the matching keys of a column of names, as :func:`name_key` does, with pandas string methods.

    Parameters
    ----------
    cells : pandas.Series
        Names of any dtype; missing values give ``""``.

    Returns
    -------
    pandas.Series of str
        Same index as ``cells``.

    >>> import pandas as pd
    >>> name_keys(pd.Series([" Img_01.PNG ", None, 7])).tolist()
    ['img_01', '', '7']
    """
    text = cells.astype(object).where(cells.notna(), "").astype(str).str.strip().str.casefold()
    return text.str.replace(_EXTENSION_TAIL, "", regex=True)


def best_name_column(table, names, *, max_rows=None):
    """Return the column whose cells match the most sample names, or None when none matches one.

    Cells and names are compared by :func:`name_key`. Every column is a candidate except floating-point
    ones (feature values, never names; integer columns are, as samples may be numbered ``1``, ``2``, …).
    Ties go to the leftmost column.

    Parameters
    ----------
    table : pandas.DataFrame
        Property table (cells as text) or feature table (numeric columns).
    names : iterable of str
        The sample names.
    max_rows : int, optional
        Score only the first ``max_rows`` rows (a bound on the work for wide feature tables); default all.

    Returns
    -------
    str or None

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"e0": [0.5, 0.7], "id": [1, 2], "file": ["x.png", "B.png"]})
    >>> best_name_column(t, ["1", "2"]), best_name_column(t, ["b"]), best_name_column(t, ["z"])
    ('id', 'file', None)
    """
    wanted = {name_key(name) for name in names} - {""}
    if not wanted:
        return None
    rows = table if max_rows is None else table.iloc[:max_rows]
    best, best_hits = None, 0
    for column in table.columns:
        if rows[column].dtype.kind in "fc":
            continue
        hits = int(name_keys(rows[column]).isin(wanted).sum())
        if hits > best_hits:
            best, best_hits = column, hits
    return best
