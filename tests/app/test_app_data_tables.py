"""The Data page's tables through AppTest (issue 17 items 1–4, issue 14 item 3): a small set with a sparse
`N/a` column, hardness split between HV and GPa, and names that carry their source paper as a prefix."""

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, png_bytes, zip_bytes
from msdash.data.dataset import Dataset
from msdash.data.datastore import list_datasets, load_dataset, save_dataset
from msdash.display import escape_markdown

APP = str(ROOT / "app.py")
G = 9.80665
PAPERS = {"Smith2020": 4, "Lee2019": 3, "Kim2021": 5}
NAMES = [f"{paper}_{i:02d}" for paper, n in PAPERS.items() for i in range(n)]
# HV for the first paper, GPa for the second, HV sparse with N/a and '-' elsewhere: the traits of study B's table.
HV = {n: (300.0 + 10 * i if n.startswith("Smith") else None) for i, n in enumerate(NAMES)}
GPA = {n: (3.0 + 0.25 * i if n.startswith("Lee") else None) for i, n in enumerate(NAMES)}


def _images():
    rng = np.random.default_rng(7)
    return {n: (rng.random((8, 8)) < 0.4).astype(np.uint8) * 255 for n in NAMES}


def _csv():
    rows = ["file,HV,H (GPa),note"]
    for i, n in enumerate(NAMES):
        hv = HV[n] if HV[n] is not None else ("N/a" if i % 2 else "-")
        gpa = GPA[n] if GPA[n] is not None else "N/a"
        rows.append(f"{n}.png,{hv},{gpa},{'about 400' if n == 'Kim2021_04' else ''}")
    return ("\n".join(rows) + "\n").encode()


def _saved():
    images = {n: a.astype(np.float32) / 255 for n, a in _images().items()}
    table = pd.DataFrame({"HV": [HV[n] if HV[n] is not None else np.nan for n in NAMES],
                          "H (GPa)": [GPA[n] if GPA[n] is not None else np.nan for n in NAMES]}, index=NAMES)
    return save_dataset(Dataset("Superalloys", images, table, source="upload"))


def _open(dataset_id):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ds"] = dataset_id
    return at.run()


def _text(at):
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "error", "success", "warning", "info")
                     for e in getattr(at, kind))


def _open_id(at):
    value = at.query_params["ds"]
    return value[0] if isinstance(value, list) else value


def test_sparse_na_column_is_numeric_after_upload():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ds"] = _saved()  # no demo needed
    at.run()
    archive = zip_bytes({f"{n}.png": png_bytes(a) for n, a in _images().items()})
    at.file_uploader(key="upload_images").set_value([("set.zip", archive, "application/zip")])
    at.file_uploader(key="upload_table").set_value([("props.csv", _csv(), "text/csv")]).run()
    assert not at.exception
    assert at.selectbox(key="name_column").value == "file"
    shown = _text(at)
    # 8 missing markers in HV (N/a and -), 9 N/a in GPa; one genuine bad cell in "note" is text, not numeric.
    assert "12 of 12 images matched" in shown and "17 cells marked as missing" in shown
    assert "not a number" not in shown
    at.button(key="save_upload").click().run()
    assert not at.exception
    ds = load_dataset(_open_id(at))
    assert ds.source == "upload" and ds.numeric_columns == ["HV", "H (GPa)"]
    assert int(ds.properties["HV"].notna().sum()) == 4 and int(ds.properties["H (GPa)"].notna().sum()) == 3


def test_combine_hv_else_gpa_with_preview_and_provenance(workspace):
    old_id = _saved()
    inode = (workspace / "datasets" / old_id / "images.npz").stat().st_ino
    at = _open(old_id)
    at.radio(key="edit_action").set_value("Combine two columns").run()
    at.selectbox(key="combine_first").set_value("HV")
    at.selectbox(key="combine_second").set_value("H (GPa)")
    at.selectbox(key="combine_preset").set_value("GPa → HV (× 1000/9.80665)").run()
    assert not at.exception
    assert escape_markdown("HV (combined) = [HV], else 101.972 × [H (GPa)]") in _text(at)
    assert "7 of 12 samples get a value" in _text(at)
    at.button(key="combine_add").click().run()
    assert not at.exception
    new_id = _open_id(at)
    assert new_id != old_id and [i.id for i in list_datasets()] == [new_id]
    assert (workspace / "datasets" / new_id / "images.npz").stat().st_ino == inode  # images not rewritten
    ds = load_dataset(new_id)
    expected = [HV[n] if HV[n] is not None else (GPA[n] * 1000 / G if GPA[n] is not None else np.nan) for n in NAMES]
    np.testing.assert_allclose(ds.properties["HV (combined)"].to_numpy(), expected, rtol=1e-12)
    assert ds.derived == {"HV (combined)": "HV (combined) = [HV], else 101.972 × [H (GPa)]"}
    assert "Derived columns" in _text(at) and "101.972" in _text(at)  # the formula is shown with the set


def test_convert_with_a_custom_factor():
    at = _open(_saved())
    at.selectbox(key="convert_column").set_value("H (GPa)")
    at.selectbox(key="convert_preset").set_value("Custom factor and offset").run()
    at.number_input(key="convert_factor").set_value(2.0)
    at.number_input(key="convert_offset").set_value(1.0).run()
    assert escape_markdown("H (GPa) (converted) = 2 × [H (GPa)] + 1") in _text(at)
    at.button(key="convert_add").click().run()
    ds = load_dataset(_open_id(at))
    np.testing.assert_allclose(ds.properties["H (GPa) (converted)"].dropna().to_numpy(),
                               [2 * GPA[n] + 1 for n in NAMES if GPA[n] is not None])


def test_group_from_names_preview_then_group_column():
    at = _open(_saved())
    at.radio(key="edit_action").set_value("Group from names").run()
    assert not at.exception
    assert "Preview: 3 groups" in _text(at)
    sizes = next(d.value for d in at.dataframe if list(d.value.columns) == ["group", "samples"])
    assert dict(zip(sizes["group"], sizes["samples"])) == PAPERS
    at.radio(key="group_rule").set_value("a regular expression's group").run()
    at.text_input(key="group_pattern").set_value("(a+)+").run()
    assert any("repeats a group" in e.value for e in at.error) and not at.exception
    at.text_input(key="group_pattern").set_value(r"^[A-Za-z]+(\d{4})_").run()
    assert "Preview: 3 groups" in _text(at)  # the years 2020, 2019, 2021
    at.button(key="group_add").click().run()
    ds = load_dataset(_open_id(at))
    assert ds.group_column == "group (from name)"
    assert ds.properties["group (from name)"].tolist() == [n[-7:-3] for n in NAMES]


def test_rename_set_and_column_with_unit():
    at = _open(_saved())
    dataset_id = _open_id(at)
    at.text_input(key=f"rename_{dataset_id}").set_value("Ni superalloys <script>").run()
    at.button(key="rename_dataset").click().run()
    assert not at.exception and _open_id(at) == dataset_id
    assert load_dataset(dataset_id).name == "Ni superalloys <script>"
    at.radio(key="edit_action").set_value("Rename or set unit").run()
    at.selectbox(key="rename_column").set_value("HV").run()
    at.text_input(key="rename_column_name_HV").set_value("hardness")
    at.text_input(key="rename_column_unit_HV").set_value("HV").run()
    at.button(key="rename_column_apply").click().run()
    assert not at.exception
    ds = load_dataset(_open_id(at))
    assert list(ds.properties.columns) == ["hardness (HV)", "H (GPa)"] and ds.name == "Ni superalloys <script>"


def test_replace_the_table_keeps_images():
    old_id = _saved()
    at = _open(old_id)
    at.radio(key="edit_action").set_value("Replace the table").run()
    table = "name,yield (MPa)\n" + "".join(f"{n},{100 + i}\n" for i, n in enumerate(NAMES[:10])) + "ghost,1\n"
    at.file_uploader(key="replace_table_file").set_value([("new.csv", table.encode(), "text/csv")]).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Matched images"] == "10" and metrics["Rows without an image"] == "1"
    at.button(key="replace_table_apply").click().run()
    assert not at.exception
    ds = load_dataset(_open_id(at))
    assert old_id not in [i.id for i in list_datasets()]
    assert list(ds.properties.columns) == ["yield (MPa)"] and ds.derived == {}
    assert ds.properties["yield (MPa)"].tolist()[:10] == [100.0 + i for i in range(10)]
    assert ds.notes[-1] == "Table replaced by new.csv"
    for name, array in _images().items():
        np.testing.assert_array_equal(ds.images[name], array / 255)


@pytest.mark.parametrize("action", ["Convert units", "Combine two columns", "Group from names", "Rename or set unit",
                                    "Replace the table"])
def test_every_action_on_a_set_without_properties(action):
    at = _open(save_dataset(Dataset("bare", {"P1_a": np.eye(4), "P2_b": np.ones((4, 4))})))
    at.radio(key="edit_action").set_value(action).run()
    assert not at.exception


def test_editing_the_demo_keeps_the_demo():
    at = AppTest.from_file(APP, default_timeout=60).run()  # opens (and saves) the demo
    demo_id = _open_id(at)
    at.radio(key="edit_action").set_value("Group from names").run()
    at.text_input(key="group_name").set_value("prefix").run()
    at.button(key="group_add").click().run()
    assert not at.exception
    saved = {i.id: i for i in list_datasets()}
    new_id = _open_id(at)
    assert demo_id in saved and new_id in saved and new_id != demo_id
    assert saved[new_id].source == "demo, edited" and load_dataset(new_id).group_column == "prefix"
    at.button(key="open_demo").click().run()
    assert _open_id(at) == demo_id and "not in this workspace" not in _text(at)


def test_hostile_column_names_and_patterns_show_literally():
    hostile = "**H** <b>x</b> :red[y]"
    ds_id = save_dataset(Dataset("s", {"A_1": np.eye(4), "B_2": np.ones((4, 4))},
                                 pd.DataFrame({hostile: [1.0, 2.0]}, index=["A_1", "B_2"])))
    at = _open(ds_id)
    at.button(key="convert_add").click().run()
    assert not at.exception
    ds = load_dataset(_open_id(at))
    from msdash.derived import with_unit

    name = with_unit(hostile, "HV")  # the first preset, GPa → HV; the trailing "[y]" reads as a unit
    np.testing.assert_allclose(ds.properties[name].to_numpy(), [1000 / G, 2000 / G], rtol=1e-12)
    shown = [m.value for m in at.markdown if "Derived columns" in m.value][0]
    assert escape_markdown(ds.derived[name]) in shown and "<b>" not in shown
