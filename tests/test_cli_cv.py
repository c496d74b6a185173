"""``python -m msdash cv``: nested CV of a feature table from the command line."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from msdash.models import nested_cv


def _run(*args, home):
    env = {"MSDASH_HOME": str(home), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "msdash", "cv", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    y = 100 + 5 * X[:, 0] + 2 * X[:, 1] + rng.normal(size=40)
    frame = pd.DataFrame(X, index=[f"s{i:02d}" for i in range(40)], columns=[f"f{j}" for j in range(6)])
    frame.index.name = "name"
    return frame, y


def test_target_in_the_feature_table_matches_the_library(table, tmp_path, workspace):
    frame, y = table
    path = tmp_path / "features.csv"
    frame.assign(hardness=y).to_csv(path)
    out = tmp_path / "cv.json"
    result = _run(path, "--target", "hardness", "--model", "lr", "--outer", 4, "--inner", 3,
                  "--n-components", "1-4", "--out", out, home=workspace)
    assert result.returncode == 0, result.stderr
    assert "MAPE" in result.stderr
    saved = json.loads(out.read_text())
    direct = nested_cv(frame.to_numpy(), y, model="lr", n_components=range(1, 5), outer=4, inner=3)
    np.testing.assert_allclose(saved["fold_scores"], direct.fold_scores)
    assert saved["fold_params"] == direct.fold_params
    np.testing.assert_allclose(saved["predictions"], direct.predictions)
    assert saved["names"] == list(frame.index) and saved["n_features"] == 6
    assert set(saved["summary"]) == {"mape_pct", "rmse", "mae", "r2"} and saved["model"] == "lr"


def test_properties_file_groups_and_parquet(table, tmp_path, workspace):
    frame, y = table
    features = tmp_path / "features.parquet"
    frame.iloc[::-1].to_parquet(features)  # another order: matching is by name
    frame.iloc[5, 2] = np.nan  # a failed image in the feature table
    frame.to_parquet(features)
    props = tmp_path / "props.csv"
    pd.DataFrame({"name": frame.index[2:], "hv": y[2:], "paper": np.repeat(list("abcdefghij"), 4)[2:]}
                 ).to_csv(props, index=False)
    out = tmp_path / "cv.json"
    result = _run(features, "--properties", props, "--target", "hv", "--groups", "paper", "--outer", "logo",
                  "--inner", 3, "--model", "pr", "--n-components", "1,2,3", "--out", out, home=workspace)
    assert result.returncode == 0, result.stderr
    assert "37 samples" in result.stderr
    saved = json.loads(out.read_text())
    assert len(saved["fold_scores"]) == 10 and "s05" not in saved["names"] and "s00" not in saved["names"]
    paper = dict(zip(frame.index, np.repeat(list("abcdefghij"), 4)))
    for test in saved["test_indices"]:
        assert len({paper[saved["names"][i]] for i in test}) == 1


@pytest.mark.parametrize("args, message", [
    (("--target", "nope"), "--target 'nope'"),
    (("--target", "hardness", "--model", "gpr"), "`model`"),
    (("--target", "hardness", "--outer", "x"), "--outer"),
    (("--target", "hardness", "--n-components", "a-b"), "--n-components"),
])
def test_bad_arguments_exit_2_with_a_message(table, tmp_path, workspace, args, message):
    frame, y = table
    path = tmp_path / "features.csv"
    frame.assign(hardness=y).to_csv(path)
    result = _run(path, *args, "--out", tmp_path / "x.json", home=workspace)
    assert result.returncode == 2 and message in result.stderr
