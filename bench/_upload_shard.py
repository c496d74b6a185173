"""Part (c) of ``bench/upload_memory.py``: peak RSS of ``extract --shard 0/8`` over 24 large images.

24 random 4000×4000 8-bit grey PNGs (noise of 64 levels: about 14 MB a file, 327 MB in all, so it does not
compress away, and fast to encode at zlib level 1) go in a temporary folder. Two child processes run the CLI,
each with its own empty ``MSDASH_HOME``:

- ``python -m msdash extract FOLDER -e volume_fraction --shard 0/8`` over the 24 images (3 are its share);
- the same extractor over a folder holding only those 3 images.

Each child's peak RSS comes from ``os.wait4`` (``ru_maxrss``). A shard that decodes only its share keeps the
ratio near 1 (goal ≤ 1.2); one that decodes the whole folder first shows about 24/3 of the image memory.

    .venv/bin/python bench/_upload_shard.py /tmp/somewhere
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Images, side in pixels and shards of the run, as the issue states them.
COUNT, SIDE, SHARDS = 24, 4000, 8


def write_images(folder, *, count=COUNT, side=SIDE, seed=0):
    """Write ``count`` distinct noisy ``side``×``side`` grey PNGs into ``folder``; return their paths."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 64, (side, side), dtype=np.uint8)
    paths = []
    for i in range(count):
        # A shifted copy plus a fresh stripe: distinct contents (distinct store keys) without 24 draws of 16 MP.
        image = np.roll(base, 97 * i, axis=i % 2)
        image[: side // 16] = rng.integers(0, 64, (side // 16, side), dtype=np.uint8)
        path = folder / f"micrograph_{i:02d}.png"
        Image.fromarray(image).save(path, compress_level=1)
        paths.append(path)
    return paths


def run_child(args, home, timeout_s=300):
    """Run ``python -m msdash ARGS`` with ``MSDASH_HOME=home``; return ``(peak_rss_mb, seconds, last log line)``."""
    import tempfile

    env = dict(os.environ, MSDASH_HOME=str(home), PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        # stderr to a file, not a pipe: Popen.wait/communicate would reap the child before wait4 reads its rusage.
        child = subprocess.Popen([sys.executable, "-m", "msdash", *map(str, args)], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=log)
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                os.wait4(child.pid, 0)
                raise TimeoutError(f"msdash {' '.join(map(str, args))} ran over {timeout_s} s")
            time.sleep(0.05)
        child.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        err = log.read().decode(errors="replace")
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"msdash {' '.join(map(str, args))} exited {child.returncode}: {err[-2000:]}")
    return usage.ru_maxrss / 1024, seconds, err.strip().splitlines()[-1:]


def shard_peak(tmpdir):
    """Measure both runs in ``tmpdir``; return the figures as a dict (RSS in MB)."""
    tmpdir = Path(tmpdir)
    started = time.perf_counter()
    paths = write_images(tmpdir / "all")
    generate_s = time.perf_counter() - started
    share = tmpdir / "share"
    share.mkdir()
    for path in sorted(paths)[0::SHARDS]:  # the share of shard 0/8: every 8th sorted name from 0
        os.link(path, share / path.name)
    extract = ["extract", "-e", "volume_fraction"]
    shard_mb, shard_s, shard_log = run_child([*extract, tmpdir / "all", "--shard", f"0/{SHARDS}",
                                              "--out", tmpdir / "shard.csv"], tmpdir / "home-shard")
    share_mb, share_s, share_log = run_child([*extract, share, "--out", tmpdir / "share.csv"], tmpdir / "home-share")
    same = (tmpdir / "shard.csv").read_bytes() == (tmpdir / "share.csv").read_bytes()
    return {
        "images": COUNT, "side": SIDE, "shard": f"0/{SHARDS}", "share": len(list(share.iterdir())),
        "folder_mb": round(sum(p.stat().st_size for p in paths) / 1e6, 1),
        "generate_s": round(generate_s, 1),
        "shard_peak_rss_mb": round(shard_mb, 1), "shard_s": round(shard_s, 1),
        "share_only_peak_rss_mb": round(share_mb, 1), "share_only_s": round(share_s, 1),
        "ratio": round(shard_mb / share_mb, 3), "goal_ratio_max": 1.2, "same_table": same,
        "log": shard_log + share_log,
    }


if __name__ == "__main__":
    import json
    import tempfile

    with tempfile.TemporaryDirectory(dir=sys.argv[1] if len(sys.argv) > 1 else None) as tmp:
        print(json.dumps(shard_peak(tmp)))
