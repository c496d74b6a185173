"""``import msdash`` stays light: no torch, transformers, umap or streamlit behind it."""

import os
import pkgutil
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


def _torch_modules(name):
    """Modules that hold torch classes (``nn.Module`` subclasses) and so import torch at module level: ``*_net``."""
    return name.rsplit(".", 1)[-1] == "net" or name.endswith("_net")


def _walk():
    import msdash.features
    import msdash.learned

    found = []
    for package in (msdash.learned, msdash.features):
        found += [package.__name__] + [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    return sorted(found)


LEARNED_AND_FEATURES = _walk()


def test_the_walk_finds_the_learned_and_feature_modules():
    # the parametrisation below is only as good as this list
    assert "msdash.learned.resnet" in LEARNED_AND_FEATURES and "msdash.features.registry" in LEARNED_AND_FEATURES
    assert len(LEARNED_AND_FEATURES) > 30


@pytest.mark.parametrize("module", [m for m in LEARNED_AND_FEATURES if not _torch_modules(m)])
def test_learned_and_feature_modules_import_no_torch(module):
    """Each module alone, in a fresh interpreter: torch and transformers load only when a model is used."""
    code = f"import sys, {module}; print(','.join(m for m in ('torch', 'transformers') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""


def test_the_torch_modules_are_the_net_modules():
    # the modules left out above are exactly those that define torch classes; none else may import torch at the top
    def source(module):
        path = ROOT / module.replace(".", "/")
        return (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).read_text(encoding="utf-8")

    defining = sorted(m for m in LEARNED_AND_FEATURES if "(nn.Module)" in source(m))
    assert defining and all(_torch_modules(m) for m in defining)
    assert [m for m in LEARNED_AND_FEATURES if _torch_modules(m)] == defining


_LEARN_VISIT = """
import sys
import numpy as np, pandas as pd
from streamlit.testing.v1 import AppTest
from msdash.data.dataset import Dataset
from msdash.data.datastore import save_dataset

images = {f"m{i}": np.random.default_rng(i).random((32, 32)).astype(np.float32) for i in range(4)}
dataset_id = save_dataset(Dataset("four", images, pd.DataFrame({"vf": [0.1, 0.2, 0.3, 0.4]}, index=list(images))))
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.query_params["ds"] = dataset_id
at.run()
at.switch_page("msdash/app/screens/learn.py").run()
assert not at.exception, at.exception
assert [t.value for t in at.title] == ["Learned representations"], [t.value for t in at.title]
print(",".join(m for m in ("torch", "transformers", "sklearn") if m in sys.modules))
"""


def test_the_learn_pages_first_visit_loads_no_torch_nor_sklearn(tmp_path):
    # issue 16 item 6: the page's forms need neither; a model loads them when it trains or is shown
    env = dict(os.environ, MSDASH_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", _LEARN_VISIT, str(ROOT / "app.py")], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1:] in ([], [""])


def test_only_the_app_package_imports_streamlit():
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "msdash").rglob("*.py")
                 if "app" not in path.relative_to(ROOT / "msdash").parts[:1]
                 and "import streamlit" in path.read_text(encoding="utf-8")]
    assert offenders == []
