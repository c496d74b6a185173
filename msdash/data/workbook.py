"""Excel workbooks (.xlsx, .xlsm) read as rows of text, checked before openpyxl inflates a part.

An XLSX file is a zip archive of XML parts: its parts are counted and their sizes and compression ratios
checked from the zip directory first (``MSDASH_MAX_XLSX_PARTS``, ``MSDASH_MAX_XLSX_BYTES``,
``MSDASH_MAX_ZIP_RATIO``); external links are never followed (``keep_links=False``). Macros of .xlsm files
are never run: openpyxl reads cell values only.
"""

import io
import itertools
import re

from msdash import config
from msdash.errors import InputError

_EXCEL_MAX_ROWS = 1_048_576


def first_rows(rows, max_rows):
    """All rows, or the first ``max_rows + 2`` non-empty ones (the header, ``max_rows`` rows and one more)."""
    if max_rows is None:
        return rows
    return itertools.islice((row for row in rows if any(str(cell).strip() for cell in row)), max_rows + 2)


def _unreadable_workbook(name, reason):
    return InputError(f"{name}: could not be read as an Excel workbook ({reason}); the file may be damaged "
                      "or not .xlsx: open it in Excel or LibreOffice and save it again as .xlsx, or as .csv",
                      name=name)


def check_workbook_parts(data, name):
    """Refuse a workbook whose parts would inflate past the limits; return its number of external links.

    An XLSX file is a zip archive: its parts are checked from the zip directory before any is inflated.
    """
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise _unreadable_workbook(name, exc) from None
    if len(parts) > config.max_xlsx_parts():
        raise InputError(f"{name}: the workbook has {len(parts):,} parts, over the limit of "
                         f"{config.max_xlsx_parts():,} (MSDASH_MAX_XLSX_PARTS); save it again as .csv", name=name)
    inflated = sum(part.file_size for part in parts)
    if inflated > config.max_xlsx_bytes():
        raise InputError(f"{name}: the workbook unpacks to {inflated:,} bytes, over the limit of "
                         f"{config.max_xlsx_bytes():,} (MSDASH_MAX_XLSX_BYTES); save only the needed sheet "
                         "and columns, or save it as .csv", name=name)
    for part in parts:
        if part.file_size > config.MAX_ZIP_RATIO * max(part.compress_size, 1):
            raise InputError(f"{name}: the workbook part {part.filename} has a compression ratio of "
                             f"{part.file_size / max(part.compress_size, 1):,.0f}:1, over the limit of "
                             f"{config.MAX_ZIP_RATIO}:1 (possible zip bomb); save it again as .csv", name=name)
    return sum(1 for part in parts if re.fullmatch(r"xl/externalLinks/[^/]+\.xml", part.filename, re.IGNORECASE))


def workbook_rows(data, name, sheet, max_rows=None):
    """Return ``(rows as lists of str, sheet name, all sheet names)`` of an XLSX workbook."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # BadZipFile, InvalidFileException, KeyError on a damaged workbook
        raise _unreadable_workbook(name, exc) from None
    try:
        sheets = list(book.sheetnames)
        chosen = sheets[0] if sheet is None else sheet
        if chosen not in sheets:
            raise InputError(
                f"{name}: has no sheet '{sheet}'; its sheets are: {', '.join(sheets)}", name=name
            )
        worksheet = book[chosen]
        # The declared size pads every row to its width; a tiny file can declare 16 384 columns.
        worksheet.reset_dimensions()
        rows = list(first_rows(_sheet_rows(worksheet, name), max_rows))
    except InputError:
        raise
    except Exception as exc:  # damaged sheet XML, a shared string that does not exist, ...
        raise _unreadable_workbook(name, exc) from None
    finally:
        book.close()
    return rows, chosen, sheets


def _sheet_rows(worksheet, name):
    """Rows of a read-only worksheet as text; refuses a sheet with more rows or cells than it could hold."""
    max_cells = config.max_xlsx_bytes() // 16  # a cell takes at least ~16 bytes of sheet XML
    cells = 0
    for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
        cells += len(row)
        if number > _EXCEL_MAX_ROWS or cells > max_cells:
            raise InputError(f"{name}: the sheet '{worksheet.title}' declares more rows or cells than a workbook "
                             f"within the limits holds (MSDASH_MAX_XLSX_BYTES); save it again as .csv", name=name)
        yield [_cell_text(v) for v in row]


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
