"""The built-in demo set: a few hundred random two-phase microstructures with simple physical labels.

Each sample ``i`` is one periodic :func:`~msdash.synthetic.fields.two_phase` field of ``size × size``
pixels, drawn with its own parameters from one seeded generator:

- ``family`` — ``"iso"``, ``"aniso-x"`` or ``"aniso-y"``, each with probability 1/3 (a group column for
  group-aware cross-validation);
- target volume fraction — uniform in [0.2, 0.8];
- ``correlation_length (px)`` ``ℓ`` — uniform in [2, 10], the geometric mean of the per-axis kernel widths;
- ``anisotropy`` ``r`` — 1 for ``iso``, else uniform in [1.5, 4]; the kernel width is ``ℓ·√r`` along the
  long axis (x = axis 1 for ``aniso-x``, y = axis 0 for ``aniso-y``) and ``ℓ/√r`` across it.

Properties, one row per sample (phase 1 = label 1 = white):

- ``volume_fraction`` — measured share of phase-1 pixels (equals the target up to pixel rounding);
- ``interface_density (1/px)`` — :func:`~msdash.synthetic.fields.interface_density`: unlike
  nearest-neighbour pairs (periodic, both axes) over all pairs;
- ``E_x plane strain FFT (GPa)`` — the plane-strain modulus along x of each cell by FFT homogenisation
  (:func:`~msdash.synthetic.homogenisation.effective_stiffness`, phase 1 E = 200 GPa, ν = 0.3, phase 0
  E = 4 GPa, ν = 0.3: stiffness contrast 50 as in study A [1]_; Willot scheme, tol 1e-6):
  ``1 / (C⁻¹)_xx`` of the effective 3×3 plane-strain tensor, the modulus under uniaxial in-plane stress with
  ``ε_zz = 0``. It is **not** Young's modulus: for an isotropic cell it is ``E / (1 − ν²)``, about 10 % above
  ``E``. Discretisation error: the Willot scheme equals bilinear finite elements with one integration point;
  it is 0.3 % to 4.5 % (median 1.0 %) below conforming, fully integrated bilinear elements on these 64-px
  cells (``bench/homogenisation_q1.py``, first 20 cells; an independent audit found −0.4 % to −5 % at
  24–96 px, contrast 50); the solver tolerance changes it far less;
- ``E_x plane strain Voigt bound (GPa)`` and ``E_x plane strain Reuss bound (GPa)`` — upper and lower
  bounds on it at the measured volume fraction
  (:func:`~msdash.synthetic.bounds.voigt_reuss_modulus_x`): with equal ``ν``, ``⟨E⟩ / (1 − ν²)``
  and ``1 / (⟨1/E⟩ (1 − ν²))``. They hold for every cell, anisotropic ones included, and for the discrete
  solution (it minimises the energy over fields that include the uniform one; Hill's lower bound holds for
  every field of the given mean). The tighter Hashin–Shtrikman bounds hold for
  statistically isotropic composites only: single 64-px cells, and the ``aniso`` families all the more, can
  exceed them, so they are not given (the 3-D Hashin–Shtrikman bound on ``E`` of earlier versions was not a
  bound on this plane-strain modulus).

``python -m msdash.synthetic.demo`` calls :func:`write_demo` to store the set in ``msdash/data/demo`` (package data);
:func:`msdash.data.dataset.demo_dataset` reads it back with :func:`read_demo`.

References
----------
.. [1] S. E. Whitman, G. Hu, M. I. Latypov, "Learning microstructure–property relationships in materials
   with robust features from vision transformers" (study A; see ``docs/references.md``).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from .fields import interface_density, two_phase

__all__ = ["make_demo", "write_demo", "read_demo", "DEMO_SEED", "PROPERTY_COLUMNS"]

#: Seed of the committed demo set (``msdash/data/demo``).
DEMO_SEED = 20261123
#: Columns of the properties table, in order.
PROPERTY_COLUMNS = [
    "name",
    "volume_fraction",
    "interface_density (1/px)",
    "correlation_length (px)",
    "anisotropy",
    "E_x plane strain Voigt bound (GPa)",
    "E_x plane strain FFT (GPa)",
    "E_x plane strain Reuss bound (GPa)",
    "family",
]
FAMILIES = ("iso", "aniso-x", "aniso-y")
#: Moduli of phase 1 (white) and phase 0 (black) for the stiffness label, GPa.
E_PHASES = (200.0, 4.0)
NU_PHASES = (0.3, 0.3)


def fft_modulus(image):
    """Plane-strain modulus along x, ``1 / (C⁻¹)_xx`` (GPa) of one demo cell by FFT homogenisation.

    Phase 1 (label 1) has E = 200 GPa, phase 0 E = 4 GPa, both ν = 0.3; see the module docstring for what
    the modulus is and its discretisation error.
    """
    from .homogenisation import effective_stiffness, youngs_modulus_x

    stiffness = effective_stiffness(image, youngs=E_PHASES[::-1], poisson=NU_PHASES[::-1], tol=1e-6, method="cg")
    return float(youngs_modulus_x(stiffness))


def modulus_bounds(volume_fraction):
    """Reuss and Voigt bounds (GPa) on the demo's plane-strain ``E_x`` at the given volume fractions of phase 1."""
    from .bounds import voigt_reuss_modulus_x

    return voigt_reuss_modulus_x(volume_fraction, youngs=E_PHASES[::-1], poisson=NU_PHASES[::-1], dims=2)


def make_demo(n=300, size=64, seed=DEMO_SEED):
    """Generate the demo microstructures and their properties.

    Parameters
    ----------
    n : int, optional
        Number of samples.
    size : int, optional
        Side of each square image, in pixels.
    seed : int, optional
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same set.

    Returns
    -------
    images : ndarray of float32, shape (n, size, size)
        Phase labels, exactly 0/1.
    properties : pandas.DataFrame
        One row per sample with the columns :data:`PROPERTY_COLUMNS` (see the module docstring);
        names are ``"demo_000"``, ``"demo_001"``, ….

    Examples
    --------
    >>> images, properties = make_demo(n=3, size=16, seed=0)
    >>> images.shape, list(properties["name"])
    ((3, 16, 16), ['demo_000', 'demo_001', 'demo_002'])
    """
    rng = np.random.default_rng(seed)
    family = rng.choice(FAMILIES, size=n)
    target = rng.uniform(0.2, 0.8, size=n)
    length = rng.uniform(2.0, 10.0, size=n)
    anisotropy = np.where(family == "iso", 1.0, rng.uniform(1.5, 4.0, size=n))

    images = np.empty((n, size, size), dtype=np.float32)
    for i in range(n):
        stretch = np.sqrt(anisotropy[i])
        widths = {
            "iso": (length[i], length[i]),
            "aniso-x": (length[i] / stretch, length[i] * stretch),
            "aniso-y": (length[i] * stretch, length[i] / stretch),
        }[family[i]]
        # Parameters differ per sample, so one call each; the shared generator keeps the set reproducible.
        images[i] = two_phase(1, (size, size), volume_fraction=target[i], correlation_length=widths, seed=rng)[0]

    volume_fraction = images.mean(axis=(1, 2), dtype=np.float64)
    lower, upper = modulus_bounds(volume_fraction)
    width = max(3, len(str(n - 1)))
    properties = pd.DataFrame(
        {
            "name": [f"demo_{i:0{width}d}" for i in range(n)],
            "volume_fraction": volume_fraction,
            "interface_density (1/px)": interface_density(images),
            "correlation_length (px)": length,
            "anisotropy": anisotropy,
            "E_x plane strain Voigt bound (GPa)": upper,
            "E_x plane strain FFT (GPa)": [fft_modulus(image) for image in images],
            "E_x plane strain Reuss bound (GPa)": lower,
            "family": family.astype(str),
        },
        columns=PROPERTY_COLUMNS,
    )
    return images, properties


def write_demo(out, *, n=300, size=64, seed=DEMO_SEED):
    """Generate the demo set and write ``demo.npz`` and ``properties.csv`` into the folder ``out``.

    ``demo.npz`` holds ``images`` (``np.packbits`` of the uint8 labels along the last axis), ``shape``
    (int64) and ``names`` (unicode), so it loads with ``allow_pickle=False``; ``properties.csv`` is the
    table of :func:`make_demo` (floats written with round-trip precision).

    Parameters
    ----------
    out : path-like
        Folder to write into (created when missing).
    n, size, seed : int, optional
        Passed to :func:`make_demo`.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    images, properties = make_demo(n=n, size=size, seed=seed)
    npz = out / "demo.npz"
    # Binary labels: 1 bit per pixel keeps the committed file small.
    np.savez_compressed(
        npz,
        images=np.packbits(images.astype(np.uint8), axis=-1),
        shape=np.array(images.shape, dtype=np.int64),
        names=properties["name"].to_numpy(dtype=str),
    )
    csv = out / "properties.csv"
    properties.to_csv(csv, index=False, lineterminator="\n")
    return [npz, csv]


def read_demo(folder):
    """Read a set written by :func:`write_demo`.

    Parameters
    ----------
    folder : path-like
        Folder holding ``demo.npz`` and ``properties.csv``.

    Returns
    -------
    images : ndarray of float32, shape (n, H, W)
    properties : pandas.DataFrame
        As returned by :func:`make_demo`.

    Raises
    ------
    OSError, ValueError, KeyError
        When a file is missing or does not match the other.
    """
    folder = Path(folder)
    with np.load(folder / "demo.npz", allow_pickle=False) as npz:
        shape = tuple(int(s) for s in npz["shape"])
        images = np.unpackbits(npz["images"], axis=-1, count=shape[-1]).reshape(shape)
        names = npz["names"].tolist()
    properties = pd.read_csv(folder / "properties.csv")
    if list(properties.columns) != PROPERTY_COLUMNS or properties["name"].tolist() != names:
        raise ValueError(f"{folder}: demo.npz and properties.csv do not match")
    return images.astype(np.float32), properties


def main(argv=None):
    """Write the demo set (``python -m msdash.synthetic.demo [--out DIR] [--n N] [--size PX] [--seed S]``).

    The output is fully determined by the arguments; by default it replaces the package's own files
    (``msdash/data/demo``), which ``tests/synthetic/test_demo.py`` compares with a fresh generation.
    """
    import argparse
    import importlib.resources

    default_out = Path(str(importlib.resources.files("msdash.data") / "demo"))
    parser = argparse.ArgumentParser(prog="python -m msdash.synthetic.demo", description="Write the demo set.")
    parser.add_argument("--out", default=str(default_out), help="folder for demo.npz and properties.csv")
    parser.add_argument("--n", type=int, default=300, help="samples")
    parser.add_argument("--size", type=int, default=64, help="side in px")
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    args = parser.parse_args(argv)
    for path in write_demo(args.out, n=args.n, size=args.size, seed=args.seed):
        print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
