"""msdash as a package: a wheel built from the tree installs into a fresh venv, and ``msdash app`` serves the demo.

The wheel is built without network (``--no-build-isolation --no-index``, the test venv's setuptools) from a copy
of the tree, installed with ``--no-deps`` into a temporary venv that sees the test venv's packages (a ``.pth``
file), and run from a folder outside the repository, so only the installed files can be used.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile

import pytest

from conftest import ROOT, require_chromium
from msdash._testing import CHROMIUM, CHROMIUM_ARGS
from msdash.launcher import free_port


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "msdash", tree / "msdash", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(out), str(tree)], check=True, capture_output=True, text=True, timeout=300)
    (built,) = out.glob("msdash-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh venv with the wheel installed, and the test venv's third-party packages on its path."""
    place = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(place)], check=True, timeout=300)
    python = place / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True, text=True, timeout=300)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # appended after the venv's own site-packages; a folder added by a .pth file has its own .pth files ignored,
    # so the test venv's editable msdash (a .pth hook) is not seen, only its dependencies
    (place / "lib" / os.path.basename(os.path.dirname(site)) / "site-packages" / "test-venv.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    return place


def _run(venv, *args, cwd, **kwargs):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(list(args), cwd=cwd, env={**env, **kwargs.pop("env", {})}, capture_output=True,
                          text=True, timeout=300, **kwargs)


def test_the_wheel_holds_the_package_its_data_and_the_command(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    for needed in ("msdash/app/main.py", "msdash/app/screens/map.py", "msdash/app/streamlit.toml",
                   "msdash/app/fastmap.js", "msdash/assets/logo.svg", "msdash/assets/msdash.css",
                   "msdash/data/demo/demo.npz", "msdash/data/demo/properties.csv", "msdash/data/loader.py"):
        assert needed in names, f"{needed} is not in the wheel"
    assert not any(n.startswith(("tests/", "bench/", "pages/", "data/")) for n in names)
    assert "msdash = msdash.cli:main" in entry_points


def test_the_installed_package_is_the_wheel_not_the_tree(venv, tmp_path):
    out = _run(venv, str(venv / "bin" / "python"), "-c",
               "import json, msdash, msdash.data.dataset as d; from msdash.app.assets import ASSETS;"
               "print(json.dumps([msdash.__file__, str(d._DEMO_DIR), len(d.demo_dataset().names), str(ASSETS)]))",
               cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    package, demo_dir, n, assets = json.loads(out.stdout)
    assert package.startswith(str(venv)) and demo_dir.startswith(str(venv)) and assets.startswith(str(venv))
    assert n == 300  # read from the wheel's demo files, not regenerated
    listing = _run(venv, str(venv / "bin" / "msdash"), "list-extractors", cwd=tmp_path)
    assert listing.returncode == 0 and "two_point" in listing.stdout, listing.stderr


@pytest.mark.browser
def test_msdash_app_serves_the_demo(venv, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    port = free_port()
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen([str(venv / "bin" / "msdash"), "app", "--port", str(port), "--address", "127.0.0.1",
                               "--workspace", str(tmp_path / "home")], cwd=tmp_path, stdout=log, stderr=log,
                              env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "msdash app did not answer within 120 s"
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_text("Demo: 300", exact=False).first.wait_for(timeout=90_000)
            page.screenshot(path=str(ROOT / "test-artifacts" / "package_msdash_app.png"))
            browser.close()
        assert (tmp_path / "home").is_dir()  # the demo was saved in the workspace the command named
    finally:
        server.terminate()
        server.wait(20)
        log.close()
