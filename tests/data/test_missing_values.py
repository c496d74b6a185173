"""Missing-value markers in property tables (issue 17 item 1) and the one name-matching rule (issue 16)."""

import numpy as np
import pandas as pd
import pytest

from msdash.data.ingest import guess_name_column
from msdash.data.tables import MISSING_MARKERS, is_missing, match_properties, name_key, name_keys, read_properties


def _table(text, name="p.csv"):
    return read_properties((name, text.encode()))


class TestIsMissing:
    @pytest.mark.parametrize("cell", ["N/a", "NA", "n/a", "-", "—", "–", "", "  ", "N.A.", "nan", "None", "?",
                                      "#N/A", None, float("nan")])
    def test_markers_are_missing(self, cell):
        assert is_missing(cell)

    @pytest.mark.parametrize("cell", ["0", "12.5", "-3", "12 HV", "Smith", "n/a 3"])
    def test_values_are_not_missing(self, cell):
        assert not is_missing(cell)

    def test_markers_are_casefolded_and_stripped(self):
        assert all(m == m.casefold().strip() for m in MISSING_MARKERS)


class TestSparseNumericColumn:
    def test_28_numbers_and_121_na_is_a_numeric_target(self):
        rng = np.random.default_rng(0)
        names = [f"s{i:03d}" for i in range(149)]
        numbered = set(rng.choice(149, size=28, replace=False).tolist())
        values = {i: round(float(rng.uniform(200, 600)), 1) for i in numbered}
        rows = "\n".join(f"{n},{values[i] if i in numbered else 'N/a'}" for i, n in enumerate(names))
        report = match_properties(names, _table("name,HV\n" + rows + "\n"), name_column="name")
        assert report.numeric_columns == ["HV"] and report.text_columns == []
        assert report.non_numeric == {}
        assert report.missing_markers == {"HV": 121}
        column = report.properties["HV"]
        assert column.dtype == np.float64 and int(column.notna().sum()) == 28
        # Independent check: the numbers that were written are the numbers read.
        assert {names[i]: v for i, v in values.items()} == column.dropna().to_dict()

    def test_mixed_markers_and_one_genuine_bad_cell(self):
        table = _table("name,E (GPa)\na,210\nb,-\nc,—\nd,\ne,?\nf,N.A.\ng,about 200\nh,nan\n")
        report = match_properties(list("abcdefgh"), table, name_column="name")
        assert report.numeric_columns == ["E (GPa)"]
        assert report.non_numeric == {"E (GPa)": [("g", "about 200")]}
        assert report.missing_markers == {"E (GPa)": 5}  # -, —, ?, N.A., nan; the empty cell of d is not counted
        assert report.properties["E (GPa)"].notna().tolist() == [True] + [False] * 7
        summary = report.summary()
        assert "1 cell not a number" in summary and "5 cells marked as missing" in summary

    def test_only_markers_is_not_numeric(self):
        report = match_properties(["a", "b"], _table("name,note\na,N/a\nb,-\n"), name_column="name")
        assert report.numeric_columns == [] and report.text_columns == ["note"]

    def test_text_column_keeps_its_cells(self):
        # "Na" (sodium) in a text column must stay as written: only numeric columns read markers.
        report = match_properties(["a", "b", "c"], _table("name,element\na,Na\nb,Fe\nc,Ni\n"),
                                  name_column="name")
        assert report.properties["element"].tolist() == ["Na", "Fe", "Ni"]

    def test_minus_sign_numbers_are_numbers(self):
        report = match_properties(["a", "b"], _table("name,x\na,-1.5\nb,-\n"), name_column="name")
        assert report.properties["x"].tolist()[0] == -1.5 and np.isnan(report.properties["x"].tolist()[1])


class TestOneNameRule:
    def test_guess_uses_the_matching_rule(self):
        # Only an image extension is stripped: "a.v2" is a different sample from "a" in matching, so the
        # guess must not count it either (the old guess stripped any 2–4 letter suffix).
        table = pd.DataFrame({"label": ["a.v2", "b.v2", "c.v2"], "file": [" A.PNG", "x", "y"]})
        assert guess_name_column(table, ["a", "b", "c"]) == "file"
        assert match_properties(["a", "b", "c"], table, name_column="file").matched == ["a"]

    @pytest.mark.parametrize("cell", [" Img_01.PNG ", "img_01.tif", "IMG_01"])
    def test_vectorised_and_single_rule_agree(self, cell):
        assert name_keys(pd.Series([cell])).tolist() == [name_key(cell)] == ["img_01"]
