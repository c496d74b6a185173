"""Benchmark: FFT homogenisation, the default reciprocal-preconditioned CG and the Green-preconditioned CG
versus the basic Moulinec–Suquet fixed-point scheme.

Prints one JSON line. One random two-phase cell per size (periodic Gaussian-filtered noise cut at its median,
volume fraction 0.5, see two_phase), contrast 50 (E = 1 and 50, ν = 0.3; k = 1 and 50), default Willot scheme:
stiffness at 64² (3 loads) and 51³ (6 loads, study A's size), conductivity at the same sizes.

The comparison is like for like: the same discretisation, the same stopping rule (relative equilibrium residual
‖Pσ‖ / ‖PCE‖ ≤ tol for every load, recomputed from the final fields, reported as ``*_res``) and the same tol;
the fixed point keeps its classic optimal reference medium, the means of the phase extremes (λ0, μ0) or k0.
Iterations are the maximum over the load cases. Prefixes: ``rec`` = ``method="reciprocal"`` (the default),
``cg`` = ``method="cg"`` (Green preconditioner, the former default), ``fp`` = ``method="fixed-point"``.
``iter_ratio`` / ``time_ratio`` = fixed point / default (reciprocal); ``cg_iter_ratio`` / ``cg_time_ratio`` =
fixed point / Green CG; ``rec_vs_cg_time`` = Green CG time / reciprocal time. ``rel_diff`` = the largest
difference of the default and fixed-point tensors relative to the largest entry; ``*_err`` = the same against a
reference at tol 1e-10 (Green CG). Times are wall seconds on a machine that may be shared: compare ratios.

Run: ``.venv/bin/python bench/homogenisation.py`` (about 3 min on 2 cores)
"""

import json
import os
import time

import numpy as np


from msdash.synthetic.fields import two_phase
from msdash.synthetic.homogenisation import effective_conductivity, effective_stiffness


def random_cell(shape, seed, length=3.0):
    """An isotropic periodic random cell at volume fraction 0.5 (a Gaussian random field, see two_phase)."""
    return two_phase(1, shape, volume_fraction=0.5, correlation_length=length, seed=seed)[0]


def compare(solver, micro, tol):
    row = {}
    tensors = {}
    for label, method in (("rec", "reciprocal"), ("cg", "cg"), ("fp", "fixed-point")):
        start = time.perf_counter()
        tensors[label], info = solver(micro, tol=tol, method=method, return_info=True)
        row[f"{label}_s"] = round(time.perf_counter() - start, 3)
        row[f"{label}_iters"] = max(info["iterations"])
        row[f"{label}_res"] = float(f"{max(info['residuals']):.3g}")
    row["iter_ratio"] = round(row["fp_iters"] / row["rec_iters"], 2)
    row["time_ratio"] = round(row["fp_s"] / row["rec_s"], 2)
    row["cg_iter_ratio"] = round(row["fp_iters"] / row["cg_iters"], 2)
    row["cg_time_ratio"] = round(row["fp_s"] / row["cg_s"], 2)
    row["rec_vs_cg_time"] = round(row["cg_s"] / row["rec_s"], 2)
    scale = np.abs(tensors["cg"]).max()
    row["rel_diff"] = float(f"{np.abs(tensors['rec'] - tensors['fp']).max() / scale:.3g}")
    reference = solver(micro, tol=1e-10, method="cg")
    for label in ("rec", "cg", "fp"):
        row[f"{label}_err"] = float(f"{np.abs(tensors[label] - reference).max() / scale:.3g}")
    return row


def main():
    for method in ("reciprocal", "cg"):  # warm-up (imports, FFT plans)
        effective_stiffness(random_cell((16, 16), 0), method=method)
    result = {"bench": "homogenisation", "contrast": 50, "cpus": os.cpu_count()}
    for name, shape in (("2d_64", (64, 64)), ("3d_51", (51, 51, 51))):
        micro = random_cell(shape, seed=1)
        result[name] = compare(effective_stiffness, micro, tol=1e-6)
        result[f"{name}_conductivity"] = compare(effective_conductivity, micro, tol=1e-6)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
