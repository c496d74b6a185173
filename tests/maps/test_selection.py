"""Exports of a selection: the CSV table and the zip of images."""

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from msdash.data.dataset import Dataset
from msdash.features import extract
from msdash.selection import selection_table, selection_zip


def _dataset():
    images = {"a": np.eye(4, dtype=np.float32), "b": np.ones((4, 4), np.float32), "v": np.zeros((2, 4, 4), np.float32)}
    props = pd.DataFrame({"hv": [1.0, 2.0, np.nan], "paper": ["x", "y", "x"]}, index=list(images))
    return Dataset("s", images, props)


class TestSelectionTable:
    def test_rows_in_selection_order_with_prefixed_features(self):
        ds = _dataset()
        table = extract(ds, "volume_fraction", store=False)
        out = selection_table(ds, ["b", "a"], [table])
        assert list(out.index) == ["b", "a"]
        assert list(out.columns) == ["hv", "paper", "volume_fraction:" + table.labels[0]]
        assert out.loc["a", "volume_fraction:" + table.labels[0]] == 0.25
        assert out.loc["b", "hv"] == 2.0


class TestSelectionZip:
    def test_png_for_images_npy_for_volumes(self):
        ds = _dataset()
        with zipfile.ZipFile(io.BytesIO(selection_zip(ds, ["a", "v"]))) as archive:
            assert sorted(archive.namelist()) == ["a.png", "v.npy"]
            png = np.asarray(Image.open(io.BytesIO(archive.read("a.png"))))
            np.testing.assert_array_equal(png, np.eye(4) * 255)
            volume = np.load(io.BytesIO(archive.read("v.npy")), allow_pickle=False)
            assert volume.shape == (2, 4, 4)


class TestPickNames:
    NAMES = ["A1_01", "A1_02", "A10_01", "A1.5_01", "B2_01", "b2_01"]

    def test_exact_picks_only_whole_names_and_reports_the_rest(self):
        from msdash.selection import pick_names

        assert pick_names(self.NAMES, "B2_01\nA1_02,,A1_0 zz") == (["A1_02", "B2_01"], ["A1_0", "zz"])

    def test_prefix_is_literal_and_case_sensitive(self):
        from msdash.selection import pick_names

        # "A1." is a literal prefix (no regex dot), "b2" matches only the lower-case name.
        assert pick_names(self.NAMES, "A1., b2", mode="prefix") == (["A1.5_01", "b2_01"], [])
        picked, unmatched = pick_names(self.NAMES, "A1_", mode="prefix")
        assert picked == [n for n in self.NAMES if n.startswith("A1_")] and unmatched == []

    def test_regex_must_match_the_whole_name(self):
        from msdash.selection import pick_names

        assert pick_names(self.NAMES, "A1", mode="regex") == ([], ["A1"])  # not a substring search
        assert pick_names(self.NAMES, r"[Bb]2_\d+", mode="regex") == (["B2_01", "b2_01"], [])

    @pytest.mark.parametrize("text, mode, message", [("A1[", "regex", "not a regular expression"),
                                                    ("a" * 201, "regex", "at most 200"),
                                                    ("A1", "fuzzy", "`mode` must be one of")])
    def test_bad_patterns_are_input_errors(self, text, mode, message):
        from msdash.errors import InputError
        from msdash.selection import pick_names

        with pytest.raises(InputError, match=message):
            pick_names(self.NAMES, text, mode=mode)

    def test_empty_text_picks_nothing(self):
        from msdash.selection import pick_names

        assert pick_names(self.NAMES, "  ", mode="regex") == ([], [])


class TestGroupsAndCategories:
    TABLE = pd.DataFrame({"paper": ["p1", "p2", None, "p1", 3], "hv": [1.0, 2.0, 3.0, np.nan, 5.0]},
                         index=["a", "b", "c", "d", "e"])

    def test_group_names_compare_as_text_and_skip_missing(self):
        from msdash.selection import group_names

        assert group_names(self.TABLE, "paper", "p1") == ["a", "d"]
        assert group_names(self.TABLE, "paper", "3") == ["e"]
        assert group_names(self.TABLE, "paper", "None") == []

    def test_in_categories_keeps_the_given_order(self):
        from msdash.selection import in_categories

        assert in_categories(self.TABLE, ["e", "d", "c", "b", "a"], "paper", ["p1", "3"]) == ["e", "d", "a"]
        assert in_categories(self.TABLE, ["a", "b"], "paper", []) == []

    def test_unknown_column_is_an_input_error(self):
        from msdash.errors import InputError
        from msdash.selection import group_names, in_categories

        with pytest.raises(InputError, match="No property column"):
            group_names(self.TABLE, "journal", "x")
        with pytest.raises(InputError, match="No property column"):
            in_categories(self.TABLE, ["a"], "journal", ["x"])
