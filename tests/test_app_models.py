"""Models page through AppTest: nested CV on the demo, honest next to optimistic, parity linked to the map."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT

APP = str(ROOT / "app.py")


@pytest.fixture
def models_page():
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("pages/features.py").run()
    at.selectbox(key="extractor").set_value("two_point_paper_a").run()
    at.button(key="compute_features").click().run()
    at.switch_page("pages/models.py").run()
    assert not at.exception
    return at


def test_nested_cv_grouped_next_to_random_and_linked_parity(models_page):
    at = models_page
    at.selectbox(key="model_target").set_value("E_x plane strain Voigt bound (GPa)").run()
    at.multiselect(key="model_models").set_value(["pr", "pcr"]).run()
    assert at.selectbox(key="model_groups").value == "family"  # the data set's group column by default
    at.button(key="run_models").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 4  # 2 models × (random folds, grouped by family: 3 groups → leave-one-group-out)
    assert set(table["CV"]) == {"random folds", "grouped by family (honest)"}
    assert (table["samples"] == 300).all()
    # The Voigt bound is a function of the volume fraction, which PC1 of two-point statistics tracks.
    assert table.loc[table["model"] == "pr", "R²"].min() > 0.9
    box = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sorted(t["name"] for t in box["data"]) == ["pcr", "pcr · grouped by family", "pr",
                                                      "pr · grouped by family"]
    assert table.loc[table["CV"] != "random folds", "folds"].str.startswith("leave-one-group-out").all()

    at.session_state["parity_chart"] = {"selection": {"points": [{"customdata": ["demo_007"]}],
                                                      "point_indices": [7], "box": [], "lasso": []}}
    at.run()
    assert any("Selected samples: 1" in h.value for h in at.subheader)
    at.switch_page("pages/map.py").run()  # the selection is shared with the map page
    assert any("Selected samples: 1" in h.value for h in at.subheader)


def test_holdout_table(models_page):
    at = models_page
    at.button(key="run_models").click().run()
    at.button(key="run_holdout").click().run()
    assert not at.exception
    holdout = at.dataframe[1].value
    assert list(holdout.columns[:3]) == ["feature set", "model", "#PCs"]
    assert 1 <= int(holdout["#PCs"].iloc[0]) <= 12


def test_learning_curve_of_a_run(models_page):
    at = models_page
    at.selectbox(key="model_groups").set_value("(none)").run()
    at.button(key="run_models").click().run()
    at.button(key="run_learning").click().run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert spec["layout"]["xaxis"]["type"] == "log"
    line = [t for t in spec["data"] if t.get("mode") == "lines+markers"][0]
    x = line["x"]
    if isinstance(x, dict):  # plotly's typed-array encoding
        import base64

        import numpy as np

        x = np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"]).tolist()
    assert len(x) == 5 and x == sorted(x)  # 5 %, 10 %, 20 %, 50 %, 100 % of the outer training sets
