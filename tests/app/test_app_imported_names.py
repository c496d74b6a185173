"""Imported feature sets carry the name the user gives them, at import or later (issue 17 item 4, page side)."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from msdash.display import escape_markdown

APP = str(ROOT / "app.py")


def _listed(at):
    return "\n".join(m.value for m in at.markdown)


@pytest.fixture
def imported():
    """The demo with a 2-column embedding imported under a name of the user's; returns (at, values)."""
    from msdash.data.dataset import demo_dataset

    names = demo_dataset().names
    values = np.array([[i % 7, (i * 3) % 11] for i in range(len(names))], dtype=float)
    rows = "\n".join(f"{n},{a:g},{b:g}" for n, (a, b) in zip(names, values))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("msdash/app/screens/features.py").run()
    at.file_uploader(key="import_features_file").set_value(
        [("emb.csv", f"sample,e0,e1\n{rows}\n".encode(), "text/csv")]).run()
    assert _name_box(at).value == "emb.csv"  # the file name unless the user types one
    _name_box(at).input("paper B *DINOv2*").run()
    at.button(key="import_features").click().run()
    assert not at.exception
    return at, values


def _name_box(at):
    (box,) = [t for t in at.text_input if t.label == "Name of the feature set"]
    return box


def _rename(at, old, new):
    at.selectbox(key="rename_imported_from").set_value(old)
    at.text_input(key="rename_imported_to").input(new)
    next(b for b in at.button if b.label == "Rename").click().run()
    return at


class TestNames:
    def test_named_at_import_and_listed_escaped(self, imported):
        from msdash.features.imported import list_imported, load_imported

        at, values = imported
        dataset_id = at.query_params["ds"]
        assert list_imported(dataset_id) == ["paper B *DINOv2*"]
        assert escape_markdown("imported: paper B *DINOv2*") in _listed(at)  # shown literally, not as italics
        np.testing.assert_array_equal(load_imported(dataset_id, "paper B *DINOv2*").values, values)

    def test_renamed_later_keeps_the_values(self, imported):
        from msdash.features.imported import list_imported, load_imported

        at, values = imported
        dataset_id = at.query_params["ds"]
        _rename(at, "paper B *DINOv2*", "study B embeddings")
        assert not at.exception and not at.error
        assert list_imported(dataset_id) == ["study B embeddings"]
        assert "imported: study B embeddings" in _listed(at) and "paper B" not in _listed(at)
        assert any("Renamed the feature set" in s.value for s in at.success)
        np.testing.assert_array_equal(load_imported(dataset_id, "study B embeddings").values, values)
        at.switch_page("msdash/app/screens/map.py").run()
        assert "imported: study B embeddings" in at.multiselect(key="map_sets").options

    def test_a_taken_or_empty_name_is_refused_and_nothing_is_lost(self, imported):
        from msdash.data.dataset import demo_dataset
        from msdash.features.imported import list_imported

        at, _ = imported
        dataset_id = at.query_params["ds"]
        rows = "\n".join(f"{n},1" for n in demo_dataset().names)
        at.file_uploader(key="import_features_file").set_value(
            [("other.csv", f"sample,f\n{rows}\n".encode(), "text/csv")]).run()
        assert _name_box(at).value == "other.csv"  # a new file starts from its own name, not the last one typed
        at.button(key="import_features").click().run()
        assert sorted(list_imported(dataset_id)) == ["other.csv", "paper B *DINOv2*"]
        _rename(at, "other.csv", "paper B *DINOv2*")
        assert any("already has a feature set named" in e.value for e in at.error)
        _rename(at, "other.csv", "   ")
        assert any("one line of 1 to 200 characters" in e.value for e in at.error)
        assert sorted(list_imported(dataset_id)) == ["other.csv", "paper B *DINOv2*"]
