"""Startup speed: ``import msdash`` and server start → demo gallery visible in Chromium.

The server starts as the README starts it (``streamlit run app.py`` from the repository root, settings from
``.streamlit/config.toml``, UMAP's background warm-up on; :class:`msdash.launcher.Server` adds only the
port and address). ``demo_visible_s_after_server_start`` runs from launching the process until the first
demo micrograph is drawn (target: under 5 s on a saved workspace).

Prints one JSON line. Baselines timed in the same run: a bare ``python -c pass`` for the import, and a
one-line Streamlit page (same settings) for the browser, so the ratios hold on a noisy machine.

    .venv/bin/python bench/startup.py
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from msdash._testing import CHROMIUM, CHROMIUM_ARGS
from msdash.launcher import Server

ROOT = Path(__file__).resolve().parent.parent


def _python_seconds(code, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        best = min(best, time.perf_counter() - started)
    return best


def _visible_seconds(browser, script, home, path, selector):
    """(server up, page visible after the request, page visible after launching the server) in seconds."""
    launched = time.perf_counter()
    with Server(script, home) as server:
        page = browser.new_page()
        started = time.perf_counter()
        page.goto(server.url + path)
        page.locator(selector).first.wait_for(timeout=60_000)
        now = time.perf_counter()
        page.close()
        return server.up_seconds, now - started, now - launched


def main():
    from playwright.sync_api import sync_playwright

    bare = _python_seconds("pass")
    with_msdash = _python_seconds("import msdash")
    with_readers = _python_seconds("import msdash.io, msdash.data.dataset")  # pandas dominates
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        tmp = Path(tmp)
        hello = tmp / "hello.py"
        hello.write_text("import streamlit as st\nst.write('hello')\n")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        _, baseline, _ = _visible_seconds(browser, hello, tmp / "h0", "/", "text=hello")
        up, cold, cold_total = _visible_seconds(browser, ROOT / "app.py", tmp / "h1", "/gallery",
                                                '[data-testid="stImage"] img')
        _, warm, warm_total = _visible_seconds(browser, ROOT / "app.py", tmp / "h1", "/gallery",
                                               '[data-testid="stImage"] img')
        browser.close()
    print(json.dumps({
        "bench": "startup",
        "import_msdash_s": round(with_msdash - bare, 4),
        "import_msdash_io_dataset_s": round(with_readers - bare, 4),
        "python_bare_s": round(bare, 4),
        "server_up_s": round(up, 3),
        "demo_gallery_visible_s_first_ever": round(cold, 3),
        "demo_gallery_visible_s_saved_workspace": round(warm, 3),
        "demo_visible_s_after_server_start_first_ever": round(cold_total, 3),
        "demo_visible_s_after_server_start": round(warm_total, 3),
        "target_demo_visible_s": 5.0,
        "hello_page_visible_s": round(baseline, 3),
        "ratio_gallery_vs_hello": round(warm / baseline, 2),
    }))


if __name__ == "__main__":
    main()
