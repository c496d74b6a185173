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
    parts, logs = [], []
    for i in range(2):
        out = tmp_path / f"part{i}.parquet"
        result = _run("extract", root, "-e", "two_point", "-p", "cutoff=2", "-p", "periodic=false",
                      "--shard", f"{i}/2", "--out", out, home=workspace)
        assert result.returncode == 0, result.stderr
        parts.append(pd.read_parquet(out))
        logs.append(result.stderr)
    # Shards split the sorted *file* names without decoding the others: broken.png takes the first slot
    # and only its shard reads it (and reports it).
    assert list(parts[0].index) == ["m1", "m3", "m5"] and list(parts[1].index) == ["m0", "m2", "m4"]
    assert "skipped pngs/broken.png" in logs[0] and "broken" not in logs[1]
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


class TestShardsAndMerge:
    ARGS = ("-e", "two_point", "-p", "cutoff=2", "-p", "periodic=false")

    @pytest.mark.parametrize("suffix", [".csv", ".parquet"])
    def test_merged_shards_equal_the_single_process_table(self, folder, tmp_path, workspace, suffix):
        root, _ = folder
        single = tmp_path / f"single{suffix}"
        assert _run("extract", root, *self.ARGS, "--no-store", "--out", single, home=workspace).returncode == 0
        parts = [tmp_path / f"part{i}{suffix}" for i in range(3)]
        for i, part in enumerate(parts):
            result = _run("extract", root, *self.ARGS, "--shard", f"{i}/3", "--out", part, home=workspace)
            assert result.returncode == 0, result.stderr
        merged = tmp_path / f"merged{suffix}"
        result = _run("merge", *reversed(parts), "--out", merged, home=workspace)
        assert result.returncode == 0 and "3 parts, 6 samples × 25 features" in result.stderr
        if suffix == ".csv":
            assert merged.read_bytes() == single.read_bytes()
        else:
            expected, got = pd.read_parquet(single), pd.read_parquet(merged)
            assert list(got.index) == list(expected.index) and list(got.columns) == list(expected.columns)
            np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())

    def test_overlapping_or_foreign_parts_are_refused(self, folder, tmp_path, workspace):
        root, _ = folder
        a, b = tmp_path / "a.csv", tmp_path / "b.csv"
        _run("extract", root, *self.ARGS, "--shard", "0/2", "--out", a, home=workspace)
        _run("extract", root, "-e", "volume_fraction", "--shard", "1/2", "--out", b, home=workspace)
        twice = _run("merge", a, a, "--out", tmp_path / "m.csv", home=workspace)
        assert twice.returncode == 2 and "more than one part" in twice.stderr
        foreign = _run("merge", a, b, "--out", tmp_path / "m.csv", home=workspace)
        assert foreign.returncode == 2 and "other columns" in foreign.stderr
        assert not (tmp_path / "m.csv").exists()


def test_engine_ray_without_ray_says_what_to_install(folder, tmp_path, workspace):
    # Ray is in the test requirements: hide it (``sys.modules["ray"] = None`` makes ``import ray`` fail).
    code = ("import sys; sys.modules['ray'] = None; from msdash.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    env = {"MSDASH_HOME": str(workspace), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code, "extract", str(folder[0]), "-e", "volume_fraction",
                             "--engine", "ray", "--out", str(tmp_path / "x.csv")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "requirements-cluster.txt" in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_engine_ray_fills_the_store_with_the_single_process_values(folder, tmp_path, workspace, capsys):
    import ray

    from msdash.cli import main

    root, _ = folder
    ray.init(num_cpus=2, ignore_reinit_error=True)
    try:
        assert main(["extract", str(root), "-e", "volume_fraction", "--engine", "ray", "--ray-workers", "1",
                     "--out", str(tmp_path / "ray.csv")]) == 0
    finally:
        ray.shutdown()
    assert "6 from store" in capsys.readouterr().err  # the table was read from what the Ray workers stored
    local = _run("extract", root, "-e", "volume_fraction", "--no-store", "--out", tmp_path / "local.csv",
                 home=workspace)
    assert local.returncode == 0
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
