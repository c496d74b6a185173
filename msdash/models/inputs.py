"""What a model may learn from: the common samples of several feature sets and the leakage guard on inputs."""

import json
import re
from dataclasses import dataclass, field

import numpy as np

from msdash.errors import InputError

__all__ = ["CommonSamples", "column_provenance", "common_samples", "correlated_inputs", "input_columns"]

#: |Pearson r| between an added column and the target above which the page warns of a likely leak.
LEAK_CORRELATION = 0.9


@dataclass(frozen=True, eq=False)
class CommonSamples:
    """The rows every run of one comparison uses, and why the others were left out.

    Attributes
    ----------
    keep : ndarray of bool, shape (n_samples,)
        In the data set's sample order.
    names : tuple of str
        The kept samples' names.
    dropped : dict
        Sample name → reason it was left out (``"no value of <target>"``, ``"NaN features in <set>"``, …).
    per_set : dict
        Feature-set label → number of samples with non-finite features in that set (0 when complete).
    """

    keep: np.ndarray
    names: tuple
    dropped: dict = field(default_factory=dict)
    per_set: dict = field(default_factory=dict)

    def summary(self):
        """One plain sentence: how many samples are compared and what each reason dropped.

        >>> s = CommonSamples(np.array([True, False]), ("a",), {"b": "NaN features in psd"}, {"psd": 1})
        >>> s.summary()
        'Compared on 1 common sample of 2; left out: b (NaN features in psd).'
        """
        n, kept = len(self.keep), int(self.keep.sum())
        text = f"Compared on {kept:,} common sample{'s' if kept != 1 else ''} of {n:,}"
        if not self.dropped:
            return text + "."
        shown = [f"{name} ({reason})" for name, reason in list(self.dropped.items())[:12]]
        more = len(self.dropped) - len(shown)
        return text + "; left out: " + ", ".join(shown) + (f" and {more:,} more." if more else ".")


def _finite_rows(values):
    """Rows of ``values`` (n, d) with only finite numbers, checked in row blocks of the memory budget."""
    from msdash.models.blocked import block_length

    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    step = block_length(values.shape[1])
    finite = np.empty(len(values), dtype=bool)
    for start in range(0, len(values), step):
        finite[start:start + step] = np.isfinite(values[start:start + step]).all(axis=1)
    return finite


def aligned_values(table, names):
    """The rows of a FeatureTable in the order of ``names`` (NaN rows for names the table lacks).

    Returns ``table.values`` itself (no copy) when its order already matches.
    """
    values = np.asarray(table.values)
    if list(table.names) == list(names):
        return values
    where = {name: i for i, name in enumerate(table.names)}
    out = np.full((len(names), values.shape[1]), np.nan)
    for i, name in enumerate(names):
        if name in where:
            out[i] = values[where[name]]
    return out


def common_samples(dataset, tables, *, target, extra=(), group_column=None):
    """The samples that every feature set, the target, the added columns and the groups have values for.

    Extractors fail on some images (physFeat1 is NaN for a uniform image): comparing each set on its own rows
    would compare errors over different samples, so all runs of a comparison use the intersection.

    Parameters
    ----------
    dataset : Dataset
    tables : dict
        Feature-set label → FeatureTable (rows named like the data set's samples).
    target : str
        Numeric property column.
    extra : sequence of str
        Property columns added to the features.
    group_column : str, optional
        Samples without a group are left out (they cannot be placed by a group-aware split).

    Returns
    -------
    CommonSamples
    """
    names = list(dataset.names)
    props = dataset.properties
    for column in [target, *extra] + ([group_column] if group_column else []):
        if column not in props.columns:
            raise InputError(f"the data set has no property column {column!r}", name="target")
    reasons = {}

    def mark(mask, reason):
        for name in np.asarray(names, dtype=object)[~mask]:
            reasons.setdefault(name, reason)

    y = props[target].to_numpy(float)
    mark(np.isfinite(y), f"no value of {target}")
    for column in extra:
        mark(np.isfinite(props[column].to_numpy(float)), f"no value of {column}")
    if group_column:
        mark(props[group_column].notna().to_numpy(), f"no {group_column}")
    per_set = {}
    for label, table in tables.items():
        ok = _finite_rows(aligned_values(table, names))
        per_set[label] = int((~ok).sum())
        mark(ok, f"NaN features in {label}")
    keep = np.array([name not in reasons for name in names], dtype=bool)
    return CommonSamples(keep, tuple(n for n, k in zip(names, keep) if k), reasons, per_set)


def column_provenance(dataset):
    """Column → provenance (formula, source columns) of the data set's derived columns; ``{}`` when none.

    Read from the first mapping among the data set's ``column_provenance``, ``provenance`` and ``derived``
    attributes (the Data page records a derived column's formula there).
    """
    for attribute in ("column_provenance", "provenance", "derived"):
        found = getattr(dataset, attribute, None)
        if isinstance(found, dict) and found:
            return found
    return {}


def _strings(value):
    """Every string inside a provenance record (dicts, lists, JSON text)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, (list, tuple, set)):
        return [s for v in value for s in _strings(v)]
    return []


def _names(record, column):
    """Whether the provenance ``record`` names ``column``.

    A formula that brackets its columns (``"HV all = [HV], else 101.972 × [hardness (GPa)]"``, as
    :mod:`msdash.derived` writes them) names exactly the bracketed ones; other text names a column given as an
    exact string or, right of a leading ``"name = "``, as a whole token.
    """
    texts = _strings(record)
    if column in texts:
        return True
    for text in texts:
        bracketed = re.findall(r"\[([^\[\]]+)\]", text)
        if bracketed:
            if column in bracketed:
                return True
            continue
        text = text.split(" = ", 1)[-1]
        if len(column) > 1 and re.search(r"(?<![\w])" + re.escape(column) + r"(?![\w])", text):
            return True
    return False


def input_columns(dataset, target, *, provenance=None):
    """Property columns that may be added to the features for predicting ``target``, and why others may not.

    Excluded: the target itself; columns the target was derived from (its provenance names them); columns
    derived from the target or from one of its sources (their provenance names it). The rule reads the
    provenance records of derived columns (:func:`column_provenance`).

    Parameters
    ----------
    dataset : Dataset
    target : str
    provenance : dict, optional
        Column → provenance record; default :func:`column_provenance` of ``dataset``.

    Returns
    -------
    allowed : list of str
        Numeric columns, in the table's order.
    excluded : dict
        Column → reason, e.g. ``{"hardness (GPa)": "the target is derived from it"}``.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> ds = SimpleNamespace(numeric_columns=["HV", "GPa", "HV all", "Ni"],
    ...                      properties=pd.DataFrame(columns=["HV", "GPa", "HV all", "Ni"]))
    >>> input_columns(ds, "HV all", provenance={"HV all": {"formula": "HV, else GPa × 1000 / 9.80665",
    ...                                                    "sources": ["HV", "GPa"]}})
    (['Ni'], {'HV all': 'the target', 'HV': 'the target is derived from it', 'GPa': 'the target is derived from it'})
    """
    provenance = column_provenance(dataset) if provenance is None else provenance
    sources = {c for c in dataset.numeric_columns if c != target and target in provenance
               and _names(provenance[target], c)}
    excluded = {target: "the target"}
    for column in dataset.numeric_columns:
        if column == target:
            continue
        if column in sources:
            excluded[column] = "the target is derived from it"
        elif column in provenance and _names(provenance[column], target):
            excluded[column] = "derived from the target"
        elif column in provenance and any(_names(provenance[column], c) for c in sources):
            excluded[column] = "derived from the target's source"
    return [c for c in dataset.numeric_columns if c not in excluded], excluded


def correlated_inputs(dataset, target, columns, *, threshold=LEAK_CORRELATION):
    """Added columns whose Pearson correlation with the target exceeds ``threshold`` in absolute value.

    Computed on the samples where both have values.

    Returns
    -------
    dict
        Column → r, in the order of ``columns``.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> ds = SimpleNamespace(properties=pd.DataFrame({"y": [1.0, 2, 3, 4], "a": [2.0, 4, 6, 8.5],
    ...                                               "b": [1.0, -1, 1, -1]}))
    >>> {k: round(v, 3) for k, v in correlated_inputs(ds, "y", ["a", "b"]).items()}
    {'a': 0.998}
    """
    y = dataset.properties[target].to_numpy(float)
    found = {}
    for column in columns:
        x = dataset.properties[column].to_numpy(float)
        both = np.isfinite(x) & np.isfinite(y)
        if both.sum() < 3 or np.std(x[both]) == 0 or np.std(y[both]) == 0:
            continue
        r = float(np.corrcoef(x[both], y[both])[0, 1])
        if abs(r) > threshold:
            found[column] = r
    return found


def provenance_text(record):
    """A provenance record as one line of text (for captions)."""
    return record if isinstance(record, str) else json.dumps(record, ensure_ascii=False, default=str)
