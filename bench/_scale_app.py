"""The app part of ``bench/scale.py``: the server started as the README does, driven in headless Chromium.

Per step: wall seconds and the server's peak RSS during that step (``VmHWM``, reset through
``/proc/PID/clear_refs`` before the step), plus the bytes the server wrote (``/proc/PID/io``).
"""

import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _status(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def _written(pid):
    text = Path(f"/proc/{pid}/io").read_text()
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("write_bytes")))


def _folder_bytes(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) if Path(path).exists() else 0


class _Steps:
    """Times steps and reads the server's peak RSS and written bytes for each."""

    def __init__(self, pid):
        self.pid, self.figures = pid, {}

    def run(self, name, action):
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        written, started = _written(self.pid), time.perf_counter()
        try:
            action()
            ok, error = True, None
        except Exception as exc:  # noqa: BLE001 — the other steps' figures still count
            ok, error = False, f"{type(exc).__name__}: {str(exc)[:300]}"
        self.figures[name] = {"s": round(time.perf_counter() - started, 1),
                              "peak_rss_mb": round(_status(self.pid, "VmHWM") / 1e6),
                              "written_mb": round((_written(self.pid) - written) / 1e6, 1), "ok": ok,
                              **({"error": error} if error else {})}
        return ok


def _upload(page, files, count, timeout_ms):
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Images (PNG")
    uploader.locator("input[type=file]").set_input_files([str(f) for f in files])
    page.get_by_text(f"Read {count} image(s)").wait_for(timeout=timeout_ms)


def _save(page, table, name, timeout_ms):
    if table is not None:
        uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Property table")
        uploader.locator("input[type=file]").set_input_files(str(table))
        page.get_by_text("Match report").wait_for(timeout=timeout_ms)
    box = page.get_by_label("Name of the data set")
    box.fill(name)
    box.press("Enter")
    page.get_by_role("button", name="Save and open data set").click()
    page.get_by_text(re.compile(f"Saved “{name}”")).wait_for(timeout=timeout_ms)


def _default_features_and_map(page, timeout_ms):
    page.get_by_role("link", name="Map").click()
    page.get_by_role("button", name="Compute two-point correlations and the PSD features").click()
    drawn = page.locator('.msdash-fastmap[data-drawn="1"], .js-plotly-plot .nsewdrag')
    long_map = page.get_by_role("button", name=re.compile("Compute this map"))
    deadline = time.perf_counter() + timeout_ms / 1000
    while time.perf_counter() < deadline:
        if drawn.count():
            return
        if long_map.count():
            long_map.first.click()
        page.wait_for_timeout(1000)
    raise TimeoutError("the map was not drawn")


def _click(page):
    target = page.locator('.msdash-fastmap canvas.over, .js-plotly-plot .nsewdrag').first
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y, steps=5)
    page.mouse.click(x, y)
    page.get_by_text(re.compile(r"Selected samples: \d+")).wait_for()
    page.locator('[data-testid="stImageContainer"] img').first.wait_for()


def _nested_cv(page, timeout_ms):
    page.get_by_role("link", name="Models").click()
    page.get_by_role("button", name="Run nested cross-validation").click()
    page.get_by_role("button", name="Summary (CSV)").wait_for(timeout=timeout_ms)


def app_steps(work, small, table, large, timeout_s):
    """Drive the app on the two generated sets; return the figures per step."""
    from playwright.sync_api import sync_playwright

    from msdash._testing import CHROMIUM, CHROMIUM_ARGS
    from msdash.launcher import Server

    timeout_ms = timeout_s * 1000
    home = work / "home-app"
    figures = {}
    with sync_playwright() as playwright, Server(ROOT / "app.py", home) as server:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        steps = _Steps(server.process.pid)
        started = time.perf_counter()
        page.goto(server.url)
        page.get_by_text("Demo: 300 two-phase").first.wait_for()
        figures["demo_visible_s"] = round(time.perf_counter() - started + server.up_seconds, 2)
        n = sum(1 for line in Path(table).read_text().splitlines()[1:] if line)
        store_before = _folder_bytes(home / "features")
        (steps.run("small_upload", lambda: _upload(page, [small], n, timeout_ms))
         and steps.run("small_save", lambda: _save(page, table, "scale small", timeout_ms))
         and steps.run("small_default_features_and_map", lambda: _default_features_and_map(page, timeout_ms))
         and steps.run("small_map_click", lambda: _click(page))
         and steps.run("small_nested_cv", lambda: _nested_cv(page, timeout_ms)))
        store_kept = _folder_bytes(home / "features") - store_before
        written = steps.figures.get("small_default_features_and_map", {}).get("written_mb")
        figures["small_store_kept_mb"] = round(store_kept / 1e6, 1)
        if written is not None and store_kept:
            figures["small_store_written_over_kept"] = round(written * 1e6 / store_kept, 2)
        big = sorted(Path(large).iterdir())
        page.get_by_role("link", name="Data").click()
        (steps.run("large_upload", lambda: _upload(page, big, len(big), timeout_ms))
         and steps.run("large_save", lambda: _save(page, None, "scale large", timeout_ms))
         and steps.run("large_default_features_and_map", lambda: _default_features_and_map(page, timeout_ms)))
        figures.update(steps.figures)
        figures["workspace_mb"] = round(_folder_bytes(home) / 1e6, 1)
        figures["workspace_datasets_mb"] = round(_folder_bytes(home / "datasets") / 1e6, 1)
        figures["workspace_features_mb"] = round(_folder_bytes(home / "features") / 1e6, 1)
        browser.close()
    return figures
