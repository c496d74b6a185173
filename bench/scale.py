"""msdash at real size with a memory budget (issue 13): wall time and peak RSS of every step, one JSON line.

Two data sets are generated in a temporary folder:
- ``small``: 50,000 grey 64×64 8-bit PNGs in one zip, with a property table (``y``, ``group``);
- ``large``: 10 grey 4096×4096 16-bit TIFFs.

The CLI part runs ``python -m msdash extract`` (default parameters) and ``cv`` on them, each step in a child
process whose peak RSS is read from ``wait4``. The app part (``--app``) starts the server as the README does
(``streamlit run app.py``) and drives it in headless Chromium through upload, save, the map's default features,
the map, a click and nested cross-validation; the server's peak RSS is read per step (``/proc/PID/status``
VmHWM, reset between steps through ``/proc/PID/clear_refs``). The workspace's size and the bytes the
processes wrote are compared with the source images and the feature values kept.

Targets on a 2-core / 24 GB machine: every step completes; peak server RSS < 6 GB for 50k×64² and < 8 GB for
the 10 large images; feature-store bytes written ≤ 1.5× bytes kept; workspace ≤ 1.5× source images + features.

    .venv/bin/python bench/scale.py [--n 50000] [--large 10] [--app]
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _smooth_noise(rng, n, side, scale):
    """``n`` grey ``side``² fields with structure at ``scale`` px (Gaussian-filtered noise), float in [0, 1]."""
    from scipy.ndimage import gaussian_filter

    fields = gaussian_filter(rng.normal(size=(n, side, side)), sigma=(0, scale, scale), mode="wrap")
    low = fields.min(axis=(1, 2), keepdims=True)
    high = fields.max(axis=(1, 2), keepdims=True)
    return (fields - low) / (high - low)


def make_small(folder, n, side=64, seed=0):
    """Write ``small.zip`` (``n`` 8-bit PNGs) and ``small.csv`` (``name,y,group``); return their paths."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    archive_path, table_path = folder / "small.zip", folder / "small.csv"
    rows = ["name,y,group"]
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_STORED) as archive:
        for start in range(0, n, 2000):
            count = min(2000, n - start)
            scales = rng.uniform(1.0, 4.0, count)
            for offset in range(count):
                i = start + offset
                field = _smooth_noise(rng, 1, side, scales[offset])[0]
                buffer = io.BytesIO()
                Image.fromarray((field * 255).astype(np.uint8)).save(buffer, format="PNG")
                archive.writestr(f"m{i:05d}.png", buffer.getvalue())
                rows.append(f"m{i:05d},{scales[offset] + rng.normal(0, 0.05):.4f},g{i % 50}")
    table_path.write_text("\n".join(rows) + "\n")
    return archive_path, table_path


def make_large(folder, n, side=4096, seed=1):
    """Write ``n`` 16-bit ``side``² TIFFs into ``folder/large``; return the folder."""
    import tifffile

    rng = np.random.default_rng(seed)
    target = folder / "large"
    target.mkdir()
    for i in range(n):
        coarse = _smooth_noise(rng, 1, side // 16, 2.0)[0]
        image = np.kron(coarse, np.ones((16, 16))) + rng.normal(0, 0.02, (side, side))
        image = np.clip(image, 0, 1)
        tifffile.imwrite(target / f"big{i:02d}.tif", (image * 65535).astype(np.uint16))
    return target


def _popen_wait4(args, env, timeout):
    """Start ``args`` and reap it with ``wait4``: (seconds, peak RSS MB, return code, output tail)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                process.kill()
            time.sleep(0.2)
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        lines = log.read().decode(errors="replace").strip().splitlines()
    return time.perf_counter() - started, usage.ru_maxrss / 1024, process.returncode, lines[-1] if lines else ""


def _folder_bytes(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def cli_steps(work, small, table, large, timeout):
    """Extract default features and cross-validate through the CLI; figures per step."""
    home = work / "home-cli"
    env = dict(os.environ, MSDASH_HOME=str(home), PYTHONUNBUFFERED="1")
    python = [sys.executable, "-m", "msdash"]
    steps = {
        "small_volume_fraction": python + ["extract", str(small), "-e", "volume_fraction", "--out",
                                           str(work / "vf.parquet")],
        "small_phys_feat2": python + ["extract", str(small), "-e", "phys_feat2", "--out", str(work / "pf2.parquet")],
        "small_two_point": python + ["extract", str(small), "-e", "two_point", "--out", str(work / "s2.parquet")],
        "small_cv_two_point": python + ["cv", str(work / "s2.parquet"), "--properties", str(table), "--target", "y",
                                        "--groups", "group", "--model", "pr", "--out", str(work / "cv.json")],
        "large_two_point": python + ["extract", str(large), "-e", "two_point", "--out", str(work / "big_s2.parquet")],
        "large_radial_psd": python + ["extract", str(large), "-e", "radial_psd", "--out",
                                      str(work / "big_psd.parquet")],
    }
    figures = {}
    for step, args in steps.items():
        seconds, peak_mb, code, tail = _popen_wait4(args, env, timeout)
        figures[step] = {"s": round(seconds, 1), "peak_rss_mb": round(peak_mb), "ok": code == 0,
                         **({} if code == 0 else {"error": tail[-300:]})}
    features = home / "features"
    figures["workspace_features_mb"] = round(_folder_bytes(features) / 1e6, 1) if features.exists() else 0.0
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50_000, help="small images (64×64)")
    parser.add_argument("--large", type=int, default=10, help="large images (4096×4096, 16-bit)")
    parser.add_argument("--app", action="store_true", help="also drive the app in headless Chromium")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per step")
    args = parser.parse_args()
    figures = {"bench": "scale", "n_small": args.n, "n_large": args.large}
    with tempfile.TemporaryDirectory(prefix="msdash-scale-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        small, table = make_small(work, args.n)
        large = make_large(work, args.large)
        figures["generate_s"] = round(time.perf_counter() - started, 1)
        figures["small_zip_mb"] = round(small.stat().st_size / 1e6, 1)
        figures["large_mb"] = round(_folder_bytes(large) / 1e6, 1)
        figures["small_decoded_mb"] = round(args.n * 64 * 64 / 1e6, 1)  # 8-bit pixels
        figures["large_decoded_mb"] = round(args.large * 4096 * 4096 * 2 / 1e6, 1)  # 16-bit pixels
        figures["cli"] = cli_steps(work, small, table, large, args.timeout)
        if args.app:
            from _scale_app import app_steps  # noqa: PLC0415 — needs playwright and chromium

            figures["app"] = app_steps(work, small, table, large, args.timeout)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
