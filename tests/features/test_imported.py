"""Imported feature tables: CSV, XLSX, Parquet, NPY; matching by name; refusals; saving in the workspace."""

import io

import numpy as np
import pandas as pd
import pytest

from msdash.errors import InputError
from msdash.features.imported import import_features, list_imported, load_imported, save_imported

NAMES = ["img_a", "img_b", "img_c"]


def _parquet(frame, index=False):
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=index)
    return buffer.getvalue()


class TestCsv:
    def test_rows_are_matched_by_name_and_extras_counted(self):
        csv = b"file,emb 0,emb 1\nIMG_B.png,3,4\nimg_a,1,2.5\nother,9,9\n"
        table = import_features(("emb.csv", csv), NAMES)
        assert table.values[:2].tolist() == [[1.0, 2.5], [3.0, 4.0]]
        assert np.isnan(table.values[2]).all() and table.ok.tolist() == [True, True, False]
        assert [(e.name, e.message) for e in table.errors] == [("img_c", "no row in the feature table")]
        assert table.labels == ["emb 0", "emb 1"] and table.extractor == "imported:emb.csv"
        assert table.kind == "imported" and table.provenance["extra_rows"] == 1
        assert table.params["name_column"] == "file"

    def test_named_column_and_decimal_comma(self):
        csv = "x;id\n1,5;img_a\n2;img_b\n3;img_c\n".encode()
        table = import_features(("e.csv", csv), NAMES, name_column="id")
        assert table.values[:, 0].tolist() == [1.5, 2.0, 3.0] and table.labels == ["x"]

    def test_non_numeric_cells_are_listed(self):
        csv = b"name,f1,f2\nimg_a,1,abc\nimg_b,2,3\nimg_c,oops,4\n"
        with pytest.raises(InputError, match="must be numbers") as info:
            import_features(("e.csv", csv), NAMES)
        assert "img_a/f2: 'abc'" in str(info.value) and "img_c/f1: 'oops'" in str(info.value)

    def test_empty_cells_become_nan(self):
        table = import_features(("e.csv", b"name,f1\nimg_a,\nimg_b,2\nimg_c,3\n"), NAMES)
        assert np.isnan(table.values[0, 0]) and table.values[1, 0] == 2.0

    def test_unknown_name_column(self):
        with pytest.raises(InputError, match="no column 'nope'"):
            import_features(("e.csv", b"name,f\nimg_a,1\n"), NAMES, name_column="nope")

    def test_xlsx(self, tmp_path):
        path = tmp_path / "emb.xlsx"
        pd.DataFrame({"sample": NAMES, "e0": [1.0, 2.0, 3.0]}).to_excel(path, index=False)
        table = import_features(path, NAMES)
        assert table.values[:, 0].tolist() == [1.0, 2.0, 3.0] and table.extractor == "imported:emb.xlsx"


class TestParquet:
    def test_columns_kept_as_labels(self):
        frame = pd.DataFrame({"name": ["img_c", "img_a"], "dinov2[0]": [0.3, 0.1], "dinov2[1]": [3.0, 1.0]})
        table = import_features(("f.parquet", _parquet(frame)), NAMES)
        assert table.labels == ["dinov2[0]", "dinov2[1]"]
        assert table.values[0].tolist() == [0.1, 1.0] and table.values[2].tolist() == [0.3, 3.0]
        assert [e.name for e in table.errors] == ["img_b"]

    def test_names_in_the_index(self):
        frame = pd.DataFrame({"f": [1.0, 2.0, 3.0]}, index=pd.Index(["img_b", "img_a", "img_c"], name="sample"))
        table = import_features(("f.parquet", _parquet(frame, index=True)), NAMES)
        assert table.values[:, 0].tolist() == [2.0, 1.0, 3.0] and table.labels == ["f"]


class TestNpy:
    def _npy(self, array):
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue()

    def test_rows_in_data_set_order(self):
        array = np.arange(6, dtype=np.float32).reshape(3, 2)
        table = import_features(("clip.npy", self._npy(array)), NAMES)
        assert table.values.tolist() == array.tolist() and table.labels == ["clip[0]", "clip[1]"]
        assert table.errors == [] and table.names == NAMES

    @pytest.mark.parametrize("array, match", [(np.zeros((2, 4)), "2 rows for 3 samples"),
                                              (np.zeros(3), "2-D array"),
                                              (np.array([["a"], ["b"], ["c"]]), "2-D array of numbers")])
    def test_refusals(self, array, match):
        with pytest.raises(InputError, match=match):
            import_features(("e.npy", self._npy(array)), NAMES)

    def test_pickles_are_not_loaded(self):
        with pytest.raises(InputError, match="e.npy: expected a 2-D array of numbers.*got object"):
            import_features(("e.npy", self._npy(np.array([[{"a": 1}]] * 3, dtype=object))), NAMES)


def test_unsupported_type():
    with pytest.raises(InputError, match="unsupported"):
        import_features(("e.json", b"{}"), NAMES)


def test_saved_tables_survive_a_restart():
    table = import_features(("emb.csv", b"name,e0,e1\nimg_a,1,2\nimg_b,3,4\n"), NAMES)
    path = save_imported("ds-1", table)
    assert path.exists() and not any(p.name.startswith(".tmp") for p in path.parent.iterdir())
    loaded = load_imported("ds-1")
    assert len(loaded) == 1 and load_imported("ds-2") == []
    again = loaded[0]
    np.testing.assert_array_equal(again.values, table.values)
    assert again.labels == table.labels and again.names == NAMES and again.key == table.key
    assert [(e.name, e.message) for e in again.errors] == [("img_c", "no row in the feature table")]
    assert again.extractor == "imported:emb.csv" and again.kind == "imported"
    save_imported("ds-1", table)  # saving again replaces, not duplicates
    assert len(load_imported("ds-1")) == 1


def test_saved_tables_are_listed_and_loaded_by_name():
    first = import_features(("a.csv", b"name,e0\nimg_a,1\nimg_b,2\nimg_c,3\n"), NAMES)
    second = import_features(("b.csv", b"name,f0\nimg_a,4\nimg_b,5\nimg_c,6\n"), NAMES)
    save_imported("ds", first)
    save_imported("ds", second)
    assert sorted(list_imported("ds")) == ["a.csv", "b.csv"]
    assert load_imported("ds", "b.csv").values[:, 0].tolist() == [4.0, 5.0, 6.0]
    assert load_imported("ds", "imported:a.csv").labels == ["e0"]
    changed = import_features(("a.csv", b"name,e0\nimg_a,7\nimg_b,8\nimg_c,9\n"), NAMES)
    save_imported("ds", changed)  # the same file name again replaces it
    assert sorted(list_imported("ds")) == ["a.csv", "b.csv"]
    assert load_imported("ds", "a.csv").values[:, 0].tolist() == [7.0, 8.0, 9.0]
    with pytest.raises(InputError, match="No imported feature table 'c.csv'"):
        load_imported("ds", "c.csv")
