"""Benchmark: batched non-periodic two-point auto-correlation vs the tuned per-image real FFT, same threads.

Prints one JSON line. Every method runs in the same process on the same random 0/1 stacks (best of 3 after a
warm-up): 200 × 128 × 128 images (cutoff 64), 20 × 64³ volumes (cutoff 32) and 4 × 2048 × 2048 images with the
default cutoff (64 px), all with the same thread count (``workers``, default all cores).

Baselines, timed in the same run:

- ``tuned`` — the per-image FFT as a careful user writes it, and the one the goal (``speedup_vs_tuned`` >= 10)
  is measured against: ``scipy.fft.rfftn`` of one image at a time with ``workers`` threads, float64 (as the
  features need), zero-padded to ``next_fast_len(L + c)`` per axis (the least padding that does not wrap),
  ``irfftn`` of the power spectrum, the central window cut, and the pair counts ``Π (L - |r|)`` computed once
  in closed form.
- ``naive`` — the plain recipe one writes first (complex ``numpy.fft.fftn`` of a 2L-padded image, normalised
  by the correlation of a padded ones array in every call); ``speedup_vs_naive`` is for reference only.

Run: ``.venv/bin/python bench/two_point.py [workers]``
"""

import json
import os
import sys
import time

import numpy as np
import scipy.fft


from msdash.features.correlation import two_point


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


def tuned_two_point(images, cutoff, workers):
    """Per-image real FFT (float64, ``workers`` threads) padded to next_fast_len(L + c); pair counts once."""
    shape = images.shape[1:]
    sizes = [scipy.fft.next_fast_len(n + cutoff, real=True) for n in shape]
    window = np.ix_(*[np.arange(-cutoff, cutoff + 1) % n for n in sizes])
    lags = np.abs(np.arange(-cutoff, cutoff + 1))
    pairs = np.ones((1,) * len(shape))
    for axis, n in enumerate(shape):
        pairs = pairs * (n - lags).reshape([-1 if i == axis else 1 for i in range(len(shape))])
    out = np.empty((len(images),) + (2 * cutoff + 1,) * len(shape))
    for i, image in enumerate(images):
        f = scipy.fft.rfftn((image == 1).astype(np.float64), s=sizes, workers=workers)
        power = f.real ** 2 + f.imag ** 2
        out[i] = np.rint(scipy.fft.irfftn(power, s=sizes, workers=workers)[window]) / pairs
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


def compare(n, size, ndim, cutoff, seed, workers, naive=True):
    images = np.random.default_rng(seed).integers(0, 2, size=(n,) + (size,) * ndim).astype(np.float32)
    ours_s, ours = best_of(lambda: two_point(images, periodic=False, cutoff=cutoff, ndim=ndim, workers=workers))
    tuned_s, tuned = best_of(lambda: tuned_two_point(images, ours.shape[1] // 2, workers))
    row = {"n": n, "size": size, "cutoff": ours.shape[1] // 2, "ours_s": round(ours_s, 4),
           "tuned_s": round(tuned_s, 4), "speedup_vs_tuned": round(tuned_s / ours_s, 2),
           "max_abs_diff": float(np.abs(ours - tuned).max())}
    if naive:
        naive_s, reference = best_of(lambda: naive_two_point(images, ours.shape[1] // 2), repeats=1)
        row.update(naive_s=round(naive_s, 4), speedup_vs_naive=round(naive_s / ours_s, 2),
                   max_abs_diff=max(row["max_abs_diff"], float(np.abs(ours - reference).max())))
    return row


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else -1
    threads = os.cpu_count() if workers == -1 else workers
    result = {"bench": "two_point", "workers": workers, "threads": threads,
              "2d": compare(200, 128, 2, 64, seed=0, workers=workers),
              "3d": compare(20, 64, 3, 32, seed=1, workers=workers),
              "2d_large_default_cutoff": compare(4, 2048, 2, None, seed=2, workers=workers, naive=False)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
