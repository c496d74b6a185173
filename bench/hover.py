"""Micrographs on hover at 50,000 points: the canvas map's hover in headless Chromium with the thumbnail atlas
and, as the baseline in the same run, the numbers-only hover (``MSDASH_HOVER_IMAGES=0``); the atlas's build time,
size and what a rerun sends.

- hover latency: ``performance.now()`` around the canvas's ``pointermove`` handler (nearest point through the
  grid, tooltip text and, with the atlas, drawing the hovered cell and its scale bar), for 400 pointer positions
  over the plot area, p50/p95 in ms; ``frame`` adds the wait for the next painted frame (the overlay redraw);
- atlas: seconds to build it for 50,000 random 32×32 phase maps (pixel noise: the hardest case to compress),
  lossy WebP at 32 px cells as the page builds it, and its bytes;
- bytes the browser receives over the websocket for a full rerun of the page (recolouring) after three clicks:
  the atlas element is sent once, later reruns send a reference to it;
- peak RSS of this process (the build) and of each server.

Prints one JSON line.

    .venv/bin/python bench/hover.py
"""

import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
N, SIZE, MOVES = 50_000, 32, 400
PIXEL_UM = 0.02


def _server_rss_mb(server):
    try:
        status = Path(f"/proc/{server.process.pid}/status").read_text()
    except OSError:
        return None
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024


_HOVER = """async (over, [moves, seed]) => {
  const box = over.closest('.msdash-fastmap');
  const [l, t, w, h] = box.dataset.plot.split(',').map(Number), r = over.getBoundingClientRect();
  let s = seed;
  const rand = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  const handler = [], frame = [];
  let shown = 0, images = 0;
  for (let k = 0; k < moves; k++) {
    const x = r.left + l + rand() * w, y = r.top + t + rand() * h;
    const event = new PointerEvent('pointermove', {clientX: x, clientY: y, bubbles: true});
    const t0 = performance.now();
    over.dispatchEvent(event);
    const t1 = performance.now();
    await new Promise((done) => requestAnimationFrame(() => done()));
    frame.push(performance.now() - t0); handler.push(t1 - t0);
    const tip = box.querySelector('.tip');
    if (!tip.hidden) { shown++; if (tip.querySelector('canvas.thumb')) images++; }
  }
  return {handler, frame, shown, images};
}"""


def _percentiles(values):
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p95_ms": round(float(np.percentile(values, 95)), 3)}


def _browser_hover(playwright, home, dataset_id, *, images):
    from msdash._testing import CHROMIUM, CHROMIUM_ARGS
    from msdash.launcher import Server

    env = {"MSDASH_WARM_UMAP": "0", "MSDASH_HOVER_IMAGES": "1" if images else "0"}
    with Server(ROOT / "app.py", home, env=env) as server:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        received = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(len(payload))))
        page.goto(f"{server.url}/map?ds={dataset_id}")
        page.locator('.msdash-fastmap[data-drawn="1"]').first.wait_for()
        if images:
            page.locator('.msdash-atlas[data-ready="1"]').first.wait_for()
        page.wait_for_load_state("networkidle")
        page.locator(".msdash-fastmap").first.scroll_into_view_if_needed()
        result = page.locator(".msdash-fastmap canvas.over").first.evaluate(_HOVER, [MOVES, 7])
        out = {"handler": _percentiles(result["handler"]), "frame": _percentiles(result["frame"]),
               "tooltips_shown": result["shown"], "with_image": result["images"]}
        # Three clicks (fragment reruns), then a full rerun by recolouring: count the bytes it brings.
        over = page.locator(".msdash-fastmap canvas.over").first.bounding_box()
        for k in range(3):
            page.mouse.click(over["x"] + over["width"] * (0.4 + 0.05 * k), over["y"] + over["height"] * 0.5)
            page.wait_for_timeout(1500)
        page.wait_for_load_state("networkidle")
        before = sum(received)
        page.get_by_text("Standardise features").click()
        page.wait_for_timeout(4000)
        page.locator('.msdash-fastmap[data-drawn="1"]').first.wait_for()
        out["rerun_received_mb"] = round((sum(received) - before) / 1e6, 2)
        out["first_load_received_mb"] = round(before / 1e6, 2)
        out["server_peak_rss_mb"] = _server_rss_mb(server)
        browser.close()
    return out


def main():
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["MSDASH_HOME"] = str(home)
        from msdash.atlas import atlas_settings, dataset_atlas, read_atlas
        from msdash.data.datastore import load_dataset, save_dataset
        from msdash.data.dataset import Dataset
        from msdash.features import extract
        from msdash.features.store import save_table_meta

        stack = np.random.default_rng(0).random((N, SIZE, SIZE)) < 0.5
        dataset = Dataset(f"{N} random maps", {f"s{i:05d}": image for i, image in enumerate(stack)},
                          pixel_size_um=PIXEL_UM)
        del stack
        dataset_id = save_dataset(dataset)
        save_table_meta(dataset_id, extract(dataset, "two_point", cutoff=1))
        dataset = load_dataset(dataset_id)  # as the page holds it
        started = time.perf_counter()
        payload = dataset_atlas(dataset, dataset_id)  # cached in the workspace: the server reads it
        build_s = time.perf_counter() - started
        header = read_atlas(payload)[0]
        own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with sync_playwright() as playwright:
            baseline = _browser_hover(playwright, home, dataset_id, images=False)
            with_images = _browser_hover(playwright, home, dataset_id, images=True)
    print(json.dumps({
        "bench": "hover", "points": N, "sample_px": SIZE,
        "atlas": {"build_s": round(build_s, 2), "bytes": len(payload), "cell_px": header["cell"],
                  "format": header["mime"], "sheets": len(header["sheets"]), "settings": atlas_settings(N)},
        "hover_with_images": with_images, "hover_numbers_only_baseline": baseline,
        "bench_peak_rss_mb": round(own_rss, 1),
    }))


if __name__ == "__main__":
    main()
