"""Tests of msdash.data.tables (read_properties, match_properties), reached through msdash.io as the app does."""

import io

import numpy as np
import pandas as pd
import pytest

from msdash.errors import InputError
from msdash.io import MatchReport, match_properties, read_properties


def xlsx(sheets):
    """Write ``{sheet name: rows}`` as XLSX bytes with openpyxl."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


CSV = "name,Hardness (HV),E [GPa],paper\nimg_01,200,210.5,Smith 2020\nimg_02,250,190,Lee 2021\n"


class TestReadProperties:
    @pytest.mark.parametrize("delimiter", [",", ";", "\t"])
    def test_delimiters_sniffed(self, delimiter):
        text = CSV.replace(",", delimiter)
        table = read_properties(("p.csv", text.encode()))
        assert table.attrs["delimiter"] == delimiter
        assert list(table.columns) == ["name", "Hardness (HV)", "E [GPa]", "paper"]
        assert table.iloc[0].tolist() == ["img_01", "200", "210.5", "Smith 2020"]
        assert table.attrs["source"] == "p.csv" and table.attrs["sheet"] is None

    def test_semicolon_with_decimal_commas(self):
        text = "name;E [GPa];HV\na;12,5;200\nb;13,25;210\n"
        table = read_properties(("p.csv", text.encode()))
        assert table.attrs["delimiter"] == ";"
        assert table["E [GPa]"].tolist() == ["12,5", "13,25"]

    def test_all_cells_are_stripped_text(self):
        text = "name , HV\n 007 , 0012 \nNA,\n"
        table = read_properties(("p.tsv", text.encode()))
        assert list(table.columns) == ["name", "HV"]
        assert table["name"].tolist() == ["007", "NA"]  # no leading zeros lost, "NA" not turned into NaN
        assert table["HV"].tolist() == ["0012", ""]

    def test_utf8_bom(self):
        table = read_properties(("p.csv", "\ufeffname,Härte (HV)\nMüller,200\n".encode("utf-8")))
        assert list(table.columns) == ["name", "Härte (HV)"]
        assert table.attrs["encoding"] == "utf-8-sig"

    def test_latin1(self):
        table = read_properties(("p.csv", "name;Härte (HV)\nMüller;200\n".encode("latin-1")))
        assert list(table.columns) == ["name", "Härte (HV)"]
        assert table["name"].tolist() == ["Müller"]
        assert table.attrs["encoding"] in ("cp1252", "latin-1")

    def test_path_and_file_like(self, tmp_path):
        path = tmp_path / "p.txt"
        path.write_text(CSV)
        assert len(read_properties(path)) == 2

        class Upload(io.BytesIO):
            name = "up.csv"

        table = read_properties(Upload(CSV.encode()))
        assert len(table) == 2 and table.attrs["source"] == "up.csv"

    def test_xlsx_sheets(self):
        data = xlsx({"first": [["name", "HV"], ["a", 200], ["b", 12.5]],
                     "second": [["sample", "E [GPa]"], ["c", 1]]})
        table = read_properties(("p.xlsx", data))
        assert table.attrs["sheet"] == "first" and table.attrs["sheets"] == ["first", "second"]
        assert table["HV"].tolist() == ["200", "12.5"]
        second = read_properties(("p.xlsx", data), sheet="second")
        assert list(second.columns) == ["sample", "E [GPa]"] and second.attrs["sheet"] == "second"
        with pytest.raises(InputError, match="no sheet 'third'.*first, second"):
            read_properties(("p.xlsx", data), sheet="third")

    @pytest.mark.parametrize("name, data, words", [
        ("p.csv", b"", "empty (0 bytes)"),
        ("p.csv", b"\n  \n", "no columns"),
        ("p.csv", b"name,HV\n", "has a header but no rows"),
        ("p.xlsx", b"", "empty (0 bytes)"),
        ("p.xls", b"\xd0\xcf\x11\xe0", "save it as .xlsx or .csv"),
        ("p.xlsx", b"PK\x03\x04not a workbook", "could not be read as an Excel workbook"),
        ("p.json", b"{}", "unsupported table type"),
        ("p.csv", b"name,HV,name\na,1,b\n", "two columns are named 'name'"),
    ])
    def test_bad_tables(self, name, data, words):
        with pytest.raises(InputError) as caught:
            read_properties((name, data))
        assert words in str(caught.value) and name in str(caught.value)

    def test_xlsx_header_only(self):
        with pytest.raises(InputError, match="header but no rows"):
            read_properties(("p.xlsx", xlsx({"s": [["name", "HV"]]})))

    def test_missing_path(self, tmp_path):
        with pytest.raises(InputError, match="nope.csv"):
            read_properties(tmp_path / "nope.csv")

    def test_blank_header_named_and_empty_columns_dropped(self):
        table = read_properties(("p.csv", b"name,,HV,\na,x,1,\n"))
        assert list(table.columns) == ["name", "column 2", "HV"]


def _table(text, name="p.csv"):
    return read_properties((name, text.encode()))


class TestMatchProperties:
    def test_matching_case_and_extension_insensitive(self):
        table = _table("file,HV\n IMG_01.PNG ,200\nimg_02.tif,210\nimg_03,220\n")
        report = match_properties(["img_01", "Img_02", "img_03"], table, name_column="file")
        assert report.matched == ["img_01", "Img_02", "img_03"]
        assert report.missing_rows == [] and report.unmatched_rows == []
        assert report.properties["HV"].tolist() == [200.0, 210.0, 220.0]
        assert list(report.properties.index) == ["img_01", "Img_02", "img_03"]
        assert "file" not in report.properties.columns

    def test_missing_and_unmatched(self):
        table = _table("name,HV\na,1\nb,2\nOrphan.png,3\n")
        report = match_properties(["a", "b", "c"], table, name_column="name")
        assert report.matched == ["a", "b"]
        assert report.missing_rows == ["c"]
        assert report.unmatched_rows == ["Orphan.png"]
        assert np.isnan(report.properties.loc["c", "HV"])
        assert report.summary() == "2 of 3 images matched; 1 image without a row; 1 row without an image"

    def test_names_matching_nothing(self):
        report = match_properties(["x", "y"], _table("name,HV\na,1\n"), name_column="name")
        assert report.matched == [] and report.missing_rows == ["x", "y"] and report.unmatched_rows == ["a"]
        assert report.properties["HV"].isna().all()

    def test_duplicates_first_row_used(self):
        table = _table("name,HV\na,1\nA.png,2\n,3\nb,4\n")
        report = match_properties(["a", "b"], table, name_column="name")
        assert report.matched == ["a", "b"]
        assert report.duplicates == ["a", "(empty name in row 4)"]
        assert report.properties.loc["a", "HV"] == 1.0
        assert "first row used" in report.summary()

    def test_non_numeric_cells_reported(self):
        table = _table("name,Hardness (HV),paper\na,200,Smith\nb,n/a,Lee\nc,12 HV,Lee\nd,,Kim\ne,210,Kim\n")
        report = match_properties(list("abcde"), table, name_column="name")
        assert report.numeric_columns == ["Hardness (HV)"]
        assert report.text_columns == ["paper"]
        # "n/a" is a missing-value marker (issue 17), not a bad cell; "12 HV" is genuinely not a number.
        assert report.non_numeric == {"Hardness (HV)": [("c", "12 HV")]}
        assert report.missing_markers == {"Hardness (HV)": 1}
        values = report.properties["Hardness (HV)"]
        assert values.dtype == np.float64
        assert values["a"] == 200 and np.isnan(values["b"]) and np.isnan(values["d"])
        assert report.properties["paper"].tolist() == ["Smith", "Lee", "Lee", "Kim", "Kim"]
        assert "1 cell not a number" in report.summary() and "1 cell marked as missing" in report.summary()

    def test_mostly_text_column_is_text(self):
        report = match_properties(["a", "b", "c"], _table("name,phase\na,ferrite\nb,3\nc,pearlite\n"),
                                  name_column="name")
        assert report.text_columns == ["phase"] and report.non_numeric == {}

    def test_decimal_comma_with_semicolon(self):
        table = _table("name;E [GPa];HV\na;12,5;1.5e2\nb;-0,25;200\n")
        report = match_properties(["a", "b"], table, name_column="name")
        assert report.properties["E [GPa]"].tolist() == [12.5, -0.25]
        assert report.properties["HV"].tolist() == [150.0, 200.0]
        assert report.non_numeric == {}

    def test_comma_cell_not_a_number_with_comma_delimiter(self):
        table = _table('name,E\na,"12,5"\nb,13\nc,14\n')
        report = match_properties(["a", "b", "c"], table, name_column="name")
        assert report.non_numeric == {"E": [("a", "12,5")]}

    def test_units_in_headers_kept(self):
        report = match_properties(["img_01", "img_02"], _table(CSV), name_column="name")
        assert report.numeric_columns == ["Hardness (HV)", "E [GPa]"]
        assert report.properties.loc["img_01", "E [GPa]"] == 210.5

    def test_group_column(self):
        report = match_properties(["img_01", "img_02", "img_03"], _table(CSV), name_column="name",
                                  group_column="paper")
        assert report.group_column == "paper"
        assert "paper" not in report.text_columns and "paper" not in report.numeric_columns
        assert report.properties["paper"].tolist()[:2] == ["Smith 2020", "Lee 2021"]
        assert pd.isna(report.properties.loc["img_03", "paper"])

    def test_numeric_looking_group_column_stays_text(self):
        table = _table("name,run,HV\na,1,5\nb,2,6\n")
        report = match_properties(["a", "b"], table, name_column="name", group_column="run")
        assert report.properties["run"].tolist() == ["1", "2"]

    @pytest.mark.parametrize("kwargs", [{"name_column": "sample"},
                                        {"name_column": "name", "group_column": "lab"}])
    def test_missing_column_lists_columns(self, kwargs):
        with pytest.raises(InputError, match="no column '(sample|lab)'.*name, Hardness \\(HV\\), E \\[GPa\\], paper"):
            match_properties(["img_01"], _table(CSV), **kwargs)

    def test_xlsx_numbers_match(self):
        table = read_properties(("p.xlsx", xlsx({"s": [["name", "HV"], ["a", 200], ["b", 12.5]]})))
        report = match_properties(["a", "b"], table, name_column="name")
        assert report.properties["HV"].tolist() == [200.0, 12.5]

    def test_report_type(self):
        report = match_properties(["a"], _table("name,HV\na,1\n"), name_column="name")
        assert isinstance(report, MatchReport)
        assert report.summary() == "1 of 1 image matched"
