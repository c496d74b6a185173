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

from typing import NamedTuple

import numpy as np
import pandas as pd

from msdash.errors import InputError
from msdash.features.registry import Param

__all__ = ["GeneratorSpec", "GENERATORS", "generate_dataset", "cahn_hilliard_history"]


class GeneratorSpec(NamedTuple):
    """One generator of :data:`GENERATORS`: its title and typed parameters (:class:`~msdash.features.registry.Param`).

    The same shape as the extractor registry's entries: the Data page builds its widgets from ``params`` and the
    command line (``msdash generate --param KEY=VALUE``) converts its text through them, so both accept exactly
    what :func:`generate_dataset` accepts.

    Attributes
    ----------
    title : str
        Human label for menus.
    params : tuple of Param
        Every parameter with its default, type and bounds.
    """

    title: str
    params: tuple

    def defaults(self):
        """Parameter name → default value."""
        return {param.name: param.default for param in self.params}

    def resolve(self, values, *, kind="this generator"):
        """The defaults updated with ``values``, each converted by its :class:`Param` (text too).

        Raises
        ------
        InputError
            An unknown parameter (the message lists the valid ones) or a value out of type or bounds.

        Examples
        --------
        >>> GENERATORS["ising"].resolve({"n": "5"})
        {'n': 5, 'size': 64, 'seed': 0}
        """
        known = {param.name: param for param in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InputError(f"unknown parameter(s) {', '.join(unknown)} for {kind}; valid: {', '.join(known)}",
                             name=unknown[0])
        return {**self.defaults(), **{name: known[name].coerce(value) for name, value in values.items()}}


def _common(n, fractions):
    """n, size, dims, volume-fraction range: the parameters of the three two-phase generators."""
    return (Param("n", n, "int", min=1, help="Number of microstructures."),
            Param("size", 64, "int", min=8, help="Side of each image or volume in pixels."),
            Param("dims", 2, "int", min=2, max=3, help="2 for images, 3 for volumes."),
            Param("vf_min", fractions[0], "float", min=0.0, max=1.0, help="Smallest target volume fraction."),
            Param("vf_max", fractions[1], "float", min=0.0, max=1.0, help="Largest target volume fraction."))


_CONTRAST = Param("contrast", 50.0, "float", min=1e-6,
                  help="Young's modulus of phase 1 over phase 0 in the FFT homogenisation (study A: 50).")
_SEED = Param("seed", 0, "int", min=0, help="Seed: the same settings and seed give the same data set.")

#: Generator name → :class:`GeneratorSpec`. Pages and the command line build their inputs from these.
GENERATORS = {
    "two-phase": GeneratorSpec("Two-phase microstructures with FFT-homogenised stiffness", _common(50, (0.2, 0.8)) + (
        Param("length_min", 2.0, "float", min=0.1, help="Smallest correlation length of the random field (px)."),
        Param("length_max", 8.0, "float", min=0.1, help="Largest correlation length of the random field (px)."),
        _CONTRAST, _SEED)),
    "disks": GeneratorSpec("Random overlapping disks/spheres with FFT-homogenised stiffness",
                           _common(50, (0.1, 0.5)) + (
        Param("radius_min", 2.0, "float", min=0.1, help="Smallest disk or sphere radius (px)."),
        Param("radius_max", 6.0, "float", min=0.1, help="Largest disk or sphere radius (px)."),
        _CONTRAST, _SEED)),
    "lamellae": GeneratorSpec("Lamellae with FFT-homogenised stiffness", _common(20, (0.2, 0.8)) + (
        Param("period", 8, "int", min=2, help="Lamella period (px)."), _CONTRAST, _SEED)),
    "ising": GeneratorSpec("Ising model snapshots (Metropolis)", (
        Param("n", 200, "int", min=1, help="Number of snapshots."),
        Param("size", 64, "int", min=4, help="Side of the periodic square lattice."), _SEED)),
    "cahn-hilliard": GeneratorSpec("Cahn–Hilliard phase separation runs", (
        Param("runs", 4, "int", min=1, help="Independent runs (the group column)."),
        Param("size", 64, "int", min=8, help="Side of the periodic square grid."),
        Param("steps", 2000, "int", min=1, help="Time steps per run."),
        Param("snapshots", 20, "int", min=1, help="Snapshots saved per run."),
        Param("ramp_snapshots", 5, "int", min=0,
              help="Snapshots taken during the time-step ramp, log-spaced (at most half of them); 0: equally "
                   "spaced over the run."),
        _SEED)),
}


def generate_dataset(kind, *, progress=None, **params):
    """Generate a data set with one of :data:`GENERATORS`.

    Parameters
    ----------
    kind : str
        ``"two-phase"``, ``"disks"``, ``"lamellae"``, ``"ising"`` or ``"cahn-hilliard"``.
    progress : callable, optional
        ``progress(done, total, message)``.
    **params
        Overrides of the generator's defaults (see :data:`GENERATORS`); numbers or their text.

    Returns
    -------
    Dataset

    Raises
    ------
    InputError
        An unknown generator or parameter, or a value out of type or bounds.
    """
    if kind not in GENERATORS:
        raise InputError(f"unknown generator {kind!r}; choose one of {', '.join(GENERATORS)}", name="kind")
    settings = GENERATORS[kind].resolve(params, kind=kind)
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
