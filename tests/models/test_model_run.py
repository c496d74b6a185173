"""msdash.models.run and msdash.models.inputs: typed runs, repeated CV, common samples, leakage guard."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from msdash.data.dataset import Dataset
from msdash.errors import InputError
from msdash.features.table import FeatureTable
from msdash.models import nested_cv
from msdash.models.inputs import common_samples, correlated_inputs, input_columns
from msdash.models.report import (
    baseline_warnings,
    replace_runs,
    settings_tags,
    summary_frame,
)
from msdash.models.run import ModelRun, RunSettings, run_comparison

N = 36


def table(values, names, key):
    return FeatureTable(values=np.asarray(values, float), labels=[str(i) for i in range(np.shape(values)[1])],
                        names=list(names), errors=[], extractor=key, params={}, provenance={}, key=key, kind="")


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    names = [f"p{i % 6}_s{i:02d}" for i in range(N)]
    X = rng.normal(size=(N, 5))
    y = 20 + 3 * X[:, 0] + 0.2 * rng.normal(size=N)
    props = pd.DataFrame({"y": y, "paper": [n.split("_")[0] for n in names], "noise": rng.normal(size=N)},
                         index=names)
    dataset = Dataset("tiny", {n: np.zeros((4, 4)) for n in names}, props, group_column="paper")
    holed = X.copy()
    holed[[4, 9]] = np.nan  # an extractor that failed on two samples (physFeat1 on uniform images)
    return dataset, {"full": table(X, names, "kf"), "holed": table(holed, names, "kh")}, X, y


class TestRunComparison:
    def test_first_repeat_is_nested_cv_on_the_common_rows(self, data):
        dataset, tables, X, y = data
        runs = run_comparison(dataset, tables, target="y", models=["lr"], outer=4, inner=3, repeats=2)
        keep = np.ones(N, bool)
        keep[[4, 9]] = False
        expected = nested_cv(X[keep], y[keep], model="lr", outer=4, inner=3, random_state=42)
        full = next(r for r in runs if r.feature_set == "full")
        np.testing.assert_array_equal(full.result.fold_scores, expected.fold_scores)
        np.testing.assert_array_equal(full.X, X[keep])
        assert [len(r.names) for r in runs] == [N - 2] * 3  # both sets and the baseline on the same 34 rows
        assert full.set_missing == 0 and next(r for r in runs if r.feature_set == "holed").set_missing == 2
        assert set(full.dropped) == {dataset.names[4], dataset.names[9]}
        assert "NaN features in holed" in full.common.summary()

    def test_later_repeats_shuffle_the_sample_order_with_their_seed(self, data):
        dataset, tables, X, y = data
        (run, _) = run_comparison(dataset, {"full": tables["full"]}, target="y", models=["lr"], outer=4, inner=3,
                                  repeats=3, seed=7)
        assert run.settings.seeds == (7, 8, 9) and len(run.repeats) == 3
        order = np.random.default_rng(9).permutation(N)
        shuffled = nested_cv(X[order], y[order], model="lr", outer=4, inner=3, random_state=9)
        back = np.empty(N)
        back[order] = shuffled.predictions
        np.testing.assert_allclose(run.repeats[2].predictions, back, rtol=1e-12)
        np.testing.assert_array_equal(run.repeats[2].fold_scores, shuffled.fold_scores)
        means = [np.mean(r.fold_scores) for r in run.repeats]
        assert run.mean_score == pytest.approx(np.mean(means))
        assert run.spread == pytest.approx(np.std(means, ddof=1))
        assert run.spread > 0  # another seed, other folds: not the same number three times

    def test_grouped_runs_keep_whole_groups_and_the_baseline_uses_their_folds(self, data):
        dataset, tables, X, y = data
        runs = run_comparison(dataset, {"full": tables["full"]}, target="y", models=["lr"], group_column="paper",
                              outer=3, inner=2, repeats=1, scoring="rmse")
        grouped = next(r for r in runs if r.grouped and not r.baseline)
        base = next(r for r in runs if r.grouped and r.baseline)
        papers = dataset.properties["paper"].to_numpy()
        for train, test in grouped.result.folds:
            assert not set(papers[train]) & set(papers[test])
        assert [t.tolist() for _, t in base.result.folds] == [t.tolist() for _, t in grouped.result.folds]
        by_hand = [np.sqrt(np.mean((y[test] - y[train].mean()) ** 2)) for train, test in grouped.result.folds]
        np.testing.assert_allclose(base.result.fold_scores, by_hand, rtol=1e-12)
        assert baseline_warnings(runs) == []  # y is 3·x₀ + noise: the model wins by far

    def test_runs_are_typed_records_not_dicts(self, data):
        dataset, tables, _, _ = data
        run = run_comparison(dataset, {"full": tables["full"]}, target="y", models=["lr"], outer=3, inner=2,
                             repeats=1, entries={"full": ("computed", "x", {})})[0]
        assert run.entry == ("computed", "x", {}) and run.cnn is False and run.grouped is None
        assert run.X.shape == (len(dataset), tables["full"].values.shape[1])
        with pytest.raises(TypeError):  # no string keys: a page must read the fields
            run["result"]
        with pytest.raises(AttributeError):  # frozen
            run.model = "pr"

    def test_labels_and_json_carry_every_setting(self, data):
        dataset, tables, _, _ = data
        run = run_comparison(dataset, {"full": tables["full"]}, target="y", models=["lr"], extra=["noise"],
                             group_column="paper", outer=3, inner=2, repeats=2, dataset_label="set A")[0]
        label = run.settings.label()
        for part in ("y", "set A", "+noise", "standardised", "groups paper", "3×2-fold", "seeds 42–43", "36 samples"):
            assert part in label
        exported = json.loads(json.dumps(run.to_dict()))
        assert exported["settings"]["extra"] == ["noise"] and exported["settings"]["seeds"] == [42, 43]
        assert exported["settings"]["dataset"] == "set A" and len(exported["repeats"]) == 2
        assert [r["seed"] for r in exported["repeats"]] == [42, 43]

    def test_stop_keeps_finished_runs_and_their_baseline(self, data):
        dataset, tables, _, _ = data
        assert run_comparison(dataset, tables, target="y", models=["lr"], outer=3, inner=2, repeats=1,
                              callback=lambda event: False) == []
        runs = run_comparison(dataset, tables, target="y", models=["lr"], outer=3, inner=2, repeats=1,
                              callback=lambda event: event["task"] < 2)
        assert [(r.feature_set, r.baseline) for r in runs] == [("full", False), ("(constant)", True)]

    def test_refuses_the_target_as_an_input(self, data):
        dataset, tables, _, _ = data
        with pytest.raises(InputError, match="reveal the target"):
            run_comparison(dataset, tables, target="y", models=["lr"], extra=["y"])
        with pytest.raises(InputError, match="`repeats`"):
            run_comparison(dataset, tables, target="y", models=["lr"], repeats=0)


class TestBaselineWarnings:
    def fake(self, model, score, settings, baseline=False, grouped=None):
        result = SimpleNamespace(fold_scores=np.array([score, score]))
        return ModelRun(feature_set="(constant)" if baseline else "fs", model=model, result=result,
                        names=np.array([]), settings=settings, repeats=(result,), baseline=baseline, grouped=grouped)

    def test_names_the_models_that_do_not_beat_their_own_baseline(self):
        mape, r2 = RunSettings("d", "y", scoring="mape"), RunSettings("d", "y", scoring="r2")
        runs = [self.fake("pr", 9.0, mape), self.fake("lr", 12.0, mape), self.fake("knn", 10.0, mape),
                self.fake("baseline", 10.0, mape, baseline=True),
                self.fake("svr", 0.4, r2), self.fake("ridge", -0.1, r2), self.fake("baseline", -0.02, r2, True)]
        (first, second) = baseline_warnings(runs)
        assert "lr on fs (MAPE (%) 12 vs 10)" in first and "knn on fs" in first and "pr on" not in first
        assert "ridge on fs" in second and "svr" not in second  # R²: higher is better

    def test_a_grouped_model_is_compared_with_the_grouped_baseline(self):
        s = RunSettings("d", "y", group_column="g")
        runs = [self.fake("pr", 9.0, s, grouped="g"), self.fake("baseline", 10.0, s, True),
                self.fake("baseline", 8.0, s, True, grouped="g")]
        (warning,) = baseline_warnings(runs)
        assert warning.startswith("Not better than the constant predictor (grouped by g")


def test_replace_runs_keeps_other_settings_side_by_side():
    a, b = RunSettings("d", "y", standardize=False), RunSettings("d", "y", standardize=True)
    result = SimpleNamespace(fold_scores=np.array([1.0]))

    def run(settings, tag):
        return ModelRun(feature_set="fs", model="pr", result=result, names=np.array([tag]), settings=settings)

    old_a, old_b, new_a = run(a, "old a"), run(b, "old b"), run(a, "new a")
    assert replace_runs([old_a, old_b], [new_a]) == [old_b, new_a]  # latest last
    assert replace_runs([old_a], [run(b, "b")])[0] is old_a


class TestInputs:
    def test_common_samples_name_every_reason(self, data):
        dataset, tables, _, _ = data
        dataset.properties.loc[dataset.names[0], "y"] = np.nan
        found = common_samples(dataset, tables, target="y", extra=["noise"], group_column="paper")
        assert found.keep.sum() == N - 3 and found.per_set == {"full": 0, "holed": 2}
        assert found.dropped == {dataset.names[0]: "no value of y", dataset.names[4]: "NaN features in holed",
                                 dataset.names[9]: "NaN features in holed"}

    def test_rows_are_matched_by_name_not_position(self, data):
        dataset, tables, X, _ = data
        backwards = table(X[::-1], dataset.names[::-1], "kb")
        found = common_samples(dataset, {"b": backwards, "holed": tables["holed"]}, target="y")
        assert found.keep.sum() == N - 2

    def test_the_target_and_its_sources_are_never_inputs(self):
        ds = SimpleNamespace(numeric_columns=["HV", "hardness (GPa)", "HV all", "HV all (GPa)", "HV in GPa", "Ni",
                                              "Cr"])
        provenance = {"HV all": {"formula": "coalesce(HV, hardness (GPa) × 1000 / 9.80665)",
                                 "sources": ["HV", "hardness (GPa)"]},
                      "HV all (GPa)": "`HV all` × 9.80665 / 1000", "HV in GPa": "HV in GPa = 0.00980665 × [HV]",
                      "Cr": {"formula": "Cr_at × 0.9"}}
        allowed, excluded = input_columns(ds, "HV all", provenance=provenance)
        assert allowed == ["Ni", "Cr"]
        assert excluded == {"HV all": "the target", "HV": "the target is derived from it",
                            "hardness (GPa)": "the target is derived from it",
                            "HV all (GPa)": "derived from the target", "HV in GPa": "derived from the target's source"}
        allowed, _ = input_columns(ds, "Ni", provenance=provenance)
        assert "HV all" in allowed and "Ni" not in allowed  # a hardness column says nothing about Ni

    def test_correlated_inputs_against_numpy(self, data):
        dataset, _, _, y = data
        dataset.properties["copy"] = y * 1.5 + 0.01 * np.random.default_rng(0).normal(size=N)
        found = correlated_inputs(dataset, "y", ["noise", "copy"])
        assert list(found) == ["copy"]
        assert found["copy"] == pytest.approx(np.corrcoef(dataset.properties["copy"], y)[0, 1])


def test_summary_frame_rows_against_the_runs(data):
    dataset, tables, _, y = data
    runs = run_comparison(dataset, {"full": tables["full"]}, target="y", models=["lr"], outer=4, inner=3, repeats=2)
    frame = summary_frame(runs)
    assert list(frame["settings"]) == ["S1", "S1"] and settings_tags(runs) == {runs[0].settings: "S1"}
    base = frame.iloc[1]
    assert base["model"] == "baseline (median of the training folds)" and base["repeats"] == 2
    by_hand = np.mean([[100 * np.mean(np.abs(y[te] - np.median(y[tr])) / np.abs(y[te])) for tr, te in r.folds]
                       for r in runs[0].repeats])  # the model's own folds, every repeat
    assert base["MAPE (%)"] == pytest.approx(by_hand, abs=1e-3)
    mean, spread = frame.iloc[0]["MAPE (%) (mean ± spread over seeds)"].split(" ± ")
    assert float(mean) == pytest.approx(runs[0].mean_score, rel=1e-3)
    assert float(spread) == pytest.approx(runs[0].spread, rel=0.05)


def test_formulas_of_msdash_derived_name_exactly_their_bracketed_columns():
    """The Data page's formulas (msdash.derived) decide what the guard excludes."""
    from msdash.derived import add_derived, coalesce, convert

    names = [f"s{i}" for i in range(6)]
    props = pd.DataFrame({"HV": [300.0, np.nan, 320, np.nan, 310, 305], "hardness (GPa)": [np.nan, 3.1, np.nan,
                                                                                              3.0, 3.05, 2.9],
                          "HV all extra": [1.0, 2, 3, 4, 5, 6], "Ni": [60.0, 61, 62, 63, 64, 65]}, index=names)
    ds = Dataset("t", {n: np.zeros((4, 4)) for n in names}, props)
    ds = add_derived(ds, coalesce(ds.properties, "HV", "hardness (GPa)", factor=1000 / 9.80665, name="HV all"))
    ds = add_derived(ds, convert(ds.properties, "Ni", factor=0.01, name="Ni fraction"))
    allowed, excluded = input_columns(ds, "HV all")
    assert set(excluded) == {"HV all", "HV", "hardness (GPa)"}
    assert allowed == ["HV all extra", "Ni", "Ni fraction"]  # a name sharing a prefix is not a source
    allowed, excluded = input_columns(ds, "Ni")
    assert excluded == {"Ni": "the target", "Ni fraction": "derived from the target"}


def test_a_table_too_big_to_copy_varies_the_folds_only(data, monkeypatch):
    dataset, tables, X, y = data
    monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(4 * 8 * N * 5 - 1))  # a shuffled copy would not fit 1/4
    (run, _) = run_comparison(dataset, {"full": tables["full"]}, target="y", models=["lr"], outer=4, inner=3,
                              repeats=2)
    assert not run.settings.shuffle_order and "folds only" in run.settings.label()
    expected = nested_cv(X, y, model="lr", outer=4, inner=3, random_state=43)
    np.testing.assert_array_equal(run.repeats[1].fold_scores, expected.fold_scores)
    monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(4 * 8 * N * 5))
    (run, _) = run_comparison(dataset, {"full": tables["full"]}, target="y", models=["lr"], outer=4, inner=3,
                              repeats=2)
    assert run.settings.shuffle_order and "order shuffled" in run.settings.label()


def test_run_estimate_grows_with_the_repeats():
    from msdash.app.modelview import run_estimate

    combos = [("a", "pr", None), ("a", "pr", "g"), ("imported", "pr", None)]
    once, unknown = run_estimate({"a": 100, "imported": None}, combos, 150, 10, 5, repeats=1)
    thrice, _ = run_estimate({"a": 100, "imported": None}, combos, 150, 10, 5, repeats=3)
    assert unknown == 1 and once > 0 and thrice == pytest.approx(3 * once)


def test_learn_page_cnn_results_become_model_runs(data, monkeypatch):
    """modelview.cnn_runs wraps the Learn page's saved CNN CVs as ModelRuns (read by string key too)."""
    import msdash.learned.cnn.runs as cnn
    from msdash.app.modelview import cnn_runs
    from msdash.models.report import summary_frame

    _, _, X, y = data
    result = nested_cv(X, y, model="lr", outer=3, inner=2)
    item = {"run_id": "r1", "model": "cnn-resnet18", "names": [f"n{i}" for i in range(N)], "outer": 3,
            "group_column": None, "result": result}
    monkeypatch.setattr(cnn, "finished_results", lambda dataset_id, target: [item])
    (same,) = cnn_runs("d1", "y", outer=3, dataset_label="tiny")
    (other,) = cnn_runs("d1", "y", outer=10)
    assert same.cnn and same.result is result and same.X is None and same.target == "y"
    assert same.folds.endswith("(same as above)") and other.folds.endswith("(differs from the folds above)")
    assert summary_frame([same])["samples"].iloc[0] == N and same.mean_score == pytest.approx(result.fold_scores.mean())
