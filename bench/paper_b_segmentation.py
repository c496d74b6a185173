"""Benchmark: the ``paper-b`` segmentation (study B's notebook in numpy) against OpenCV itself.

Prints one JSON line. For a few synthetic 8-bit micrographs (noisy two-phase fields, a smooth texture, a
low-contrast pattern, a nearly uniform image) it runs the notebook's OpenCV calls
(``cvtColor`` RGBA→RGB→GRAY, ``fastNlMeansDenoising(h=10, 7, 21)``, ``adaptiveThreshold(MEAN_C, BINARY,
window, C=5)``) and :func:`msdash.features.segmentation.paper_b_threshold`, and reports per image the share of
equal denoised levels, the largest level difference, the share of equal phase-map pixels, both volume
fractions, and both CPU times (OpenCV is the baseline, timed in the same run), plus the peak RSS.

OpenCV is not an msdash dependency; install it anywhere and put it on the path, e.g.
``pip install --target /tmp/cv2 opencv-python-headless`` then
``PYTHONPATH=/tmp/cv2 .venv/bin/python bench/paper_b_segmentation.py``. Without it the script says so.

Measured (2 cores, opencv-python-headless 5.1.0, six images of 200×300 to 300×400 px): denoised levels equal
on 99.4–100 % of pixels and never more than one level apart (OpenCV quantises distances and weights in fixed
point); phase maps equal on 99.995–100 % of pixels; volume fractions equal to 1e-5; the nearly uniform image is
all 1 in both (the notebook's 0.997 case). CPU time 0.20–0.36 s per image for msdash, 4–7× OpenCV's
0.045–0.08 s; peak RSS 165 MB.
"""

import json
import resource
import time

import numpy as np


from msdash.features.segmentation import (
    _nl_means_levels,
    paper_b_threshold,
)
from msdash.synthetic import two_phase


def _images():
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:300, 0:400]
    out = {}
    for seed, (shape, noise, ell) in enumerate([((200, 300), 0.03, 4), ((256, 256), 0.06, 6), ((300, 240), 0.1, 3)]):
        truth = two_phase(1, shape, volume_fraction=0.4, correlation_length=ell, seed=seed)[0]
        out[f"two-phase noise {noise}"] = np.clip(0.3 + 0.4 * truth + rng.normal(0, noise, shape), 0, 1)
    out["smooth texture"] = np.clip(0.5 + 0.15 * np.sin(x / 7) * np.cos(y / 11) + 0.1 * x / 400
                                    + rng.normal(0, 0.04, x.shape), 0, 1)
    out["low contrast"] = np.clip(0.5 + 0.03 * np.sign(np.sin(x / 9 + y / 13)) + rng.normal(0, 0.02, x.shape), 0, 1)
    out["nearly uniform"] = np.clip(0.5 + rng.normal(0, 0.01, (240, 320)), 0, 1)
    return out


def main():
    try:
        import cv2
    except ImportError:
        print(json.dumps({"error": "OpenCV (cv2) is not importable; see the module docstring"}))
        return
    results = {}
    for name, grey in _images().items():
        rgba = np.rint(np.stack([grey, 0.9 * grey, 0.8 * grey, np.ones_like(grey)], -1) * 255).astype(np.uint8)
        start = time.process_time()
        g = cv2.cvtColor(cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), cv2.COLOR_RGB2GRAY)
        denoised = cv2.fastNlMeansDenoising(g, None, 10, 7, 21)
        half = min(g.shape) // 2
        window = half + 1 if half % 2 == 0 else half
        cv_map = cv2.adaptiveThreshold(denoised, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, window, 5) > 0
        cv_s = time.process_time() - start
        start = time.process_time()
        ours = paper_b_threshold(rgba) > 0
        ours_s = time.process_time() - start
        ours_denoised = _nl_means_levels(g.astype(float), 10.0)
        results[name] = {"shape": list(g.shape), "denoised_equal": round(float(np.mean(ours_denoised == denoised)), 5),
                         "denoised_max_diff": float(np.abs(ours_denoised - denoised).max()),
                         "map_equal": round(float(np.mean(ours == cv_map)), 6),
                         "vf_opencv": round(float(cv_map.mean()), 5), "vf_msdash": round(float(ours.mean()), 5),
                         "cpu_s_opencv": round(cv_s, 3), "cpu_s_msdash": round(ours_s, 3)}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"opencv": cv2.__version__, "images": results, "peak_rss_bytes": peak}))


if __name__ == "__main__":
    main()
