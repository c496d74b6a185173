"""Hostile uploads through the real browser uploader: each ends with a message, the server stays up."""

import io
import urllib.request

import numpy as np
import pytest

from conftest import ROOT, png_bytes, require_chromium, zip_bytes
from msdash._testing import CHROMIUM, CHROMIUM_ARGS
from msdash.launcher import Server

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"

require_chromium()


def _mat_with_external_storage(path, target):
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        dataset = f.create_dataset("img", shape=(8, 8), dtype="u1", external=[(str(target), 0, 64)])
        dataset.attrs["MATLAB_class"] = np.bytes_("uint8")
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(128, b" "))


def _deep_tiff():
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((64, 64, 40), np.uint8), photometric="rgb", planarconfig="contig",
                     extrasamples=[0] * 37)
    return buffer.getvalue()


def test_hostile_files_get_messages_and_the_server_stays_up(tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("MSDASH_MAX_UPLOAD_BYTES", str(40 * 1024**2))  # the server inherits it
    secret = tmp_path / "secret.bin"
    secret.write_bytes(bytes(range(100, 164)))
    files = {
        "bomb.zip": zip_bytes({f"blank{i:02d}.png": png_bytes(np.zeros((2000, 2000))) for i in range(16)}),
        "deep.tif": _deep_tiff(),
        "ok.png": png_bytes(np.eye(16) * 255),
        "names.zip": zip_bytes({"![x](x.png) [click](x) <b>b</b>.png": b"not a png"}),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    _mat_with_external_storage(tmp_path / "evil.mat", secret)
    uploads = [str(tmp_path / name) for name in ("bomb.zip", "evil.mat", "deep.tif", "ok.png", "names.zip")]

    with sync_playwright() as playwright, Server(ROOT / "app.py", tmp_path / "home") as server:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.set_default_timeout(60_000)
        page.goto(server.url)
        uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Images (PNG")
        uploader.locator("input[type=file]").set_input_files(uploads)
        page.get_by_text("could not be used").first.wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "hostile-uploads.png"), full_page=True)
        text = page.inner_text("body")
        # 4 MB kept per blank image (8-bit), 16 MB while converting: seven fit in 40 MB, then ok.png.
        assert "Read 8 image(s)" in text
        assert "12 file(s) could not be used" in text
        # A file name is shown as written: no image, link or bold made from it.
        assert "names.zip/![x](x.png) [click](x) <b>b</b>.png: could not be read as PNG" in text
        alerts = page.locator('[data-testid="stAlert"]')
        assert alerts.locator("img").count() == 0 and alerts.locator("a").count() == 0
        assert alerts.locator("b, strong").count() == 0
        assert "bomb.zip/blank07.png: decodes to" in text and "MSDASH_MAX_UPLOAD_BYTES" in text
        assert "evil.mat: refused" in text and "external storage" in text
        assert "deep.tif: has 40 samples per pixel" in text
        with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=5) as answer:
            assert answer.status == 200
        assert server.process.poll() is None
        browser.close()
