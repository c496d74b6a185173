"""``import msdash`` stays light: no torch, transformers, umap or streamlit behind it."""

import subprocess
import sys

import pytest

from conftest import ROOT

HEAVY = ("torch", "transformers", "umap", "streamlit")


@pytest.mark.parametrize("module", ["msdash", "msdash.io", "msdash.data.dataset", "msdash.display",
                                    "msdash.data.ingest",
                                    "msdash.synthetic", "msdash.features.sections", "msdash.launcher",
                                    "msdash.features", "msdash.maps", "msdash.plots", "msdash.models",
                                    "msdash.predict", "msdash.selection", "msdash.cli"])
def test_library_modules_do_not_import_heavy_packages(module):
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""


def test_only_the_app_package_imports_streamlit():
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "msdash").rglob("*.py")
                 if "app" not in path.relative_to(ROOT / "msdash").parts[:1]
                 and "import streamlit" in path.read_text(encoding="utf-8")]
    assert offenders == []
