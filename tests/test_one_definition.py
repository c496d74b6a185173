"""One definition per concept (issue 16 item 2): image kind, RGB → grey, name matching, atomic writes, table sources.

Each class checks that the places that used to hold their own copy now agree, on a case where the copies
used to disagree.
"""

import io
import os

import pandas as pd
import pytest

from msdash.errors import InputError, WorkspaceError


def _parquet(frame):
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


class TestNameColumn:
    """Property tables and imported feature tables choose the name column by one rule."""

    # Samples numbered 1, 2, 3: the names are an integer column of the feature table, right of a feature.
    FRAME = pd.DataFrame({"e0": [0.5, 0.25, 0.125], "id": [3, 1, 2]})

    def test_integer_name_column_is_found_by_both(self):
        from msdash.data.ingest import guess_name_column
        from msdash.features.imported import import_features

        names = ["1", "2", "3"]
        table = import_features(("emb.parquet", _parquet(self.FRAME)), names)
        # The importer used to skip integer columns and fall back to "e0", matching nothing.
        assert table.params["name_column"] == "id" == guess_name_column(self.FRAME, names)
        assert table.values.ravel().tolist() == [0.25, 0.125, 0.5] and table.errors == []

    def test_name_column_after_ten_feature_columns_is_found_by_both(self):
        from msdash.data.ingest import guess_name_column
        from msdash.data.tables import read_properties
        from msdash.features.imported import import_features

        header = ",".join(f"f{j}" for j in range(11)) + ",sample\n"
        rows = "".join(",".join(str(i + j) for j in range(11)) + f",s{i}.png\n" for i in range(3))
        data = (header + rows).encode()
        names = ["s0", "s1", "s2"]
        table = import_features(("wide.csv", data), names)
        # The importer used to score the first 10 text columns only and fell back to "f0".
        assert table.params["name_column"] == "sample"
        assert guess_name_column(read_properties(("wide.csv", data)), names) == "sample"
        assert table.values[:, 0].tolist() == [0.0, 1.0, 2.0] and table.errors == []

    def test_matching_rule_is_the_tables_rule(self):
        from msdash.data import names, tables

        assert tables.name_key is names.name_key
        assert names.name_key(" IMG_01.Tif ") == "img_01" and names.name_key("a.b") == "a.b"


class TestTableSource:
    """Property tables and feature tables read their file through one function."""

    def test_same_file_name_from_a_pair_with_folders(self):
        from msdash.data.tables import read_properties
        from msdash.features.imported import import_features

        data = b"name,e0\na,1\n"
        assert read_properties(("sub/e.csv", data)).attrs["source"] == "e.csv"
        assert import_features(("sub/e.csv", data), ["a"]).extractor == "imported:e.csv"

    def test_same_message_for_a_missing_file(self, tmp_path):
        from msdash.data.tables import read_properties
        from msdash.features.imported import import_features

        missing = tmp_path / "gone.csv"
        with pytest.raises(InputError, match=r"^gone\.csv: could not be opened") as first:
            read_properties(missing)
        with pytest.raises(InputError, match=r"^gone\.csv: could not be opened") as second:
            import_features(missing, ["a"])
        assert first.value.message == second.value.message

    def test_text_from_a_file_like(self):
        from msdash.data.tables import read_source

        class Upload(io.StringIO):
            name = "C:\\data\\p.csv"

        assert read_source(Upload("a,b\n")) == ("p.csv", b"a,b\n")


class TestImportedWrite:
    """Imported tables are written by msdash.data.atomic: fsynced file and folder, temp file removed."""

    def _table(self):
        from msdash.features.imported import import_features

        return import_features(("e.csv", b"name,e0\na,1\nb,2\n"), ["a", "b"])

    def test_file_and_folder_are_fsynced(self, monkeypatch):
        from msdash.features.imported import load_imported, save_imported

        synced = []
        real = os.fsync

        def record(fd):
            synced.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else fd)
            return real(fd)

        monkeypatch.setattr(os, "fsync", record)
        path = save_imported("0123456789abcdef", self._table())
        assert load_imported("0123456789abcdef")[0].values.ravel().tolist() == [1.0, 2.0]
        if os.path.exists("/proc/self/fd"):
            assert str(path.parent) in synced  # the folder, after the rename
            assert any(str(s).startswith(str(path.parent / ".tmp-")) for s in synced)  # the file, before it
        else:
            assert len(synced) >= 2
        assert [p.name for p in path.parent.iterdir()] == [path.name]

    def test_failed_write_keeps_the_saved_table(self, monkeypatch):
        from msdash.features.imported import load_imported, save_imported

        path = save_imported("0123456789abcdef", self._table())
        before = path.read_bytes()

        def fail(src, dst):
            raise OSError(28, "No space left on device")

        with monkeypatch.context() as patch:
            patch.setattr(os, "replace", fail)
            with pytest.raises(WorkspaceError, match="No space left"):
                save_imported("0123456789abcdef", self._table())
        assert path.read_bytes() == before and [p.name for p in path.parent.iterdir()] == [path.name]
        assert load_imported("0123456789abcdef", "e.csv").values.ravel().tolist() == [1.0, 2.0]
