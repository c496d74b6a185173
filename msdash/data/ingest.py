"""Turn what the user uploaded (images and an optional property table) into a :class:`Dataset`."""

import re

import pandas as pd

from msdash.data.dataset import Dataset
from msdash.errors import InputError
from msdash.data.imagestore import Images
from msdash.data.names import best_name_column

_NAME_HINTS = re.compile(r"name|file|image|sample|micrograph|id", re.IGNORECASE)


def guess_name_column(table, names=()):
    """Guess which column of a property table holds the image names.

    The column that matches the most image names wins, by :func:`msdash.data.names.best_name_column` (the rule
    imported feature tables use too: names compared by :func:`~msdash.data.names.name_key`, case and surrounding
    spaces ignored, image extension stripped; ties to the leftmost); tables that match nothing fall back to the
    first column whose header looks like a name ("name", "file", "image", "sample", "id"), then to the first one.

    Parameters
    ----------
    table : pandas.DataFrame
        The table as read by :func:`msdash.io.read_properties` (cells are strings).
    names : iterable of str
        The image names to match.

    Returns
    -------
    str
        A column of ``table``.

    Examples
    --------
    >>> t = pd.DataFrame({"HV": ["410", "380"], "file": ["a.png", "B.png"]})
    >>> guess_name_column(t, ["a", "b"])
    'file'
    """
    columns = list(table.columns)
    if not columns:
        raise InputError("The property table has no columns.")
    best = best_name_column(table, names)
    if best is not None:
        return best
    for column in columns:
        if _NAME_HINTS.search(str(column)):
            return column
    return columns[0]


def build_dataset(images, report=None, *, name, source="upload", drop_unmatched=False, notes=(), pixel_size=None):
    """Assemble a data set from loaded images and, optionally, their matched properties.

    Parameters
    ----------
    images : dict of str to ndarray
        Sample name → image, as in :attr:`msdash.io.LoadResult.images` (whose ``kinds``, the samples whose
        kind the file decided, the data set keeps).
    report : MatchReport, optional
        The result of :func:`msdash.io.match_properties` for these names; ``None`` gives a data set
        without properties.
    name : str
        Label of the data set shown in the app.
    source : str
        Where the data came from ("upload", "folder", ...).
    drop_unmatched : bool
        Leave out the images that have no row in the table.
    notes : iterable of str
        Remarks kept with the data set (conversions made while reading, etc.).
    pixel_size : msdash.data.pixelsize.PixelSize, optional
        The pixel size the files state (:attr:`msdash.io.LoadResult.pixel_size`); kept with the set and
        said in its notes.

    Returns
    -------
    Dataset
    """
    if not images:
        raise InputError("No image could be read, so there is nothing to save. Check the messages above.")
    names = list(images)
    if report is None:
        properties = pd.DataFrame(index=pd.Index(names, name="name"))
        group = None
    else:
        if drop_unmatched:
            matched = set(report.matched)
            names = [n for n in names if n in matched]
            if not names:
                raise InputError("No image has a row in the table, so dropping unmatched images leaves nothing.")
        properties = report.properties.loc[names]
        group = report.group_column
    name = (name or "").strip() or "Untitled data set"
    kept = (Images({n: images.raw(n) for n in names}) if isinstance(images, Images)  # stays compact
            else {n: images[n] for n in names})
    notes = list(notes)
    if pixel_size is not None:
        from msdash.data.pixelsize import format_length

        notes.append(f"pixel size {format_length(pixel_size.um)} from the {pixel_size.source}")
    return Dataset(name=name, images=kept, properties=properties, group_column=group, source=source, notes=notes,
                   pixel_size_um=None if pixel_size is None else pixel_size.um,
                   kinds=getattr(images, "kinds", None) or {})  # what the files said their samples are


def with_properties(dataset, report, *, note=None):
    """The same data set with its property table replaced by a newly matched one (images untouched).

    Parameters
    ----------
    dataset : Dataset
        A saved set (its images are shared with the result, not copied).
    report : MatchReport
        :func:`msdash.io.match_properties` of ``dataset.names`` against the new table.
    note : str, optional
        Remark kept with the set (e.g. which file the table came from).

    Returns
    -------
    Dataset
        Same name, images, source; the new table and group column; formulas of derived columns are dropped
        with the old table.
    """
    if list(report.properties.index) != dataset.names:
        raise InputError("the table was matched to other images than this data set's; match it again")
    notes = list(dataset.notes) + ([note] if note else [])
    return dataset.with_table(report.properties, group_column=report.group_column, notes=notes)
