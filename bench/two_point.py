"""Benchmark: batched non-periodic two-point auto-correlation vs the plain per-image complex FFT.

Prints one JSON line. Both methods run in the same process on the same random 0/1 stacks (best of 3 after a warm-up):
200 × 128 × 128 images (cutoff 64) and 20 × 64³ volumes (cutoff 32).

Two baselines, both timed in the same run:

- ``naive`` — the plain per-image approach the issue names, as one writes it first: a function of one image
  that zero-pads it to ``2L`` per axis (the full linear correlation), takes ``numpy.fft.fftn``,
  ``ifftn(F · conj(F))``, divides by the same correlation of a padded ones array (computed in the call, as a
  per-image function does) and cuts the central window. ``speedup`` is measured against it.
- ``tuned`` — a stronger per-image baseline: padding only to ``L + c`` and the normalisation computed once.
  ``speedup_vs_tuned`` says how much of the gain is batching and real FFTs rather than those two tricks.

Run: ``.venv/bin/python bench/two_point.py``
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from msdash.features.correlation import two_point  # noqa: E402


def naive_one_image(image, cutoff):
    """The plain per-image recipe: pad to 2L, complex FFT, normalise by the padded-ones correlation."""
    padded_shape = tuple(2 * n for n in image.shape)
    window = np.ix_(*[np.arange(-cutoff, cutoff + 1) % n for n in padded_shape])
    corner = tuple(slice(0, n) for n in image.shape)
    padded = np.zeros(padded_shape)
    padded[corner] = image == 1
    ones = np.zeros(padded_shape)
    ones[corner] = 1.0
    f, f_ones = np.fft.fftn(padded), np.fft.fftn(ones)
    return np.fft.ifftn(f * np.conj(f)).real[window] / np.fft.ifftn(f_ones * np.conj(f_ones)).real[window]


def naive_two_point(images, cutoff):
    return np.stack([naive_one_image(image, cutoff) for image in images])


def tuned_two_point(images, cutoff):
    """Per-image complex FFT padded to L + c, normalised by the correlation of a padded ones array once."""
    shape = images.shape[1:]
    padded_shape = tuple(n + cutoff for n in shape)
    window = np.ix_(*[np.arange(-cutoff, cutoff + 1) % n for n in padded_shape])

    ones = np.zeros(padded_shape)
    ones[tuple(slice(0, n) for n in shape)] = 1.0
    f_ones = np.fft.fftn(ones)
    norm = np.fft.ifftn(f_ones * np.conj(f_ones)).real[window]

    out = np.empty((len(images),) + (2 * cutoff + 1,) * len(shape))
    for i, image in enumerate(images):
        padded = np.zeros(padded_shape)
        padded[tuple(slice(0, n) for n in shape)] = image == 1
        f = np.fft.fftn(padded)
        out[i] = np.fft.ifftn(f * np.conj(f)).real[window] / norm
    return out


def best_of(fn, repeats=3):
    """Best wall time of ``repeats`` calls after one untimed warm-up call (FFT plans, first page faults)."""
    fn()
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def compare(n, size, ndim, cutoff, seed):
    images = np.random.default_rng(seed).integers(0, 2, size=(n,) + (size,) * ndim).astype(np.float32)
    ours_s, ours = best_of(lambda: two_point(images, periodic=False, cutoff=cutoff, ndim=ndim, workers=-1))
    naive_s, naive = best_of(lambda: naive_two_point(images, cutoff))
    tuned_s, tuned = best_of(lambda: tuned_two_point(images, cutoff))
    return {"n": n, "size": size, "cutoff": cutoff, "ours_s": round(ours_s, 4), "naive_s": round(naive_s, 4),
            "tuned_s": round(tuned_s, 4), "speedup": round(naive_s / ours_s, 2),
            "speedup_vs_tuned": round(tuned_s / ours_s, 2),
            "max_abs_diff": float(max(np.abs(ours - naive).max(), np.abs(ours - tuned).max()))}


def main():
    result = {"bench": "two_point", "2d": compare(200, 128, 2, 64, seed=0), "3d": compare(20, 64, 3, 32, seed=1)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
