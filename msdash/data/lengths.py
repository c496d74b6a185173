"""Quantities measured in pixels, shown in µm when the data set's pixel size is known.

Stored values (feature tables, property columns) stay in px so that caches stay valid; these helpers convert
for display and export only.
"""

import re

from .pixelsize import format_length

__all__ = ["length_label", "lag_axis_um", "column_in_um", "properties_in_um", "dataset_in_um", "feature_axis_note"]

#: Units of pixel-based columns → the power of the length they stand for.
_PX_POWERS = {"px": 1, "pixel": 1, "pixels": 1, "1/px": -1, "/px": -1, "px^-1": -1, "px⁻¹": -1, "1/pixel": -1,
              "px²": 2, "px^2": 2, "px2": 2, "pixel²": 2}
_UM_UNITS = {1: "µm", -1: "1/µm", 2: "µm²"}
_TRAILING_UNIT = re.compile(r"^(?P<base>.*?)\s*(?P<open>[\(\[])\s*(?P<unit>[^\(\)\[\]]+?)\s*[\)\]]\s*$")


def length_label(value_px, pixel_size_um, *, power=1):
    """A quantity measured in pixels, as text: in µm (nm, mm) when the pixel size is known, else in px.

    Parameters
    ----------
    value_px : float
        A length (``power=1``), an inverse length such as an interface density (``-1``) or an area (``2``),
        in pixel units.
    pixel_size_um : float or None
        Micrometres per pixel; None: unknown.
    power : {1, -1, 2}

    Examples
    --------
    >>> length_label(32, 0.0125), length_label(32, None)
    ('400 nm', '32 px')
    >>> length_label(0.05, 0.5, power=-1), length_label(0.05, None, power=-1), length_label(4, 0.5, power=2)
    ('0.1 1/µm', '0.05 1/px', '1 µm²')
    """
    if power not in _UM_UNITS:
        raise ValueError(f"`power` must be 1, -1 or 2, got {power!r}")
    if pixel_size_um is None:
        return f"{value_px:.4g} {dict({1: 'px', -1: '1/px', 2: 'px²'})[power]}"
    value = value_px * pixel_size_um ** power
    return format_length(value) if power == 1 else f"{value:.3g} {_UM_UNITS[power]}"


def lag_axis_um(cutoff, pixel_size_um):
    """The lags of a two-point window, ``-cutoff … cutoff`` pixels, in µm when the pixel size is known.

    Parameters
    ----------
    cutoff : int
        Half-width of the window in pixels.
    pixel_size_um : float or None

    Returns
    -------
    lags : ndarray of float, shape (2 * cutoff + 1,)
        ``k × pixel_size_um`` for ``k = -cutoff … cutoff`` (``k`` when the pixel size is unknown).
    unit : str
        ``"µm"`` or ``"px"``.

    Examples
    --------
    >>> lag_axis_um(2, 0.5)
    (array([-1. , -0.5,  0. ,  0.5,  1. ]), 'µm')
    >>> lag_axis_um(1, None)
    (array([-1.,  0.,  1.]), 'px')
    """
    import numpy as np

    steps = np.arange(-int(cutoff), int(cutoff) + 1, dtype=np.float64)
    return (steps, "px") if pixel_size_um is None else (steps * float(pixel_size_um), "µm")


def column_in_um(column, pixel_size_um):
    """How a property column in pixel units reads in µm: ``(new name, factor)``, or None.

    Columns whose unit (a trailing ``(…)`` or ``[…]``) is ``px``, ``1/px`` or ``px²`` are converted:
    new value = old value × ``factor`` (``pixel_size_um`` to the power of the unit).

    Examples
    --------
    >>> column_in_um("correlation_length (px)", 0.5)
    ('correlation_length (µm)', 0.5)
    >>> column_in_um("interface_density (1/px)", 0.5)
    ('interface_density (1/µm)', 2.0)
    >>> column_in_um("hardness (HV)", 0.5), column_in_um("length (px)", None)
    (None, None)
    """
    match = _TRAILING_UNIT.match(str(column))
    power = _PX_POWERS.get(match.group("unit").lower()) if match else None
    if power is None or pixel_size_um is None:
        return None
    close = ")" if match.group("open") == "(" else "]"
    return f"{match.group('base')} {match.group('open')}{_UM_UNITS[power]}{close}", float(pixel_size_um) ** power


def properties_in_um(properties, pixel_size_um):
    """A copy of a property table with its pixel-unit columns in µm (see :func:`column_in_um`).

    A column whose µm name is taken already stays in px. For display and export only: the stored table is
    not changed.

    Parameters
    ----------
    properties : pandas.DataFrame
    pixel_size_um : float or None

    Returns
    -------
    pandas.DataFrame
        The same object when nothing is converted.
    """
    renames, factors = {}, {}
    for column in properties.columns:
        converted = column_in_um(column, pixel_size_um)
        if converted and converted[0] not in properties.columns and converted[0] not in renames.values():
            renames[column], factors[column] = converted
    if not renames:
        return properties
    table = properties.copy()
    for column, factor in factors.items():
        table[column] = table[column] * factor if table[column].dtype.kind in "biuf" else table[column]
    return table.rename(columns=renames)


def dataset_in_um(dataset):
    """The data set as shown: its pixel-unit property columns in µm when its pixel size is known.

    The images are shared (nothing is copied or hashed again); the saved set is not changed.

    Returns
    -------
    Dataset
        ``dataset`` itself when there is nothing to convert.
    """
    table = properties_in_um(dataset.properties, dataset.pixel_size_um)
    if table is dataset.properties:
        return dataset
    renamed = dict(zip(dataset.properties.columns, table.columns))
    return dataset.with_table(table, group_column=renamed.get(dataset.group_column, dataset.group_column),
                              derived={renamed[c]: f for c, f in dataset.derived.items() if c in renamed})


_WINDOW_LABEL = re.compile(r"^S2\[(?P<axes>(?:d[zyx]=-?\d+,?)+)\]$")
_PSD_LABEL = re.compile(r"^(?:grad_)?psd\[k=(\d+)\]$")


def feature_axis_note(labels, pixel_size_um):
    """What the lags of a two-point table or the bins of a PSD table are, in µm when known (else px); or None.

    Parameters
    ----------
    labels : sequence of str
        A feature table's column labels (``"S2[dy=-3,dx=1]"``, ``"psd[k=4]"``).
    pixel_size_um : float or None

    Examples
    --------
    >>> feature_axis_note(["S2[dy=-2,dx=-2]", "S2[dy=-2,dx=-1]"], 0.5)
    'Two-point lags dy, dx run from −2 to 2 px in steps of 1 px: −1 µm to 1 µm in steps of 500 nm.'
    >>> feature_axis_note(["psd[k=0]", "psd[k=1]"], None)
    'PSD bins: |k| from 0.125 1/px to 0.375 1/px (pixel size unknown).'
    >>> feature_axis_note(["psd[k=0]", "psd[k=1]"], 0.5)
    'PSD bins: |k| from 0.125 1/px to 0.375 1/px, i.e. 0.25 1/µm to 0.75 1/µm (periods 1.33 µm to 4 µm).'
    >>> feature_axis_note(["vf"], 0.5) is None
    True
    """
    if not len(labels):
        return None
    first = _WINDOW_LABEL.match(str(labels[0]))
    if first:
        axes = [part.split("=") for part in first.group("axes").split(",")]
        cutoff = max(abs(int(value)) for _, value in axes)
        names = ", ".join(name for name, _ in axes)
        text = f"Two-point lags {names} run from −{cutoff} to {cutoff} px in steps of 1 px"
        if pixel_size_um is None:
            return text + " (pixel size unknown: set it on the Data page to read them in µm)."
        far = format_length(cutoff * pixel_size_um)
        return f"{text}: −{far} to {far} in steps of {format_length(pixel_size_um)}."
    bins = [int(m.group(1)) for m in map(_PSD_LABEL.match, map(str, labels[:4096])) if m]
    if bins:
        n = max(bins) + 1
        low, high = 0.5 / (2 * n), (n - 0.5) / (2 * n)
        text = f"PSD bins: |k| from {length_label(low, None, power=-1)} to {length_label(high, None, power=-1)}"
        if pixel_size_um is None:
            return text + " (pixel size unknown)."
        return (f"{text}, i.e. {length_label(low, pixel_size_um, power=-1)} to "
                f"{length_label(high, pixel_size_um, power=-1)} (periods {format_length(pixel_size_um / high)} to "
                f"{format_length(pixel_size_um / low)}).")
    return None
