"""First UMAP of a session after the server's warm-up: the warm-up on 60 points (exact neighbours only)
against the one on 4,200 points (also pynndescent's approximate neighbours, used from 4,096 samples).

Each case runs in a fresh Python process, as a fresh server would: warm-up (timed), then UMAP of a
5,000 × 50 table with the Map page's defaults (15 neighbours, seed 42), timed. "none" is the first UMAP
with no warm-up at all. numba keeps compiled code in its on-disk cache, so the first case run after an
install also pays for filling it: the order below puts a throw-away run first.

Prints one JSON line.

    .venv/bin/python bench/umap_warmup.py
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASE = """
import time, numpy as np
started = time.perf_counter()
from msdash.maps import umap_map, warm_umap
from msdash.app.mapview import warm_umap_paths
warm = {{"none": lambda: None, "small_60": warm_umap, "paths_4200": warm_umap_paths}}[{case!r}]
warm()
warm_s = time.perf_counter() - started
X = np.random.default_rng(1).normal(size=(5000, 50))
started = time.perf_counter()
umap_map(X, n_neighbors=15, random_state=42)
print(warm_s, time.perf_counter() - started)
"""


def _case(case):
    done = subprocess.run([sys.executable, "-c", CASE.format(case=case)], cwd=ROOT, capture_output=True, text=True,
                          check=True, env={"MSDASH_WARM_UMAP": "0", "PATH": "/usr/bin:/bin"})
    warm_s, first_s = map(float, done.stdout.split()[-2:])
    return round(warm_s, 2), round(first_s, 2)


def main():
    _case("none")  # fills numba's on-disk cache if this is the first run since an install
    figures = {"bench": "umap_warmup", "n": 5000, "d": 50}
    for case in ("none", "small_60", "paths_4200"):
        warm_s, first_s = _case(case)
        figures[f"{case}_warmup_s"] = warm_s
        figures[f"{case}_first_umap_s"] = first_s
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
