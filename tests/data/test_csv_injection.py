"""CSV downloads open in a spreadsheet without running formulas (OWASP CSV injection), numbers stay numbers."""

import csv
import io

import numpy as np
import pandas as pd
import pytest

from msdash.data.dataset import Dataset
from msdash.selection import FORMULA_START, csv_bytes, csv_safe, defuse_formula, selection_table

FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\")"]


def rows(data):
    return list(csv.reader(io.StringIO(data.decode())))


class TestDefuseFormula:
    @pytest.mark.parametrize("text", FORMULAS)
    def test_formula_text_gets_a_quote(self, text):
        assert defuse_formula(text) == "'" + text

    @pytest.mark.parametrize("value", ["plain", "a=b", "x-1", "", " =1", 3, -2.5, np.float64(-1e9), None])
    def test_everything_else_is_unchanged(self, value):
        assert defuse_formula(value) is value

    def test_the_owasp_characters(self):
        assert set(FORMULA_START) == {"=", "+", "-", "@", "\t", "\r"}


class TestCsvSafe:
    def test_cells_index_and_headers(self):
        frame = pd.DataFrame({"=head": ["=1+1", "ok"], "value": [-3.5, 2.0], "text": pd.array(["@x", None],
                                                                                                 dtype="string")},
                             index=pd.Index(["-sample", "b"], name="+name"))
        safe = csv_safe(frame)
        assert list(safe.columns) == ["'=head", "value", "text"]
        assert list(safe.index) == ["'-sample", "b"] and safe.index.name == "'+name"
        assert list(safe["'=head"]) == ["'=1+1", "ok"]
        assert pd.isna(safe.loc["b", "text"])  # missing stays missing
        assert safe.loc["'-sample", "text"] == "'@x"
        assert safe["value"].dtype == float and list(safe["value"]) == [-3.5, 2.0]  # negative numbers stay numbers
        assert frame.loc["-sample", "=head"] == "=1+1"  # the input is left alone

    def test_csv_bytes_round_trip(self):
        frame = pd.DataFrame({"name": ["=cmd|' /C calc'!A0", "a"], "y": [-1.0, 2.0]})
        assert rows(csv_bytes(frame, index=False)) == [["name", "y"], ["'=cmd|' /C calc'!A0", "-1.0"], ["a", "2.0"]]


def test_selection_export_defuses_names_properties_and_features():
    from msdash.features.extract import FeatureTable

    images = {"=evil": np.zeros((4, 4), np.float32), "-neg": np.ones((4, 4), np.float32)}
    props = pd.DataFrame({"@col": ["+cell", "fine"], "hv": [-1.0, 2.0]}, index=list(images))
    dataset = Dataset("set", images, props)
    table = FeatureTable(values=np.array([[-0.5], [0.5]]), labels=["=f"], names=list(images), extractor="x",
                         params={})
    data = rows(csv_bytes(selection_table(dataset, list(images), [table])))
    assert data[0] == ["name", "'@col", "hv", "x:=f"]  # "x:=f" starts with x: no formula
    assert data[1] == ["'=evil", "'+cell", "-1.0", "-0.5"]
    assert data[2] == ["'-neg", "fine", "2.0", "0.5"]
