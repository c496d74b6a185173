"""Benchmark: FFT homogenisation, preconditioned CG versus the basic Moulinec–Suquet fixed-point scheme.

Prints one JSON line. One random two-phase cell per size (periodic Gaussian-filtered noise cut at its median,
volume fraction 0.5, built inline), contrast 50 (E = 1 and 50, ν = 0.3; k = 1 and 50), default Willot scheme,
both methods at the same tolerance and the same stopping rule (relative equilibrium residual ‖Pσ‖ / ‖PCE‖):
stiffness at 64² (3 loads) and 51³ (6 loads, study A's size), conductivity at the same sizes.
Iterations are the maximum over the load cases; ``iter_ratio`` = fixed-point / CG; ``rel_diff`` = the largest
difference of the two tensors relative to the largest entry.

Run: ``.venv/bin/python bench/homogenisation.py``
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from msdash.synthetic.fields import two_phase  # noqa: E402
from msdash.synthetic.homogenisation import effective_conductivity, effective_stiffness  # noqa: E402


def random_cell(shape, seed, length=3.0):
    """An isotropic periodic random cell at volume fraction 0.5 (a Gaussian random field, see two_phase)."""
    return two_phase(1, shape, volume_fraction=0.5, correlation_length=length, seed=seed)[0]


def compare(solver, micro, tol):
    row = {}
    tensors = {}
    for label, method in (("cg", "cg"), ("fp", "fixed-point")):
        start = time.perf_counter()
        tensors[label], info = solver(micro, tol=tol, method=method, return_info=True)
        row[f"{label}_s"] = round(time.perf_counter() - start, 3)
        row[f"{label}_iters"] = max(info["iterations"])
    row["iter_ratio"] = round(row["fp_iters"] / row["cg_iters"], 2)
    row["time_ratio"] = round(row["fp_s"] / row["cg_s"], 2)
    row["rel_diff"] = float(np.abs(tensors["cg"] - tensors["fp"]).max() / np.abs(tensors["cg"]).max())
    return row


def main():
    effective_stiffness(random_cell((16, 16), 0))  # warm-up (imports, FFT plans)
    result = {"bench": "homogenisation", "contrast": 50, "cpus": os.cpu_count()}
    for name, shape in (("2d_64", (64, 64)), ("3d_51", (51, 51, 51))):
        micro = random_cell(shape, seed=1)
        result[name] = compare(effective_stiffness, micro, tol=1e-6)
        result[f"{name}_conductivity"] = compare(effective_conductivity, micro, tol=1e-6)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
