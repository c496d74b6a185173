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


@pytest.fixture(scope="session")
def fresh_demo():
    """The 300-sample demo set generated afresh by ``make_demo()`` (about 20 s), once for the whole session.

    Returns ``(images, properties)``: float32 (300, 64, 64) with its images read-only, and the table. Tests
    that need it to change take copies.
    """
    from msdash.synthetic.demo import make_demo

    images, properties = make_demo()
    images.setflags(write=False)
    return images, properties


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


def sem_texture(shape, seed=0):
    """A grey SEM-like micrograph (uint8): a smooth random field with grain-scale contrast and shot noise."""
    rng = np.random.default_rng(seed)
    field = rng.normal(size=shape)
    k = np.fft.fftfreq(shape[0])[:, None] ** 2 + np.fft.fftfreq(shape[1])[None, :] ** 2
    smooth = np.fft.ifft2(np.fft.fft2(field) * np.exp(-k * (2 * np.pi * 4) ** 2 / 2)).real
    smooth = (smooth - smooth.mean()) / smooth.std()
    return np.clip(128 + 40 * smooth + rng.normal(0, 8, shape), 0, 255).astype(np.uint8)


def sem_image(shape, bar=40, *, background=0, ink=255, separator=None, seed=0):
    """``sem_texture`` with a ``bar``-row data bar: text-like boxes in a row, a scale bar with its label."""
    image = sem_texture(shape, seed)
    h, w = shape
    top = h - bar
    image[top:] = background
    if separator is not None:
        image[top] = separator
    rng = np.random.default_rng(seed + 1)
    x = 6
    while x < w // 2:  # "HV 15.0 kV  WD 8.5 mm  Mag 5000x": glyph-sized boxes with gaps
        glyph = int(rng.integers(3, 7))
        image[top + bar // 3: top + bar // 3 + max(3, bar // 4), x: x + glyph] = ink
        x += glyph + int(rng.integers(2, 6))
    image[h - bar // 3: h - bar // 3 + 3, w - w // 4 - 6: w - 6] = ink  # the scale bar
    image[top + 4: top + 4 + max(3, bar // 5), w - w // 6: w - w // 6 + 8] = ink  # its label
    return image


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


#: Fast-map payload dtypes (fastmap.js's typed arrays).
FASTMAP_DTYPES = {"f4": "<f4", "i4": "<i4", "u1": "u1"}


def unpack(payload):
    """Decode a fast-map payload the way fastmap.js does: header length, JSON header, arrays after the header."""
    import json
    import struct

    (length,) = struct.unpack("<I", payload[:4])
    header = json.loads(payload[4:4 + length].decode())
    start = 4 + length
    assert start % 4 == 0
    arrays = {}
    for name, (offset, count, kind) in header["arrays"].items():
        assert (start + offset) % 4 == 0  # typed arrays need aligned offsets
        arrays[name] = np.frombuffer(payload, FASTMAP_DTYPES[kind], count, start + offset)
    return header, arrays


#: Two long property names that differ only at the end (a legend or header that cuts them shows them alike).
LONG_A = "Vickers hardness (HV), as measured in the source paper"
LONG_B = "Vickers hardness (HV), converted from GPa in the source paper"


def papers_dataset(name="papers", n=38, seed=0, papers=19):
    """``n`` random phase maps named ``P<paper>_<k>`` from ``papers`` papers, with its two-point features stored."""
    import pandas as pd

    from msdash.data.dataset import Dataset
    from msdash.data.datastore import save_dataset
    from msdash.features import extract
    from msdash.features.store import save_table_meta

    rng = np.random.default_rng(seed)
    names = [f"P{i % papers:02d}_{i // papers:02d}" for i in range(n)]
    images = {m: (rng.random((12, 12)) < 0.2 + 0.6 * i / n).astype(np.float32) for i, m in enumerate(names)}
    hardness = 300 + 10 * np.arange(n, dtype=float)
    hardness[::4] = np.nan
    table = pd.DataFrame({LONG_A: hardness, LONG_B: hardness + 1,
                          "paper": [f"paper {i % papers:02d}" for i in range(n)]}, index=names)
    dataset = Dataset(name, images, table)
    dataset_id = save_dataset(dataset)
    save_table_meta(dataset_id, extract(dataset, "two_point", cutoff=2))
    return dataset_id, names
