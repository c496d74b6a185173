"""Hostile tables: feature imports (Parquet, CSV, XLSX, NPY) and property workbooks, built here, refused by name.

Every refusal is an InputError naming the file; "refused before reading" is checked by the memory the
refusal took (tracemalloc for Python and numpy, the Arrow memory pool for Parquet), never by timing.
"""

import io
import struct
import tracemalloc
import zipfile

import numpy as np
import pandas as pd
import pytest

from msdash import config
from msdash.errors import InputError
from msdash.features.imported import feature_table_columns, import_features
from msdash.io import match_properties, read_properties

NAMES = ["img_a", "img_b", "img_c"]
MB = 1024**2


def _parquet(table):
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _fifty_million_rows():
    """A ~350 kB Parquet file of 50 M rows: one dictionary-coded name and one constant feature, 50 row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 1_000_000
    block = pa.table({"name": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array(["img_a"])),
                      "f0": pa.array(np.zeros(n))})
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, block.schema) as writer:
        for _ in range(50):
            writer.write_table(block)
    return buffer.getvalue()


def _refusal_memory(call):
    """Run ``call`` (expected to raise InputError); return (error, Python peak bytes, Arrow pool growth bytes)."""
    import pyarrow as pa

    pool = pa.default_memory_pool()
    arrow_before = pool.max_memory()
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as caught:
            call()
        python_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return caught.value, python_peak, pool.max_memory() - arrow_before


class TestParquetImport:
    def test_fifty_million_rows_refused_from_the_footer(self):
        data = _fifty_million_rows()
        assert len(data) < MB  # the file is small; only its rows are many
        error, python_peak, arrow_growth = _refusal_memory(lambda: import_features(("big.parquet", data), NAMES))
        message = str(error)
        assert message.startswith("big.parquet: 50,000,000 rows for a data set of 3 samples")
        assert "one row per sample" in message
        # Reading the values would take 400 MB (floats) plus the names; the refusal takes next to nothing.
        assert python_peak < 20 * MB and arrow_growth < 20 * MB

    def test_a_table_within_the_row_bound_still_imports(self):
        import pyarrow as pa

        names = [f"s{i}" for i in range(10)]
        rows = [f"s{i % 10}" for i in range(1010)]  # 10 samples: up to max(20, 1010) rows are read
        table = import_features(("ok.parquet", _parquet(pa.table({"name": rows, "f": np.arange(1010.0)}))), names)
        assert table.values[:, 0].tolist() == list(range(10)) and table.provenance["duplicate_rows"] == 1000

    def test_one_row_too_many_is_refused(self):
        import pyarrow as pa

        data = _parquet(pa.table({"name": [f"s{i}" for i in range(1004)], "f": np.zeros(1004)}))
        with pytest.raises(InputError, match=r"^t.parquet: 1,004 rows for a data set of 3 samples"):
            import_features(("t.parquet", data), NAMES)

    @pytest.mark.parametrize("data", [b"", b"PAR1", np.random.default_rng(0).bytes(4096),
                                      b"PAR1" + bytes(100) + b"PAR1"])
    def test_garbage_is_an_input_error_naming_the_file(self, data):
        with pytest.raises(InputError) as caught:
            import_features(("junk.parquet", data), NAMES)
        message = str(caught.value)
        assert message.startswith("junk.parquet: not a readable Parquet file") and "export the table again" in message

    def test_column_chunks_in_other_files_are_refused(self, tmp_path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        secret = tmp_path / "secret.parquet"
        pq.write_table(pa.table({"name": NAMES, "f": [7.0, 8.0, 9.0]}), secret)
        data = _parquet(pa.table({"name": NAMES, "f": [1.0, 2.0, 3.0]}))
        footer_length = struct.unpack("<I", data[-8:-4])[0]
        metadata = pq.ParquetFile(pa.BufferReader(data)).metadata
        metadata.set_file_path(str(secret))  # every column chunk now says its bytes live in secret.parquet
        footer = io.BytesIO()
        metadata.write_metadata_file(footer)
        hostile = data[:-(8 + footer_length)] + footer.getvalue()[4:]
        assert pq.ParquetFile(pa.BufferReader(hostile)).metadata.row_group(0).column(0).file_path == str(secret)
        with pytest.raises(InputError, match=r"^linked.parquet: the Parquet file refers to data kept in other files"):
            import_features(("linked.parquet", hostile), NAMES)

    def test_nested_columns_are_refused_before_reading(self):
        import pyarrow as pa

        data = _parquet(pa.table({"name": NAMES, "emb": pa.array([[1.0, 2.0]] * 3)}))
        with pytest.raises(InputError, match=r"^e.parquet: columns must hold numbers .*emb \(list<"):
            import_features(("e.parquet", data), NAMES)

    def test_a_long_text_repeated_on_every_row_is_measured_before_it_is_expanded(self, monkeypatch):
        import pyarrow as pa

        monkeypatch.setenv("MSDASH_MAX_IMPORT_BYTES", str(200 * MB))
        names = [f"s{i}" for i in range(1000)]
        text = pa.DictionaryArray.from_arrays(pa.array(np.zeros(2000, np.int32)), pa.array(["x" * MB]))
        data = _parquet(pa.table({"name": names * 2, "note": text, "f": np.zeros(2000)}))
        assert len(data) < MB  # 2000 rows × 1 MB of text = 2 GB once expanded
        error, python_peak, arrow_growth = _refusal_memory(lambda: import_features(("t.parquet", data), names))
        assert str(error).startswith("t.parquet: 2,000 rows × 3 columns would take 2,097 MB, over the import limit")
        assert python_peak < 50 * MB and arrow_growth < 50 * MB

    def test_infinite_values_are_refused(self):
        import pyarrow as pa

        data = _parquet(pa.table({"name": NAMES, "f": [1.0, np.inf, -np.inf]}))
        with pytest.raises(InputError, match=r"^i.parquet: .*finite.*img_b/f: inf; img_c/f: -inf"):
            import_features(("i.parquet", data), NAMES)


class TestTextAndNpyImport:
    def test_too_many_csv_rows_stop_the_reading(self):
        # Past the bound comes a field over the csv module's size limit: reading it would fail differently.
        rows = "".join(f"s{i},1\n" for i in range(1010)) + "late," + "9" * 200_000 + "\n"
        with pytest.raises(InputError, match=r"^long.csv: more than 1,003 rows for a data set of 3 samples"):
            import_features(("long.csv", f"name,f\n{rows}".encode()), NAMES)

    def test_malformed_csv_names_the_file_and_what_to_do(self):
        data = b"name,f\nimg_a," + b"9" * 200_000 + b"\n"
        with pytest.raises(InputError, match=r"^bad.csv: could not be read as a table .*save it again as a comma"):
            import_features(("bad.csv", data), NAMES)

    def test_values_over_the_byte_limit_are_refused(self, monkeypatch):
        monkeypatch.setenv("MSDASH_MAX_IMPORT_BYTES", "1000")
        header = "name," + ",".join(f"f{j}" for j in range(100))
        rows = "".join(f"{n}," + ",".join("1" * 100) + "\n" for n in NAMES)
        with pytest.raises(InputError, match=r"^wide.csv: 3 rows × 101 columns .*MSDASH_MAX_IMPORT_BYTES"):
            import_features(("wide.csv", f"{header}\n{rows}".encode()), NAMES)

    def test_1e999_in_a_feature_csv_is_refused(self):
        with pytest.raises(InputError, match=r"^e.csv: feature cells must be finite .*img_b/f: inf"):
            import_features(("e.csv", b"name,f\nimg_a,1\nimg_b,1e999\nimg_c,3\n"), NAMES)

    @staticmethod
    def _npy_header(shape, descr="<f8"):
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
        return buffer.getvalue() + bytes(64)  # the header promises far more than follows

    @pytest.mark.parametrize("shape, words", [((3, 10**10), "would take 240,000 MB, over the import limit"),
                                              ((10**9, 4), "1000000000 rows for 3 samples")])
    def test_npy_is_refused_from_its_header(self, shape, words):
        error, python_peak, _ = _refusal_memory(lambda: import_features(("h.npy", self._npy_header(shape)), NAMES))
        assert str(error).startswith("h.npy: ") and words in str(error)
        assert python_peak < 5 * MB

    def test_npy_garbage_says_what_to_do(self):
        with pytest.raises(InputError, match=r"^g.npy: not a readable NPY array .*numpy.save"):
            import_features(("g.npy", b"\x93NUMPY garbage"), NAMES)


class TestFeatureTableColumns:
    def test_csv_columns_come_from_the_header_alone(self):
        # A malformed third row is never reached: listing the columns reads the header and one row.
        data = b"name,e0\nimg_a,1\nimg_b," + b"9" * 200_000 + b"\n"
        assert feature_table_columns(("e.csv", data)) == ["name", "e0"]
        with pytest.raises(InputError, match="^e.csv: could not be read as a table"):
            import_features(("e.csv", data), NAMES)

    def test_parquet_columns_come_from_the_footer(self):
        frame = pd.DataFrame({"f": [1.0, 2.0]}, index=pd.Index(["img_a", "img_b"], name="sample"))
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        assert feature_table_columns(("e.parquet", buffer.getvalue())) == ["f"]
        assert feature_table_columns(("big.parquet", _fifty_million_rows())) == ["name", "f0"]
        assert feature_table_columns(("e.npy", b"")) == []
        with pytest.raises(InputError, match="^junk.parquet: not a readable Parquet file .*export the table again"):
            feature_table_columns(("junk.parquet", b"not parquet"))


def _workbook(rows=(("name", "HV"), ("a", 200), ("b", 12.5)), links=False):
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(list(row))
    if links:
        from openpyxl.packaging.relationship import Relationship
        from openpyxl.workbook.external_link.external import ExternalBook, ExternalLink

        link = ExternalLink(externalBook=ExternalBook())
        link.file_link = Relationship(type="externalLinkPath", Target="file:///etc/passwd", TargetMode="External")
        book._external_links.append(link)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rezip(data, *, replace=None, add=None):
    """Rewrite an XLSX archive, replacing parts' text (``{part: (old, new)}``) and adding ``{part: bytes}``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if replace and info.filename in replace:
                old, new = replace[info.filename]
                assert old in content
                content = content.replace(old, new)
            target.writestr(info.filename, content)
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


class TestWorkbooks:
    def test_a_part_with_a_bomb_ratio_is_refused(self, monkeypatch):
        monkeypatch.setattr(config, "MAX_ZIP_RATIO", 50)
        data = _rezip(_workbook(), add={"xl/media/image1.png": bytes(MB)})
        with pytest.raises(InputError, match=r"^p.xlsx: the workbook part xl/media/image1.png .*ratio .*zip bomb"):
            read_properties(("p.xlsx", data))

    def test_a_workbook_unpacking_past_the_limit_is_refused(self, monkeypatch):
        monkeypatch.setenv("MSDASH_MAX_XLSX_BYTES", str(MB))
        data = _rezip(_workbook(), add={"xl/media/image1.png": np.random.default_rng(1).bytes(2 * MB)})
        with pytest.raises(InputError, match=r"^p.xlsx: the workbook unpacks to .*\(MSDASH_MAX_XLSX_BYTES\)"):
            read_properties(("p.xlsx", data))
        # The same guard protects feature imports, which read workbooks the same way.
        with pytest.raises(InputError, match=r"^f.xlsx: the workbook unpacks to"):
            import_features(("f.xlsx", data), NAMES)

    def test_too_many_parts_are_refused(self, monkeypatch):
        monkeypatch.setenv("MSDASH_MAX_XLSX_PARTS", "20")
        data = _rezip(_workbook(), add={f"xl/media/image{i}.png": b"x" for i in range(20)})
        with pytest.raises(InputError, match=r"^p.xlsx: the workbook has 29 parts, over the limit of 20"):
            read_properties(("p.xlsx", data))

    def test_a_declared_huge_sheet_is_not_padded(self, monkeypatch):
        # Cell budget = MSDASH_MAX_XLSX_BYTES / 16 = 4000 cells; padding 3 rows to 16 384 columns would pass it.
        monkeypatch.setenv("MSDASH_MAX_XLSX_BYTES", "64000")
        sheet = "xl/worksheets/sheet1.xml"
        data = _rezip(_workbook(), replace={sheet: (b'<dimension ref="A1:B3" />', b'<dimension ref="A1:XFD3" />')})
        table = read_properties(("p.xlsx", data))
        assert list(table.columns) == ["name", "HV"] and table["HV"].tolist() == ["200", "12.5"]

    def test_a_sheet_with_more_rows_than_excel_is_refused(self):
        sheet = "xl/worksheets/sheet1.xml"
        far = b'<row r="1048577"><c r="A1048577" t="n"><v>1</v></c></row></sheetData>'
        data = _rezip(_workbook(), replace={sheet: (b"</sheetData>", far)})
        with pytest.raises(InputError, match=r"^p.xlsx: the sheet 'Sheet' declares more rows or cells"):
            read_properties(("p.xlsx", data))

    def test_a_damaged_sheet_names_the_file(self):
        data = _rezip(_workbook(), replace={"xl/worksheets/sheet1.xml": (b"</sheetData>", b"</sheetDat")})
        with pytest.raises(InputError, match=r"^p.xlsx: could not be read as an Excel workbook .*save it again"):
            read_properties(("p.xlsx", data))

    def test_external_links_are_ignored_and_reported(self):
        data = _workbook(links=True)
        assert "xl/externalLinks/externalLink1.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
        table = read_properties(("linked.xlsx", data))
        assert table["HV"].tolist() == ["200", "12.5"]
        assert table.attrs["notes"] == ["linked.xlsx: the workbook's 1 external link (to other files) were ignored; "
                                        "only the values saved in this file are read"]
        assert read_properties(("plain.xlsx", _workbook())).attrs["notes"] == []
        features = import_features(("linked.xlsx", _workbook([("name", "e0"), ("img_a", 1)], links=True)), NAMES)
        assert len(features.provenance["notes"]) == 1 and "external link" in features.provenance["notes"][0]

    def test_macro_enabled_workbooks_are_read_as_data(self):
        macro_type = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
        data = _rezip(_workbook(), add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 not run"},
                      replace={"[Content_Types].xml": (
                          b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", macro_type)})
        table = read_properties(("p.xlsm", data))
        assert table["HV"].tolist() == ["200", "12.5"] and table.attrs["sheet"] == "Sheet"


class TestNonFiniteProperties:
    def test_1e999_is_reported_and_left_empty(self):
        table = read_properties(("p.csv", b"name,HV\na,1e999\nb,-1E999\nc,12\n"))
        report = match_properties(["a", "b", "c"], table, name_column="name")
        assert report.numeric_columns == ["HV"]
        assert report.non_numeric == {"HV": [("a", "1e999"), ("b", "-1E999")]}
        assert np.isnan(report.properties.loc["a", "HV"]) and np.isnan(report.properties.loc["b", "HV"])
        assert np.isfinite(report.properties["HV"].dropna()).all() and report.properties.loc["c", "HV"] == 12
        assert "2 cells not a number" in report.summary()

    def test_overflowing_xlsx_numbers_are_reported(self):
        data = _rezip(_workbook(), replace={"xl/worksheets/sheet1.xml": (b"<v>200</v>", b"<v>1e999</v>")})
        report = match_properties(["a", "b"], read_properties(("p.xlsx", data)), name_column="name")
        assert report.non_numeric == {"HV": [("a", "inf")]} and np.isnan(report.properties.loc["a", "HV"])


def test_vectorised_name_keys_agree_with_the_single_name_rule():
    from msdash.data.tables import name_key as _name_key, name_keys as _name_keys

    cells = pd.Series([" Img_01.PNG ", "a.tif", "a.tiff", "b .jpeg", "x.png.png", "Straße", None, np.nan, 3, 2.5,
                       "", ".npy", "name.txt"], dtype=object)
    assert _name_keys(cells).tolist() == [_name_key(v) for v in cells]
    assert _name_keys(cells).tolist()[:6] == ["img_01", "a", "a", "b", "x.png", "strasse"]
