"""``python -m msdash generate``: saves a data set in the workspace and exports a zip."""

import subprocess
import sys
import zipfile

from conftest import ROOT
from msdash.data.datastore import list_datasets


def test_generate_ising_saves_and_exports(workspace, tmp_path):
    out = tmp_path / "ising.zip"
    done = subprocess.run([sys.executable, "-m", "msdash", "generate", "ising", "-p", "n=5", "-p", "size=8",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    dataset_id = done.stdout.split("\t")[0]
    assert [i.id for i in list_datasets()] == [dataset_id]
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    assert "properties.csv" in names and sum(n.endswith(".png") for n in names) == 5


def test_unknown_parameter_exits_2(workspace):
    done = subprocess.run([sys.executable, "-m", "msdash", "generate", "ising", "-p", "temperature=3"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "valid: n, size, seed" in done.stderr


def test_a_value_the_generator_refuses_exits_2_naming_the_parameter(workspace):
    done = subprocess.run([sys.executable, "-m", "msdash", "generate", "ising", "-p", "n=lots"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "`n` must be an int >= 1, got 'lots'" in done.stderr
    assert list_datasets() == []
