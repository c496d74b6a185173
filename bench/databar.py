"""Time find_data_bar on one large SEM-like micrograph against one float32 pass over the same image.

Prints one JSON line: seconds of the detection and of the baseline (row means of the image read as float32,
the least any row-statistics detector must do), the rows found, and the process's peak RSS after the
detection (taken before the baseline's float32 copy).
Run: ``.venv/bin/python bench/databar.py [side]`` (default 4096).
"""

import json
import resource
import sys
import time

import numpy as np


def _micrograph(side, bar, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.integers(40, 216, size=(side, side), dtype=np.uint8)  # noise made as uint8: no float64 copy
    image[-bar:] = 0
    for x in range(8, side // 2, 9):  # text-like boxes
        image[-bar + bar // 3: -bar + bar // 3 + bar // 4, x: x + 5] = 255
    image[-bar // 3: -bar // 3 + 3, side - side // 4: side - 8] = 255  # the scale bar
    return image


def main(side=4096, bar=120):
    from msdash.data.databar import find_data_bar

    image = _micrograph(side, bar)
    start = time.perf_counter()
    rows = find_data_bar(image)
    detect = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the baseline's float32 copy
    start = time.perf_counter()
    image.astype(np.float32).mean(axis=1)
    baseline = time.perf_counter() - start
    print(json.dumps({"image": f"{side}x{side} uint8", "bar_rows": bar, "rows_found": rows,
                      "find_data_bar_s": round(detect, 4), "baseline_float32_row_means_s": round(baseline, 4),
                      "image_mb": round(image.nbytes / 2**20, 1), "peak_rss_mb_after_detection": round(peak, 1)}))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
