"""Part (a) of ``bench/upload_memory.py``: amplification zips uploaded through the real browser uploader.

16 all-zero 8000×8000 PNGs (each exactly at the 64 MP pixel limit) zip to a few kB and decoded to
16 × 256 MB as float32 (~16 GB with the decoders' temporaries, before the decode budget and 8-bit storage).
A 64-image zip declares 4 GB even as 8-bit, past the default upload budget (RAM / 8). The server must stay
up, answer with a message, and keep its peak RSS under the upload budget plus its idle footprint plus one
image's conversion (~0.3 GB).
"""

import io
import re
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _blank_png(side):
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((side, side), np.uint8)).save(buffer, format="PNG", compress_level=9)
    return buffer.getvalue()


def amplification_zip(path, *, count=16, side=8000):
    """Write the amplification zip to ``path``; return its size in bytes."""
    blank = _blank_png(side)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(count):
            archive.writestr(f"blank{i:02d}.png", blank)
    return Path(path).stat().st_size


def peak_rss_mb(pid):
    """Return the peak resident set size (VmHWM) of process ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found")


def amplification_zip_peak(count=16, side=8000, timeout_s=600):
    """Upload the amplification zip in headless Chromium; return figures of the server process.

    Returns
    -------
    dict
        ``zip_bytes``, ``declared_float32_gb``, ``declared_8bit_gb``, ``upload_budget_gb``, ``images_read``,
        ``files_refused``, ``server_alive``, ``seconds`` (upload to message), ``idle_peak_rss_mb``
        (server after the page loaded, before the upload) and ``peak_rss_mb`` (after the upload).
    """
    import urllib.request

    from playwright.sync_api import sync_playwright

    from msdash import config
    from msdash._testing import CHROMIUM, CHROMIUM_ARGS
    from msdash.launcher import Server

    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "blank.zip"
        size = amplification_zip(archive, count=count, side=side)
        figures = {"zip_bytes": size, "declared_float32_gb": round(count * side * side * 4 / 1e9, 2),
                   "declared_8bit_gb": round(count * side * side / 1e9, 2),
                   "upload_budget_gb": round(config.max_upload_bytes() / 1024**3, 2)}
        with sync_playwright() as playwright, Server(ROOT / "app.py", Path(tmp) / "home") as server:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(timeout_s * 1000)
            page.goto(server.url)
            page.get_by_text("Load your micrographs").wait_for()
            figures["idle_peak_rss_mb"] = round(peak_rss_mb(server.process.pid))
            started = time.perf_counter()
            uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Images (PNG")
            uploader.locator("input[type=file]").set_input_files(str(archive))
            page.get_by_text(re.compile(r"file\(s\) could not be used|Read \d+ image")).first.wait_for()
            page.wait_for_timeout(500)
            figures["seconds"] = round(time.perf_counter() - started, 1)
            text = page.inner_text("body")
            read = re.search(r"Read (\d+) image", text)
            refused = re.search(r"(\d+) file\(s\) could not be used", text)
            figures["images_read"] = int(read.group(1)) if read else 0
            figures["files_refused"] = int(refused.group(1)) if refused else 0
            figures["peak_rss_mb"] = round(peak_rss_mb(server.process.pid))
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=5) as answer:
                figures["server_alive"] = answer.status == 200 and server.process.poll() is None
            browser.close()
    return figures


def amplification_zips():
    """The issue's 16-image zip and a 64-image zip that passes the default upload budget, each on a fresh server."""
    return {f"{count}_images": amplification_zip_peak(count=count) for count in (16, 64)}


if __name__ == "__main__":
    import json

    print(json.dumps(amplification_zips()))
