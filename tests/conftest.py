"""Shared fixtures: every test gets its own empty workspace, so nothing touches ~/.msdash."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from foundation_tiny import hub_cache, tiny  # noqa: F401 — the tiny-model fixtures, for every test module

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    """An empty ``MSDASH_HOME`` for the test."""
    home = tmp_path / "msdash-home"
    monkeypatch.setenv("MSDASH_HOME", str(home))
    monkeypatch.setenv("MSDASH_WARM_UMAP", "0")  # no background numba compile competing with the tests
    return home


def png_bytes(array):
    """Encode a uint8 array (H, W) or (H, W, 3) as PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def zip_bytes(members):
    """Pack ``{name: bytes}`` into a zip archive held in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def phase_maps(n, size=16, seed=0):
    """``n`` random binary 0/255 maps (uint8) with names ``img_00``..., for upload tests."""
    rng = np.random.default_rng(seed)
    return {f"img_{i:02d}": (rng.random((size, size)) < 0.3 + 0.05 * i).astype(np.uint8) * 255 for i in range(n)}


def require_chromium():
    """Skip a browser-test module when Debian's chromium is missing — except in CI, where that is an error."""
    import os

    from msdash._testing import CHROMIUM

    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: the README's test command installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)", allow_module_level=True)


def started_jobs(prefix):
    """Background jobs of this process whose id starts with ``prefix``, newest first: what a page started.

    The app never lists jobs (each page keeps its own ids), so tests read the registry directly.
    """
    from msdash.learned import jobs

    found = [job for job in list(jobs._JOBS.values()) if job.job_id.startswith(prefix)]
    return sorted(found, key=lambda job: job.started, reverse=True)
