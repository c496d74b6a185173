"""Whole data sets from the physics generators, for the Data page and ``python -m msdash generate``.

Each generator returns a :class:`msdash.data.dataset.Dataset` whose properties come from the physics:

- ``two-phase`` (Gaussian random fields), ``disks`` (overlapping disks/spheres) and ``lamellae``, 2D or 3D,
  with their volume fraction and, by FFT
  homogenisation (:func:`msdash.synthetic.effective_stiffness`), the modulus along x ``1 / (C⁻¹)_xx``
  (contrast 50 by default, as in study A): in 2D the plane-strain modulus (``E / (1 − ν²)`` for an
  isotropic cell, column ``E_x plane strain (E0 units)``), in 3D Young's modulus (``E_x (E0 units)``);
- ``ising``: Metropolis snapshots on a periodic square lattice (study D), property = temperature rescaled to
  0..255 (``T · 255 / (2 Tc)``), plus the temperature itself;
- ``cahn-hilliard``: snapshots of phase-separation runs (study D; no elastic energy term), property = total
  free energy, group = run id; ``ramp_snapshots`` of the ``snapshots`` per run (at most half of them) are
  taken during the time-step ramp, log-spaced (the fast early energy decay study D sampled), the rest
  equally spaced after it; 0 spaces all equally over the run. Columns ``step`` and ``time`` say when.

References
----------
Studies A and D of ``docs/references.md``.
"""

import numpy as np
import pandas as pd

from msdash.errors import InputError

#: Generator name → (title, parameter defaults). Pages build their widgets from these.
GENERATORS = {
    "two-phase": ("Two-phase microstructures with FFT-homogenised stiffness",
                  {"n": 50, "size": 64, "dims": 2, "vf_min": 0.2, "vf_max": 0.8, "length_min": 2.0,
                   "length_max": 8.0, "contrast": 50.0, "seed": 0}),
    "disks": ("Random overlapping disks/spheres with FFT-homogenised stiffness",
              {"n": 50, "size": 64, "dims": 2, "vf_min": 0.1, "vf_max": 0.5, "radius_min": 2.0, "radius_max": 6.0,
               "contrast": 50.0, "seed": 0}),
    "lamellae": ("Lamellae with FFT-homogenised stiffness",
                 {"n": 20, "size": 64, "dims": 2, "vf_min": 0.2, "vf_max": 0.8, "period": 8, "contrast": 50.0,
                  "seed": 0}),
    "ising": ("Ising model snapshots (Metropolis)", {"n": 200, "size": 64, "seed": 0}),
    "cahn-hilliard": ("Cahn–Hilliard phase separation runs", {"runs": 4, "size": 64, "steps": 2000,
                                                               "snapshots": 20, "ramp_snapshots": 5, "seed": 0}),
}


def generate_dataset(kind, *, progress=None, **params):
    """Generate a data set with one of :data:`GENERATORS`.

    Parameters
    ----------
    kind : str
        ``"two-phase"``, ``"ising"`` or ``"cahn-hilliard"``.
    progress : callable, optional
        ``progress(done, total, message)``.
    **params
        Overrides of the generator's defaults (see :data:`GENERATORS`).

    Returns
    -------
    Dataset
    """
    if kind not in GENERATORS:
        raise InputError(f"unknown generator {kind!r}; choose one of {', '.join(GENERATORS)}", name="kind")
    defaults = GENERATORS[kind][1]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise InputError(f"unknown parameter(s) {', '.join(unknown)} for {kind}; valid: {', '.join(defaults)}",
                         name=unknown[0])
    settings = {**defaults, **params}
    progress = progress or (lambda done, total, message="": None)
    run = {"ising": _ising, "cahn-hilliard": _cahn_hilliard}.get(kind, _two_phase)
    return run(dict(settings, structure=kind), progress)


def _two_phase(p, progress):
    from msdash.data.dataset import Dataset
    from msdash.synthetic import effective_stiffness, two_phase, youngs_modulus_x
    from msdash.synthetic.shapes import disks, lamellae

    n, size, dims = int(p["n"]), int(p["size"]), int(p["dims"])
    if dims not in (2, 3):
        raise InputError("`dims` must be 2 or 3", name="dims")
    rng = np.random.default_rng(int(p["seed"]))
    structure, shape = p["structure"], (size,) * dims
    fractions = rng.uniform(p["vf_min"], p["vf_max"], n)
    lengths = rng.uniform(p.get("length_min", 0), p.get("length_max", 0), n)
    radii = rng.uniform(p.get("radius_min", 0), p.get("radius_max", 0), n)
    images, rows = {}, []
    for i in range(n):
        if structure == "disks":
            micro = disks(1, shape, volume_fraction=fractions[i], radius=radii[i], seed=rng)[0]
            extra = {"radius (px)": float(radii[i])}
        elif structure == "lamellae":
            micro = lamellae(1, shape, volume_fraction=fractions[i], period=int(p["period"]), seed=rng)[0]
            extra = {"period (px)": int(p["period"])}
        else:
            micro = two_phase(1, shape, volume_fraction=fractions[i], correlation_length=lengths[i], seed=rng)[0]
            extra = {"correlation_length (px)": float(lengths[i])}
        stiffness = effective_stiffness(micro, youngs=(1.0, float(p["contrast"])), poisson=(0.3, 0.3))
        name = f"{structure}_{i:04d}"
        images[name] = micro.astype(np.float32)
        modulus = "E_x plane strain (E0 units)" if dims == 2 else "E_x (E0 units)"
        rows.append({"volume_fraction": float(micro.mean()), **extra, modulus: float(youngs_modulus_x(stiffness))})
        progress(i + 1, n, "homogenised")
    properties = pd.DataFrame(rows, index=list(images))
    label = f"{n} {structure} {'volumes' if dims == 3 else 'images'} {size}^{dims}, contrast {p['contrast']:g}"
    return Dataset(label, images, properties, source="generated",
                   notes=[f"two-phase generator, settings {p}"])


def _ising(p, progress):
    from msdash.data.dataset import Dataset
    from msdash.synthetic import ising_dataset

    spins, temperatures, scaled = ising_dataset(int(p["n"]), size=int(p["size"]), seed=int(p["seed"]))
    progress(1, 1, "sampled")
    names = [f"ising_{i:05d}" for i in range(len(spins))]
    images = {name: ((s + 1) / 2).astype(np.float32) for name, s in zip(names, spins)}
    properties = pd.DataFrame({"temperature (0-255)": scaled, "temperature (J/k_B)": temperatures}, index=names)
    return Dataset(f"{len(names)} Ising snapshots {p['size']}×{p['size']}", images, properties,
                   source="generated", notes=[f"Ising generator, settings {p}"])


def _cahn_hilliard(p, progress):
    from msdash.data.dataset import Dataset
    from msdash.synthetic import cahn_hilliard
    from msdash.synthetic.cahn_hilliard import time_schedule

    runs = int(p["runs"])
    images, rows = {}, []
    for run in range(runs):
        schedule = {"steps": int(p["steps"]), "n_snapshots": int(p["snapshots"]),
                    "ramp_snapshots": min(int(p["ramp_snapshots"]), int(p["snapshots"]) // 2)}
        snapshots, energies = cahn_hilliard(size=int(p["size"]), seed=int(p["seed"]) + run, **schedule)
        dts, saved = time_schedule(**schedule)
        times = np.cumsum(dts)[saved - 1]
        for j, (c, energy) in enumerate(zip(snapshots, energies)):
            name = f"ch_run{run:02d}_{j:03d}"
            images[name] = np.clip(c, 0.0, 1.0).astype(np.float32)
            rows.append({"free energy": float(energy), "run": f"run{run:02d}", "snapshot": j,
                         "step": int(saved[j]), "time": float(times[j])})
        progress(run + 1, runs, "run finished")
    properties = pd.DataFrame(rows, index=list(images))
    return Dataset(f"Cahn–Hilliard: {runs} runs × {p['snapshots']} snapshots", images, properties,
                   group_column="run", source="generated",
                   notes=[f"Cahn–Hilliard generator (no elastic energy term), settings {p}"])


def cahn_hilliard_history(*, size=64, steps=2000, snapshots=20, ramp_snapshots=5, seed=0, **_):
    """The free energy after every step of the first run the ``cahn-hilliard`` generator makes, with the
    steps it saves marked: what the Data page plots before generating (the run is repeated, same seed).

    Parameters
    ----------
    size, steps, snapshots, ramp_snapshots, seed : int
        The generator's settings (:data:`GENERATORS`); others are ignored.

    Returns
    -------
    dict
        ``{"time": (steps,), "energy": (steps,), "saved": (snapshots,)}``, as
        :func:`msdash.synthetic.cahn_hilliard.cahn_hilliard` gives with ``return_history=True``.

    Examples
    --------
    >>> h = cahn_hilliard_history(size=16, steps=160, snapshots=6, ramp_snapshots=3)
    >>> h["energy"].shape, len(h["saved"]), int(h["saved"][0])  # the first save is during the ramp
    ((160,), 6, 0)
    """
    from msdash.synthetic import cahn_hilliard

    _, _, history = cahn_hilliard(size=int(size), steps=int(steps), n_snapshots=int(snapshots),
                                  ramp_snapshots=min(int(ramp_snapshots), int(snapshots) // 2), seed=int(seed),
                                  return_history=True)
    return history
