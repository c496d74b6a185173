"""Benchmark: batched checkerboard Metropolis (msdash.synthetic.ising) vs a plain single-spin Python loop.

Prints one JSON line. Both run in the same process on 64×64 periodic lattices at T = Tc (the same acceptance
work for both):

- ``ours`` — 64 lattices updated together, 64 checkerboard sweeps each (study D's N³ attempts), best of 3
  after a warm-up; counted as lattice-sweeps per second (64 lattices × 64 sweeps / time).
- ``naive`` — the plain Metropolis loop one writes first: pick a random site, sum its four neighbours in a
  NumPy array, accept with ``random() < exp(-ΔE / T)``; 40,000 attempts timed and converted to sweeps per
  second (one sweep = 64² attempts).

Run: ``.venv/bin/python bench/ising.py``
"""

import json
import math
import random
import time

import numpy as np


from msdash.synthetic.ising import TC, ising

SIZE, LATTICES, SWEEPS, NAIVE_ATTEMPTS = 64, 64, 64, 40_000


def naive_metropolis(spins, temperature, attempts, rng):
    """Single-spin Metropolis, one random site at a time, in plain Python."""
    n = spins.shape[0]
    for _ in range(attempts):
        i, j = rng.randrange(n), rng.randrange(n)
        h = spins[(i - 1) % n, j] + spins[(i + 1) % n, j] + spins[i, (j - 1) % n] + spins[i, (j + 1) % n]
        delta = 2 * spins[i, j] * h
        if delta <= 0 or rng.random() < math.exp(-delta / temperature):
            spins[i, j] = -spins[i, j]
    return spins


def main():
    ising(LATTICES, size=SIZE, temperature=TC, steps=SIZE**2, seed=0)  # warm-up
    best = math.inf
    for repeat in range(3):
        start = time.perf_counter()
        ising(LATTICES, size=SIZE, temperature=TC, steps=SWEEPS * SIZE**2, seed=repeat)
        best = min(best, time.perf_counter() - start)
    ours = LATTICES * SWEEPS / best

    rng = random.Random(0)
    spins = np.where(np.random.default_rng(0).random((SIZE, SIZE)) < 0.5, -1, 1)
    start = time.perf_counter()
    naive_metropolis(spins, TC, NAIVE_ATTEMPTS, rng)
    naive = NAIVE_ATTEMPTS / SIZE**2 / (time.perf_counter() - start)

    print(json.dumps({"bench": "ising", "size": SIZE, "lattices": LATTICES, "ours_sweeps_per_s": round(ours, 1),
                      "naive_sweeps_per_s": round(naive, 2), "speedup": round(ours / naive, 1)}))


if __name__ == "__main__":
    main()
