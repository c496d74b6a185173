"""The committed ruff configuration (pyproject.toml) holds for the whole tree (issue 16 item 7)."""

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def _ruff():
    found = Path(sys.executable).with_name("ruff")  # installed with the test requirements, beside this Python
    return str(found) if found.exists() else shutil.which("ruff")


def test_ruff_check_is_clean():
    ruff = _ruff()
    assert ruff, "ruff is in requirements-test.txt: pip install -r requirements-test.txt"
    result = subprocess.run([ruff, "check", "--no-cache", "msdash", "app.py", "bench", "tests"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
