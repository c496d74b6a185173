"""``python -m msdash``: extract a folder into a table, shards, exit codes."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, png_bytes


def _run(*args, home):
    env = {"MSDASH_HOME": str(home), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "msdash", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(3)
    root = tmp_path / "pngs"
    root.mkdir()
    maps = {}
    for i in range(6):
        maps[f"m{i}"] = (rng.random((12, 12)) < 0.2 + 0.1 * i).astype(np.uint8)
        (root / f"m{i}.png").write_bytes(png_bytes(maps[f"m{i}"] * 255))
    (root / "broken.png").write_bytes(b"not a png")
    return root, maps


def test_extract_writes_the_values_of_volume_fraction(folder, tmp_path, workspace):
    from msdash.features import volume_fraction

    root, maps = folder
    out = tmp_path / "x.csv"
    result = _run("extract", root, "--extractor", "volume_fraction", "--out", out, home=workspace)
    assert result.returncode == 0, result.stderr
    assert "broken" in result.stderr and "6 ok" in result.stderr
    frame = pd.read_csv(out, index_col=0)
    assert list(frame.index) == sorted(maps) and list(frame.columns) == ["volume fraction (phase 1)"]
    direct = volume_fraction(np.stack([maps[n] for n in sorted(maps)]))
    np.testing.assert_allclose(frame.iloc[:, 0].to_numpy(), direct)
    again = _run("extract", root, "--extractor", "volume_fraction", "--out", out, home=workspace)
    assert "6 from store" in again.stderr


def test_shards_split_the_sorted_names_and_share_the_store(folder, tmp_path, workspace):
    root, maps = folder
    parts = []
    for i in range(2):
        out = tmp_path / f"part{i}.parquet"
        result = _run("extract", root, "-e", "two_point", "-p", "cutoff=2", "-p", "periodic=false",
                      "--shard", f"{i}/2", "--out", out, home=workspace)
        assert result.returncode == 0, result.stderr
        parts.append(pd.read_parquet(out))
    assert list(parts[0].index) == ["m0", "m2", "m4"] and list(parts[1].index) == ["m1", "m3", "m5"]
    assert parts[0].shape == (3, 25) and "S2[dy=0,dx=0]" in parts[0].columns
    whole = _run("extract", root, "-e", "two_point", "-p", "cutoff=2", "-p", "periodic=false",
                 "--out", tmp_path / "all.csv", home=workspace)
    assert "6 from store" in whole.stderr


@pytest.mark.parametrize("args, message", [
    (["--extractor", "nope"], "valid extractors: "),
    (["--extractor", "two_point", "--param", "cutof=3"], "valid parameters: phases, periodic, cutoff"),
    (["--extractor", "two_point", "--param", "cutoff=x"], "`cutoff` must be"),
    (["--extractor", "volume_fraction", "--shard", "2/2"], "--shard"),
])
def test_bad_arguments_exit_2(folder, tmp_path, workspace, args, message):
    result = _run("extract", folder[0], *args, "--out", tmp_path / "x.csv", home=workspace)
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_list_extractors(workspace):
    result = _run("list-extractors", home=workspace)
    assert result.returncode == 0
    names = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert {"volume_fraction", "two_point", "two_point_paper_a", "two_point_paper_b", "radial_psd"} <= set(names)
