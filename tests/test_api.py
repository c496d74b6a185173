"""The notebook API (issue 15): the README's example, executed, with each result checked independently."""

import re
import urllib.request

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, png_bytes
from msdash import api
from msdash.errors import InputError


def _readme_example():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- notebook-example -->\s*```python\n(.*?)```", text, re.S)
    assert block, "README.md lost its notebook example"
    return block.group(1)


def test_the_readme_notebook_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(_readme_example(), "README notebook example", "exec"), scope)
    study, frame, result = scope["study"], scope["frame"], scope["result"]
    # the map is PCA of the two-point table: compare with an SVD written here
    from msdash.features import extract

    X = extract(study.dataset.images, "two_point", store=False).values.astype(np.float64)
    centred = X - X.mean(axis=0)
    scores = np.linalg.svd(centred, full_matrices=False)[0][:, :2] * np.linalg.svd(centred, compute_uv=False)[:2]
    for k, column in enumerate(("x", "y")):
        got = frame[column].to_numpy()
        assert abs(abs(np.corrcoef(got, scores[:, k])[0, 1]) - 1) < 1e-9  # same axis up to sign
        np.testing.assert_allclose(np.abs(got), np.abs(scores[:, k]), rtol=1e-6, atol=1e-8)
    assert list(frame.index) == study.dataset.names and "volume_fraction" in frame.columns
    # nested CV on the demo's groups: every sample predicted once, the score is the MAPE of those predictions
    y = study.properties[scope["target"]].to_numpy()[result.rows]
    assert len(result.rows) == len(study) and np.isfinite(result.predictions).all()
    assert np.isclose(np.mean(result.fold_scores), np.mean([
        100 * np.mean(np.abs((y[test] - result.predictions[test]) / y[test])) for _, test in result.folds]))
    # the Parquet file reads back with the same values, names, labels and provenance
    table, provenance = api.read_features(tmp_path / "two_point.parquet")
    np.testing.assert_array_equal(table.to_numpy(), X.astype(np.float32))
    assert list(table.index) == study.dataset.names
    assert list(table.columns) == list(extract(study.dataset.images, "two_point", store=False).labels)
    assert provenance["extractor"] == "two_point" and provenance["dataset_content_hash"] == \
        study.dataset.content_hash()


def test_features_come_from_the_store_the_app_uses(workspace):
    study = api.demo()
    first = study.features("volume_fraction")
    again = api.demo().features("volume_fraction")  # a new study: nothing in memory, only the store
    assert again.provenance["store_hits"] == len(study) and first.provenance["store_hits"] == 0
    np.testing.assert_array_equal(first.values, again.values)


def test_open_images_matches_the_table_by_name(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("alloy_a1", "alloy_a2", "steel_b1"):
        (folder / f"{name}.png").write_bytes(png_bytes((rng.random((16, 16)) < 0.4) * 255))
    pd.DataFrame({"file": ["alloy_a1.png", "ALLOY_A2", "steel_b1"], "HV": ["410", "N/a", "380"]}).to_csv(
        tmp_path / "hv.csv", index=False)
    study = api.open_images(folder, tmp_path / "hv.csv")
    assert study.dataset.names == ["alloy_a1", "alloy_a2", "steel_b1"]
    np.testing.assert_array_equal(study.properties["HV"].to_numpy(), [410, np.nan, 380])
    with pytest.raises(InputError, match="numeric property"):
        study.nested_cv("file", features="volume_fraction")


def test_saved_study_reopens_by_id():
    study = api.demo()
    dataset_id = study.save()
    assert api.open_saved(dataset_id).dataset.content_hash() == study.dataset.content_hash()


@pytest.mark.browser
def test_launch_serves_the_dashboard_on_the_study(workspace):
    from streamlit.testing.v1 import AppTest

    study = api.open_images([_png_folder(workspace.parent)], name="Launched <set>")
    server = api.launch(study)
    try:
        with urllib.request.urlopen(server.page_url, timeout=10) as answer:
            assert answer.status == 200 and b"<html" in answer.read().lower()
    finally:
        server.stop()
    assert server.process.poll() is not None
    dataset_id = server.page_url.rsplit("?ds=", 1)[1]
    assert api.open_saved(dataset_id).dataset.content_hash() == study.dataset.content_hash()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["ds"] = dataset_id  # what the browser sends for server.page_url
    at.run()
    shown = [str(e.value) for e in at.markdown if "Open data set" in str(e.value)]
    assert not at.exception and shown and "Launched \\<set\\>" in shown[0] and dataset_id in shown[0]


def _png_folder(root):
    folder = root / "launch-pngs"
    folder.mkdir(exist_ok=True)
    for i in range(3):
        (folder / f"p{i}.png").write_bytes(png_bytes(np.full((8, 8), 60 * i, dtype=np.uint8)))
    return folder
