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
- ``E_HS_upper (GPa)`` — Hashin–Shtrikman upper bound on the Young's modulus at the measured volume
  fraction, phase 1 E = 200 GPa, ν = 0.3, phase 0 E = 4 GPa, ν = 0.3 (stiffness contrast 50 as in study A).
  It depends on the volume fraction only and is kept as a reference;
- ``E_x FFT (GPa)`` — the modulus of each microstructure along x by FFT homogenisation
  (:func:`~msdash.synthetic.homogenisation.effective_stiffness`, same phases, plane strain, CG solver,
  tol 1e-6): ``1 / (C⁻¹)_xx`` of the effective 3×3 Voigt tensor, i.e. E/(1 − ν²) for an isotropic cell.

``data/make_demo.py`` calls :func:`write_demo` to store the set in ``data/demo``;
:func:`msdash.dataset.demo_dataset` reads it back with :func:`read_demo`.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from .fields import hashin_shtrikman_upper, interface_density, two_phase

__all__ = ["make_demo", "write_demo", "read_demo", "DEMO_SEED", "PROPERTY_COLUMNS"]

#: Seed of the committed demo set (``data/demo``).
DEMO_SEED = 20261123
#: Columns of the properties table, in order.
PROPERTY_COLUMNS = [
    "name",
    "volume_fraction",
    "interface_density (1/px)",
    "correlation_length (px)",
    "anisotropy",
    "E_HS_upper (GPa)",
    "E_x FFT (GPa)",
    "family",
]
FAMILIES = ("iso", "aniso-x", "aniso-y")
#: Moduli of phase 1 (white) and phase 0 (black) for the stiffness label, GPa.
E_PHASES = (200.0, 4.0)
NU_PHASES = (0.3, 0.3)


def fft_modulus(image):
    """Plane-strain modulus along x (GPa) of one demo cell by FFT homogenisation (phase 1 = 200 GPa)."""
    from .homogenisation import effective_stiffness, youngs_modulus_x

    stiffness = effective_stiffness(image, youngs=E_PHASES[::-1], poisson=NU_PHASES[::-1], tol=1e-6, method="cg")
    return float(youngs_modulus_x(stiffness))


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
    width = max(3, len(str(n - 1)))
    properties = pd.DataFrame(
        {
            "name": [f"demo_{i:0{width}d}" for i in range(n)],
            "volume_fraction": volume_fraction,
            "interface_density (1/px)": interface_density(images),
            "correlation_length (px)": length,
            "anisotropy": anisotropy,
            "E_HS_upper (GPa)": hashin_shtrikman_upper(volume_fraction, E=E_PHASES, nu=NU_PHASES),
            "E_x FFT (GPa)": [fft_modulus(image) for image in images],
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
