"""Models page through AppTest: nested CV on the demo, honest next to optimistic, parity linked to the map;
baseline row, repeated seeds, common samples, leakage guard, settings side by side (issues 14, 16, 17)."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from sklearn.model_selection import KFold
from streamlit.testing.v1 import AppTest

from msdash.data.dataset import Dataset
from msdash.data.datastore import save_dataset
from msdash.derived import add_derived, coalesce

APP = str(ROOT / "app.py")


@pytest.fixture
def models_page():
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("msdash/app/screens/features.py").run()
    at.selectbox(key="extractor").set_value("two_point_paper_a").run()
    at.button(key="compute_features").click().run()
    at.switch_page("msdash/app/screens/models.py").run()
    assert not at.exception
    return at


def test_nested_cv_grouped_next_to_random_and_linked_parity(models_page):
    at = models_page
    at.selectbox(key="model_target").set_value("E_x plane strain Voigt bound (GPa)").run()
    at.multiselect(key="model_models").set_value(["pr", "pcr"]).run()
    at.number_input(key="model_repeats").set_value(1).run()
    assert at.selectbox(key="model_groups").value == "family"  # the data set's group column by default
    at.button(key="run_models").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    # 2 models × (random folds, grouped by family: 3 groups → leave-one-group-out) + a baseline per split
    assert len(table) == 6
    assert set(table["CV"]) == {"random folds", "grouped by family (honest)"}
    assert (table["samples"] == 300).all()
    # The Voigt bound is a function of the volume fraction, which PC1 of two-point statistics tracks.
    assert table.loc[table["model"] == "pr", "R²"].min() > 0.9
    assert table["model"].str.startswith("baseline").sum() == 2
    box = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sorted(t["name"] for t in box["data"] if t["type"] == "box") == [
        "baseline", "baseline · grouped by family", "pcr", "pcr · grouped by family", "pr", "pr · grouped by family"]
    assert table.loc[table["CV"] != "random folds", "folds"].str.startswith("leave-one-group-out").all()

    at.session_state["parity_chart"] = {"selection": {"points": [{"customdata": ["demo_007"]}],
                                                      "point_indices": [7], "box": [], "lasso": []}}
    at.run()
    assert any("Selected samples: 1" in h.value for h in at.subheader)
    at.switch_page("msdash/app/screens/map.py").run()  # the selection is shared with the map page
    assert any("Selected samples: 1" in h.value for h in at.subheader)


def test_holdout_table(models_page):
    at = models_page
    at.number_input(key="model_repeats").set_value(1).run()
    at.button(key="run_models").click().run()
    at.button(key="run_holdout").click().run()
    assert not at.exception
    holdout = at.dataframe[1].value
    assert list(holdout.columns[:3]) == ["feature set", "model", "#PCs"]
    assert 1 <= int(holdout["#PCs"].iloc[0]) <= 12


def test_learning_curve_of_a_run(models_page):
    at = models_page
    at.selectbox(key="model_groups").set_value("(none)").run()
    at.number_input(key="model_repeats").set_value(1).run()
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


N_SMALL = 30
UNIFORM = ("p0_s00", "p2_s07", "p4_s14", "p1_s21")  # all-black micrographs: physFeat1 is NaN for them


@pytest.fixture
def small_models():
    """30 micrographs (4 uniform), a hardness that the images do not determine, the same hardness in GPa
    (a column that leaks the target), one near-zero value (one MAPE fold far off), groups from name prefixes;
    physFeat1 and volume fraction computed."""
    rng = np.random.default_rng(11)
    names = [f"p{i % 5}_s{i:02d}" for i in range(N_SMALL)]
    images = {n: (np.zeros((64, 64)) if n in UNIFORM else (rng.random((64, 64)) < rng.uniform(0.2, 0.6))
                  .astype(np.float32)) for n in names}
    hv = rng.normal(300, 30, size=N_SMALL)
    hv[names.index("p4_s29")] = 0.5
    props = pd.DataFrame({"hardness (HV)": hv, "hardness (GPa)": hv * 9.80665 / 1000,
                          "paper": [n.split("_")[0] for n in names]}, index=names)
    dataset = Dataset("small hardness", images, props, group_column="paper")
    dataset = add_derived(dataset, coalesce(props, "hardness (HV)", "hardness (GPa)", factor=1000 / 9.80665,
                                            name="hardness combined (HV)"))  # recorded with its formula
    dataset_id = save_dataset(dataset)
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["ds"] = dataset_id
    at.run()
    at.switch_page("msdash/app/screens/features.py").run()
    for extractor in ("phys_feat1", "volume_fraction"):
        at.selectbox(key="extractor").set_value(extractor).run()
        at.button(key="compute_features").click().run()
    at.switch_page("msdash/app/screens/models.py").run()
    assert not at.exception
    at.selectbox(key="model_target").set_value("hardness (HV)").run()
    at.multiselect(key="model_sets").set_value(at.multiselect(key="model_sets").options).run()
    at.multiselect(key="model_models").set_value(["lr"]).run()
    at.selectbox(key="model_groups").set_value("(none)").run()
    at.number_input(key="model_outer").set_value(5).run()
    at.number_input(key="model_inner").set_value(3).run()
    return at, props


def _baseline_mape_by_hand(y, seeds, outer=5):
    """Mean over repeats of the folds' MAPE of the training median: repeat i shuffles the rows with its seed."""
    means = []
    for i, seed in enumerate(seeds):
        order = np.arange(len(y)) if i == 0 else np.random.default_rng(seed).permutation(len(y))
        folds = KFold(outer, shuffle=True, random_state=seed).split(y)
        means.append(np.mean([100 * np.mean(np.abs(y[order][te] - np.median(y[order][tr])) / np.abs(y[order][te]))
                              for tr, te in folds]))
    return float(np.mean(means))


def test_baseline_common_samples_repeats_and_outlier_fold(small_models):
    at, props = small_models
    at.number_input(key="model_repeats").set_value(2).run()
    at.button(key="run_models").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 3 and (table["samples"] == N_SMALL - 4).all()  # 2 sets + baseline on the common rows
    assert (table["repeats"] == 2).all() and table["label"].str.contains("seeds 42–43").all()
    captions = " ".join(c.value for c in at.caption)
    assert "Compared on 26 common samples of 30" in captions
    assert all(f"{name} (NaN features in phys_feat1" in captions for name in UNIFORM)  # named, not only counted
    assert "NaN features per set: " in captions and "phys_feat1 (bins=32, sections=mean): 4" in captions
    assert "segmentation=otsu): 0" in captions  # volume fraction has a value for every image

    y = props["hardness (HV)"].drop(list(UNIFORM)).to_numpy()
    baseline = table[table["model"].str.startswith("baseline")].iloc[0]
    assert baseline["MAPE (%)"] == pytest.approx(_baseline_mape_by_hand(y, (42, 43)), abs=1e-3)

    score = table.columns[table.columns.str.contains("mean ± spread")][0]
    means = table[score].str.split(" ± ").str[0].astype(float)
    losers = table.loc[~table["model"].str.startswith("baseline") & (means >= means[baseline.name]), "feature set"]
    warnings = [w.value for w in at.warning if "Not better than the constant predictor" in w.value]
    assert len(losers) >= 1 and len(warnings) == 1  # noise target: the images do not beat the median
    assert all(f"lr on {name}" in warnings[0] for name in losers)

    box = json.loads(at.get("plotly_chart")[0].proto.spec)
    low, high = box["layout"]["yaxis"]["range"]
    assert high < 1000  # the fold holding the 0.5 HV sample (MAPE ~ 10⁴ %) is off the axis ...
    assert any("outlier folds" in w.value and "fold" in w.value for w in at.warning)  # ... and named


def test_leakage_guard_and_settings_side_by_side(small_models):
    at, _ = small_models
    extra = at.multiselect(key="model_extra")
    assert "hardness (HV)" not in extra.options and "hardness (GPa)" in extra.options
    extra.set_value(["hardness (GPa)"]).run()
    assert any("Possible leak" in w.value and "r = +1.00" in w.value for w in at.warning)
    at.number_input(key="model_repeats").set_value(1).run()
    at.button(key="run_models").click().run()
    at.multiselect(key="model_extra").set_value([]).run()
    at.button(key="run_models").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert sorted(set(table["settings"])) == ["S1", "S2"] and len(table) == 6  # the first run stays beside
    assert table.loc[table["settings"] == "S1", "label"].str.contains("\\+hardness \\(GPa\\)").all()
    assert not table.loc[table["settings"] == "S2", "label"].str.contains("GPa").any()
    exported = at.session_state["model_history"]
    assert len(next(iter(exported.values()))) == 6

    at.switch_page("msdash/app/screens/map.py").run()
    at.switch_page("msdash/app/screens/models.py").run()  # back: the form that produced the latest results
    assert at.number_input(key="model_repeats").value == 1 and at.multiselect(key="model_extra").value == []
    assert at.number_input(key="model_outer").value == 5 and at.multiselect(key="model_models").value == ["lr"]
    assert len(at.dataframe[0].value) == 6


def test_a_derived_target_hides_the_columns_it_was_made_from(small_models):
    at, _ = small_models
    at.selectbox(key="model_target").set_value("hardness combined (HV)").run()
    assert not at.exception
    assert at.multiselect(key="model_extra").options == []  # both sources of the target are held back
    (note,) = [c.value for c in at.caption if c.value.startswith("Not offered as inputs")]
    assert "hardness (HV) (the target is derived from it)" in note.replace("\\", "")
    assert "hardness (GPa) (the target is derived from it)" in note.replace("\\", "")
    at.selectbox(key="model_target").set_value("hardness (HV)").run()
    assert at.multiselect(key="model_extra").options == ["hardness (GPa)"]  # the combined column is the target's


def test_figures_download_as_png_or_svg_as_the_sidebar_says(models_page):
    at = models_page
    at.multiselect(key="model_models").set_value(["pr"]).run()
    at.number_input(key="model_repeats").set_value(1).run()
    at.button(key="run_models").click().run()
    assert not at.exception

    def options():
        found = [json.loads(c.proto.config)["toImageButtonOptions"] for c in at.get("plotly_chart")]
        return {o["filename"]: o for o in found}

    shown = options()
    assert shown["fold_errors"]["format"] == "png" and shown["fold_errors"]["scale"] == 2
    assert shown["parity"]["format"] == "png"
    at.sidebar.radio(key="figure_download_format").set_value("svg").run()
    shown = options()
    assert {o["format"] for o in shown.values()} == {"svg"} and {"fold_errors", "parity"} <= set(shown)
