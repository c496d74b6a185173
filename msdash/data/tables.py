"""Read property tables (CSV, TSV, XLSX) and match their rows to image names.

Every cell is read as text so nothing is silently converted or dropped; numbers are parsed only when
rows are matched to images, and cells that are not numbers are reported rather than hidden. pandas and
openpyxl are imported inside the functions so that importing msdash stays fast.
"""

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from msdash.errors import InputError
# The one name-matching rule (re-exported here, where it has always been found).
from msdash.data.names import name_key, name_keys
from msdash.data.workbook import check_workbook_parts, first_rows, workbook_rows

__all__ = ["MISSING_MARKERS", "MatchReport", "is_missing", "match_properties", "name_key", "name_keys",
           "read_properties", "read_source"]

_TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
_EXCEL_EXTENSIONS = (".xlsx", ".xlsm")  # .xlsm: macros are never run (openpyxl reads cell values only)
_DELIMITERS = ",;\t"
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: Cells (casefolded, stripped) that mean "no value" in a numeric column; they become NaN and are not
#: reported as "not a number". Only numeric columns read them so: in a text column "NA" may be sodium.
MISSING_MARKERS = frozenset({
    "", "n/a", "na", "n.a.", "n.a", "n/a.", "#n/a", "nan", "none", "null", "nil", "-", "--", "---", "\u2014",
    "\u2013", "\u2212", "?", "??", "missing", "not available", "not measured", "n.d.", "nd", "/", ".", "x",
})


def read_properties(source, *, sheet=None, max_rows=None):
    """Read a property table with every cell as stripped text.

    Parameters
    ----------
    source : path, (name, bytes) pair or file-like
        A ``.csv``/``.tsv``/``.txt`` or ``.xlsx``/``.xlsm`` file; file-likes need ``.name`` and
        ``.getvalue()`` or ``.read()`` (Streamlit uploads work). Workbooks are read as values only:
        macros never run and external links are never followed.
    sheet : str, optional
        Worksheet of an XLSX file; default the first.
    max_rows : int, optional
        Stop after ``max_rows + 1`` non-empty rows below the header, so that a caller can tell a table
        longer than ``max_rows`` without reading all of it. Default: read every row.

    Returns
    -------
    pandas.DataFrame
        One row per table row, header names kept exactly (units included). ``df.attrs`` holds
        ``source``, ``delimiter`` and ``encoding`` (CSV; else None), ``sheet`` and ``sheets`` (XLSX;
        else None and []) and ``notes``, plain-English remarks for the user (a workbook's external
        links that were ignored). Blank headers of non-empty columns become ``"column N"`` (1-based);
        fully empty rows and unnamed empty columns are dropped.

    Raises
    ------
    InputError
        Empty or unreadable file, unknown sheet, no columns, a header but no rows, two columns with the
        same name (they are not renamed: which one is meant would be a guess), or a workbook over the
        limits (``MSDASH_MAX_XLSX_BYTES``, ``MSDASH_MAX_XLSX_PARTS``, ``MSDASH_MAX_ZIP_RATIO``).

    Examples
    --------
    >>> df = read_properties(("p.csv", "name;E [GPa]\\nA; 12,5\\n".encode()))
    >>> df.columns.tolist(), df.iloc[0].tolist(), df.attrs["delimiter"]
    (['name', 'E [GPa]'], ['A', '12,5'], ';')
    """
    name, data = read_source(source)
    extension = Path(name).suffix.lower()
    if not data:
        raise InputError(f"{name}: the file is empty (0 bytes)", name=name)
    attrs = {"source": name, "delimiter": None, "encoding": None, "sheet": None, "sheets": [], "notes": []}
    if extension == ".xls":
        raise InputError(f"{name}: old .xls workbooks are not read; save it as .xlsx or .csv", name=name)
    if extension in _EXCEL_EXTENSIONS:
        links = check_workbook_parts(data, name)
        if links:
            attrs["notes"].append(f"{name}: the workbook's {links} external {_plural(links, 'link')} "
                                  "(to other files) were ignored; only the values saved in this file are read")
        rows, attrs["sheet"], attrs["sheets"] = workbook_rows(data, name, sheet, max_rows)
    elif extension in _TEXT_EXTENSIONS:
        text, attrs["encoding"] = _decode(data)
        attrs["delimiter"] = _sniff_delimiter(text)
        rows = first_rows(_csv_rows(text, attrs["delimiter"], name), max_rows)
    else:
        raise InputError(
            f"{name}: unsupported table type '{extension}'; use .csv, .tsv, .txt, .xlsx or .xlsm", name=name
        )
    table = _to_frame(rows, name)
    table.attrs.update(attrs)
    return table


def read_source(source):
    """Return ``(file name, bytes)`` of a table (or feature table) given as a path, pair or upload.

    The one reader of both property tables and imported feature tables.

    Parameters
    ----------
    source : path, (name, bytes) pair, or file-like
        A file-like object has ``.getvalue()`` (Streamlit uploads) or ``.read()``; text is UTF-8 encoded.

    Returns
    -------
    name : str
        The file name without folders (``"sub/p.csv"`` gives ``"p.csv"``), as messages and feature-set
        names show it.
    data : bytes

    Raises
    ------
    InputError
        When a path cannot be read (the message names the file).

    Examples
    --------
    >>> read_source(("sub/p.csv", b"a,b"))
    ('p.csv', b'a,b')
    """
    if isinstance(source, tuple) and len(source) == 2:
        return _file_name(source[0]), bytes(source[1])
    if hasattr(source, "getvalue") or hasattr(source, "read"):
        data = source.getvalue() if hasattr(source, "getvalue") else source.read()
        return _file_name(getattr(source, "name", "table")), data.encode() if isinstance(data, str) else bytes(data)
    path = Path(source)
    try:
        return path.name, path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path.name}: could not be opened ({exc.strerror or exc})", name=path.name) from None


def _file_name(name):
    return Path(str(name).replace("\\", "/")).name


def _decode(data):
    """Return ``(text, encoding)``: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252/latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"  # every byte is valid latin-1


def _sniff_delimiter(text):
    """Return ``","``, ``";"`` or tab, as csv.Sniffer sees it, checked against the header line."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in _DELIMITERS}
    try:
        found = csv.Sniffer().sniff(text[:65536], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        found = None
    # The sniffer can be misled by decimal commas; the header has no numbers, so trust it when they disagree.
    if found is None or (counts.get(found, 0) == 0 and max(counts.values()) > 0):
        found = max(_DELIMITERS, key=lambda d: counts[d]) if max(counts.values()) > 0 else ","
    return found


def _csv_rows(text, delimiter, name):
    """A lazy reader of the rows of a text table; a malformed table raises InputError when reached."""
    try:
        yield from csv.reader(io.StringIO(text), delimiter=delimiter)
    except csv.Error as exc:
        raise InputError(f"{name}: could not be read as a table ({exc}); save it again as a comma, "
                         "semicolon or tab separated text file", name=name) from None


def _to_frame(rows, name):
    """Build the all-text DataFrame from raw rows, checking header and size."""
    import pandas as pd

    rows = [[cell.strip() for cell in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        raise InputError(f"{name}: the table has no columns (the file holds no data)", name=name)
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    header, body = rows[0], rows[1:]
    keep = [i for i in range(width) if header[i] or any(row[i] for row in body)]
    header = [header[i] or f"column {i + 1}" for i in keep]
    seen = set()
    for column in header:
        if column in seen:
            raise InputError(
                f"{name}: two columns are named '{column}'; rename one of them so each header is unique",
                name=name,
            )
        seen.add(column)
    if not body:
        raise InputError(f"{name}: the table has a header but no rows", name=name)
    return pd.DataFrame([[row[i] for i in keep] for row in body], columns=header, dtype="str")


@dataclass
class MatchReport:
    """How the rows of a property table matched a set of images.

    Attributes
    ----------
    matched : list of str
        Image names with a usable row (the first one when the name is duplicated), in ``names`` order.
    missing_rows : list of str
        Image names without a row.
    unmatched_rows : list of str
        Names in the table without an image, as written in the table.
    duplicates : list of str
        Names occurring more than once in the table (the first row is used), and
        ``"(empty name in row N)"`` for rows without a name (row 1 is the header).
    non_numeric : dict of str to list of (str, str)
        Numeric column → ``(table name, raw cell)`` of cells that are not numbers, or numbers too large
        for a float (``1e999``, which would be infinite); they became NaN. Missing-value markers
        (:data:`MISSING_MARKERS`: ``N/a``, ``-``, ``—``, empty, …) are not listed here.
    missing_markers : dict of str to int
        Numeric column → number of cells written as a missing-value marker other than an empty cell
        (``N/a``, ``-``, …); they became NaN.
    properties : pandas.DataFrame
        Indexed by every image name (``index.name == "sample"``); numeric columns float64, text and
        group columns ``str``; images without a row are NaN. The name column is excluded.
    numeric_columns, text_columns : list of str
        Columns of ``properties`` by kind (the group column is in neither).
    group_column : str or None
        The column giving each sample's group, if any.
    """

    matched: list = field(default_factory=list)
    missing_rows: list = field(default_factory=list)
    unmatched_rows: list = field(default_factory=list)
    duplicates: list = field(default_factory=list)
    non_numeric: dict = field(default_factory=dict)
    missing_markers: dict = field(default_factory=dict)
    properties: object = None
    numeric_columns: list = field(default_factory=list)
    text_columns: list = field(default_factory=list)
    group_column: str = None

    def summary(self):
        """Return a one-line plain-English account of the match."""
        total = len(self.matched) + len(self.missing_rows)
        bad_cells = sum(len(cells) for cells in self.non_numeric.values())
        parts = [f"{len(self.matched)} of {total} {_plural(total, 'image')} matched"]
        if self.missing_rows:
            parts.append(f"{len(self.missing_rows)} {_plural(len(self.missing_rows), 'image')} without a row")
        if self.unmatched_rows:
            parts.append(f"{len(self.unmatched_rows)} {_plural(len(self.unmatched_rows), 'row')} without an image")
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} duplicate or empty {_plural(len(self.duplicates), 'name')} "
                         "(first row used)")
        if bad_cells:
            parts.append(f"{bad_cells} {_plural(bad_cells, 'cell')} not a number (left empty)")
        marked = sum(self.missing_markers.values())
        if marked:
            parts.append(f"{marked} {_plural(marked, 'cell')} marked as missing (N/a, -, …)")
        return "; ".join(parts)


def _plural(count, word):
    return word if count == 1 else word + "s"


def match_properties(names, table, *, name_column, group_column=None):
    """Match image names to the rows of a property table and parse its numeric columns.

    Parameters
    ----------
    names : iterable of str
        Image (sample) names, e.g. the keys of :attr:`msdash.io.LoadResult.images`.
    table : pandas.DataFrame
        As returned by :func:`read_properties`.
    name_column : str
        Column holding the image names. Matching ignores case, surrounding spaces and a trailing image
        extension (``"Img_01.PNG"`` matches image ``"img_01"``).
    group_column : str, optional
        Column giving each sample's group (kept as text).

    Returns
    -------
    MatchReport
        A column is numeric when it holds a number and at least half of its cells that are neither empty
        nor a missing-value marker (:data:`MISSING_MARKERS`: ``N/a``, ``NA``, ``-``, ``—``, ``?``, …) are
        numbers, so a sparse column (28 numbers, 121 ``N/a``) stays numeric. Markers become NaN silently
        (counted in ``missing_markers``); other cells are reported in ``non_numeric`` and become NaN, as
        do numbers that overflow to infinity. Decimal commas are read when the table's delimiter was ``";"``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"file": ["A.png", "b", "d"], "HV": ["200", "n/a", "12 HV"]})
    >>> report = match_properties(["a", "c"], table, name_column="file")
    >>> report.matched, report.missing_rows, report.unmatched_rows, report.non_numeric
    (['a'], ['c'], ['b', 'd'], {'HV': [('d', '12 HV')]})
    >>> report.properties.loc["a", "HV"]
    np.float64(200.0)
    """
    import numpy as np
    import pandas as pd

    columns = [str(c) for c in table.columns]
    for argument, column in (("name_column", name_column), ("group_column", group_column)):
        if column is not None and column not in table.columns:
            raise InputError(
                f"the table has no column '{column}' (`{argument}`); its columns are: {', '.join(columns)}",
                name=column,
            )
    names = list(names)
    cells = {c: [_as_text(v) for v in table[c]] for c in table.columns}
    table_names = cells[name_column]
    first_row, duplicates = {}, []
    for row, raw in enumerate(table_names):
        key = name_key(raw)
        if not key:
            duplicates.append(f"(empty name in row {row + 2})")
        elif key in first_row:
            if raw not in duplicates and table_names[first_row[key]] not in duplicates:
                duplicates.append(table_names[first_row[key]])
        else:
            first_row[key] = row
    image_keys = {name_key(n) for n in names}
    rows = [first_row.get(name_key(n)) for n in names]
    report = MatchReport(
        matched=[n for n, r in zip(names, rows) if r is not None],
        missing_rows=[n for n, r in zip(names, rows) if r is None],
        unmatched_rows=[table_names[r] for key, r in first_row.items() if key not in image_keys],
        duplicates=duplicates,
        group_column=group_column,
    )
    decimal_comma = table.attrs.get("delimiter") == ";"
    properties = pd.DataFrame(index=pd.Index(names, name="sample"))
    for column in table.columns:
        if column == name_column:
            continue
        values = cells[column]
        parsed = [_parse_number(v, decimal_comma) for v in values]
        missing = [is_missing(v) for v in values]
        filled = sum(1 for m in missing if not m)
        numbers = sum(1 for m, p in zip(missing, parsed) if not m and p is not None)
        if column != group_column and numbers and numbers * 2 >= filled:
            report.numeric_columns.append(column)
            # 1e999 parses as a number but overflows to inf: reported and left empty like any other bad cell.
            usable = [p is not None and math.isfinite(p) for p in parsed]
            bad = [(table_names[i], v) for i, (v, ok, m) in enumerate(zip(values, usable, missing)) if not (ok or m)]
            if bad:
                report.non_numeric[column] = bad
            marked = sum(1 for v, m in zip(values, missing) if m and v)
            if marked:
                report.missing_markers[column] = marked
            properties[column] = np.array(
                [parsed[r] if r is not None and usable[r] else np.nan for r in rows], dtype=np.float64
            )
        else:
            if column != group_column:
                report.text_columns.append(column)
            properties[column] = pd.Series(
                [np.nan if r is None else values[r] for r in rows], index=properties.index, dtype="str"
            )
    report.properties = properties
    return report


def _as_text(value):
    """Return a cell as stripped text; missing values (None, NaN) become ``""``."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def is_missing(cell):
    """True when a table cell means "no value": empty, or a marker of :data:`MISSING_MARKERS`.

    >>> [is_missing(c) for c in ["N/a", " — ", "", "?", "12", "12 HV"]]
    [True, True, True, True, False, False]
    """
    return _as_text(cell).casefold() in MISSING_MARKERS


def _parse_number(text, decimal_comma):
    """Return ``text`` as a float, or None when it is empty or not a plain number."""
    text = text.strip()
    if decimal_comma and "," in text and "." not in text:
        text = text.replace(",", ".")
    if _NUMBER.fullmatch(text):
        return float(text)
    return None
