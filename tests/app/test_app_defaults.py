"""Cheap defaults: the smallest feature set by default, time estimates before long steps, Cancel, config.toml."""

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, started_jobs

APP = str(ROOT / "app.py")


def _slower_machine(monkeypatch, factor):
    """Pretend the machine is ``factor`` times slower: every estimate grows by that factor."""
    from msdash.app import features

    for key, value in list(features.COST.items()):
        monkeypatch.setitem(features.COST, key, value * factor)


def _demo_with_phys_feat2():
    """The app on the demo with physFeat2 computed (a small feature set every page can use)."""
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("msdash/app/screens/features.py").run()
    at.selectbox(key="extractor").set_value("phys_feat2").run()
    at.button(key="compute_features").click().run()
    return at


@pytest.fixture
def big_then_small():
    """The demo with a small set (phys_feat1: 2 features) computed first and a big one (two_point) after it."""
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("msdash/app/screens/features.py").run()
    for extractor in ("phys_feat1", "two_point"):
        at.selectbox(key="extractor").set_value(extractor).run()
        at.button(key="compute_features").click().run()
        assert not at.exception
        time.sleep(1.1)  # the store records creation times in seconds: the big set is strictly the newest
    return at


class TestSmallestSet:
    def test_fewest_features_among_adequate(self):
        from msdash.app.features import smallest_set

        sizes = {"two_point": 4225, "volume_fraction": 1, "phys_feat2": 64, "imported: e.csv": None}
        assert smallest_set(sizes, min_features=2) == "phys_feat2"
        assert smallest_set(sizes) == "volume_fraction"
        assert smallest_set({"a": 1}, min_features=2) == "a"  # nothing adequate: still the smallest known
        assert smallest_set({"imported: e.csv": None}) == "imported: e.csv"
        assert smallest_set({"x": 64, "y": 64}) == "x"  # ties: the one listed first (newest)
        assert smallest_set({}) is None

    def test_map_and_models_default_to_the_small_set(self, big_then_small):
        at = big_then_small
        at.switch_page("msdash/app/screens/models.py").run()
        assert not at.exception
        options = at.multiselect(key="model_sets").options
        assert options[0].startswith("two_point")  # the newest, which the page used to pick
        (chosen,) = at.multiselect(key="model_sets").value
        assert chosen.startswith("phys_feat1")
        assert any("smallest computed feature set (2 features)" in c.value for c in at.caption)

        at.switch_page("msdash/app/screens/map.py").run()
        assert not at.exception
        assert at.multiselect(key="map_sets").value == [chosen]
        assert any(c.value.startswith("Default: phys_feat1") for c in at.caption)


class TestEstimates:
    def test_large_tables_take_minutes_small_ones_seconds(self):
        from msdash.app.features import LONG_STEP_S, estimate_seconds

        assert estimate_seconds("nested_cv", 45_000, 4_225) > 30 * 60  # the 50k × 4,225 table
        assert estimate_seconds("pca", 50_000, 4_225) > LONG_STEP_S
        assert estimate_seconds("umap", 50_000, 1_089) > LONG_STEP_S
        assert estimate_seconds("nested_cv", 300, 64) < 10
        assert estimate_seconds("pca", 50_000, 64) < 10
        # grows with the work: twice the samples, more time
        assert estimate_seconds("umap", 10_000, 50) > estimate_seconds("umap", 5_000, 50)

    def test_caption_before_a_long_run(self, monkeypatch):
        _slower_machine(monkeypatch, 1e4)
        at = _demo_with_phys_feat2()
        at.switch_page("msdash/app/screens/models.py").run()
        assert not at.exception
        (caption,) = [c.value for c in at.caption if c.value.startswith("Estimated time")]
        assert "on 300 samples" in caption and "Cancel stops it" in caption

    def test_no_caption_for_a_quick_run(self):
        at = _demo_with_phys_feat2()
        at.switch_page("msdash/app/screens/models.py").run()
        assert not [c for c in at.caption if c.value.startswith("Estimated time")]


class TestNestedFolds:
    @pytest.mark.parametrize("grouped", [False, True])
    def test_same_numbers_as_nested_cv(self, grouped):
        from msdash.app.modelview import nested_folds
        from msdash.models import nested_cv

        rng = np.random.default_rng(1)
        X = rng.normal(size=(60, 8))
        y = 10 + X[:, 0] + 0.5 * X[:, 1] ** 2 + 0.1 * rng.normal(size=60)
        groups = np.repeat(np.arange(6), 10) if grouped else None
        expected = nested_cv(X, y, model="pr", outer=5, inner=3, groups=groups, scoring="rmse", random_state=42)
        events = []
        got = nested_folds(X, y, groups, model="pr", outer=5, inner=3, scoring="rmse", standardize=False,
                           callback=events.append)
        np.testing.assert_array_equal(got.fold_scores, expected.fold_scores)
        np.testing.assert_array_equal(got.predictions, expected.predictions)
        assert got.fold_params == expected.fold_params
        assert got.summary() == expected.summary()
        assert [e["fold"] for e in events] == [1, 2, 3, 4, 5]

    def test_callback_false_stops_between_folds(self):
        from msdash.app.modelview import nested_folds

        rng = np.random.default_rng(2)
        X, y = rng.normal(size=(40, 5)), rng.normal(size=40) + 10
        seen = []

        def stop_after_two(event):
            seen.append(event["fold"])
            return event["fold"] < 2

        assert nested_folds(X, y, None, model="lr", outer=5, inner=3, scoring="mape", standardize=False,
                            callback=stop_after_two) is None
        assert seen == [1, 2]


class TestCancel:
    def test_cancel_stops_a_running_cv(self, monkeypatch):
        from msdash.learned import jobs
        from msdash.app import keys, modelview

        _slower_machine(monkeypatch, 1e6)  # every run counts as long: it goes to the background
        gate, real = threading.Event(), modelview.nested_folds

        def gated(*args, callback, **kwargs):  # the real CV, held after each fold until the test has clicked
            def wait_then_report(event):
                gate.wait(60)
                return callback(event)
            return real(*args, callback=wait_then_report, **kwargs)

        monkeypatch.setattr(modelview, "nested_folds", gated)
        at = _demo_with_phys_feat2()
        at.switch_page("msdash/app/screens/models.py").run()
        at.selectbox(key="model_groups").set_value("(none)").run()
        at.button(key="run_models").click().run()
        assert not at.exception
        job = jobs.get(at.session_state[keys.MODEL_CV_JOB])
        assert job.running
        at.button(key="cancel_cv_job").click().run()
        gate.set()
        assert job.wait(60)
        assert job.status == "cancelled"
        assert job.last["fold"] == 1 and job.last["folds"] == 10  # stopped after the fold it was in
        assert job.result == []
        at.run()
        assert any("Cancelled after 0 of 1 run(s)" in w.value for w in at.warning)
        assert not at.dataframe  # no results table from a cancelled run

    def test_long_run_in_the_background_gives_the_same_results(self, monkeypatch):
        from msdash.learned import jobs
        from msdash.app import keys

        _slower_machine(monkeypatch, 1e6)
        at = _demo_with_phys_feat2()
        at.switch_page("msdash/app/screens/models.py").run()
        at.selectbox(key="model_groups").set_value("(none)").run()
        at.number_input(key="model_outer").set_value(3).run()
        at.button(key="run_models").click().run()
        assert jobs.get(at.session_state[keys.MODEL_CV_JOB]).wait(120)
        at.run()
        assert not at.exception
        table = at.dataframe[0].value
        models = table[~table["model"].str.startswith("baseline")]  # issue 17.5 added a baseline row
        assert len(models) == 1 and models["samples"].iloc[0] == 300 and len(table) == 2
        run = at.session_state[keys.MODEL_RUNS]["runs"][0]
        from msdash.models import nested_cv

        expected = nested_cv(run.X, run.result.y, model="pr", outer=3, inner=5, random_state=42)
        np.testing.assert_array_equal(run.result.fold_scores, expected.fold_scores)


class TestLongMap:
    def test_long_map_waits_for_a_click_then_runs_in_the_background(self, monkeypatch):
        _slower_machine(monkeypatch, 1e6)
        at = _demo_with_phys_feat2()
        at.switch_page("msdash/app/screens/map.py").run()
        assert not at.exception
        assert not at.get("plotly_chart")  # not computed before the user says so
        assert any("is estimated to take" in i.value for i in at.info)
        at.button(key="long_map_0").click().run()
        (job,) = [j for j in started_jobs("map:PCA:") if j.started > time.time() - 60]
        assert job.wait(60) and job.status == "done"
        at.run()
        spec = json.loads(at.get("plotly_chart")[0].proto.spec)
        assert sum(len(t["customdata"]) for t in spec["data"] if t.get("name") != "selected") == 300


def test_config_toml_loads_without_warnings(tmp_path):
    """The repository's settings are all options Streamlit knows, and they take effect from the file."""
    code = ("import json; from streamlit import config; o = config.get_config_options(force_reparse=True); "
            "print(json.dumps({k: [o[k].value, o[k].where_defined] for k in "
            "('server.fileWatcherType', 'runner.postScriptGC', 'server.headless', 'server.runOnSave')}))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env["HOME"] = str(tmp_path)  # no global ~/.streamlit/config.toml
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    assert "not a valid config option" not in done.stderr and "WARNING" not in done.stderr, done.stderr
    options = json.loads(done.stdout)
    toml = str(ROOT / ".streamlit" / "config.toml")
    assert options["server.fileWatcherType"] == ["none", toml]
    assert options["runner.postScriptGC"] == [False, toml]
    assert options["server.headless"] == [True, toml]


class TestFeatureCountBeforeComputing:
    """The Features page says how many features a run gives, and refuses one that cannot fit the budget."""

    def _open(self, monkeypatch, side, budget=None):
        from streamlit.testing.v1 import AppTest

        from conftest import ROOT
        from msdash.data.dataset import Dataset
        from msdash.data.datastore import save_dataset

        if budget:
            monkeypatch.setenv("MSDASH_MEMORY_BUDGET", str(budget))
        images = {f"i{k}": np.zeros((side, side), np.float32) for k in range(3)}
        dataset_id = save_dataset(Dataset("big", images))
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params["ds"] = dataset_id
        at.run()
        at.switch_page("msdash/app/screens/features.py").run()
        at.selectbox(key="extractor").set_value("two_point").run()
        return at

    def test_count_is_said_before_computing(self, monkeypatch):
        at = self._open(monkeypatch, 512)
        # 1/8 of 512 = 64 px: (2·64 + 1)² = 16,641 features.
        assert any("16,641 features per sample × 3 samples" in c.value for c in at.caption)
        assert not at.button(key="compute_features").disabled

    def test_a_table_over_the_budget_is_refused_before_computing(self, monkeypatch):
        at = self._open(monkeypatch, 512, budget=1)
        at.checkbox(key="param_two_point_cutoff_on").check().run()
        at.number_input(key="param_two_point_cutoff").set_value(255).run()
        # 511² = 261,121 features × 3 samples × 8 bytes = 6.3 MB: under the 16 MiB never refused, so warned.
        assert any("261,121 features" in w.value for w in at.warning)
        assert not at.button(key="compute_features").disabled
        from msdash.features import sizing

        monkeypatch.setattr(sizing, "ALWAYS_FITS", 1024)
        at.run()
        assert any("more than the" in e.value for e in at.error), [e.value for e in at.error]
        assert at.button(key="compute_features").disabled
