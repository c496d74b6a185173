"""Derived property columns — unit conversion, coalescing, groups from sample names — each with its formula.

A derived column is computed from the property table (or the sample names) of a data set and carries a
plain-text formula, its provenance, which :class:`msdash.data.dataset.Dataset` keeps in ``derived`` and saves with
the data set: ``"HV (combined) = [HV], else 101.972 × [H (GPa)]"``. Regular expressions typed by a user are
compiled by :func:`compile_pattern` (length limit, one capture group, no nested quantifiers, a time limit on
matching where the ``regex`` package is installed), so a pattern can neither crash nor hang the app.
"""

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msdash.errors import InputError

__all__ = ["UNIT_CONVERSIONS", "Derived", "convert", "coalesce", "group_from_names", "group_sizes",
           "compile_pattern", "add_derived", "rename_column", "with_unit", "MAX_PATTERN_LENGTH"]

#: Named unit conversions: label → (factor, offset); new = factor × old + offset.
#: Vickers hardness: HV = H (GPa) × 1000 / g, g = 9.80665 m/s² (HV is kgf/mm²).
UNIT_CONVERSIONS = {
    "GPa → HV (× 1000/9.80665)": (1000 / 9.80665, 0.0),
    "HV → GPa (× 9.80665/1000)": (9.80665 / 1000, 0.0),
    "MPa → GPa (× 0.001)": (1e-3, 0.0),
    "GPa → MPa (× 1000)": (1e3, 0.0),
    "ksi → MPa (× 6.894757)": (6.894757, 0.0),
    "MPa → ksi (× 1/6.894757)": (1 / 6.894757, 0.0),
    "°C → K (+ 273.15)": (1.0, 273.15),
    "K → °C (− 273.15)": (1.0, -273.15),
    "% → fraction (× 0.01)": (0.01, 0.0),
    "fraction → % (× 100)": (100.0, 0.0),
}
#: Longest regular expression accepted from a user (characters).
MAX_PATTERN_LENGTH = 200
_MATCH_TIMEOUT_S = 1.0
# A quantified group that itself holds a quantifier, e.g. (a+)+ or (\w*x)*: the classic catastrophic backtrack.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*(?:[*+]|\{\d*,?\d*\})(?:[^()\\]|\\.)*\)(?:[*+]|\{\d*,?\d*\})")


@dataclass(frozen=True)
class Derived:
    """A derived column: its name, values and formula.

    Attributes
    ----------
    name : str
        Column name (units in the name are welcome: ``"HV (from GPa)"``).
    values : pandas.Series
        Indexed by sample name; float64 for numbers, ``str`` (missing = NaN) for groups.
    formula : str
        How it was computed, in words a reader can check: ``"HV = 101.972 × [H (GPa)]"``.
    """

    name: str
    values: pd.Series
    formula: str


def _number(x):
    return f"{x:.6g}"


def _affine_text(column, factor, offset):
    text = f"[{column}]" if factor == 1 else f"{_number(factor)} × [{column}]"
    if offset:
        text += f" {'+' if offset > 0 else '−'} {_number(abs(offset))}"
    return text


def _numeric_column(properties, column, argument):
    if column not in properties.columns:
        raise InputError(f"`{argument}`: the table has no column {column!r}", name=column)
    values = properties[column]
    if values.dtype != np.float64:
        raise InputError(f"`{argument}`: column {column!r} holds text, not numbers; only numeric columns "
                         "can be converted", name=column)
    return values


def _check_factor(factor, offset):
    factor, offset = float(factor), float(offset)
    if not (np.isfinite(factor) and np.isfinite(offset)) or factor == 0:
        raise InputError(f"the conversion factor must be a finite non-zero number and the offset finite, "
                         f"got factor {factor} and offset {offset}", name="factor")
    return factor, offset


def convert(properties, column, *, factor, offset=0.0, name):
    """A numeric column converted to other units: ``new = factor × old + offset``.

    Parameters
    ----------
    properties : pandas.DataFrame
        Property table (index = sample names).
    column : str
        Numeric column to convert.
    factor, offset : float
        See :data:`UNIT_CONVERSIONS` for common ones (GPa → HV: ``factor = 1000 / 9.80665``).
    name : str
        Name of the new column.

    Returns
    -------
    Derived
        Missing values stay missing.

    Examples
    --------
    >>> t = pd.DataFrame({"H (GPa)": [9.80665, np.nan]}, index=["a", "b"])
    >>> d = convert(t, "H (GPa)", factor=1000 / 9.80665, name="HV")
    >>> round(float(d.values.iloc[0]), 9), d.formula
    (1000.0, 'HV = 101.972 × [H (GPa)]')
    """
    values = _numeric_column(properties, column, "column")
    factor, offset = _check_factor(factor, offset)
    name = _check_name(name)
    return Derived(name, (values * factor + offset).rename(name), f"{name} = {_affine_text(column, factor, offset)}")


def coalesce(properties, first, second, *, factor=1.0, offset=0.0, name):
    """``first`` where it has a value, else ``second`` converted (``factor × second + offset``).

    "HV, else GPa converted": ``coalesce(t, "HV", "H (GPa)", factor=1000 / 9.80665, name="HV (all)")``.

    Parameters
    ----------
    properties : pandas.DataFrame
    first, second : str
        Numeric columns; ``first`` wins where both have a value.
    factor, offset : float
        Conversion applied to ``second`` (default none).
    name : str
        Name of the new column.

    Returns
    -------
    Derived

    Examples
    --------
    >>> t = pd.DataFrame({"HV": [300.0, np.nan, np.nan], "GPa": [1.0, 2.0, np.nan]})
    >>> coalesce(t, "HV", "GPa", factor=100, name="H").values.tolist()
    [300.0, 200.0, nan]
    """
    a = _numeric_column(properties, first, "first")
    b = _numeric_column(properties, second, "second")
    if first == second:
        raise InputError("choose two different columns to combine", name=second)
    factor, offset = _check_factor(factor, offset)
    name = _check_name(name)
    values = a.where(a.notna(), b * factor + offset).rename(name)
    return Derived(name, values, f"{name} = [{first}], else {_affine_text(second, factor, offset)}")


def compile_pattern(text):
    """Compile a user's regular expression with exactly one capture group, or say clearly why not.

    Parameters
    ----------
    text : str
        At most :data:`MAX_PATTERN_LENGTH` characters; exactly one capture group ``( … )`` (the group's
        text becomes the value); no quantified group that itself holds a quantifier (``(a+)+``), which can
        take exponential time.

    Returns
    -------
    compiled pattern
        From the ``regex`` package when installed (matched with a time limit), else from :mod:`re`.

    Raises
    ------
    InputError
        Empty, too long, not a valid expression, not exactly one group, or nested quantifiers.
    """
    text = str(text or "")
    if not text.strip():
        raise InputError("type a regular expression, e.g. ^([A-Za-z]+)_ for the letters before the first '_'",
                         name="pattern")
    if len(text) > MAX_PATTERN_LENGTH:
        raise InputError(f"the regular expression has {len(text)} characters, over the limit of "
                         f"{MAX_PATTERN_LENGTH}", name="pattern")
    if _NESTED_QUANTIFIER.search(text):
        raise InputError("the regular expression repeats a group that itself repeats (like (a+)+), which can "
                         "take forever on some names; write it without the nested repetition", name="pattern")
    engine = _engine()
    try:
        compiled = engine.compile(text)
    except (re.error, getattr(engine, "error", re.error)) as exc:
        raise InputError(f"the regular expression is not valid: {exc}", name="pattern") from None
    if compiled.groups != 1:
        raise InputError(f"the regular expression must have exactly one group in parentheses (the part kept as "
                         f"the group), it has {compiled.groups}; use (?:…) for brackets that are not kept",
                         name="pattern")
    return compiled


def _engine():
    try:
        import regex  # supports a time limit on matching

        return regex
    except ImportError:  # pragma: no cover - regex comes with transformers
        return re


def _search(pattern, name):
    if isinstance(pattern, re.Pattern):
        return pattern.search(name)
    try:
        return pattern.search(name, timeout=_MATCH_TIMEOUT_S)
    except TimeoutError:
        raise InputError(f"the regular expression took over {_MATCH_TIMEOUT_S:g} s on the name {name!r}; "
                         "simplify it", name="pattern") from None


def group_from_names(names, *, separator=None, pattern=None, name="group"):
    """A group column from the sample names: the prefix before a separator, or one regex group.

    Parameters
    ----------
    names : sequence of str
        Sample names (the data set's order).
    separator : str, optional
        The group is the part of each name before the first ``separator`` (``"Smith2020_03"`` with
        ``"_"`` → ``"Smith2020"``); a name without it is its own group.
    pattern : str, optional
        A regular expression with one capture group, searched in each name (see :func:`compile_pattern`);
        a name it does not match gets no group (missing).
    name : str
        Name of the new column.

    Returns
    -------
    Derived
        Text values (``str`` dtype, missing = NaN), indexed by ``names``.

    Examples
    --------
    >>> group_from_names(["P1_a", "P1_b", "P2-c"], separator="_").values.tolist()
    ['P1', 'P1', 'P2-c']
    >>> group_from_names(["P1_a", "x", "P12_c"], pattern=r"^P(\\d+)_").values.tolist()
    ['1', nan, '12']
    """
    names = [str(n) for n in names]
    if (separator is None) == (pattern is None):
        raise InputError("give either a separator or a regular expression", name="separator")
    name = _check_name(name)
    if separator is not None:
        if not separator:
            raise InputError("the separator is empty; type the character(s) that end the group, e.g. _",
                             name="separator")
        values = [n.split(separator, 1)[0] for n in names]
        formula = f"{name} = the sample name up to the first '{separator}'"
    else:
        compiled = compile_pattern(pattern)
        found = [_search(compiled, n) for n in names]
        values = [m.group(1) if m is not None and m.group(1) else np.nan for m in found]
        formula = f"{name} = group 1 of the regular expression '{pattern}' searched in the sample name"
    series = pd.Series(values, index=pd.Index(names), name=name, dtype="str")
    return Derived(name, series, formula)


def group_sizes(values):
    """Groups and their sizes, largest first (ties by name); samples without a group counted as ``None``.

    Parameters
    ----------
    values : pandas.Series

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` and ``samples``.

    Examples
    --------
    >>> group_sizes(pd.Series(["a", "b", "a", None])).to_dict("list")
    {'group': ['a', 'b', None], 'samples': [2, 1, 1]}
    """
    counts = values.value_counts(dropna=True)
    table = pd.DataFrame({"group": counts.index.astype(object), "samples": counts.to_numpy(int)})
    table = table.sort_values(["samples", "group"], ascending=[False, True], kind="stable")
    missing = int(values.isna().sum())
    if missing:
        table = pd.concat([table, pd.DataFrame({"group": [None], "samples": [missing]})])
    return table.reset_index(drop=True)


def add_derived(dataset, derived, *, as_group=False):
    """A copy of ``dataset`` with the derived column added and its formula recorded.

    A derived column of the same name is replaced; a column read from the table never is (choose
    another name).

    Parameters
    ----------
    dataset : Dataset
    derived : Derived
        Its index must hold the data set's sample names.
    as_group : bool
        Make it the data set's group column (for group-aware cross-validation).

    Returns
    -------
    Dataset
        Same images (shared, not copied), name, source and notes; ``derived[name]`` is the formula.
    """
    if derived.name in dataset.properties.columns and derived.name not in dataset.derived:
        raise InputError(f"the data set already has a column {derived.name!r} from its table; give the new "
                         "column another name", name=derived.name)
    properties = dataset.properties.copy()
    values = derived.values.reindex(dataset.names)
    if values.dtype != np.float64:
        values = values.astype("str")
    properties[derived.name] = values.to_numpy()
    formulas = {**dataset.derived, derived.name: derived.formula}
    group = derived.name if as_group else dataset.group_column
    return dataset.with_table(properties, group_column=group, derived=formulas)


def rename_column(dataset, column, new_name):
    """A copy of ``dataset`` with one property column renamed (its formula and group role follow it).

    Parameters
    ----------
    dataset : Dataset
    column : str
        An existing property column.
    new_name : str
        Not already a column; units in the name are welcome (see :func:`with_unit`).

    Returns
    -------
    Dataset
    """
    new_name = _check_name(new_name)
    if column not in dataset.properties.columns:
        raise InputError(f"the data set has no column {column!r}", name=column)
    if new_name == column:
        return dataset
    if new_name in dataset.properties.columns:
        raise InputError(f"the data set already has a column {new_name!r}", name=new_name)
    properties = dataset.properties.rename(columns={column: new_name})
    formulas = {new_name if c == column else c: f for c, f in dataset.derived.items()}
    group = new_name if dataset.group_column == column else dataset.group_column
    return dataset.with_table(properties, group_column=group, derived=formulas)


_UNIT_TAIL = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*\Z")


def with_unit(column, unit):
    """The column name with its unit set: a trailing ``(…)`` or ``[…]`` is replaced, else ``(unit)`` added.

    >>> with_unit("hardness [GPa]", "HV"), with_unit("E", "GPa"), with_unit("E (GPa)", "")
    ('hardness (HV)', 'E (GPa)', 'E')
    """
    base = _UNIT_TAIL.sub("", str(column)).strip() or str(column)
    unit = str(unit or "").strip()
    return f"{base} ({unit})" if unit else base


def _check_name(name):
    name = str(name or "").strip()
    if not name:
        raise InputError("give the new column a name", name="name")
    if len(name) > 200:
        raise InputError(f"the column name has {len(name)} characters, over the limit of 200", name="name")
    return name
