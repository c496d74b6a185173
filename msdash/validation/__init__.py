"""Validation run live: msdash's numbers against exact results and independent re-computations.

Each check is a function ``check(progress=None) -> Check`` in :data:`CHECKS`; :func:`run_checks` runs a chosen
few. They are small enough to run in well under a minute on a laptop CPU together, so a reviewer can see them
computed on the machine that made a figure rather than trust a test log.

- ``homogenisation``: FFT homogenisation against the exact laminate (conductivity and plane-strain stiffness)
  and a resolution study of the checkerboard (Dykhne: ``√(k0 k1)``).
- ``ising``: Metropolis m(T) and E(T) against Onsager/Yang, from an ordered start and as generated data sets
  are made (random start, N sweeps — not equilibrium near and below Tc).
- ``two_point``: FFT two-point statistics against a direct sum over lags.
- ``nested_cv``: msdash's nested CV against scikit-learn's ``GridSearchCV`` in an outer loop, fold by fold.
- ``conformal``: interval coverage on groups never seen, group-aware against random-fold residuals.
"""

import time
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Check", "CHECKS", "run_checks"]


@dataclass
class Check:
    """Outcome of one validation check.

    Attributes
    ----------
    title : str
    passed : bool
        Whether every number is within the tolerance stated in ``summary``.
    summary : str
        One or two sentences with the numbers, the tolerance and the reference.
    table : pandas.DataFrame
        The numbers compared, one row per case.
    figure : plotly.graph_objects.Figure
    note : str
        Caveats (e.g. what is not expected to agree, and why).
    seconds : float
        Wall time of the check.
    """

    title: str
    passed: bool
    summary: str
    table: pd.DataFrame
    figure: object
    note: str = ""
    seconds: float = field(default=0.0)

    def figure_html(self):
        """The figure as a self-contained HTML file (plotly.js inside: opens offline), UTF-8 bytes."""
        return self.figure.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")

    def table_csv(self):
        """The numbers as CSV bytes (:func:`msdash.selection.csv_bytes`: safe to open in a spreadsheet)."""
        from msdash.selection import csv_bytes

        return csv_bytes(self.table, index=False)


def _checks():
    from msdash.validation import physics, statistics

    return {"homogenisation": physics.homogenisation_check, "ising": physics.ising_check,
            "two_point": physics.two_point_check, "nested_cv": statistics.nested_cv_check,
            "conformal": statistics.conformal_check}


#: Check name → one-line description (the functions are imported when run, so ``import msdash`` stays light).
CHECKS = {
    "homogenisation": "FFT homogenisation vs the exact laminate and the checkerboard (resolution study)",
    "ising": "Ising m(T) and E(T) vs Onsager/Yang",
    "two_point": "Two-point statistics (FFT) vs a direct sum over lags",
    "nested_cv": "Nested CV vs scikit-learn GridSearchCV in an outer loop",
    "conformal": "Interval coverage on held-out groups: group-aware vs random folds",
}


def run_checks(names=None, *, progress=None):
    """Run validation checks.

    Parameters
    ----------
    names : iterable of str, optional
        Keys of :data:`CHECKS` (default all), run in that order.
    progress : callable, optional
        ``progress(done, total, name)`` before each check and once at the end.

    Returns
    -------
    dict of str to Check
    """
    from msdash.errors import InputError

    functions = _checks()
    names = list(CHECKS) if names is None else list(names)
    unknown = [n for n in names if n not in functions]
    if unknown:
        raise InputError(f"unknown validation check(s) {unknown}; choose from {', '.join(CHECKS)}",
                         name="names")
    out = {}
    for done, name in enumerate(names):
        if progress is not None:
            progress(done, len(names), name)
        start = time.perf_counter()
        out[name] = functions[name]()
        out[name].seconds = time.perf_counter() - start
    if progress is not None:
        progress(len(names), len(names), "done")
    return out
