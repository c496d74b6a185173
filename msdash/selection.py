"""Exports: a selection of samples as a table (names, properties, features) and a zip of images, and every
CSV download as text a spreadsheet opens without running formulas."""

import io
import zipfile

import numpy as np

from msdash.display import to_uint8


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
