"""Selections of samples: picking them by name (exact, prefix, regular expression) or by group; exporting them as a
table (names, properties, features) and a zip of images; every CSV download as text a spreadsheet opens without
running formulas."""

import io
import re
import zipfile

import numpy as np

from msdash.display import to_uint8
from msdash.errors import InputError

#: How a typed pattern picks names: each exact name, names starting with it, or names it matches as a whole.
PICK_MODES = ("exact", "prefix", "regex")
#: Longest regular expression accepted (Python's ``re`` has no time limit; long patterns are a typing slip).
MAX_PATTERN = 200


def pick_names(names, text, *, mode="exact"):
    r"""Names picked by what the user typed, in data-set order, and the typed parts that picked nothing.

    No fuzzy matching: a name is picked only when it is typed in full (``"exact"``), starts with a typed part
    (``"prefix"``) or matches the regular expression as a whole (``"regex"``, :func:`re.fullmatch`).

    Parameters
    ----------
    names : sequence of str
        Sample names of the data set.
    text : str
        Exact names or prefixes separated by commas or white space; or one regular expression.
    mode : {"exact", "prefix", "regex"}

    Returns
    -------
    picked : list of str
        The matching names, each once, in the order of ``names``.
    unmatched : list of str
        Typed names or prefixes that match no sample (``[pattern]`` when a regex matches none).

    Raises
    ------
    InputError
        Unknown ``mode``, or a regular expression that does not compile or is longer than :data:`MAX_PATTERN`.

    Examples
    --------
    >>> names = ["A1_01", "A1_02", "A10_01", "B2_01"]
    >>> pick_names(names, "A1_01, B2_01 C9")
    (['A1_01', 'B2_01'], ['C9'])
    >>> pick_names(names, "A1_", mode="prefix")
    (['A1_01', 'A1_02'], [])
    >>> pick_names(names, r"A1\d*_01", mode="regex")
    (['A1_01', 'A10_01'], [])
    """
    names = [str(n) for n in names]
    text = str(text or "").strip()
    if mode not in PICK_MODES:
        raise InputError(f"`mode` must be one of {', '.join(PICK_MODES)}, got {mode!r}", name="mode")
    if not text:
        return [], []
    if mode == "regex":
        if len(text) > MAX_PATTERN:
            raise InputError(f"The pattern is {len(text)} characters long; at most {MAX_PATTERN} are accepted.",
                             name="pattern")
        try:
            pattern = re.compile(text)
        except re.error as error:
            raise InputError(f"“{text}” is not a regular expression: {error}", name="pattern") from None
        picked = [n for n in names if pattern.fullmatch(n)]
        return picked, [] if picked else [text]
    parts = list(dict.fromkeys(p for p in re.split(r"[,\s]+", text) if p))
    if mode == "exact":
        known = set(names)
        wanted = {p for p in parts if p in known}
        return [n for n in names if n in wanted], [p for p in parts if p not in known]
    picked = [n for n in names if n.startswith(tuple(parts))]
    return picked, [p for p in parts if not any(n.startswith(p) for n in picked)]


def group_names(properties, column, value):
    """Names of the samples whose ``column`` holds ``value`` (compared as text), in table order.

    Parameters
    ----------
    properties : pandas.DataFrame
        Property table indexed by sample name.
    column : str
    value : object
        A value of the column as shown to the user (``str(value)``).

    Returns
    -------
    list of str

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"paper": ["p1", "p2", "p1", None]}, index=["a", "b", "c", "d"])
    >>> group_names(table, "paper", "p1")
    ['a', 'c']
    """
    if column not in properties.columns:
        raise InputError(f"No property column named “{column}”", name="column")
    cells = properties[column]
    keep = cells.notna() & (cells.astype(str) == str(value))
    return [str(n) for n in properties.index[keep.to_numpy()]]


def in_categories(properties, names, column, values):
    """The samples of ``names`` whose ``column`` is one of ``values`` (compared as text), order kept.

    Parameters
    ----------
    properties : pandas.DataFrame
        Property table indexed by sample name.
    names : sequence of str
        Samples to filter (e.g. already sorted).
    column : str
        A category column, e.g. the source paper.
    values : collection of str
        Values to keep; empty keeps nothing.

    Returns
    -------
    list of str

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"paper": ["p1", "p2", None, "p1"]}, index=["a", "b", "c", "d"])
    >>> in_categories(table, ["d", "c", "b", "a"], "paper", {"p1"})
    ['d', 'a']
    """
    if column not in properties.columns:
        raise InputError(f"No property column named “{column}”", name="column")
    wanted = {str(v) for v in values}
    cells = properties[column]
    text = cells.astype(str).where(cells.notna(), None)
    keep = set(properties.index[text.isin(wanted).to_numpy()].astype(str))
    return [name for name in names if name in keep]


def selection_table(dataset, names, tables=()):
    """Properties and features of the selected samples, one row each.

    Parameters
    ----------
    dataset : Dataset
    names : list of str
        Selected sample names (order kept).
    tables : sequence of FeatureTable
        Feature sets to include; their columns are prefixed ``"<extractor>:"``.

    Returns
    -------
    pandas.DataFrame
        Indexed by sample name: the property columns, then the feature columns of each table.
    """
    export = dataset.properties.loc[list(names)].copy()
    export.index.name = "name"
    for table in tables:
        frame = table.to_frame().reindex(list(names))
        frame.columns = [f"{table.extractor}:{column}" for column in frame.columns]
        frame.index.name = "name"
        export = export.join(frame)
    return export


def selection_zip(dataset, names):
    """Zip archive (bytes) of the selected samples: 2-D and RGB images as 8-bit PNG, volumes as NPY.

    Parameters
    ----------
    dataset : Dataset
    names : list of str

    Returns
    -------
    bytes
    """
    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            image = dataset.images[name]
            member = io.BytesIO()
            if dataset.kind(name) == "3d":
                np.save(member, image, allow_pickle=False)
                archive.writestr(f"{name}.npy", member.getvalue())
            else:
                Image.fromarray(to_uint8(image)).save(member, format="PNG")
                archive.writestr(f"{name}.png", member.getvalue())
    return buffer.getvalue()


#: First characters that make a spreadsheet read a text cell as a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse_formula(value):
    """Prefix a text cell that a spreadsheet would run as a formula with a single quote; leave the rest alone.

    Examples
    --------
    >>> defuse_formula("=cmd|' /C calc'!A0"), defuse_formula("-2+3"), defuse_formula(-2.5), defuse_formula("a-1")
    ("'=cmd|' /C calc'!A0", "'-2+3", -2.5, 'a-1')
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_safe(frame):
    """A copy of ``frame`` whose text cells, index and column headers cannot run as spreadsheet formulas.

    Text starting with ``= + - @``, a tab or a carriage return gets a leading ``'`` (OWASP's advice for CSV
    injection); numbers stay numbers (a negative value is not a formula).

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    safe = frame.copy()
    for i in range(safe.shape[1]):
        column = safe.iloc[:, i]
        if column.dtype == object or isinstance(column.dtype, (pd.StringDtype, pd.CategoricalDtype)):
            safe.isetitem(i, column.astype(object).map(defuse_formula))
    safe.columns = _defused_index(safe.columns)
    safe.index = _defused_index(safe.index)
    return safe


def csv_bytes(frame, *, index=True):
    """UTF-8 CSV of ``frame`` for a download button, made safe by :func:`csv_safe`.

    Examples
    --------
    >>> import pandas as pd
    >>> csv_bytes(pd.DataFrame({"name": ["=1+1", "a"], "y": [-1.0, 2.0]}), index=False).decode().splitlines()
    ['name,y', "'=1+1,-1.0", 'a,2.0']
    """
    return csv_safe(frame).to_csv(index=index).encode()


def _defused_index(index):
    import pandas as pd

    if isinstance(index, pd.MultiIndex):
        return index.set_levels([_defused_index(level) for level in index.levels]).set_names(
            [defuse_formula(name) for name in index.names])
    names = [defuse_formula(name) for name in index.names]
    if index.dtype == object or isinstance(index.dtype, pd.StringDtype):
        index = pd.Index([defuse_formula(value) for value in index], dtype=object)
    return index.set_names(names)
